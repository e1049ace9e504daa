"""The one statement gives the same sums on every engine as an independent reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from corpus import EXP, assert_same, reference, write_corpus

from maia_git.warehouse import engines, guard
from maia_git.warehouse.parquet import experiment_glob, parse_source, write_segment
from maia_git.warehouse.result import SourceSums
from maia_git.warehouse.rows import SCHEMA, segment_rows
from maia_git.warehouse.sql import aggregate_sql

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """The JSONL segments, and the same exported to a Parquet folder."""
    top = tmp_path_factory.mktemp("corpus")
    files = write_corpus(top / "logs")
    root = top / "parquet"
    for path in files:
        out = root / f"experiment={EXP}" / "date=2026-03-01" / f"{path.stem}.parquet"
        write_segment(path, f"logs/{path.name}", out)
    return files, root


def test_parquet_on_duckdb_matches_the_reference(corpus: tuple[list[Path], Path]) -> None:
    files, root = corpus
    source = parse_source("duckdb", experiment_glob(str(root), EXP))
    con = engines.duckdb_connect(allowed_dirs=[str(root)])
    got = SourceSums.from_rows(engines.run_duckdb(con, aggregate_sql("duckdb", EXP, 0.5, source)))
    want = reference(files)
    assert want["invalid"] >= 20 and want["duplicates"] >= 4  # the corpus has what it claims
    assert_same(got, want)
    assert got.fetched == 3  # two arms and the counts: nothing per user or per line


def test_parquet_on_chdb_matches_the_reference(corpus: tuple[list[Path], Path]) -> None:
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    files, root = corpus
    source = parse_source("chdb", experiment_glob(str(root), EXP))
    got = SourceSums.from_rows(engines.run_chdb(aggregate_sql("clickhouse", EXP, 0.5, source)))
    assert_same(got, reference(files))
    assert got.fetched == 3


def _typed_rows(files: list[Path]) -> list[dict[str, Any]]:
    return [row for path in files for row in segment_rows(path, path.name)]


def test_a_duckdb_database_queried_by_a_repository_query(
    corpus: tuple[list[Path], Path], tmp_path: Path
) -> None:
    files, root = corpus
    db = tmp_path / "warehouse.duckdb"
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{root}/*/*/*.parquet')")
    query = "SELECT ts, user_id, arm, success, quality_score, tokens, latency_ms, interaction_id "
    query += "FROM events WHERE segment IS NOT NULL"
    tree = guard.check_query(query, "duckdb")
    con = engines.duckdb_connect(database=str(db))
    got = SourceSums.from_rows(engines.run_duckdb(con, aggregate_sql("duckdb", EXP, 0.5, tree)))
    assert_same(got, reference(files))


def test_postgres_matches_the_reference(corpus: tuple[list[Path], Path], postgres_url: str) -> None:
    files, _ = corpus
    _load_postgres(postgres_url, _typed_rows(files))
    tree = guard.check_query("SELECT * FROM events", "postgres")
    statement = aggregate_sql("postgres", EXP, 0.5, tree)
    got = SourceSums.from_rows(engines.run_postgres(postgres_url, statement, 60))
    assert_same(got, reference(files))
    assert got.fetched == 3


def _load_postgres(url: str, rows: list[dict[str, Any]]) -> None:
    import psycopg

    pg_types = {"TIMESTAMPTZ": "timestamptz", "VARCHAR": "text", "BOOLEAN": "boolean",
                "DOUBLE": "double precision", "BIGINT": "bigint"}  # fmt: skip
    columns = ", ".join(f"{k} {pg_types[v]}" for k, v in SCHEMA.items())
    with psycopg.connect(url) as con:
        con.execute("DROP TABLE IF EXISTS events")
        con.execute(f"CREATE TABLE events ({columns})")
        with con.cursor() as cur, cur.copy(f"COPY events ({', '.join(SCHEMA)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_pg_value(k, row[k]) for k in SCHEMA])


def _pg_value(key: str, value: Any) -> Any:
    if key == "ts" and value is not None:
        from datetime import UTC, datetime, timedelta

        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
    return value


def _with_bad_rows(files: list[Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from corpus import bad_typed_rows

    bad = bad_typed_rows()
    rows = _typed_rows(files) + [{**r, "segment": "typed", "line": 0, "error": None} for r in bad]
    want = reference(files)
    want["rows"] += len(bad)
    want["invalid"] += len(bad)
    return rows, want


def _duckdb_table(rows: list[dict[str, Any]], out: Path) -> None:
    """The rows as a Parquet file, typed as the export types them."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        columns = ", ".join(f"{k} {'BIGINT' if k == 'ts' else v}" for k, v in SCHEMA.items())
        con.execute(f"CREATE TABLE raw ({columns})")
        con.executemany(
            f"INSERT INTO raw VALUES ({', '.join('?' * len(SCHEMA))})",
            [[r[k] for k in SCHEMA] for r in rows],
        )
        select = ", ".join("make_timestamp(ts)::TIMESTAMPTZ AS ts" if k == "ts" else k
                           for k in SCHEMA)  # fmt: skip
        con.execute(f"COPY (SELECT {select} FROM raw) TO '{out}' (FORMAT parquet)")


def test_each_rule_refuses_its_typed_row_on_every_engine(
    corpus: tuple[list[Path], Path], tmp_path: Path, postgres_url: str
) -> None:
    """Values a typed column can hold but the rules refuse (NaN, infinity, control characters,
    a wrong arm, NULL where a field is required) count as invalid lines in each engine."""
    files, _ = corpus
    rows, want = _with_bad_rows(files)
    out = tmp_path / "typed.parquet"
    _duckdb_table(rows, out)
    con = engines.duckdb_connect(allowed_paths=[str(out)])
    statement = aggregate_sql("duckdb", EXP, 0.5, parse_source("duckdb", str(out)))
    assert_same(SourceSums.from_rows(engines.run_duckdb(con, statement)), want)
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    statement = aggregate_sql("clickhouse", EXP, 0.5, parse_source("chdb", str(out)))
    assert_same(SourceSums.from_rows(engines.run_chdb(statement)), want)
    _load_postgres(postgres_url, rows)
    query = guard.check_query("SELECT * FROM events", "postgres")
    statement = aggregate_sql("postgres", EXP, 0.5, query)
    assert_same(SourceSums.from_rows(engines.run_postgres(postgres_url, statement, 60)), want)
