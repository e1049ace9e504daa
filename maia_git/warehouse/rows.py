"""Interaction-log lines as typed rows: what ``maia logs export`` writes to Parquet, and how an
analysis reads segments still in git beside exported ones.

A line that ``core.interaction.check_line`` accepts (arm and assignment aside, which the SQL
statement checks) becomes a row of the published columns; any other line (not JSON, torn, too
long, a field of the wrong type or range) becomes a row with those columns NULL and its reason in
``error``, so that the statement counts it invalid, as the git reader does. Every row keeps its
``segment`` and ``line``, for the problem report.

Timestamps become microseconds since the epoch (UTC): digits beyond the sixth are cut, and a leap
second (``:60``) is the next minute's first instant, as PostgreSQL reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from maia_git.core.interaction import check_line
from maia_git.core.repeats import ts_micros
from maia_git.storage.jsonl import read_lines

# The Parquet schema, in DuckDB's types (the column order of every exported file).
SCHEMA: dict[str, str] = {
    "ts": "TIMESTAMPTZ",
    "user_id": "VARCHAR",
    "arm": "VARCHAR",
    "success": "BOOLEAN",
    "quality_score": "DOUBLE",
    "tokens": "BIGINT",
    "latency_ms": "DOUBLE",
    "interaction_id": "VARCHAR",
    "segment": "VARCHAR",
    "line": "BIGINT",
    "error": "VARCHAR",
}
_MAX_BIGINT = (1 << 63) - 1


def typed_row(
    obj: Any, pins: Mapping[str, str] | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The published columns of a parsed line, or None and why it cannot count (with ``pins``,
    ``{arm: blob id}``, a line served another prompt than its arm's pin does not count)."""
    problem = check_line(obj, pins=pins)
    if problem:
        return None, problem
    tokens = obj.get("tokens")
    if tokens is not None and tokens > _MAX_BIGINT:
        return None, "tokens beyond a 64-bit integer: not exported as a number"
    row = {
        "ts": ts_micros(obj["ts"]),
        "user_id": obj["user_id"],
        "arm": obj["arm"],
        "success": obj["success"],
        "quality_score": _float(obj.get("quality_score")),
        "tokens": None if tokens is None else int(tokens),
        "latency_ms": _float(obj.get("latency_ms")),
        "interaction_id": obj.get("interaction_id"),
    }
    return row, None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


_NULLS = dict.fromkeys(("ts", "user_id", "arm", "success", "quality_score", "tokens",
                        "latency_ms", "interaction_id"))  # fmt: skip


def segment_rows(
    path: Path, rel: str, pins: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every line of one segment as a row (blank lines, which hold nothing, are skipped)."""
    for number, item in read_lines(path):
        row: dict[str, Any] | None = None
        problem: str | None = item if isinstance(item, str) else None
        if not isinstance(item, str):
            row, problem = typed_row(item, pins)
        out = dict(_NULLS) if row is None else row
        out.update(segment=rel, line=number, error=problem)
        yield out


def write_ndjson(rows: Iterator[dict[str, Any]], out: Any) -> int:
    """Rows as JSON lines DuckDB reads back exactly (``read_rows_sql``); the count written."""
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    for row in rows:
        out.write(dumps(row))
        out.write("\n")
        count += 1
    return count


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled), the same in every dialect used here."""
    return "'" + text.replace("'", "''") + "'"


def read_rows_sql(ndjson_path: str) -> str:
    """A DuckDB SELECT of ``write_ndjson``'s file with the Parquet schema's types."""
    types = ", ".join(f"'{k}': '{'BIGINT' if k == 'ts' else v}'" for k, v in SCHEMA.items())
    columns = ", ".join("make_timestamp(ts)::TIMESTAMPTZ AS ts" if k == "ts" else k for k in SCHEMA)
    return (
        f"SELECT {columns} FROM read_json({sql_string(ndjson_path)}, format = 'newline_delimited', "
        f"columns = {{{types}}})"
    )
