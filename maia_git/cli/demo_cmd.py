from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from maia_git.cli.render import emit_json, json_option


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Make the demo repository here (default: a new temp folder).",
)
@click.option(
    "--users",
    type=int,
    default=600,
    show_default=True,
    help="Simulated users at most; the demo stops once the analysis decides.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@json_option
def demo(directory: Path | None, users: int, seed: int, as_json: bool) -> None:
    """Run the whole job end to end on simulated traffic, in a fresh git repository.

    It changes nothing where it is run: everything happens in the demo's own repository.

    Makes a workspace with an example agent (a control and a treatment prompt), creates and
    starts an experiment, simulates users through the Python API a runtime would use (every
    response scored by the rubric), commits the logs and analyses after each batch, and promotes
    the winner to a branch. The traffic is simulated: nothing here measures a real agent.

    \b
    Example:
      maia demo --dir /tmp/maia-demo --users 800
    """
    from maia_git.cli.render import style
    from maia_git.core.summary import arms_table, tests_lines
    from maia_git.errors import UsageError
    from maia_git.usecases import demo as run_demo

    if not 60 <= users <= 100_000:
        raise UsageError("--users must be from 60 (30 per arm before any decision) to 100000")
    if as_json:
        done = run_demo.run(directory, users=users, seed=seed, progress=None)
        emit_json(
            {
                "simulated": True,
                "directory": str(done.directory),
                "experiment_id": done.experiment_id,
                "users": done.users,
                "batches": done.batches,
                "promoted_branch": done.promoted_branch,
                "analysis": done.analysis,
            }
        )
        return
    click.echo(
        "maia demo: the traffic below is SIMULATED by a synthetic agent whose "
        "treatment prompt completes more tasks."
    )
    if sys.stderr.isatty():  # progress goes to stderr, where it may rewrite its line
        with click.progressbar(
            length=users,
            label="simulated users",
            show_pos=True,
            item_show_func=lambda s: s,
            file=sys.stderr,
        ) as bar:
            seen = {"users": 0}

            def progress(served: int, analysis: dict[str, Any]) -> None:
                bar.update(served - seen["users"], f"{analysis['decision']}")
                seen["users"] = served

            result = run_demo.run(directory, users=users, seed=seed, progress=progress)
    else:  # no terminal: one line per batch instead of a bar

        def report(served: int, analysis: dict[str, Any]) -> None:
            click.echo(f"  {served} users: {analysis['decision']}")

        result = run_demo.run(directory, users=users, seed=seed, progress=report)
    click.echo(f"\nworkspace: {result.directory}")
    click.echo(
        f"experiment {result.experiment_id}: {result.users} users in "
        f"{result.batches} batches, analysed after each\n"
    )
    click.echo("\n".join(arms_table(result.analysis)) + "\n")
    click.echo("\n".join(tests_lines(result.analysis)))
    if result.promoted_branch:
        click.echo(
            f"\n{style('promoted', bold=True)} the treatment on branch "
            f"{result.promoted_branch}. Look at it:"
        )
        click.echo(f"  cd {result.directory}")
        click.echo(f"  git log -p {result.promoted_branch}")
        click.echo(f"  maia exp show {result.experiment_id} && maia exp log {result.experiment_id}")
    else:
        click.echo(
            "\nno promotion: the analysis did not decide for the treatment (try more --users)."
        )
