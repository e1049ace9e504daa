"""The one statement gives the same sums on every engine as an independent reference."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from corpus import EXP, PINS, assert_same, reference, write_corpus

from maia_git.storage.jsonl import read_lines
from maia_git.warehouse import engines, guard
from maia_git.warehouse.parquet import experiment_glob, parse_source, write_segment
from maia_git.warehouse.result import SourceSums
from maia_git.warehouse.rows import SCHEMA, segment_rows
from maia_git.warehouse.sql import aggregate_sql

# A warehouse table's columns: the published ones with prompt_blob, and where each row came from.
TABLE = {**SCHEMA, "prompt_blob": "VARCHAR"}

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """The JSONL segments, and the same exported to a Parquet folder."""
    top = tmp_path_factory.mktemp("corpus")
    files = write_corpus(top / "logs")
    root = top / "parquet"
    for path in files:
        out = root / f"experiment={EXP}" / "date=2026-03-01" / f"{path.stem}.parquet"
        write_segment(path, f"logs/{path.name}", out, PINS)  # as `maia logs export` does
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


def _typed_rows(files: list[Path], folder: str = "") -> list[dict[str, Any]]:
    """The lines as a warehouse holds them: typed columns and the prompt_blob as written (not
    checked against any pins), a line that breaks a field rule as a row of NULLs with its
    ``error``; ``segment`` is ``folder`` + the file's name."""
    out = []
    for path in files:
        rows = segment_rows(path, folder + path.name)
        for (_, item), row in zip(read_lines(path), rows, strict=True):
            served = item.get("prompt_blob") if row["error"] is None else None
            out.append({**row, "prompt_blob": served})
    return out


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
    statement = aggregate_sql("postgres", EXP, 0.5, tree, blobs=PINS)
    got = SourceSums.from_rows(engines.run_postgres(postgres_url, statement, 60))
    assert_same(got, reference(files))
    assert got.fetched == 3
    # Without the pins, a blob id of the right form counts: the lines served another prompt.
    loose = aggregate_sql("postgres", EXP, 0.5, tree, blobs={})
    got = SourceSums.from_rows(engines.run_postgres(postgres_url, loose, 60))
    assert_same(got, reference(files, pins={}))


