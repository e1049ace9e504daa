"""Sealing unsynced records into segments, crash-safe in every order.

``maia sync`` (inside the workspace lock) runs these steps:

1. ``recover``: finish what a killed sync left (below).
2. ``migrate``: a shard from before segments (``<writer>.jsonl`` committed in the tree) that has
   lines appended since its commit gets those lines moved to a pending file named after the
   committed blob, and is put back to its committed content. Rerun after a kill, the same name
   is written again with the same (or a longer) tail, so no line is lost or doubled.
3. ``rotate``: each live pending file is renamed ``<writer>.<time>.rot``; runtimes then start a
   new one. ``settle`` takes the renamed file's ``flock`` exclusively: an append holds it shared
   for its one write and checks first that the path still names its file, so once we hold it no
   record can ever be added to the renamed file.
4. ``plan``: the rotated files' bytes are cut, at line ends, into segments of at most
   ``MAX_SEGMENT_BYTES`` with new names.
5. ``begin`` writes the journal (segments to be written, rotated files they consume), then the
   segments are written and committed, then ``finish`` deletes the consumed files and the journal.

``recover`` reads the journal: if HEAD has the segments, the commit happened and the consumed
files go; otherwise the segments go and the rotated files stay to be sealed again. Either way each
line ends up committed exactly once.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from maia_git import crash
from maia_git.errors import MaiaError
from maia_git.storage import git, segments
from maia_git.storage.atomic import write_atomic
from maia_git.storage.branch import read_blob

JOURNAL = "maia/seal.json"
GENERATION = "maia/seal.generation"  # odd while a sync seals: readers retry (a seqlock)
CLONE_ID = "maia/clone-id"
SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class Piece:
    rel: str  # the segment's repo-relative path
    source: Path  # the rotated pending file
    start: int
    end: int
    close_line: bool  # the source ends in a torn line (a killed writer): end it with a newline


@dataclass
class Plan:
    pieces: list[Piece] = field(default_factory=list)
    consumed: list[Path] = field(default_factory=list)
    lines: int = 0

    @property
    def rels(self) -> list[str]:
        return [p.rel for p in self.pieces]


def in_progress(git_dir: Path) -> tuple[set[str], set[Path]]:
    """What a reader must leave out while a sync seals (or after one was killed).

    Returns ``(segments, pending files)``: while every file the sync consumes is still there,
    its new segments are left out (their records are read from those files); once it has begun
    deleting them, the segments count and the files that remain are left out.
    """
    try:
        record = json.loads((git_dir / JOURNAL).read_bytes())
        wrote = {s for s in record.get("segments", []) if isinstance(s, str)}
        root = segments.pending_root(git_dir)
        consumed = {root / c for c in record.get("consumed", []) if isinstance(c, str)}
    except (OSError, ValueError, AttributeError, TypeError):
        return set(), set()
    if all(path.exists() for path in consumed):
        return wrote, set()
    return set(), consumed


def generation(git_dir: Path) -> int:
    try:
        return int((git_dir / GENERATION).read_bytes() or b"0")
    except (OSError, ValueError):
        return 0


def _bump(git_dir: Path, odd: bool) -> None:
    now = generation(git_dir)
    if (now % 2 == 1) != odd:
        write_atomic(git_dir / GENERATION, b"%d" % (now + 1))


def clone_id(git_dir: Path) -> str:
    """A random name for this clone, made once: part of every segment name it writes."""
    path = git_dir / CLONE_ID
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) == 8 and all(c in "0123456789abcdef" for c in text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    text = secrets.token_hex(4)
    write_atomic(path, text.encode("ascii") + b"\n")
    return text


# ---- 1. recovery --------------------------------------------------------------------------


def recover(repo: git.Repo) -> bool:
    """Finish a killed sync; return True if there was one."""
    path = repo.git_dir / JOURNAL
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        record = {}
    wrote = [s for s in record.get("segments", []) if isinstance(s, str)]
    consumed = [c for c in record.get("consumed", []) if isinstance(c, str)]
    committed = _in_head(repo, wrote)
    if wrote and len(committed) == len(wrote):
        for name in consumed:
            _unlink_pending(repo.git_dir, name)
    else:
        _remove_uncommitted(repo, [s for s in wrote if s not in committed])
    path.unlink(missing_ok=True)
    _bump(repo.git_dir, odd=False)
    return True


def _in_head(repo: git.Repo, paths: list[str]) -> set[str]:
    if not paths or not git.has_commits(repo):
        return set()
    out = git.run(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *paths)
    return set(filter(None, out.split("\0")))


def _unlink_pending(git_dir: Path, name: str) -> None:
    root = segments.pending_root(git_dir)
    target = (root / name).resolve()
    if root.resolve() in target.parents and target.name.endswith(".rot"):
        target.unlink(missing_ok=True)


def _remove_uncommitted(repo: git.Repo, paths: list[str]) -> None:
    if not paths:
        return
    if git.has_commits(repo):
        git.run(repo, "reset", "-q", "HEAD", "--", *paths, check=False)
    else:
        git.run(repo, "rm", "-q", "--cached", "--ignore-unmatch", "--", *paths, check=False)
    for rel in paths:
        target = repo.top / rel
        target.unlink(missing_ok=True)
        folder = target.parent
        while folder != repo.top and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


# ---- 2. shards from before segments ---------------------------------------------------------


def migrate(repo: git.Repo, rel: str, stream: str) -> int:
    """Move the lines appended to a committed shard since its commit into a pending file.

    Returns the number of bytes moved; 0 when the shard is as committed, or when its committed
    content is not a prefix of the file (edited by hand: left alone for the user).
    """
    blob = git.run(repo, "rev-parse", "-q", "--verify", f"HEAD:{rel}", check=False).strip()
    if not blob:
        return 0
    committed = read_blob(repo, blob)
    current = (repo.top / rel).read_bytes()
    if current == committed or not current.startswith(committed):
        return 0
    target = segments.pending_root(repo.git_dir) / f"{stream}.0legacy-{blob[:12]}.rot"
    write_atomic(target, current[len(committed) :])
    crash.point("after_migrate_copy")
    write_atomic(repo.top / rel, committed)
    return len(current) - len(committed)


# ---- 3. rotation --------------------------------------------------------------------------


def rotate(git_dir: Path) -> None:
    """Rename every non-empty live pending file, so that runtimes start a new one."""
    stamp = time.time_ns()
    for _stream, path in segments.all_pending(git_dir):
        if path.name.endswith(".jsonl") and path.stat().st_size > 0:
            os.rename(path, path.with_name(f"{path.name[: -len('.jsonl')]}.{stamp}.rot"))
    crash.point("after_rotate")


def settle(path: Path, timeout: float = SETTLE_SECONDS) -> None:
    """Wait until no append can still be under way in the renamed file ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return  # closing the descriptor releases it; nobody writes here any more
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MaiaError(
                        f"a runtime has held {path.name} for {timeout:g} s; try again"
                    ) from None
                time.sleep(0.002)
    finally:
        os.close(fd)


