"""Running the aggregate statement on an engine, behind that engine's own walls.

- DuckDB: an in-memory database whose file access is limited to the configured data
  (``allowed_directories`` / ``allowed_paths``, then ``enable_external_access = false`` and
  ``lock_configuration``), so a query cannot read ``/proc/self/environ`` or any other file, nor
  load an extension or change a setting back; a database file opens read-only.
- PostgreSQL: a read-only transaction (``default_transaction_read_only`` and the
  transaction's own mode) with a ``statement_timeout``.
- ClickHouse through chdb (embedded): maia's own statement over the configured Parquet files.

Each returns the statement's rows, which ``result.SourceSums.from_rows`` reads and counts.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

from maia_git.errors import MaiaError, UsageError

EXTRAS = {"duckdb": "duckdb", "psycopg": "postgres", "chdb": "warehouse", "sqlglot": "duckdb"}


def need(module: str) -> Any:
    """Import an optional engine, or say which extra installs it (exit 2)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module, "warehouse")
        raise UsageError(
            f"this log source needs {module}: pip install 'maia-git[{extra}]'"
        ) from None


def duckdb_connect(
    *, allowed_dirs: Sequence[str] = (), allowed_paths: Sequence[str] = (),
    database: str = ":memory:",
) -> Any:  # fmt: skip
    """A DuckDB connection that can read only ``allowed_*`` (and ``database``, read-only)."""
    duckdb = need("duckdb")
    read_only = database != ":memory:"
    try:
        con = duckdb.connect(database, read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for a long query: it would corrupt --json.
        con.execute("SET enable_progress_bar = false")
        if allowed_dirs:
            con.execute("SET allowed_directories = ?", [list(allowed_dirs)])
        if allowed_paths:
            con.execute("SET allowed_paths = ?", [list(allowed_paths)])
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as err:
        raise MaiaError(f"cannot open DuckDB: {_first_line(err)}") from None
    return con


def run_duckdb(con: Any, statement: str) -> list[tuple[Any, ...]]:
    duckdb = need("duckdb")
    try:
        return list(con.execute(statement).fetchall())
    except duckdb.Error as err:
        raise MaiaError(f"DuckDB: {_first_line(err)}") from None


def run_postgres(url: str, statement: str, timeout_s: float) -> list[tuple[Any, ...]]:
    """Run ``statement`` in a read-only transaction that the server stops after ``timeout_s``."""
    psycopg = need("psycopg")
    ms = max(1, int(timeout_s * 1000))
    options = f"-c default_transaction_read_only=on -c statement_timeout={ms}"
    try:
        with psycopg.connect(url, options=options, connect_timeout=30) as con:
            con.read_only = True
            with con.cursor() as cur:
                cur.execute(statement)
                rows = list(cur.fetchall())
            con.rollback()
    except psycopg.Error as err:
        raise MaiaError(f"PostgreSQL: {_first_line(err)}") from None
    return rows


def run_chdb(statement: str) -> list[list[Any]]:
    chdb = need("chdb")
    try:
        result = chdb.query(statement, "JSONCompact")
    except Exception as err:  # chdb raises RuntimeError for every query error
        raise MaiaError(f"ClickHouse (chdb): {_first_line(err)}") from None
    data: list[list[Any]] = json.loads(result.data())["data"]
    return data


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
