"""Analysis results kept in the git directory, so that unchanged logs are not read again.

Two kinds of entry. Per shard: its per-user totals of each arm (what adds up across shards: a
user's interactions may be spread over several writers' shards, so per-arm sums of squares do
not), its invalid lines and its interaction-id hashes. Per set of shards: the per-arm sums and
the log report of exactly those shards, so a second analysis of unchanged logs reads one small
file instead of every user's totals.

An entry is keyed by the shard's content: a shard whose working-tree file git reports unchanged
from the index is known by its blob id (one ``git ls-files`` call for all shards); any other
shard by (device, inode, size, mtime, ctime), and only if its mtime is more than two seconds old
(the racy-git rule: a write in the same clock tick as ours could keep every one of them) and the
file did not change while it was read. The key also holds the experiment id, the control share
and ``FORMAT``, which changes whenever the reading rules do.

Entries live in ``.git/maia-cache/analysis/`` (never committed), are written atomically, and
are only ever trusted whole: an unreadable, foreign or malformed entry is a miss, recomputed
without a word. Readers need no lock: two analyses writing the same entry write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from array import array
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maia_git.core.assign import Split, arm_names
from maia_git.errors import MaiaError
from maia_git.stats import ArmStats
from maia_git.stats.users import UserTotals
from maia_git.storage import git
from maia_git.storage.atomic import write_atomic
from maia_git.storage.jsonl import MAX_LINE_BYTES
from maia_git.storage.logscan import ShardScan

FORMAT = 3  # 3: one per-user totals per arm (several treatments), arms by name in results
FOLDER = "maia-cache/analysis"
MAX_ENTRIES = 512
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Key:
    """Where a shard's entry would be; ``stat`` is set for a shard known by its file status."""

    name: str
    stat: tuple[int, ...] | None = None


@dataclass
class Entry:
    """A shard's statistics without its interaction-id hashes, which load on demand."""

    scan: ShardScan
    id_count: int


