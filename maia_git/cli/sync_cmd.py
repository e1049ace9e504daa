from __future__ import annotations

import click

from maia_git.cli.render import emit_json


@click.command()
@click.option("--push", is_flag=True, help="Push afterwards; on a rejected push, rebase and retry.")
@click.option("--dry-run", is_flag=True, help="List the shards that would be committed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync(push: bool, dry_run: bool, as_json: bool) -> None:
    """Commit new interaction-log and score lines (one commit), and optionally push.

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
        click.echo(f"committed {result.lines} new line(s) in {len(result.files)} file(s)")
    if result.pushed:
        click.echo(f"pushed (attempts: {result.attempts})")
