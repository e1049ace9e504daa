from __future__ import annotations

import click

from maia_git.cli.render import dry_run_option, emit_json, json_option


@click.command()
@click.option(
    "--push",
    is_flag=True,
    help="Then push; if the remote moved on, put this branch's commits on top of it first.",
)
@dry_run_option
@json_option
def sync(push: bool, dry_run: bool, as_json: bool) -> None:
    """Seal the records not yet synced into new log files, commit them, and optionally push.

    Records wait beside git (in .git/maia/pending) until a sync writes them into new files
    under experiments/<id>/interactions/ and scores/, in one commit; a committed log file never
    changes. --push fetches first and, if the remote moved on, rebuilds this branch's commits
    on top of it without a rebase, a merge or a checkout; the branch moves only after the push
    succeeded. If both sides changed the same experiment differently, nothing changes and one
    line says which (exit 1). docs/logs.md has the details.

    \b
    Example:
      maia sync --push
    """
    from maia_git.usecases.sync import sync as run_sync
    from maia_git.workspace import Workspace

    result = run_sync(Workspace.find(), push=push, dry_run=dry_run)
    if as_json:
        emit_json(
            {
                "files": result.files,
                "lines": result.lines,
                "pushed": result.pushed,
                "push_attempts": result.attempts,
                "dry_run": dry_run,
            }
        )
        return
    if not result.files:
        click.echo("no new log lines to commit")
    elif dry_run:
        click.echo("dry run: would commit " + ", ".join(result.files))
    else:
        click.echo(f"committed {result.lines} line(s) in {len(result.files)} new file(s)")
    if result.pushed:
        click.echo(f"pushed (attempts: {result.attempts})")
