"""An experiment's sums from where its logs live: Parquet files, a SQL database, or segments in
git beside ones exported to Parquet (``maia logs export``). The aggregation runs in the engine
(``warehouse.sql``); what comes back is a ``SourceSums`` of three rows.

    source_of(ws, exp_id) -> LogSource          maia.yaml's choice for the experiment
    uses_engine(ws, exp_id) -> bool             whether the analysis goes through SQL
    rules_of(ws, exp_id) -> Rules               the split and pins the rows are checked against
    source_sums(ws, rules) -> SourceSums        the sums, from the engine
    statement(ws, exp_id, dialect) -> str       what would run (``maia logs sql``)
    default_dialect(ws, exp_id) -> str          the dialect of the engine that runs it
    sums_on(session, dialect, source, rules, label) -> SourceSums   the same on an open session

The engine is asked first which columns the source returns: a ``prompt_blob`` column is checked
against the pins, and rows with ``segment``, ``line`` and ``error`` (exported logs) are reported
by segment and line. When the sums find invalid rows, a second, limited query fetches the first
few of them (``warehouse.problems`` says why each does not count).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from maia_git.core import fields
from maia_git.core.assign import Arms, Split, arm_names
from maia_git.core.ids import check_id
from maia_git.core.logsource import LogSource, source_for
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import git, segments, state
from maia_git.usecases.pins import blob_ids, effective
from maia_git.warehouse import engines, manifest, objstore
from maia_git.warehouse.guard import check_query
from maia_git.warehouse.parquet import NO_HIVE, experiment_glob, has_files, parse_source, source_sql
from maia_git.warehouse.problems import problems
from maia_git.warehouse.result import MAX_PROBLEMS, Problem, SourceSums
from maia_git.warehouse.rows import SCHEMA, read_rows_sql, segment_rows, sql_string, write_ndjson
from maia_git.warehouse.sql import (
    BLOB,
    DIALECTS,
    aggregate_sql,
    canonical_sql,
    on_source,
    problems_sql,
    translate,
)
from maia_git.workspace import Workspace

_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb"}


def source_of(ws: Workspace, exp_id: str) -> LogSource:
    return source_for(ws.settings.logs, check_id(exp_id))


def uses_engine(ws: Workspace, exp_id: str) -> bool:
    """True for Parquet and SQL sources, and for git once some segments were exported."""
    return source_of(ws, exp_id).kind != "git" or manifest.exists(ws.top, exp_id)


@dataclass(frozen=True)
class Rules:
    """What a row is checked against besides its fields: how the experiment splits its users
    (``Experiment.assignment()``: the control share in force, or the Arms of one with several
    treatments) and its pins (``{arm: blob id}``; empty before start)."""

    exp_id: str
    split: Split
    pins: Mapping[str, str] = field(default_factory=dict)

    @property
    def arms(self) -> tuple[str, ...]:
        return arm_names(self.split)

    @property
    def shares(self) -> float | tuple[float, ...]:
        """The split as ``warehouse.sql`` takes it (with ``arms``)."""
        return self.split.shares if isinstance(self.split, Arms) else self.split


def rules_of(ws: Workspace, exp_id: str) -> Rules:
    """The experiment's rules, its pins backfilled for one started before pins existed."""
    if not state.has_experiment(ws.top, check_id(exp_id)):
        return Rules(exp_id, state.control_share(ws.top, exp_id))
    entry = state.load_entry(ws.top, exp_id)
    experiment = effective(ws.repo, state.load_experiment(ws.top, exp_id), entry.status)
    return Rules(exp_id, experiment.assignment(), blob_ids(experiment))


def source_sums(ws: Workspace, rules: Rules) -> SourceSums:
    source = source_of(ws, rules.exp_id)
    if source.kind == "parquet":
        return _parquet(ws, rules, source)
    if source.kind == "sql":
        dialect, url = _connection(source)
        tree = _query(ws, source, dialect)
        if dialect == "postgres":
            with engines.postgres(url, source.timeout) as session:
                return sums_on(session, dialect, tree, rules, source.query)
        con = engines.duckdb_connect(database=_duckdb_file(url))
        try:
            duck = engines.DuckDBSession(con, source.timeout)
            return sums_on(duck, dialect, tree, rules, source.query)
        finally:
            con.close()
    return _git_with_exports(ws, rules)


