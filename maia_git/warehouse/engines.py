"""Running the aggregate statement on an engine, behind that engine's own walls.

- DuckDB: an in-memory database whose file access is limited to the configured data
  (``allowed_directories`` / ``allowed_paths``, then ``enable_external_access = false`` and
  ``lock_configuration``), so a query cannot read ``/proc/self/environ`` or any other file, nor
  load an extension or change a setting back; a database file opens read-only.
- PostgreSQL: a read-only transaction (``default_transaction_read_only`` and the
  transaction's own mode) with a ``statement_timeout``, and a ``work_mem`` for this session.
- ClickHouse through chdb (embedded): maia's own statement over the configured Parquet files.

Each runs statements through a ``Session``: its ``rows`` (which ``result.SourceSums.from_rows``
reads and counts) and, first, the ``columns`` a source returns (whether it has ``prompt_blob``, or
``segment``/``line``/``error``), asked with ``LIMIT 0`` so that nothing is read.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from maia_git.errors import MaiaError, UsageError

# The memory each grouping of maia's own session may take before it spills to disk: at the
# default 4MB, PostgreSQL wrote both groupings of a 1,000,000-row log out and read them back.
WORK_MEM = "256MB"

EXTRAS = {
    "duckdb": "duckdb", "psycopg": "postgres", "chdb": "warehouse", "sqlglot": "duckdb",
    "s3fs": "s3",
}  # fmt: skip


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
    database: str = ":memory:", filesystems: Sequence[Any] = (),
) -> Any:  # fmt: skip
    """A DuckDB connection that can read only ``allowed_*`` (and ``database``, read-only).

    ``filesystems``: fsspec filesystems (``objstore``) DuckDB reads URLs through; their URLs
    too are readable only under ``allowed_dirs``."""
    duckdb = need("duckdb")
    read_only = database != ":memory:"
    try:
        con = duckdb.connect(database, read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for a long query: it would corrupt --json.
        con.execute("SET enable_progress_bar = false")
        for fs in filesystems:
            con.register_filesystem(fs)
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
    with postgres(url, timeout_s) as session:
        return session.rows(statement)


def run_chdb(statement: str) -> list[list[Any]]:
    return _chdb(statement)["data"]  # type: ignore[no-any-return]


def _chdb(statement: str) -> dict[str, Any]:
    chdb = need("chdb")
    try:
        result = chdb.query(statement, "JSONCompact")
    except Exception as err:  # chdb raises RuntimeError for every query error
        # Its first line may end in "Error:", the reason and the file on the lines after it.
        whole = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        whole = re.sub(r" \(version [^)]*\)", "", whole)
        raise MaiaError(f"ClickHouse (chdb): {whole or type(err).__name__}") from None
    data: dict[str, Any] = json.loads(result.data())
    return data


def _limit_0(select: str) -> str:
    return f"SELECT * FROM ({select}) AS src LIMIT 0"


class Session(Protocol):
    def rows(self, statement: str) -> Sequence[Sequence[Any]]: ...

    def columns(self, select: str) -> dict[str, str]:
        """The columns ``select`` returns (lower case) with the engine's name for each one's
        type (see ``kind``), reading no rows."""
        ...


# The kinds of value a column can hold, as the line rules tell them apart.
TIMESTAMP, TEXT, BOOLEAN, NUMBER, NULL = "timestamp", "text", "boolean", "number", "null"
_TEXT_TYPES = ("varchar", "text", "string", "name", "character varying", "character", "bpchar",
               "fixedstring")  # fmt: skip
_NUMBER_TYPE = re.compile(
    r"(u?int\d*|u?(tiny|small|big|huge)int|integer|float\d*|double( precision)?|real"
    r"|decimal|numeric)(\(.*\))?"
)
_WRAPPER = re.compile(r"(nullable|lowcardinality)\((.*)\)")


def kind(type_name: str) -> str | None:
    """What a column of the type an engine names (DuckDB's ``TIMESTAMP WITH TIME ZONE``,
    PostgreSQL's ``character varying(20)``, ClickHouse's ``Nullable(String)``) holds: one of
    the kinds above, ``null`` for a column of NULLs alone, or None for anything else."""
    name = type_name.strip().lower()
    while wrapped := _WRAPPER.fullmatch(name):
        name = wrapped[2]
    if name.startswith(("timestamp", "datetime")):
        return TIMESTAMP
    if name.split("(")[0] in _TEXT_TYPES:
        return TEXT
    if name in ("boolean", "bool"):
        return BOOLEAN
    if name in ('"null"', "null", "nothing"):
        return NULL
    return NUMBER if _NUMBER_TYPE.fullmatch(name) else None


class DuckDBSession:
    """``timeout_s``: each statement is interrupted after so many seconds (DuckDB has no
    statement timeout of its own)."""

    def __init__(self, con: Any, timeout_s: float | None = None) -> None:
        self.con, self.timeout_s = con, timeout_s

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        if self.timeout_s is None:
            return run_duckdb(self.con, statement)
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            self.con.interrupt()  # an interrupt of an idle connection does nothing

        timer = threading.Timer(self.timeout_s, stop)
        timer.start()
        try:
            return run_duckdb(self.con, statement)
        except MaiaError:
            if fired.is_set():
                raise MaiaError(
                    f"DuckDB: the statement ran longer than its timeout ({self.timeout_s:g} s) "
                    "and was stopped"
                ) from None
            raise
        finally:
            timer.cancel()

    def columns(self, select: str) -> dict[str, str]:
        duckdb = need("duckdb")
        try:
            described = self.con.execute(_limit_0(select)).description
        except duckdb.Error as err:
            raise MaiaError(f"DuckDB: {_first_line(err)}") from None
        return {str(d[0]).lower(): str(d[1]) for d in described}


# A folder's ``name=value`` is not a column (``parquet.NO_HIVE``).
_CHDB_FILES = " SETTINGS use_hive_partitioning = 0"


class ChdbSession:
    def __init__(self, timeout_s: float | None = None) -> None:
        self.limit = "" if timeout_s is None else f", max_execution_time = {timeout_s:g}"

    def rows(self, statement: str) -> list[list[Any]]:
        # NaN and infinity as "nan" and "inf", not null: an invalid row's value is kept.
        return run_chdb(
            f"{statement}{_CHDB_FILES}, output_format_json_quote_denormals = 1{self.limit}"
        )

    def columns(self, select: str) -> dict[str, str]:
        found = _chdb(_limit_0(select) + _CHDB_FILES)["meta"]
        return {str(m["name"]).lower(): str(m["type"]) for m in found}


class PostgresSession:
    def __init__(self, cursor: Any, errors: Any) -> None:
        self.cur, self.errors = cursor, errors

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        try:
            self.cur.execute(statement)
            return list(self.cur.fetchall())
        except self.errors as err:
            raise MaiaError(f"PostgreSQL: {_first_line(err)}") from None

    def columns(self, select: str) -> dict[str, str]:
        self.rows(_limit_0(select))
        return {str(d.name).lower(): str(d.type_display) for d in self.cur.description}


@contextlib.contextmanager
def postgres(url: str, timeout_s: float) -> Iterator[PostgresSession]:
    """A session in a read-only transaction whose every statement the server stops after
    ``timeout_s``; rolled back at the end."""
    psycopg = need("psycopg")
    ms = max(1, int(timeout_s * 1000))
    options = (
        f"-c default_transaction_read_only=on -c statement_timeout={ms} -c work_mem={WORK_MEM}"
    )
    try:
        with psycopg.connect(url, options=options, connect_timeout=30) as con:
            con.read_only = True
            with con.cursor() as cur:
                yield PostgresSession(cur, psycopg.Error)
            con.rollback()
    except psycopg.Error as err:
        raise MaiaError(f"PostgreSQL: {_hidden(_first_line(err), url)}") from None


def _hidden(text: str, url: str) -> str:
    """``text`` without the URL or its password: libpq repeats a URL it cannot parse."""
    password = re.match(r"[^:/?#]+://[^/?#@:]*:([^/?#@]+)@", url)
    text = text.replace(url, "<the database URL>")
    return text.replace(password[1], "<password>") if password else text


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
