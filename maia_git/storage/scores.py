"""Quality scores on disk: ``scores/<agent>/<YYYY-MM>.jsonl``, one line per score.

Scores are appended outside transactions, like interaction logs (DESIGN.md): the Appender makes
every line one ``O_APPEND`` write, so any number of processes can score at once without a lock,
and ``maia sync`` commits the shards later (``score_paths``). Sharding by the UTC month of the
score lets a time window read only the months it touches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia_git.core.ids import is_valid_id
from maia_git.core.scoring import check_record, parse_ts
from maia_git.errors import NotFound, StateFileError, UsageError
from maia_git.storage.jsonl import Appender, read_lines

SCORES_DIR = "scores"
_SHARD_NAME = re.compile(r"([0-9]{4}-(?:0[1-9]|1[0-2]))\.jsonl")
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def month_of(when: datetime) -> str:
    """``YYYY-MM`` of the UTC month ``when`` falls in."""
    if when.tzinfo is None:
        raise ValueError("a score time must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m")


def shard_rel(agent: str, when: datetime) -> str:
    """The repository-relative shard a score of ``agent`` made at ``when`` is appended to."""
    return f"{SCORES_DIR}/{agent}/{month_of(when)}.jsonl"


def append(top: Path, record: Mapping[str, Any], appender: Appender | None = None) -> str:
    """Append one score record (``core.scoring.score_record``) to its shard; return the shard."""
    check_record(record)
    rel = shard_rel(str(record["agent"]), parse_ts(record["ts"]))
    _refuse_symlinks(top, rel)
    line = _ENCODER.encode(dict(record)) + "\n"
    if appender is not None:
        appender.append(top / rel, line)
    else:
        with Appender() as own:
            own.append(top / rel, line)
    return rel


def _refuse_symlinks(top: Path, rel: str) -> None:
    # A symlinked scores/ or agent folder would send appends outside the repository.
    parts = rel.split("/")
    for depth in range(1, len(parts) + 1):
        if (top.joinpath(*parts[:depth])).is_symlink():
            shown = "/".join(parts[:depth])
            raise StateFileError(f"{shown}:1:1: is a symlink; maia refuses to write through it")


def _agent_dirs(top: Path) -> Iterator[tuple[str, Path]]:
    root = top / SCORES_DIR
    if root.is_symlink() or not root.is_dir():
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False) and is_valid_id(entry.name):
            yield entry.name, Path(entry.path)


def _shards(folder: Path) -> list[tuple[str, Path]]:
    """``(YYYY-MM, path)`` of every regular shard file in one agent's folder, oldest first."""
    found = []
    for entry in os.scandir(folder):
        match = _SHARD_NAME.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            found.append((match.group(1), Path(entry.path)))
    return sorted(found)


def score_paths(top: Path) -> list[str]:
    """Repository-relative paths of every score shard, sorted: what ``maia sync`` commits."""
    return [
        f"{SCORES_DIR}/{agent}/{path.name}"
        for agent, folder in _agent_dirs(top)
        for _, path in _shards(folder)
    ]


@dataclass
class Loaded:
    """Score records read from the shards, and every line that could not be counted."""

    records: list[Mapping[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "scores/a/2025-10.jsonl:3: why"


def read_scores(top: Path, since: datetime, until: datetime, agent: str | None = None) -> Loaded:
    """Records from the shards of the months ``since`` to ``until`` (UTC), of one agent or all.

    Whole months are read: the caller's window (core.scoring) picks the records by time. A bad
    line is skipped and reported as ``file:line: reason``; it never stops the rest.
    """
    first, last = month_of(since), month_of(until)
    loaded = Loaded()
    for name, folder in _agent_dirs(top):
        if agent is not None and name != agent:
            continue
        for month, path in _shards(folder):
            if first <= month <= last:
                _read_shard(path, f"{SCORES_DIR}/{name}/{path.name}", name, loaded)
    return loaded


def _read_shard(path: Path, rel: str, agent: str, loaded: Loaded) -> None:
    try:
        for number, item in read_lines(path):
            problem = item if isinstance(item, str) else _problem(item, agent)
            if problem:
                loaded.problems.append(f"{rel}:{number}: {problem}")
            elif isinstance(item, dict):
                loaded.records.append(item)
    except NotFound:
        pass  # removed since the folder was listed (a checkout during `maia sync`): no scores


def _problem(record: dict[str, Any], agent: str) -> str:
    try:
        check_record(record)
    except UsageError as err:
        return f"{err}; not counted"
    if record["agent"] != agent:
        return f"a score of agent {record['agent']!r} in the shard of {agent!r}; not counted"
    return ""
