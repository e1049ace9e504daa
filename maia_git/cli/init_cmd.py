from __future__ import annotations

import click


@click.command()
@click.option(
    "--github",
    is_flag=True,
    help="Also write .github/workflows/maia-analyze.yml (analysis on every push).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be written; change nothing.")
def init(github: bool, dry_run: bool) -> None:
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
    if not result.written:
        click.echo(f"{result.top} is already a maia workspace; nothing to change.")
        return
    verb = "would write" if dry_run else "wrote"
    click.echo(f"maia workspace in {result.top}: {verb} {', '.join(result.written)}")
