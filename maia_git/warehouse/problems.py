"""Why a row the statement did not count does not count, in the git reader's words.

``sql.problems_sql`` fetches the first few invalid rows with their typed columns; each becomes
the log line it stands for (a NULL is an absent field, a timestamp its RFC 3339 text) and goes
through ``core.interaction.check_line``, the git reader's own check, with the experiment's split
(its arms and shares) and pins. So a warehouse row and a log line that break the same rule are
reported with the same message. Exported rows carry the reason their export found (``error``),
and their segment and line; others are named by their timestamp, user and interaction id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from maia_git.core.assign import Split
from maia_git.core.interaction import check_line, format_ts
from maia_git.warehouse.result import Problem
from maia_git.warehouse.sql import COLUMN, PROBLEM_COLUMNS

# Each typed column's field in a log line: the statement's renames undone.
_FIELD = {name: name for name in ("ts", "user_id", "arm", "success")} | {
    column: name for name, column in COLUMN.items()
}
UNEXPLAINED = "breaks a rule of the SQL statement"


def problems(
    rows: Sequence[Sequence[Any]], *, blob: bool, located: bool, label: str,
    experiment_id: str, split: Split, pins: Mapping[str, str],
) -> tuple[Problem, ...]:  # fmt: skip
    """The rows ``problems_sql`` returned (``blob`` and ``located`` as it was written) as
    problems; ``label`` names the source of rows that have no segment and line."""
    names = [*PROBLEM_COLUMNS, *(["b"] if blob else []),
             *(["segment", "line", "error"] if located else [])]  # fmt: skip
    out = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        line = log_line(values)
        why = values.get("error") or check_line(line, experiment_id, split, pins)
        if located and values["segment"] is not None:
            out.append(Problem(str(values["segment"]), int(values["line"]), why or UNEXPLAINED))
            continue
        shown = {"ts": line.get("ts"), "user_id": line.get("user_id"),
                 "interaction_id": line.get("interaction_id")}  # fmt: skip
        out.append(Problem(label, 0, why or UNEXPLAINED, shown))
    return tuple(out)


def log_line(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row's typed values as the log line they stand for."""
    line = {_FIELD[k]: v for k, v in values.items() if k in _FIELD and v is not None}
    if "ts" in line:
        line["ts"] = _ts_text(line["ts"])
    return line


def _ts_text(value: Any) -> Any:
    """A timestamp as RFC 3339 UTC text (a naive one is UTC, as the engines read it)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)  # chdb sends "2026-03-01 10:00:00.123456"
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_ts(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    return value