def _load_postgres(url: str, rows: list[dict[str, Any]]) -> None:
    import psycopg

    pg_types = {"TIMESTAMPTZ": "timestamptz", "VARCHAR": "text", "BOOLEAN": "boolean",
                "DOUBLE": "double precision", "BIGINT": "bigint"}  # fmt: skip
    columns = ", ".join(f"{k} {pg_types[v]}" for k, v in TABLE.items())
    with psycopg.connect(url) as con:
        con.execute("DROP TABLE IF EXISTS events")
        con.execute(f"CREATE TABLE events ({columns})")
        with con.cursor() as cur, cur.copy(f"COPY events ({', '.join(TABLE)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_pg_value(k, row[k]) for k in TABLE])


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
        columns = ", ".join(f"{k} {'BIGINT' if k == 'ts' else v}" for k, v in TABLE.items())
        con.execute(f"CREATE TABLE raw ({columns})")
        con.executemany(
            f"INSERT INTO raw VALUES ({', '.join('?' * len(TABLE))})",
            [[r[k] for k in TABLE] for r in rows],
        )
        select = ", ".join("make_timestamp(ts)::TIMESTAMPTZ AS ts" if k == "ts" else k
                           for k in TABLE)  # fmt: skip
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
    statement = aggregate_sql("duckdb", EXP, 0.5, parse_source("duckdb", str(out)), blobs=PINS)
    assert_same(SourceSums.from_rows(engines.run_duckdb(con, statement)), want)
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    statement = aggregate_sql("clickhouse", EXP, 0.5, parse_source("chdb", str(out)), blobs=PINS)
    assert_same(SourceSums.from_rows(engines.run_chdb(statement)), want)
    _load_postgres(postgres_url, rows)
    query = guard.check_query("SELECT * FROM events", "postgres")
    statement = aggregate_sql("postgres", EXP, 0.5, query, blobs=PINS)
    assert_same(SourceSums.from_rows(engines.run_postgres(postgres_url, statement, 60)), want)


def _as_line(row: dict[str, Any]) -> dict[str, Any]:
    """A typed row as the JSON line it stands for (NULL: absent), for the git reader's check."""
    from datetime import UTC, datetime, timedelta

    line = {k: v for k, v in row.items() if k in TABLE and k not in ("segment", "line", "error")
            and v is not None}  # fmt: skip
    if "ts" in line:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=line["ts"])
        line["ts"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return line


def _sample(problems: Any) -> Counter[tuple[Any, ...]]:
    return Counter((p.file, p.line, p.row["user_id"], p.row["interaction_id"], p.error)
                   for p in problems)  # fmt: skip


def test_invalid_rows_come_back_with_the_git_readers_words(
    tmp_path: Path, postgres_url: str
) -> None:
    """A source without segment, line and error: the second, limited query names each bad row
    by its ts, user and interaction id, with the message the git reader gives the same line,
    on DuckDB and PostgreSQL; never more than 50, and the counts still count them all."""
    from corpus import bad_typed_rows

    from maia_git.core.interaction import check_line
    from maia_git.usecases.warehouse import Rules, sums_on

    bad = [r if r["interaction_id"] is not None else {**r, "interaction_id": f"bad-{i}"}
           for i, r in enumerate(bad_typed_rows())]  # fmt: skip
    rows = [{**r, "segment": None, "line": None, "error": None} for r in bad]
    want = Counter(("events", 0, r["user_id"], r["interaction_id"],
                    check_line(_as_line(r), EXP, 0.5, PINS)) for r in bad)  # fmt: skip
    assert None not in {key[-1] for key in want}  # every row breaks a rule
    out = tmp_path / "bad.parquet"
    _duckdb_table(rows, out)
    db = tmp_path / "bad.duckdb"
    import duckdb

    bare = tmp_path / "bare.parquet"  # a Parquet source from elsewhere: no segment, line, error
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * EXCLUDE (segment, line, error) FROM '{out}'")
        con.execute(f"COPY events TO '{bare}' (FORMAT parquet)")
    rules = Rules(EXP, 0.5, PINS)
    query = guard.check_query("SELECT * FROM events", "duckdb")
    con = engines.duckdb_connect(database=str(db))
    try:
        got = sums_on(engines.DuckDBSession(con), "duckdb", query, rules, "events")
    finally:
        con.close()
    assert got.invalid == len(bad) and _sample(got.problems) == want
    assert {p.row["ts"] for p in got.problems if p.row} == {"2026-02-25T06:13:20.000000Z", None}

    many = [{**rows[0], "interaction_id": f"many-{i}"} for i in range(60)]
    _load_postgres(postgres_url, [*rows, *many])
    query = guard.check_query(
        "SELECT ts, user_id, arm, success, quality_score, tokens, latency_ms, interaction_id, "
        "prompt_blob FROM events", "postgres")  # fmt: skip
    with engines.postgres(postgres_url, 60) as session:
        first = sums_on(session, "postgres", query, rules, "events")
        again = sums_on(session, "postgres", query, rules, "events")
    assert first.invalid == len(bad) + 60 and len(first.problems) == 50
    assert first.problems == again.problems  # a fixed order: the same sample every time
    if importlib.util.find_spec("chdb") is not None:  # NaN and infinity kept, not nulls
        source = parse_source("chdb", str(bare))
        got = sums_on(engines.ChdbSession(), "clickhouse", source, rules, "events")
        assert got.invalid == len(bad) and _sample(got.problems) == want
    assert _sample(first.problems) <= want + Counter(
        ("events", 0, r["user_id"], r["interaction_id"], check_line(_as_line(r), EXP, 0.5, PINS))
        for r in many
    )


# Ids whose buckets span the range, including the edges of the 64-bit prefix's halves.
BUCKET_USERS = [f"user-{i}" for i in range(3000)] + ["é", "名前", "a'b", " ", "x" * 300]


def _bucket_select(expression: str, source: str) -> str:
    return f"SELECT u, {expression} FROM (SELECT u, MD5(CONCAT('{EXP}:', u)) AS h FROM {source}) x"


def test_each_engine_computes_the_assignment_bucket(postgres_url: str) -> None:
    """Where an engine reads the MD5's hexadecimal itself, its bucket is core.assign's, user
    by user (the corpus alone has too few users to reach every digit's edge)."""
    import duckdb
    import psycopg

    from maia_git.core.assign import bucket
    from maia_git.warehouse.sql import _NATIVE_BUCKETS

    want = {u: bucket(EXP, u) for u in BUCKET_USERS}
    with duckdb.connect() as con:
        query = _bucket_select(_NATIVE_BUCKETS["duckdb"], "(SELECT UNNEST(?) AS u)")
        assert dict(con.execute(query, [BUCKET_USERS]).fetchall()) == want
    with psycopg.connect(postgres_url) as con:
        con.execute(
            "CREATE TEMPORARY TABLE users AS SELECT UNNEST(%s::text[]) AS u", [BUCKET_USERS]
        )
        query = _bucket_select(_NATIVE_BUCKETS["postgres"], "users")
        assert dict(con.execute(query).fetchall()) == want
