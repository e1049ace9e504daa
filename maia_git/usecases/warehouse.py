"""An experiment's sums from where its logs live: Parquet files, a SQL database, or segments in
git beside ones exported to Parquet (``maia logs export``). The aggregation runs in the engine
(``warehouse.sql``); what comes back is a ``SourceSums`` of three rows.

    source_of(ws, exp_id) -> LogSource                     maia.yaml's choice for the experiment
    uses_engine(ws, exp_id) -> bool                        whether the analysis goes through SQL
    source_sums(ws, exp_id, control_share) -> SourceSums   the sums, from the engine
    statement(ws, exp_id, dialect) -> str                  what would run (``maia logs sql``)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from maia_git.core.ids import check_id
from maia_git.core.logsource import LogSource, source_for
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import segments, state
from maia_git.usecases.pins import pinned_blobs
from maia_git.warehouse import engines, manifest
from maia_git.warehouse.guard import check_query
from maia_git.warehouse.parquet import experiment_glob, has_files, parse_source, source_sql
from maia_git.warehouse.result import MAX_PROBLEMS, ArmSums, Problem, SourceSums
from maia_git.warehouse.rows import read_rows_sql, segment_rows, sql_string, write_ndjson
from maia_git.warehouse.sql import DIALECTS, aggregate_sql, duckdb_sql, problems_sql
from maia_git.workspace import Workspace

_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb"}


def source_of(ws: Workspace, exp_id: str) -> LogSource:
    return source_for(ws.settings.logs, check_id(exp_id))


def uses_engine(ws: Workspace, exp_id: str) -> bool:
    """True for Parquet and SQL sources, and for git once some segments were exported."""
    return source_of(ws, exp_id).kind != "git" or manifest.exists(ws.top, exp_id)


def source_sums(ws: Workspace, exp_id: str, control_share: float) -> SourceSums:
    source = source_of(ws, exp_id)
    if source.kind == "parquet":
        return _parquet(ws, exp_id, control_share, source)
    if source.kind == "sql":
        dialect, url = _connection(source)
        statement_text = _sql_statement(ws, exp_id, control_share, source, dialect)
        if dialect == "postgres":
            return SourceSums.from_rows(engines.run_postgres(url, statement_text, source.timeout))
        con = engines.duckdb_connect(database=_duckdb_file(url))
        try:
            return SourceSums.from_rows(engines.run_duckdb(con, statement_text))
        finally:
            con.close()
    return _git_with_exports(ws, exp_id, control_share)


def statement(ws: Workspace, exp_id: str, dialect: str | None = None) -> str:
    """The statement for the experiment's source, in ``dialect`` (default: its engine's)."""
    check_id(exp_id)
    share = state.control_share(ws.top, exp_id)
    source = source_of(ws, exp_id)
    if dialect is not None and dialect not in DIALECTS:
        raise UsageError(f"unknown dialect {dialect!r} (known: {', '.join(DIALECTS)})")
    if source.kind == "sql":
        wanted = dialect or _dialect_of_env(source)
        return _sql_statement(ws, exp_id, share, source, wanted, pretty=True)
    engine = "chdb" if source.kind == "parquet" and source.engine == "chdb" else "duckdb"
    root = _root(ws, source) if source.kind == "parquet" else "<exported files>"
    wanted = dialect or ("clickhouse" if engine == "chdb" else "duckdb")
    tree = parse_source(engine, experiment_glob(root, exp_id))
    return aggregate_sql(wanted, exp_id, share, tree, pretty=True)


# ---- parquet ----


def _root(ws: Workspace, source: LogSource) -> str:
    if "://" in source.path:
        return source.path
    return str((ws.top / source.path).resolve())


def _parquet(ws: Workspace, exp_id: str, share: float, source: LogSource) -> SourceSums:
    root = _root(ws, source)
    if "://" not in root and not has_files(Path(root), exp_id):
        return _empty()
    files = experiment_glob(root, exp_id)
    if source.engine == "chdb":
        tree = parse_source(source.engine, files)
        return SourceSums.from_rows(engines.run_chdb(aggregate_sql("clickhouse", exp_id, share,
                                                                   tree)))  # fmt: skip
    return _on_duckdb(source_sql("duckdb", files), exp_id, share, allowed_dirs=[root])


def _empty() -> SourceSums:
    return SourceSums(ArmSums(), ArmSums(), 0, 0, 0)


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
        raise UsageError(
            f"{source.url_env} names a {scheme!r} database; maia runs postgresql:// and duckdb:// "
            "itself (for other warehouses: `maia logs sql --dialect ...` prints the statement)"
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


def _sql_statement(
    ws: Workspace, exp_id: str, share: float, source: LogSource, dialect: str, *,
    pretty: bool = False,
) -> str:  # fmt: skip
    path = (ws.top / source.query).resolve()
    if not path.is_relative_to(ws.top.resolve()) or not path.is_file():
        raise UsageError(f"the query file {source.query} is not a file in this repository")
    tree = check_query(path.read_text(encoding="utf-8"), dialect)
    return aggregate_sql(dialect, exp_id, share, tree, pretty=pretty)


# ---- git, with some segments exported ----


def _git_with_exports(ws: Workspace, exp_id: str, share: float) -> SourceSums:
    """Exported segments from their Parquet files (checked against the manifest's hashes),
    the rest from the working tree, in one statement: a user's lines may be in both."""
    exported = manifest.load(ws.top, exp_id)
    files = manifest.verified_files(ws.top, exported)
    with _remaining_as_ndjson(ws, exp_id, exported) as ndjson:
        parts = []
        if files:
            parts.append(f"SELECT * FROM read_parquet([{', '.join(map(sql_string, files))}])")
        if ndjson is not None:
            parts.append(read_rows_sql(ndjson))
        if not parts:
            return _empty()
        allowed = [*files, *([ndjson] if ndjson else [])]
        return _on_duckdb(" UNION ALL BY NAME ".join(parts), exp_id, share, allowed_paths=allowed)


def _on_duckdb(source: str, exp_id: str, share: float, **walls: Any) -> SourceSums:
    """Run the statement over ``source``, a SELECT maia wrote itself (no repository text);
    when it finds invalid rows and the rows say where they came from, a second query fetches
    the first few of them."""
    con = engines.duckdb_connect(**walls)
    try:
        sums = SourceSums.from_rows(engines.run_duckdb(con, duckdb_sql(exp_id, share, source)))
        if sums.invalid:
            sums = replace(sums, problems=_problems(con, source, exp_id, share))
        return sums
    finally:
        con.close()


def _problems(con: Any, source: str, exp_id: str, share: float) -> tuple[Problem, ...]:
    try:
        rows = engines.run_duckdb(con, problems_sql(exp_id, share, source, MAX_PROBLEMS))
    except MaiaError:  # Parquet files from elsewhere, without segment, line and error
        return ()
    return tuple(Problem(str(seg), int(line), str(error)) for seg, line, error in rows)


@contextmanager
def _remaining_as_ndjson(ws: Workspace, exp_id: str, exported: Any) -> Iterator[str | None]:
    """The experiment's files not exported (segments, and records not yet synced), as rows."""
    done = {entry["segment"] for entry in exported["files"]}
    rels = [f for f in segments.log_files(ws.repo, exp_id).files if f not in done]
    if not rels:
        yield None
        return
    pinned = pinned_blobs(ws.repo, exp_id)
    fd, path = tempfile.mkstemp(suffix=".ndjson")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for rel in rels:
                shown = segments.shown(ws.repo, rel)
                write_ndjson(segment_rows(ws.top / rel, shown, pinned), out)
        yield path
    finally:
        os.unlink(path)
