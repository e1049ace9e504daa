"""``maia doctor [--fix] [--json]``."""

from __future__ import annotations

from typing import Any

import click

from maia_git.cli.render import dry_run_option, emit_json, json_option, style


@click.command()
@click.option("--fix", is_flag=True, help="Make the safe repairs, under the workspace lock.")
@dry_run_option
@json_option
def doctor(fix: bool, dry_run: bool, as_json: bool) -> int:
    """Check the workspace: every state file, the agreement between them, locks and leftovers.

    Says for each problem what is wrong and how to fix it. Exits 0 when the workspace is
    healthy and 1 when problems remain. --fix finishes a transaction a killed maia left, deletes
    temp files of killed writes, adds missing union-merge lines to .gitattributes and starts
    queued experiments a free slot allows (the last two as one commit); it never guesses at a
    broken file.

    \b
    Example:
      maia doctor
      maia doctor --fix --dry-run          # what --fix would repair; nothing changes
      maia doctor --fix --json
    """
    from maia_git.usecases.doctor import run
    from maia_git.workspace import Workspace

    # A dry run of --fix is the check itself: the problems it finds say which --fix repairs.
    report = run(Workspace.find(initialised=False), fix=fix and not dry_run)
    would_fix = [f"{p.where}: {p.fix}" for p in report.problems if p.fixable] if dry_run else []
    if as_json:
        emit_json({**report.to_dict(), "dry_run": dry_run, "would_fix": would_fix})
    else:
        render(report)
        if dry_run and fix:
            click.echo("dry run: nothing was changed." + (" --fix would:" if would_fix else ""))
            for line in would_fix:
                click.echo(f"  - {line}")
    return 0 if report.healthy else 1


def render(report: Any) -> None:
    for line in report.fixed:
        click.echo(f"fixed: {line}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.healthy:
        click.echo(style("the workspace is healthy", fg="green"))
        return
    for p in report.problems:
        mark = " (fixable)" if p.fixable else ""
        click.echo(f"{style(p.where, bold=True)}: {p.what}{mark}\n    fix: {p.fix}")
    fixable = sum(p.fixable for p in report.problems)
    summary = f"{len(report.problems)} problem(s)"
    if fixable:
        summary += f", {fixable} fixable with `maia doctor --fix`"
    click.echo(style(summary, fg="red"))
