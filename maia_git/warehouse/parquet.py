"""Writing log segments as Parquet files, and the statement that reads an experiment's files.

Layout (hive-style, what DuckDB, ClickHouse, Spark and the warehouses' external tables read):
``<root>/experiment=<id>/date=<YYYY-MM-DD>/<name>.parquet``, zstd-compressed, one file per
segment, with the columns of ``rows.SCHEMA``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maia_git.warehouse import engines
from maia_git.warehouse.rows import read_rows_sql, segment_rows, sql_string, write_ndjson

# The folders' ``name=value`` are not columns: a root such as ``/lake/arm=x/`` would otherwise
# replace every row's ``arm`` (DuckDB and ClickHouse both read them by default). The files
# hold every column the rules need.
NO_HIVE = ", hive_partitioning = false"


@dataclass(frozen=True)
class Written:
    rows: int
    sha256: str
    size: int


def write_segment(
    segment: Path, rel: str, out: Path, pins: Mapping[str, str] | None = None
) -> Written:
    """Convert one segment to ``out`` (written to a temp name, then renamed); with ``pins``, a
    line whose ``prompt_blob`` is not its arm's pin becomes an error row."""
    duckdb = engines.need("duckdb")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_json = tempfile.mkstemp(suffix=".ndjson")
    partial = out.with_name(out.name + ".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            rows = write_ndjson(segment_rows(segment, rel, pins), handle)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")  # never on our stdout
            con.execute(
                f"COPY ({read_rows_sql(tmp_json)}) TO {sql_string(str(partial))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        finally:
            con.close()
        os.replace(partial, out)
    finally:
        os.unlink(tmp_json)
        partial.unlink(missing_ok=True)
    return Written(rows, file_sha256(out), out.stat().st_size)


def ids_repeat(paths: list[str]) -> bool:
    """Whether two rows of these Parquet files (exported by maia) share an interaction id."""
    duckdb = engines.need("duckdb")
    listed = "[" + ", ".join(map(sql_string, paths)) + "]"
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # never on our stdout
        found = con.execute(
            f"SELECT COUNT(*) FROM (SELECT interaction_id FROM read_parquet({listed}{NO_HIVE}) "
            "WHERE interaction_id IS NOT NULL GROUP BY interaction_id HAVING COUNT(*) > 1 "
            "LIMIT 1) AS again"
        ).fetchone()
    finally:
        con.close()
    return bool(found and found[0])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def experiment_glob(root: str, exp_id: str) -> str:
    return f"{root.rstrip('/')}/experiment={exp_id}/*/*.parquet"


def source_sql(engine: str, files: str | list[str]) -> str:
    """The SELECT of the published columns from ``files`` (a glob or a list), per engine."""
    if engine == "chdb":
        if isinstance(files, list):
            files = "{" + ",".join(files) + "}"
        return f"SELECT * FROM file({sql_string(files)}, Parquet)"
    if isinstance(files, str):
        listed = sql_string(files)
    else:
        listed = "[" + ", ".join(map(sql_string, files)) + "]"
    return f"SELECT * FROM read_parquet({listed}, union_by_name = true{NO_HIVE})"


def has_files(root: Path, exp_id: str) -> bool:
    return any((root / f"experiment={exp_id}").glob("*/*.parquet"))


def parse_source(engine: str, files: str | list[str]) -> Any:
    import sqlglot

    dialect = "clickhouse" if engine == "chdb" else "duckdb"
    return sqlglot.parse_one(source_sql(engine, files), read=dialect)