def statement(ws: Workspace, exp_id: str, dialect: str | None = None) -> str:
    """The statement for the experiment's source, in ``dialect`` (default: its engine's). A
    query whose columns cannot be seen without running it (``SELECT *``) is shown with the
    ``prompt_blob`` check, which runs only if the source has that column; local Parquet files
    are asked for their columns, as a run does."""
    check_id(exp_id)
    rules = rules_of(ws, exp_id)
    source = source_of(ws, exp_id)
    if dialect is not None and dialect not in DIALECTS:
        raise UsageError(f"unknown dialect {dialect!r} (known: {', '.join(DIALECTS)})")
    wanted = dialect or default_dialect(ws, exp_id)
    if source.kind == "sql":
        tree = _query(ws, source, wanted)
        named = _named_columns(tree)
        blobs = dict(rules.pins) if named is None or BLOB in named else None
        return aggregate_sql(wanted, exp_id, rules.shares, tree, blobs=blobs, arms=rules.arms,
                             pretty=True)  # fmt: skip
    engine = "chdb" if source.kind == "parquet" and source.engine == "chdb" else "duckdb"
    root = _root(ws, source) if source.kind == "parquet" else "<exported files>"
    tree = parse_source(engine, experiment_glob(root, exp_id))
    blobs = dict(rules.pins) if BLOB in _parquet_columns(engine, root, exp_id) else None
    return aggregate_sql(wanted, exp_id, rules.shares, tree, blobs=blobs, arms=rules.arms,
                         pretty=True)  # fmt: skip


def default_dialect(ws: Workspace, exp_id: str) -> str:
    """The dialect of the engine that runs the experiment's statement."""
    source = source_of(ws, exp_id)
    if source.kind == "sql":
        return _dialect_of_env(source)
    return "clickhouse" if source.kind == "parquet" and source.engine == "chdb" else "duckdb"


def _parquet_columns(engine: str, root: str, exp_id: str) -> frozenset[str]:
    """The columns of an experiment's local Parquet files, as the engine reads them (none for
    exported files, which have no prompt_blob, or files elsewhere, which are not opened)."""
    if root == "<exported files>" or objstore.is_url(root) or not has_files(Path(root), exp_id):
        return frozenset()
    files = experiment_glob(root, exp_id)
    if engine == "chdb":
        return frozenset(engines.ChdbSession().columns(source_sql("chdb", files)))
    con = engines.duckdb_connect(allowed_dirs=[root])
    try:
        return frozenset(engines.DuckDBSession(con).columns(source_sql("duckdb", files)))
    finally:
        con.close()


def _named_columns(tree: Any) -> frozenset[str] | None:
    """The columns a query names (lower case), or None when a ``*`` hides them."""
    names = [str(n).lower() for n in tree.named_selects]
    return None if "*" in names or not names else frozenset(names)


# The columns every source returns (docs/warehouse.md); exported files add segment, line, error.
PUBLISHED = tuple(name for name in SCHEMA if name not in ("segment", "line", "error"))


# The kind of column each published field needs (``core.fields``): a line's JSON types, which
# the git reader checks, are the columns' types here.
_KIND_OF_FIELD = {fields.TIMESTAMP: engines.TIMESTAMP, fields.TEXT: engines.TEXT,
                  fields.ARM: engines.TEXT, fields.BLOB: engines.TEXT,
                  fields.BOOLEAN: engines.BOOLEAN, fields.NUMBER: engines.NUMBER,
                  fields.INTEGER: engines.NUMBER}  # fmt: skip
_NEEDED = {f.name: _KIND_OF_FIELD[f.kind] for f in fields.FIELDS}


def _check_columns(columns: Mapping[str, str], label: str) -> None:
    """Every published column there, each of the kind its field needs (or of NULLs alone): a
    text ``ts`` or a text number would otherwise pass rules written for typed values, where the
    git reader refuses a line whose value is not of its field's JSON type."""
    missing = [name for name in PUBLISHED if name not in columns]
    if missing:  # else the engine's own error names one column deep inside maia's statement
        raise UsageError(
            f"{label}: no column {', '.join(missing)} (the source must return "
            f"{', '.join(PUBLISHED)}, NULL where a line lacks one)"
        )
    wrong = [
        f"{name} is {columns[name]}, not a {_NEEDED[name]}"
        for name in (*PUBLISHED, BLOB)
        if name in columns and engines.kind(columns[name]) not in (_NEEDED[name], engines.NULL)
    ]
    if wrong:
        raise UsageError(
            f"{label}: {'; '.join(wrong)} column (cast it in the query; a field the source "
            "lacks is a NULL cast to its type)"
        )


