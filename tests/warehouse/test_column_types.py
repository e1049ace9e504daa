"""A source's columns must be of the kinds the line rules are written for: a text ``ts`` or a
text number would pass SQL rules that take them as typed, where the git reader refuses a line
whose value is not of its field's JSON type. Checked before the statement runs, on each engine's
own names for its types."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from maia_git.warehouse import engines

from conftest import Result, new_exp

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")

# One column of each kind, and of kinds no field takes, as each engine writes the literal.
_DUCKDB = {
    "TIMESTAMPTZ '2026-01-02 03:04:05+00'": engines.TIMESTAMP,
    "TIMESTAMP '2026-01-02 03:04:05'": engines.TIMESTAMP,
    "CAST(now() AS TIMESTAMP_NS)": engines.TIMESTAMP,
    "'x'": engines.TEXT,
    "CAST('x' AS VARCHAR(4))": engines.TEXT,
    "true": engines.BOOLEAN,
    "CAST(1 AS TINYINT)": engines.NUMBER,
    "CAST(1 AS UBIGINT)": engines.NUMBER,
    "CAST(1 AS HUGEINT)": engines.NUMBER,
    "CAST(1.5 AS DECIMAL(5, 2))": engines.NUMBER,
    "CAST(1.5 AS FLOAT)": engines.NUMBER,
    "1.5::DOUBLE": engines.NUMBER,
    "NULL": engines.NULL,
    "DATE '2026-01-02'": None,
    "[1, 2]": None,
}
_POSTGRES = {
    "TIMESTAMPTZ '2026-01-02 03:04:05+00'": engines.TIMESTAMP,
    "TIMESTAMP '2026-01-02 03:04:05'": engines.TIMESTAMP,
    "'x'::text": engines.TEXT,
    "'x'::varchar(20)": engines.TEXT,
    "'x'::char(3)": engines.TEXT,
    "true": engines.BOOLEAN,
    "1::smallint": engines.NUMBER,
    "1::bigint": engines.NUMBER,
    "1.5::numeric(10, 2)": engines.NUMBER,
    "1.5::real": engines.NUMBER,
    "1.5::double precision": engines.NUMBER,
    "DATE '2026-01-02'": None,
    "'{}'::jsonb": None,
}
_CLICKHOUSE = {
    "toDateTime64('2026-01-02 03:04:05', 6, 'UTC')": engines.TIMESTAMP,
    "toDateTime('2026-01-02 03:04:05')": engines.TIMESTAMP,
    "'x'": engines.TEXT,
    "toNullable('x')": engines.TEXT,
    "toLowCardinality('x')": engines.TEXT,
    "toFixedString('x', 2)": engines.TEXT,
    "true": engines.BOOLEAN,
    "toInt8(1)": engines.NUMBER,
    "toUInt64(1)": engines.NUMBER,
    "toNullable(toFloat64(1.5))": engines.NUMBER,
    "toDecimal32(1.5, 2)": engines.NUMBER,
    "NULL": engines.NULL,
    "toDate('2026-01-02')": None,
}


def _select(literals: dict[str, str | None]) -> str:
    return "SELECT " + ", ".join(f"{lit} AS c{i}" for i, lit in enumerate(literals))


def _kinds(columns: dict[str, str]) -> list[str | None]:
    return [engines.kind(columns[f"c{i}"]) for i in range(len(columns))]


def test_duckdb_and_clickhouse_types_are_told_apart() -> None:
    con = engines.duckdb_connect()
    try:
        assert _kinds(engines.DuckDBSession(con).columns(_select(_DUCKDB))) == list(
            _DUCKDB.values()
        )
    finally:
        con.close()
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    found = engines.ChdbSession().columns(_select(_CLICKHOUSE))
    assert _kinds(found) == list(_CLICKHOUSE.values())


def test_postgres_types_are_told_apart(postgres_url: str) -> None:
    with engines.postgres(postgres_url, 60) as session:
        assert _kinds(session.columns(_select(_POSTGRES))) == list(_POSTGRES.values())


# A row of the right kinds, as the columns of a DuckDB query; each case swaps one of them.
_GOOD = {
    "ts": "TIMESTAMPTZ '2026-01-02 03:04:05+00'",
    "user_id": "'u1'",
    "arm": "'control'",
    "success": "true",
    "quality_score": "80.0",
    "tokens": "CAST(12 AS BIGINT)",
    "latency_ms": "5.0",
    "interaction_id": "'i1'",
}
_WRONG = [
    ("ts", "'2026-01-02T03:04:05Z'", "ts is VARCHAR, not a timestamp"),
    ("ts", "DATE '2026-01-02'", "ts is DATE, not a timestamp"),
    ("success", "1", "success is INTEGER, not a boolean"),
    ("tokens", "'12'", "tokens is VARCHAR, not a number"),
    ("user_id", "7", "user_id is INTEGER, not a text"),
]


def _query(top: Path, swap: dict[str, str]) -> None:
    values = {**_GOOD, **swap}
    query = "SELECT " + ", ".join(f"{v} AS {k}" for k, v in values.items())
    (top / "queries").mkdir(exist_ok=True)
    (top / "queries" / "events.sql").write_text(query + "\n", encoding="utf-8")


def _duckdb_file(top: Path) -> str:
    """A URL of an empty DuckDB database (the queries here read no table)."""
    import duckdb

    path = top.parent / "empty.duckdb"
    duckdb.connect(str(path)).close()
    return f"duckdb:///{path}"


def _sql_source(top: Path) -> None:
    settings = top / "maia.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text + "logs:\n  source: sql\n  query: queries/events.sql\n  url_env: MAIA_TEST_DB\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize(("field", "value", "said"), _WRONG)
def test_a_column_of_the_wrong_kind_is_one_line_before_the_statement(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch,
    field: str, value: str, said: str,
) -> None:  # fmt: skip
    exp_id = new_exp(maia, ws)
    _sql_source(ws)
    monkeypatch.setenv("MAIA_TEST_DB", _duckdb_file(ws))
    _query(ws, {field: value})

    result = maia("exp", "analyze", exp_id, cwd=ws)

    assert result.code == 2, result.err
    assert said in result.err and "cast it in the query" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_field_the_source_lacks_may_be_plain_null_or_a_typed_null(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    exp_id = new_exp(maia, ws)
    _sql_source(ws)
    monkeypatch.setenv("MAIA_TEST_DB", _duckdb_file(ws))
    for lacking in ({"tokens": "NULL"}, {"tokens": "CAST(NULL AS DOUBLE)"}):
        _query(ws, {**lacking, "quality_score": "NULL", "interaction_id": "NULL"})
        result = maia("logs", "sums", exp_id, "--json", cwd=ws)
        assert result.code == 0, result.err


def test_postgres_columns_of_the_wrong_kind_are_refused(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """PostgreSQL types a bare NULL as text: a lacking number field needs its cast there."""
    import psycopg

    exp_id = new_exp(maia, ws)
    _sql_source(ws)
    monkeypatch.setenv("MAIA_TEST_DB", postgres_url)
    table = f"events_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(
            f"CREATE TABLE {table} AS SELECT TIMESTAMPTZ '2026-01-02 03:04:05+00' AS ts, "
            "'u1'::text AS user_id, 'control'::text AS arm, true AS success, "
            "80.0::float8 AS quality_score, 12::bigint AS tokens, 5.0::float8 AS latency_ms, "
            "'i1'::text AS interaction_id, '2026-01-02T03:04:05Z'::text AS ts_text"
        )
    columns = "user_id, arm, success, quality_score, latency_ms, interaction_id"
    cases = [
        (f"SELECT ts_text AS ts, {columns}, tokens FROM {table}", 2,
         "ts is text, not a timestamp"),
        (f"SELECT ts, {columns}, NULL AS tokens FROM {table}", 2, "tokens is text, not a number"),
        (f"SELECT ts, {columns}, NULL::float8 AS tokens FROM {table}", 0, ""),
    ]  # fmt: skip
    for query, code, said in cases:
        (ws / "queries").mkdir(exist_ok=True)
        (ws / "queries" / "events.sql").write_text(query + "\n", encoding="utf-8")
        result = maia("logs", "sums", exp_id, cwd=ws)
        assert result.code == code, (query, result.err)
        assert said in result.err