# ---- 4. planning --------------------------------------------------------------------------


def plan(repo: git.Repo, now: datetime) -> Plan:
    """Segments for every rotated pending file (already settled), named and cut."""
    result = Plan()
    # The clone's name, and a few random hex digits of this sync: a copied repository (same
    # clone name) syncing in the same second still never chooses an existing name.
    clone = clone_id(repo.git_dir) + secrets.token_hex(2)
    day, hhmmss = now.strftime("%Y-%m-%d"), now.strftime("%H%M%S")
    taken: set[str] = set()
    for stream, path in segments.all_pending(repo.git_dir):
        if not path.name.endswith(".rot"):
            continue
        settle(path)
        result.consumed.append(path)
        for start, end, close, lines in _cuts(path):
            seq, folder = segments.next_segment(repo.top, stream, day, taken)
            rel = segments.segment_name(folder, seq, hhmmss, clone)
            taken.add(rel)
            result.pieces.append(Piece(rel, path, start, end, close))
            result.lines += lines
    return result


def _cuts(path: Path) -> Iterator[tuple[int, int, bool, int]]:
    """``(start, end, close_line, lines)`` of each segment cut from ``path`` at line ends."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        start = 0
        while start < size:
            end = min(start + segments.MAX_SEGMENT_BYTES, size)
            if end < size:
                end = _line_end_before(handle, start, end, size)
            handle.seek(start)
            data = handle.read(end - start)
            close = end == size and not data.endswith(b"\n")
            yield start, end, close, data.count(b"\n") + close
            start = end


def _line_end_before(handle: BinaryIO, start: int, end: int, size: int) -> int:
    """The position after the last newline in ``[start, end)``, or after the next one."""
    handle.seek(start)
    data = handle.read(end - start)
    cut = data.rfind(b"\n")
    if cut >= 0:
        return start + cut + 1
    while end < size:  # one line longer than a segment: it becomes a segment of its own
        more = handle.read(1 << 20)
        at = more.find(b"\n")
        if at >= 0:
            return end + at + 1
        end += len(more)
    return size


# ---- 5. writing ---------------------------------------------------------------------------


def begin(git_dir: Path, planned: Plan) -> None:
    root = segments.pending_root(git_dir)
    record = {
        "segments": planned.rels,
        "consumed": [p.relative_to(root).as_posix() for p in planned.consumed],
    }
    _bump(git_dir, odd=True)
    write_atomic(git_dir / JOURNAL, json.dumps(record).encode("utf-8"))
    crash.point("after_seal_journal")


def write(top: Path, planned: Plan) -> None:
    for piece in planned.pieces:
        with open(piece.source, "rb") as handle:
            handle.seek(piece.start)
            data = handle.read(piece.end - piece.start)
        write_atomic(top / piece.rel, data + (b"\n" if piece.close_line else b""))
    crash.point("after_seal_write")


def finish(git_dir: Path, planned: Plan) -> None:
    for path in planned.consumed:
        path.unlink(missing_ok=True)
    crash.point("after_consume")
    (git_dir / JOURNAL).unlink(missing_ok=True)
    _bump(git_dir, odd=False)