def sums_on(
    session: engines.Session, dialect: str, source: Any, rules: Rules, label: str,
    columns: frozenset[str] | None = None, fresh: str | None = None,
) -> SourceSums:  # fmt: skip
    """The sums of ``source`` (a sqlglot tree, or a DuckDB SELECT maia wrote itself), and
    when some rows are invalid, the first few of them. ``columns``: the source's, if known;
    ``fresh``: as in ``sql.canonical_sql``."""
    if columns is None:
        select = source if isinstance(source, str) else source.sql(dialect=dialect)
        typed = session.columns(select)
        _check_columns(typed, label)
        columns = frozenset(typed)
    blobs = dict(rules.pins) if BLOB in columns else None

    def text(canonical: str) -> str:
        if isinstance(source, str):
            return on_source(canonical, source)
        return translate(canonical, dialect, source)

    statement = canonical_sql(rules.exp_id, rules.shares, blobs, rules.arms, fresh=fresh)
    sums = SourceSums.from_rows(session.rows(text(statement)), rules.arms)
    if not sums.invalid:
        return sums
    located = {"segment", "line", "error"} <= columns
    sample = problems_sql(rules.exp_id, rules.shares, blobs, located=located,
                          limit=MAX_PROBLEMS, arms=rules.arms)  # fmt: skip
    try:
        rows = session.rows(text(sample))
    except MaiaError as err:
        return replace(sums, problems=(Problem(label, 0, f"invalid rows not fetched: {err}"),))
    found = problems(rows, blob=blobs is not None, located=located, label=label,
                     experiment_id=rules.exp_id, split=rules.split,
                     pins=rules.pins)  # fmt: skip
    return replace(sums, problems=found)


# ---- parquet ----


def _root(ws: Workspace, source: LogSource) -> str:
    if objstore.is_url(source.path):
        return objstore.parse(source.path).url
    return str((ws.top / source.path).resolve())


def _parquet(ws: Workspace, rules: Rules, source: LogSource) -> SourceSums:
    root = _root(ws, source)
    if objstore.is_url(root):
        return _parquet_s3(rules, source, objstore.parse(root))
    if not Path(root).is_dir():  # a mistyped path is not an experiment without logs
        raise UsageError(f"the parquet folder {source.path} does not exist ({root})")
    if not has_files(Path(root), rules.exp_id):
        return _empty(rules)
    files = experiment_glob(root, rules.exp_id)
    if source.engine == "chdb":
        tree = parse_source(source.engine, files)
        return sums_on(engines.ChdbSession(source.timeout), "clickhouse", tree, rules, source.path)
    con = engines.duckdb_connect(allowed_dirs=[root])
    try:
        return sums_on(engines.DuckDBSession(con, source.timeout), "duckdb",
                       source_sql("duckdb", files), rules, source.path)  # fmt: skip
    finally:
        con.close()


def _parquet_s3(rules: Rules, source: LogSource, where: objstore.Location) -> SourceSums:
    """DuckDB reads the files through s3fs, and only under the configured prefix."""
    if source.engine == "chdb":
        raise UsageError(
            f"{source.path}: chdb reads local folders only; read s3:// with engine: duckdb"
        )
    fs = objstore.filesystem()
    if not objstore.has_files(fs, where, rules.exp_id):
        return _empty(rules)
    con = objstore.duckdb_connect(fs, where)
    try:
        select = source_sql("duckdb", experiment_glob(where.url, rules.exp_id))
        session = engines.DuckDBSession(con, source.timeout)
        return sums_on(session, "duckdb", select, rules, source.path)
    finally:
        con.close()


def _empty(rules: Rules) -> SourceSums:
    return SourceSums.empty(rules.arms)


# ---- sql ----


