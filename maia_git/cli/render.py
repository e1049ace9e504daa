"""Output helpers: JSON, plain tables, and colour that obeys NO_COLOR and the terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from maia_git.cli.terminal import ours
from maia_git.core.escape import json_safe, one_line, terminal


def use_colour() -> bool:
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def style(text: str, **kwargs: Any) -> str:
    """``text`` in colour on a terminal (NO_COLOR turns it off); ``text`` is escaped on output."""
    return ours(click.style(terminal(text), **kwargs)) if use_colour() else text


def emit_json(data: Any) -> None:
    """JSON on stdout; characters a terminal acts on are written as \\u escapes."""
    click.echo(json_safe(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def safe(text: str) -> str:
    """``text`` on one line with control characters escaped (a table cell)."""
    return one_line(text)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return safe(str(value))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Say what would change (the commit message); change nothing."
)


def change_dict(change: Any) -> dict[str, Any]:
    """A state change (or a dry run of one) as JSON: what moved, and the commit message."""
    return {
        "experiment_id": change.experiment_id,
        "dry_run": change.dry_run,
        "transitions": [
            {"id": t.id, "event": t.event, "before": str(t.before), "after": str(t.after)}
            for t in change.transitions
        ],
        "message": change.message,
    }


def print_change(change: Any, as_json: bool = False) -> None:
    """Report a state change (or a dry run of one)."""
    if as_json:
        emit_json(change_dict(change))
        return
    if change.dry_run:
        click.echo("dry run: nothing was changed. Would commit:\n")
        click.echo(change.message.rstrip())
        return
    if not change.transitions:  # a change of text only, or nothing to change
        click.echo(change.message.splitlines()[0].removeprefix("maia: "))
    for t in change.transitions:
        if t.event == "new":
            continue
        click.echo(
            f"{t.id}: {t.before} -> {style(str(t.after), bold=True)}"
            + (" (started by the queue)" if t.event == "activate" else "")
        )
