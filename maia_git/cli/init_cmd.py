from __future__ import annotations

import click

from maia_git.cli.render import dry_run_option, emit_json, json_option


@click.command()
@click.option(
    "--github",
    is_flag=True,
    help="Also write .github/workflows/maia-analyze.yml (analysis on every push).",
)
@dry_run_option
@json_option
def init(github: bool, dry_run: bool, as_json: bool) -> None:
    """Make the current git repository a maia workspace (one commit).

    Writes maia.yaml with every setting and its default, the folders agents/, experiments/,
    queue/ and scores/, and .gitattributes (union merge for logs). Running it again changes
    nothing that is already there.

    \b
    Example:
      git init myagents && cd myagents && maia init --github
    """
    from maia_git.usecases.init import init as run_init
    from maia_git.workspace import Workspace

    ws = Workspace.find(initialised=False)
    result = run_init(ws, github=github, dry_run=dry_run)
    if as_json:
        emit_json({"top": result.top, "written": result.written, "dry_run": dry_run})
        return
    if not result.written:
        click.echo(f"{result.top} is already a maia workspace; nothing to change.")
        return
    if dry_run:
        click.echo(f"dry run: nothing was changed; would write {', '.join(result.written)}")
    else:
        click.echo(f"maia workspace in {result.top}: wrote {', '.join(result.written)}")