def _connection(source: LogSource) -> tuple[str, str]:
    url = os.environ.get(source.url_env, "")
    if not url:
        raise UsageError(
            f"set {source.url_env} to the database URL (in CI: a secret); it is never read "
            "from the repository"
        )
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SCHEMES:
        # Only a scheme's name is shown: the value may be a password or a conninfo string.
        named = f"a {scheme!r} database" if re.fullmatch(r"[a-z][a-z0-9.-]{0,30}", scheme) else (
            "no URL (its value is not shown)"
        )  # fmt: skip
        raise UsageError(
            f"{source.url_env} names {named}; maia runs postgresql:// and duckdb:// itself "
            "(for other warehouses: `maia logs sql --dialect ...` prints the statement)"
        )
    return _SCHEMES[scheme], url


def _dialect_of_env(source: LogSource) -> str:
    url = os.environ.get(source.url_env, "")
    return _SCHEMES.get(url.split(":", 1)[0].split("+", 1)[0].lower(), "postgres")


def _duckdb_file(url: str) -> str:
    path = url.split("://", 1)[1] if "://" in url else ""
    if not path or path == "/:memory:":
        raise UsageError("a duckdb:// URL must name a database file: duckdb:///path/to/file.duckdb")
    return path


def _query(ws: Workspace, source: LogSource, dialect: str) -> Any:
    """The repository's query file, checked (``guard``), as a sqlglot tree."""
    path = (ws.top / source.query).resolve()
    if not path.is_relative_to(ws.top.resolve()) or not path.is_file():
        raise UsageError(f"the query file {source.query} is not a file in this repository")
    # Parsing, checking and regenerating a query costs more than linear time in sqlglot
    # (430 KB: 27 s and 560 MB; 6.8 MB: still running after 10 minutes at 4 GB).
    if path.stat().st_size > MAX_QUERY_BYTES:
        raise UsageError(
            f"the query file {source.query} is larger than {MAX_QUERY_BYTES // 1024} KB; "
            "a query over the published columns is a few lines"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the query file {source.query} is not UTF-8 text") from None
    return check_query(text, dialect)


MAX_QUERY_BYTES = 64 * 1024


# ---- git, with some segments exported ----


def _git_with_exports(ws: Workspace, rules: Rules) -> SourceSums:
    """Exported segments from their Parquet files (checked against the manifest's hashes),
    the rest from the working tree, in one statement: a user's lines may be in both. Their
    blob ids were checked against the pins when each row was written (an ``error`` if not)."""
    exported = manifest.load(ws.top, rules.exp_id)
    with (
        manifest.verified_files(ws.top, exported) as files,
        _remaining_as_ndjson(ws, rules, exported) as ndjson,
    ):
        parts = []
        if files:
            listed = ", ".join(map(sql_string, files))
            parts.append(f"SELECT * FROM read_parquet([{listed}]{NO_HIVE})")
        if ndjson is not None:
            parts.append(read_rows_sql(ndjson))
        if not parts:
            return _empty(rules)
        fresh = None
        if manifest.ids_unique(exported):  # only ids of the rows still in git can repeat
            fresh = read_rows_sql(ndjson) if ndjson is not None else _NO_ROWS
        allowed = [*files, *([ndjson] if ndjson else [])]
        con = engines.duckdb_connect(allowed_paths=allowed)
        try:
            return sums_on(engines.DuckDBSession(con), "duckdb", " UNION ALL BY NAME ".join(parts),
                        rules, "exported logs", frozenset(SCHEMA), fresh)  # fmt: skip
        finally:
            con.close()


_NO_ROWS = "SELECT CAST(NULL AS VARCHAR) AS interaction_id LIMIT 0"


@contextmanager
def _remaining_as_ndjson(ws: Workspace, rules: Rules, exported: Any) -> Iterator[str | None]:
    """The experiment's files not exported (segments, and records not yet synced), as rows."""

    def working_blobs(again: list[str]) -> dict[str, str]:
        """The blob ids of the files as they are in the working tree."""
        hashed = git.run(ws.repo, "hash-object", "--", *again).split()
        return dict(zip(again, hashed, strict=True))

    rels = manifest.not_exported(
        exported, segments.log_files(ws.repo, rules.exp_id).files, working_blobs
    )
    if not rels:
        yield None
        return
    fd, path = tempfile.mkstemp(suffix=".ndjson")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for rel in rels:
                shown = segments.shown(ws.repo, rel)
                write_ndjson(segment_rows(ws.top / rel, shown, rules.pins), out)
        yield path
    finally:
        os.unlink(path)
