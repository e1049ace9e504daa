"""A source query is hostile repository content: only one read-only SELECT runs, and the
engines' own walls hold even for one that gets past the parser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maia_git.errors import MaiaError, UsageError
from maia_git.warehouse import engines
from maia_git.warehouse.guard import check_query
from maia_git.warehouse.sql import aggregate_sql

pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")

REFUSED = [
    ("DELETE FROM events", "duckdb"),
    ("SELECT 1; DROP TABLE events", "duckdb"),
    ("SELECT * FROM events; SELECT 1", "postgres"),
    ("INSERT INTO events VALUES (1)", "postgres"),
    ("UPDATE events SET arm = 'control'", "postgres"),
    ("CREATE TABLE x AS SELECT 1", "duckdb"),
    ("SELECT * INTO copy_of_events FROM events", "postgres"),
    ("SELECT * FROM events FOR UPDATE", "postgres"),
    ("WITH gone AS (DELETE FROM events RETURNING *) SELECT * FROM gone", "postgres"),
    ("COPY events TO '/tmp/out.csv'", "duckdb"),
    ("ATTACH '/tmp/other.db'", "duckdb"),
    ("SET enable_external_access = true", "duckdb"),
    ("SELECT * FROM read_text('/proc/self/environ')", "duckdb"),
    ("SELECT * FROM read_csv('/etc/passwd')", "duckdb"),
    ("SELECT * FROM '/proc/self/environ'", "duckdb"),
    ("SELECT getenv('MAIA_WAREHOUSE_URL')", "duckdb"),
    ("SELECT pg_read_file('/proc/self/environ')", "postgres"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "postgres"),
    ("SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "postgres"),
    ("SELECT pg_sleep(100)", "postgres"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "clickhouse"),
    ("SELECT * FROM url('http://example.com/x', CSV)", "clickhouse"),
    ("not sql at all (", "postgres"),
    ("", "duckdb"),
]


@pytest.mark.parametrize(("query", "dialect"), REFUSED)
def test_anything_but_one_read_only_select_is_refused(query: str, dialect: str) -> None:
    with pytest.raises(UsageError) as err:
        check_query(query, dialect)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("query", "dialect"),
    [
        ("SELECT * FROM events", "postgres"),
        ("SELECT * FROM a UNION ALL SELECT * FROM b", "duckdb"),
        ("WITH x AS (SELECT * FROM events WHERE ts > now() - interval '7 days') "
         "SELECT * FROM x", "postgres"),
        ("SELECT * FROM `project.dataset.events`", "bigquery"),
    ],
)  # fmt: skip
def test_ordinary_selects_pass(query: str, dialect: str) -> None:
    check_query(query, dialect)


def test_duckdb_cannot_read_local_files_beyond_the_data(tmp_path: Path) -> None:
    """Even SQL that never went through the parser (maia's own statement) cannot reach
    /proc/self/environ, another file, a setting or an extension once the connection is made."""
    pytest.importorskip("duckdb")
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "secret.csv").write_text("a\n1\n", encoding="utf-8")
    con = engines.duckdb_connect(allowed_dirs=[str(data)])
    for statement in (
        "SELECT * FROM read_text('/proc/self/environ')",
        f"SELECT * FROM read_csv('{tmp_path}/secret.csv')",
        f"SELECT * FROM read_csv('{data}/../secret.csv')",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "LOAD httpfs",
    ):
        with pytest.raises(MaiaError):
            engines.run_duckdb(con, statement)


def test_postgres_session_is_read_only_with_a_timeout(postgres_url: str) -> None:
    with pytest.raises(MaiaError, match="read-only"):
        engines.run_postgres(postgres_url, "CREATE TABLE intruder (a int)", 30)
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("CREATE SEQUENCE IF NOT EXISTS counter")
    with pytest.raises(MaiaError, match="read-only transaction"):
        engines.run_postgres(postgres_url, "SELECT nextval('counter')", 30)
    for setting in ("transaction_read_only", "default_transaction_read_only"):
        statement = f"SELECT set_config('{setting}', 'off', false), nextval('counter')"
        with pytest.raises(MaiaError, match=r"read-only transaction|read-write mode must be set"):
            engines.run_postgres(postgres_url, statement, 30)
    with pytest.raises(MaiaError, match="statement timeout"):
        engines.run_postgres(postgres_url, "SELECT pg_sleep(5)", 0.2)


def test_postgres_session_groups_in_memory(postgres_url: str) -> None:
    """maia's own session raises work_mem, so the groupings of a large log do not spill."""
    assert engines.run_postgres(postgres_url, "SHOW work_mem", 30) == [(engines.WORK_MEM,)]


def test_a_query_is_embedded_as_regenerated_sql_not_as_text() -> None:
    tree = check_query("SELECT * FROM events -- ; DROP TABLE events", "postgres")
    statement = aggregate_sql("postgres", "exp_001", 0.5, tree)
    assert "DROP" not in statement
    assert statement.count(";") == 0


def test_url_comes_from_a_maia_variable_only() -> None:
    from maia_git.core.logsource import logs_problem

    assert logs_problem({"source": "sql", "query": "q.sql", "url_env": "DATABASE_URL"})
    assert logs_problem({"source": "sql", "query": "q.sql", "url_env": "MAIA_DB"}) is None
    assert "MAIA_DB" not in os.environ
