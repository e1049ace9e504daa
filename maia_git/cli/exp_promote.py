"""``maia exp promote``."""

from __future__ import annotations

import click

from maia_git.cli.options import EXPERIMENT_ID, note_option
from maia_git.cli.render import dry_run_option, emit_json, json_option, style


@click.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@click.option("--push", is_flag=True, help="Push the promotion branch to the remote.")
@click.option(
    "--open-pr",
    is_flag=True,
    help="Push and open a pull request (GITHUB_TOKEN or GH_TOKEN; implies --push).",
)
@dry_run_option
@click.option("--force", is_flag=True, help="Promote although the analysis does not decide so.")
@note_option("Why --force (recorded in the commit and the pull request).", "--reason")
@click.option(
    "--arm",
    metavar="NAME",
    default=None,
    help="With several treatments: the arm to promote (by default the analysis's winner; "
    "another one needs --force).",
)
@json_option
def promote(
    exp_id: str,
    push: bool,
    open_pr: bool,
    dry_run: bool,
    force: bool,
    note: str | None,
    arm: str | None,
    as_json: bool,
) -> None:
    """Promote the treatment prompt on a branch maia/promote/ID, for review as a pull request.

    With several treatments the winner is promoted: of the arms that meet every condition,
    the one with the highest lift. Refuses (listing the unmet conditions) unless the analysis
    decides `promote`. The branch is
    built without checking it out: your working tree and index are not touched. On the current
    branch the experiment is completed with the winner, and the queue starts the next one.
    If the push or the pull request fails, what was done is printed and running the same
    command again finishes the job.

    \b
    Example:
      maia exp promote exp_001 --open-pr
      maia exp promote exp_002 --force --note "manual review: clearly better"
      maia exp promote exp_004 --arm formal --force --note "reviewed by hand"
    """
    from maia_git.usecases.promotion import promote as run_promote
    from maia_git.workspace import Workspace

    result = run_promote(
        Workspace.find(),
        exp_id,
        push=push,
        open_pr=open_pr,
        dry_run=dry_run,
        force=force,
        reason=note,
        arm=arm,
    )
    if as_json:
        emit_json(result.to_dict())
        return
    if result.dry_run:
        click.echo("dry run: nothing was changed. Would commit on the current branch:\n")
        click.echo(result.message.rstrip())
        click.echo(f"\nand create branch {result.branch} with the {result.winner} prompt.")
        return
    verb = "reused" if result.reused else "created"
    click.echo(
        f"{style('promoted', bold=True)} {exp_id}: branch {result.branch} {verb} "
        f"({(result.commit or '')[:10]})"
    )
    if result.pushed:
        click.echo(f"pushed {result.branch}")
    if result.pull_request:
        what = "opened" if result.pull_request_created else "already open"
        click.echo(
            f"pull request #{result.pull_request.get('number')} {what}: "
            f"{result.pull_request.get('html_url')}"
        )
    click.echo(f"review it: git log -p {result.branch}")