class StatCache:
    """The entries of one experiment's shards (``folder``: its interactions, repo-relative)."""

    def __init__(
        self,
        repo: git.Repo,
        folder: str,
        experiment_id: str,
        control_share: Split,
        pins: Mapping[str, str] | None = None,
    ):
        self.arms = arm_names(control_share)
        self.top = repo.top
        self.dir = repo.git_dir / FOLDER
        pinned = json.dumps(sorted((pins or {}).items()))  # which lines count depends on them
        self.namespace = (
            f"{FORMAT}\0{experiment_id}\0{control_share!r}\0{MAX_LINE_BYTES}\0{sys.byteorder}"
            f"\0{pinned}"
        )
        self.blobs = clean_blobs(repo, folder)

    def key(self, rel: str) -> Key | None:
        """The key of the shard at ``rel`` (repo-relative), or None if it must not be cached."""
        blob = self.blobs.get(rel)
        if blob is not None:
            return Key(self._name(f"blob {blob}"))
        try:
            st = (self.top / rel).stat()
        except OSError:
            return None
        if time.time_ns() - st.st_mtime_ns < RACY_NS:
            return None
        status = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        return Key(self._name("stat " + " ".join(map(str, status))), status)

    def combined_key(self, keys: list[tuple[str, Key]]) -> Key:
        """A key for a fact about several shards at once, under their present names."""
        return Key(self._name("all " + json.dumps([[rel, k.name] for rel, k in keys])))

    def load(self, key: Key) -> Entry | None:
        try:
            data = json.loads((self.dir / f"{key.name}.json").read_bytes())
            entry = _entry(data, (self.dir / f"{key.name}.users").read_bytes(), self.arms)
        except (OSError, ValueError, TypeError, KeyError, MaiaError):
            return None
        _touch(self.dir / f"{key.name}.json")
        return entry

    def load_ids(self, key: Key, count: int) -> set[int] | None:
        hashes = array("Q")
        try:
            hashes.frombytes((self.dir / f"{key.name}.ids").read_bytes())
        except (OSError, ValueError):
            return None
        return set(hashes) if len(hashes) == count else None

    def marked(self, key: Key) -> bool:
        """Whether ``mark(key)`` was called (for facts about several shards at once)."""
        try:
            data = json.loads((self.dir / f"{key.name}.json").read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("format") == FORMAT and data.get("mark") is True

    def mark(self, key: Key) -> None:
        with suppress(MaiaError):
            write_atomic(self.dir / f"{key.name}.json", b'{"format":%d,"mark":true}' % FORMAT)

    def store(self, key: Key, scan: ShardScan, rel: str | None = None) -> None:
        """Keep ``scan``, which must be the shard's alone (read without ids from elsewhere); for a
        stat key, only if the file at ``rel`` has not changed since the key was taken."""
        if key.stat is not None and (rel is None or not _unchanged(self.top / rel, key.stat)):
            return
        try:
            if scan.ids:
                write_atomic(self.dir / f"{key.name}.ids", array("Q", scan.ids).tobytes())
            write_atomic(self.dir / f"{key.name}.users", _pack(list(scan.arms.values())))
            write_atomic(self.dir / f"{key.name}.json", _dumps(scan))
            self._prune()
        except MaiaError:
            pass  # a read-only or full disk only costs the next analysis a re-read

    def load_result(self, key: Key) -> tuple[dict[str, ArmStats], dict[str, Any]] | None:
        """Each arm's sums and the log report stored by ``store_result`` under ``key``."""
        try:
            data = json.loads((self.dir / f"{key.name}.json").read_bytes())
            if data["format"] != FORMAT or not isinstance(data["report"], dict):
                return None
            arms = {arm: ArmStats.from_dict(data["arms"][arm]) for arm in self.arms}
        except (OSError, ValueError, TypeError, KeyError, MaiaError):
            return None
        _touch(self.dir / f"{key.name}.json")
        return arms, data["report"]

    def store_result(self, key: Key, arms: dict[str, ArmStats], report: dict[str, Any]) -> None:
        data = {
            "format": FORMAT,
            "arms": {arm: {"sums": stats.to_dict()["sums"]} for arm, stats in arms.items()},
            "report": report,
        }
        with suppress(MaiaError, ValueError):
            write_atomic(self.dir / f"{key.name}.json", json.dumps(data).encode())

    def _name(self, source: str) -> str:
        return hashlib.sha256(f"{self.namespace}\0{source}".encode()).hexdigest()

    def _prune(self) -> None:
        """Keep the most recently used entries (a hit refreshes an entry's mtime)."""
        try:
            entries = [e for e in os.scandir(self.dir) if e.name.endswith(".json")]
        except OSError:
            return
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=_mtime)
        for old in entries[: len(entries) - MAX_ENTRIES // 2]:
            for suffix in (".json", ".ids", ".users"):
                Path(old.path).with_suffix(suffix).unlink(missing_ok=True)


def clean_blobs(repo: git.Repo, folder: str) -> dict[str, str]:
    """Blob ids of the regular files under ``folder`` whose working-tree content is the index's.

    ``ls-files -t -c -m`` lists every cached file ("H") and again each modified one ("C"); git
    compares content for racily clean entries, so "H" alone means unchanged.
    """
    try:
        out = git.run(repo, "ls-files", "-z", "-s", "-t", "-c", "-m", "--", folder)
    except MaiaError:
        return {}
    blobs: dict[str, str] = {}
    modified: set[str] = set()
    for record in filter(None, out.split("\0")):
        info, _, path = record.partition("\t")
        tag, mode, blob, stage = info.split(" ")
        if tag == "C":
            modified.add(path)
        elif tag == "H" and mode in ("100644", "100755") and stage == "0":
            blobs[path] = blob
    return {path: blob for path, blob in blobs.items() if path not in modified}


def _unchanged(path: Path, status: tuple[int, ...]) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == status


def _mtime(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_mtime_ns
    except OSError:
        return 0


def _touch(path: Path) -> None:
    with suppress(OSError):
        os.utime(path)


def _dumps(scan: ShardScan) -> bytes:
    data = {
        "format": FORMAT,
        "invalid": scan.invalid,
        "problems": scan.problems,
        "duplicates": scan.duplicates,
        "ids": len(scan.ids),
    }
    return json.dumps(data, separators=(",", ":")).encode()


def _pack(arms: list[UserTotals]) -> bytes:
    """The sizes of all arms' totals but the last, then each arm's totals in order."""
    parts = [totals.to_bytes() for totals in arms]
    return array("Q", map(len, parts[:-1])).tobytes() + b"".join(parts)


def _unpack(data: bytes, count: int) -> list[UserTotals]:
    head = 8 * (count - 1)
    if len(data) < head:
        raise ValueError("no per-user totals")
    sizes = array("Q", data[:head])
    out, start = [], head
    for size in sizes:
        out.append(UserTotals.from_bytes(data[start : start + size]))
        start += size
    return [*out, UserTotals.from_bytes(data[start:])]


def _entry(data: Any, users: bytes, arms: tuple[str, ...]) -> Entry:
    """Rebuild an entry, or raise if anything in it is not what ``_dumps`` writes."""
    if data["format"] != FORMAT:
        raise ValueError("another format")
    problems = [(line, error) for line, error in data["problems"]]
    counts = [data[k] for k in ("invalid", "duplicates", "ids")]
    if (
        not all(type(c) is int and c >= 0 for c in counts)
        or not all(type(line) is int and type(error) is str for line, error in problems)
        or len(problems) > counts[0]
    ):
        raise ValueError("malformed entry")
    scan = ShardScan(
        dict(zip(arms, _unpack(users, len(arms)), strict=True)),
        counts[0],
        problems,
        counts[1],
    )
    return Entry(scan, counts[2])
