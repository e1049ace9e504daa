"""Where an experiment's interaction logs are read from: the ``logs`` setting of maia.yaml.

    logs:
      source: git                      # the default: segments in the repository
      experiments:                     # per experiment, when it differs
        exp_002: {source: parquet, path: warehouse/logs}          # DuckDB reads the files
        exp_003: {source: parquet, path: warehouse/logs, engine: chdb}
        exp_004: {source: sql, query: queries/exp_004.sql, url_env: MAIA_WAREHOUSE_URL}

``parquet``: a folder (relative to the repository's top, or absolute) or an object-storage URL,
holding ``experiment=<id>/date=<YYYY-MM-DD>/*.parquet`` (what ``maia logs export`` writes).
``sql``: a query file in the repository that returns rows with the published columns, run on the
database whose URL the named environment variable holds. The URL never lives in the repository:
the variable's name must start with ``MAIA_``, so a query cannot borrow another secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maia_git.core.ids import ID_PATTERN

KINDS = ("git", "parquet", "sql")
ENGINES = ("duckdb", "chdb")
URL_ENV = re.compile(r"MAIA_[A-Z0-9_]{1,64}")
_KEYS = {"source", "path", "engine", "query", "url_env", "timeout"}


@dataclass(frozen=True)
class LogSource:
    kind: str = "git"
    path: str = ""  # parquet: folder or URL
    engine: str = "duckdb"  # parquet: the engine that reads it
    query: str = ""  # sql: the query file, relative to the repository's top
    url_env: str = ""  # sql: the environment variable holding the connection URL
    timeout: float = 300.0  # seconds a statement may run

    def to_dict(self) -> dict[str, Any]:
        keep = {"kind": self.kind}
        if self.kind == "parquet":
            keep |= {"path": self.path, "engine": self.engine}
        elif self.kind == "sql":
            keep |= {"query": self.query, "url_env": self.url_env}
        return keep


def logs_problem(value: Any) -> str | None:
    """Why the ``logs`` setting is malformed, or None (null, as the schema allows, is git)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return "logs must be a mapping (source, path, ..., experiments)"
    per_exp = value.get("experiments", {})
    if not isinstance(per_exp, Mapping):
        return "logs.experiments must map experiment ids to sources"
    problem = _source_problem({k: v for k, v in value.items() if k != "experiments"}, "logs")
    if problem:
        return problem
    for exp_id, spec in per_exp.items():
        if not isinstance(exp_id, str) or not ID_PATTERN.fullmatch(exp_id):
            return f"logs.experiments: {exp_id!r} is not an experiment id"
        if not isinstance(spec, Mapping):
            return f"logs.experiments.{exp_id} must be a mapping"
        problem = _source_problem(spec, f"logs.experiments.{exp_id}")
        if problem:
            return problem
    return None


def _source_problem(spec: Mapping[str, Any], where: str) -> str | None:
    unknown = set(spec) - _KEYS
    if unknown:
        return f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})"
    kind = spec.get("source", "git")
    if kind not in KINDS:
        return f"{where}.source must be one of {', '.join(KINDS)}, not {kind!r}"
    for key in ("path", "query", "url_env"):
        if key in spec and not (isinstance(spec[key], str) and spec[key]):
            return f"{where}.{key} must be a non-empty text"
    if spec.get("engine", "duckdb") not in ENGINES:
        return f"{where}.engine must be one of {', '.join(ENGINES)}"
    timeout = spec.get("timeout", 300)
    number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if not number or not 0 < timeout <= 86400:
        return f"{where}.timeout must be a number of seconds above 0, at most 86400"
    if kind == "parquet" and "path" not in spec:
        return f"{where}: a parquet source needs a path"
    if kind == "sql":
        if "query" not in spec or "url_env" not in spec:
            return f"{where}: a sql source needs query (a file) and url_env (a variable name)"
        if not URL_ENV.fullmatch(spec["url_env"]):
            return f"{where}.url_env must be an environment variable name starting with MAIA_"
    return None


def source_for(logs: Mapping[str, Any] | None, exp_id: str) -> LogSource:
    """The experiment's source: its own entry, else the default (checked by ``logs_problem``)."""
    if not logs:
        return LogSource()
    spec = logs.get("experiments", {}).get(exp_id)
    if spec is None:
        spec = {k: v for k, v in logs.items() if k != "experiments"}
    return LogSource(
        kind=spec.get("source", "git"),
        path=spec.get("path", ""),
        engine=spec.get("engine", "duckdb"),
        query=spec.get("query", ""),
        url_env=spec.get("url_env", ""),
        timeout=float(spec.get("timeout", 300)),
    )
