"""Quality scores on disk: one line per score, under ``scores/<agent>/<YYYY-MM>/``.

Scores are appended outside transactions, like interaction logs: a runtime appends
to its pending file in the git directory (``storage.segments``, one ``O_APPEND`` write a line, so
any number of processes can score at once without a lock), and ``maia sync`` seals them into
segments ``scores/<agent>/<YYYY-MM>/<writer>/...jsonl``. A month file
``scores/<agent>/<YYYY-MM>.jsonl``
from before segments is still read. Grouping by the UTC month of the score lets a time window
read only the months it touches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia_git.core.ids import is_valid_id
from maia_git.core.scoring import check_record, parse_ts
from maia_git.errors import NotFound, UsageError
from maia_git.storage import git, segments
from maia_git.storage.jsonl import Appender, read_lines

SCORES_DIR = "scores"
_SHARD_NAME = re.compile(r"([0-9]{4}-(?:0[1-9]|1[0-2]))\.jsonl")
_MONTH = re.compile(r"([0-9]{4}-(?:0[1-9]|1[0-2]))")
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def month_of(when: datetime) -> str:
    """``YYYY-MM`` of the UTC month ``when`` falls in."""
    if when.tzinfo is None:
        raise ValueError("a score time must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m")


def stream(agent: str, when: datetime, writer: str) -> str:
    """The stream a score of ``agent`` made at ``when`` by ``writer`` belongs to."""
    return segments.score_stream(agent, month_of(when), writer)


def append(
    git_dir: Path, record: Mapping[str, Any], writer: str, appender: Appender | None = None
) -> Path:
    """Append one score record (``core.scoring.score_record``) to the writer's pending file."""
    check_record(record)
    path = segments.pending_path(
        git_dir, stream(str(record["agent"]), parse_ts(record["ts"]), writer)
    )
    line = _ENCODER.encode(dict(record)) + "\n"
    if appender is not None:
        appender.append(path, line)
    else:
        with Appender() as own:
            own.append(path, line)
    return path


def agents(repo: git.Repo) -> list[str]:
    """Agents with scores in the tree or waiting to be synced."""
    names: set[str] = set()
    for root in (repo.top / SCORES_DIR, segments.pending_root(repo.git_dir) / SCORES_DIR):
        if root.is_symlink() or not root.is_dir():
            continue
        names |= {
            e.name
            for e in os.scandir(root)
            if e.is_dir(follow_symlinks=False) and is_valid_id(e.name)
        }
    return sorted(names)


def _months(repo: git.Repo, agent: str) -> list[str]:
    found: set[str] = set()
    for root in (
        repo.top / SCORES_DIR / agent,
        segments.pending_root(repo.git_dir) / SCORES_DIR / agent,
    ):
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            match = _SHARD_NAME.fullmatch(entry.name) or _MONTH.fullmatch(entry.name)
            if match:
                found.add(match.group(1))
    return sorted(found)


@dataclass
class Loaded:
    """Score records read from the shards, and every line that could not be counted."""

    records: list[Mapping[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "scores/a/2025-10.jsonl:3: why"


def read_scores(
    repo: git.Repo, since: datetime, until: datetime, agent: str | None = None
) -> Loaded:
    """Records of the months ``since`` to ``until`` (UTC), of one agent or all: the sealed
    segments and the records not yet synced.

    Whole months are read: the caller's window (core.scoring) picks the records by time. A bad
    line is skipped and reported as ``file:line: reason``; it never stops the rest.
    """
    first, last = month_of(since), month_of(until)
    loaded = Loaded()
    for name in agents(repo):
        if agent is not None and name != agent:
            continue
        for month in _months(repo, name):
            if not first <= month <= last:
                continue
            listing = segments.score_files(repo, name, month)
            loaded.problems += [f"{where}:0: {why}" for where, why in listing.problems]
            for path in listing.files:
                _read_shard(repo.top / path, segments.shown(repo, path), name, loaded)
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
