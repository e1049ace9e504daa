"""Output helpers: JSON, plain tables, and colour that obeys NO_COLOR and the terminal."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click


def use_colour() -> bool:
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if use_colour() else text


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """``text`` with control characters escaped: a hand-edited file cannot drive the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return safe(str(value))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print the transition and commit message; change nothing."
)


def print_change(change: Any) -> None:
    """Report a state change (or a dry run of one)."""
    if change.dry_run:
        click.echo("dry run: nothing was changed. Would commit:\n")
        click.echo(change.message.rstrip())
        return
    for t in change.transitions:
        if t.event == "new":
            continue
        click.echo(
            f"{t.id}: {t.before} -> {style(str(t.after), bold=True)}"
            + (" (started by the queue)" if t.event == "activate" else "")
        )
