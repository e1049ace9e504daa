"""``maia ci analyze``: what the GitHub Actions workflow runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from maia_git.cli.lazy import LazyGroup
from maia_git.cli.render import dry_run_option, json_option


@click.group(cls=LazyGroup)
def ci() -> None:
    """Commands for continuous integration.

    \b
    Example:
      maia ci analyze --base "$BEFORE" --auto-promote --open-pr
    """


@ci.command()
@click.option(
    "--base",
    default=None,
    metavar="REV",
    help="Analyse experiments whose logs changed since REV (default: every active).",
)
@click.option("--auto-promote", is_flag=True, help="Promote each experiment that qualifies.")
@click.option("--open-pr", is_flag=True, help="With --auto-promote: push and open pull requests.")
@dry_run_option
@json_option
def analyze(
    base: str | None, auto_promote: bool, open_pr: bool, dry_run: bool, as_json: bool
) -> int:
    """Analyse experiments, write the step summary and outputs, and optionally promote.

    In GitHub Actions (GITHUB_STEP_SUMMARY and GITHUB_OUTPUT set) it writes a Markdown summary
    (tables and a chart per experiment, every arm of one with several treatments), the outputs
    `promotable`, `analyzed`, `results`, `decisions` and `winners`, and annotations. Elsewhere
    it prints the summary. Exits 1 if a promotion failed.

    \b
    Example:
      maia ci analyze --base HEAD~1
      maia ci analyze --auto-promote --dry-run     # which experiments it would promote
    """
    from maia_git.cli import ci_render
    from maia_git.core.escape import reason
    from maia_git.errors import MaiaError
    from maia_git.usecases import ci as run_ci
    from maia_git.workspace import Workspace

    ws = Workspace.find()
    report = run_ci.analyze_all(ws, base)
    if base and report.base is None and set(base) != {"0"}:
        click.echo(
            f"maia: warning: --base {base} is not a commit here; analysing every active experiment",
            err=True,
        )
    if auto_promote and not dry_run:
        run_ci.promote_all(ws, report, open_pr, os.environ)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    output_path = os.environ.get("GITHUB_OUTPUT")
    text = ci_render.markdown(report)
    try:
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(text)
        if output_path:
            ci_render.write_outputs(Path(output_path), ci_render.outputs(report))
    except OSError as err:
        where = err.filename or "the GitHub Actions step summary or outputs"
        raise MaiaError(f"cannot write {where}: {reason(err)}") from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "analyzed": report.analyzed,
                    "promotable": report.promotable,
                    "promoted": report.promoted,
                    "errors": report.errors,
                    "results": report.results,
                },
                indent=2,
            )
        )
    elif not summary_path:
        click.echo(text.rstrip())
    if dry_run and auto_promote and not as_json:
        shown = ", ".join(report.promotable) or "none"
        click.echo(f"dry run: nothing was changed; --auto-promote would promote: {shown}")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in ci_render.annotation_lines(report):
            click.echo(line)
    else:
        for error in report.errors:
            click.echo(f"maia: error: {error}", err=True)
    return 1 if report.errors else 0
