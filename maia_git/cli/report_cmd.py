"""``maia report``: the workspace as a static HTML site."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from maia_git.cli.render import emit_json, json_option


@click.command()
@click.option(
    "--out",
    "out",
    default="maia-report",
    show_default=True,
    metavar="DIR",
    help="Folder to write; an earlier report there is replaced, other files never.",
)
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="ID",
    help="Only this experiment (repeatable). Default: every experiment.",
)
@click.option(
    "--agent",
    "agents",
    multiple=True,
    metavar="NAME",
    help="Only this agent and its experiments (repeatable). Default: every agent.",
)
@json_option
def report(out: str, experiments: tuple[str, ...], agents: tuple[str, ...], as_json: bool) -> None:
    """Write a static HTML report: an overview with the queue, a page per experiment (lift over
    time with its interval, arms, guardrails, sample ratio, decision history, prompt diff) and a
    page per agent (quality score trend and bands).

    The folder works opened from disk, as a CI artifact or on GitHub Pages: nothing in it is
    fetched from elsewhere and no script runs. Its numbers are those of `maia exp analyze`.
    Needs the optional extra: pip install 'maia-git[report]'.

    \b
    Example:
      maia report --out maia-report && xdg-open maia-report/index.html
      maia report --experiment exp_001 --out /tmp/exp_001
    """
    from maia_git.report.site import write_site
    from maia_git.usecases.report import gather
    from maia_git.workspace import Workspace

    ws = Workspace.find()
    bar = _Progress() if sys.stderr.isatty() else None
    data = gather(ws, experiments, agents, progress=bar)
    if bar is not None:
        bar.done()
    target = Path(out)
    pages = write_site(data, target, ws.top.name)
    if as_json:
        emit_json({"out": str(target.absolute()), "pages": pages})
        return
    click.echo(f"wrote {len(pages)} page(s) to {out}: open {target / 'index.html'}")


class _Progress:
    """One line on stderr, rewritten at most ten times a second, while the logs are read."""

    def __init__(self) -> None:
        self.shown = 0.0
        self.width = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.1 and done < total:
            return
        self.shown = now
        share = done / total if total else 1.0
        text = f"reading logs: {share:4.0%} ({done / 1e6:,.1f} of {total / 1e6:,.1f} MB), {what}"
        click.echo("\r" + text.ljust(self.width), nl=False, err=True)
        self.width = len(text)

    def done(self) -> None:
        if self.width:
            click.echo("\r" + " " * self.width + "\r", nl=False, err=True)
