"""Where log and score records live: sealed segments in the tree, unsynced records beside git.

A *stream* is what one writer appends to: ``experiments/<id>/interactions/<writer>`` for
interactions, ``scores/<agent>/<YYYY-MM>/<writer>`` for scores. Its records live in two places:

- not yet synced: ``<git dir>/maia/pending/<stream>.jsonl``, appended by runtimes. No git command
  reads or writes there (a checkout, rebase or stash cannot touch it), and it is never committed.
  A sync renames it to ``<stream>.<time>.rot`` before sealing it (``storage.sealing``).
- synced: sealed segments ``<stream>/<YYYY-MM-DD>/<group>/<seq>-<HHMMSS>-<clone>.jsonl``, written
  once by ``maia sync`` and never changed. Names sort in time per writer; a day's segments are
  grouped by a hundred, so a commit rewrites only small trees; ``<clone>`` (this clone's random
  name and a few random digits of the sync) keeps two clones that share a writer name from ever
  choosing the same name.

Any other ``*.jsonl`` file under ``experiments/<id>/interactions/`` (a runtime in another language,
or a shard from before segments) is read and committed as it is.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from maia_git.storage import git

PENDING = "maia/pending"
MAX_SEGMENT_BYTES = 8 << 20  # far below GitHub's 100 MB file limit; lines are at most 1 MiB
GROUP = 100  # segments per folder within a day
SEAL_WAIT = 2.0  # how long a reader waits for a sync that is sealing
LOG_STREAM = re.compile(
    r"experiments/(?P<exp>[a-z0-9][a-z0-9_-]{0,63})/interactions/(?P<writer>[a-z0-9][a-z0-9_-]{0,63})"
)
SCORE_STREAM = re.compile(
    r"scores/(?P<agent>[a-z0-9][a-z0-9_-]{0,63})/(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))"
    r"/(?P<writer>[a-z0-9][a-z0-9_-]{0,63})"
)
_SEGMENT = re.compile(r"(?P<seq>[0-9]{7,})-[0-9]{6}-[0-9a-f]+\.jsonl")


def log_stream(exp_id: str, writer: str) -> str:
    return f"experiments/{exp_id}/interactions/{writer}"


def score_stream(agent: str, month: str, writer: str) -> str:
    return f"scores/{agent}/{month}/{writer}"


def pending_root(git_dir: Path) -> Path:
    return git_dir / PENDING


def pending_path(git_dir: Path, stream: str) -> Path:
    """The file a runtime appends the stream's unsynced records to."""
    return pending_root(git_dir) / f"{stream}.jsonl"


def is_stream(stream: str) -> bool:
    return bool(LOG_STREAM.fullmatch(stream) or SCORE_STREAM.fullmatch(stream))


def stream_of(root: Path, path: Path) -> str | None:
    """The stream a pending file (live ``.jsonl`` or rotated ``.rot``) belongs to."""
    rel = path.relative_to(root).as_posix()
    folder, _, name = rel.rpartition("/")
    if name.endswith(".jsonl"):
        writer = name[: -len(".jsonl")]
    elif name.endswith(".rot"):
        writer = name.split(".", 1)[0]
    else:
        return None
    stream = f"{folder}/{writer}"
    return stream if is_stream(stream) else None


def pending_in(git_dir: Path, folder: str) -> list[Path]:
    """The pending files (live and rotated) of the streams in ``folder``, rotated ones first."""
    try:
        entries = list(os.scandir(pending_root(git_dir) / folder))
    except OSError:
        return []
    found = [
        Path(e.path)
        for e in entries
        if e.name.endswith((".jsonl", ".rot")) and e.is_file(follow_symlinks=False)
    ]
    return sorted(found, key=lambda p: (p.name.endswith(".jsonl"), p.name))


def all_pending(git_dir: Path) -> list[tuple[str, Path]]:
    """``(stream, file)`` of every pending file in the repository, in name order."""
    root = pending_root(git_dir)
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            stream = stream_of(root, path)
            if stream is not None and path.is_file() and not path.is_symlink():
                found.append((stream, path))
    return sorted(found, key=lambda sp: (sp[0], sp[1].name.endswith(".jsonl"), sp[1].name))


@dataclass(frozen=True)
class Listing:
    files: list[str]  # repo-relative segment paths, or absolute paths of pending files
    problems: list[tuple[str, str]]  # (path, why it is not read)


def segment_files(top: Path, folder: str) -> Listing:
    """Every ``*.jsonl`` regular file under ``folder`` (repo-relative), at any depth, by path."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    base = top / folder
    try:
        mode = os.lstat(base).st_mode
    except OSError:
        return Listing(files, problems)
    if not stat.S_ISDIR(mode):
        return Listing(files, [(folder, "not a folder: not read")])
    for here, dirs, names in os.walk(base):
        rel_here = Path(here).relative_to(top).as_posix()
        for name in [d for d in dirs if os.path.islink(os.path.join(here, d))]:
            problems.append((f"{rel_here}/{name}", "a link to a folder: not read"))
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(here, d)))
        for name in names:
            if not name.endswith(".jsonl") or name.startswith("."):
                continue
            rel = f"{rel_here}/{name}"
            if stat.S_ISREG(os.lstat(os.path.join(here, name)).st_mode):
                files.append(rel)
            else:
                problems.append((rel, "not a regular file (a link?): not read"))
    return Listing(sorted(files), problems)


def log_files(repo: git.Repo, exp_id: str) -> Listing:
    """Every file holding the experiment's records on this machine: what readers read.

    The segments in the working tree (committed or not), then the records not yet synced. A
    segment a sync is writing right now (listed in its journal) is left out while the pending
    file it is made from is still there (``sealing.in_progress``).
    """
    return _listing(repo, f"experiments/{exp_id}/interactions", [])


def _listing(repo: git.Repo, folder: str, first: list[str]) -> Listing:
    """A consistent listing: taken between two syncs (their generation even and unchanged), so no
    record is counted both in a new segment and in the pending file it was made from."""
    from maia_git.storage import sealing

    deadline = time.monotonic() + SEAL_WAIT
    while time.monotonic() < deadline:
        before = sealing.generation(repo.git_dir)
        if before % 2 == 1 and not _locked(repo.git_dir):
            break  # no sync is running: a killed one left its journal, which decides
        if before % 2 == 0:
            found = _list_once(repo, folder, first)
            if sealing.generation(repo.git_dir) == before:
                return found
        time.sleep(0.005)
    return _list_once(repo, folder, first)  # a sync killed mid-way: its journal decides


def _locked(git_dir: Path) -> bool:
    """Whether some process holds the workspace lock (a sync that is sealing would)."""
    import fcntl

    try:
        fd = os.open(git_dir / "maia.lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock if we took it
    return False


def _list_once(repo: git.Repo, folder: str, first: list[str]) -> Listing:
    from maia_git.storage import sealing

    listing = segment_files(repo.top, folder)
    skip_segments, skip_pending = sealing.in_progress(repo.git_dir)
    files = first + [f for f in listing.files if f not in skip_segments]
    pending = [str(p) for p in pending_in(repo.git_dir, folder) if p not in skip_pending]
    return Listing(files + pending, listing.problems)


def score_files(repo: git.Repo, agent: str, month: str) -> Listing:
    """The files holding one agent's scores of one month: the shard from before segments,
    the sealed segments, then the records not yet synced."""
    flat = f"scores/{agent}/{month}.jsonl"
    files = [flat] if (repo.top / flat).is_file() and not (repo.top / flat).is_symlink() else []
    return _listing(repo, f"scores/{agent}/{month}", files)


def shown(repo: git.Repo, path: str) -> str:
    """How a file from a listing is named in messages: repo-relative where possible."""
    if not os.path.isabs(path):
        return path
    try:
        return Path(path).relative_to(repo.top).as_posix()
    except ValueError:
        return path


def next_segment(top: Path, stream: str, day: str, taken: set[str]) -> tuple[int, str]:
    """The next sequence number of ``stream`` on ``day`` and the folder its segment goes in."""
    highest = -1
    day_dir = top / stream / day
    try:
        groups = sorted(e.name for e in os.scandir(day_dir) if e.name.isdigit())
    except OSError:
        groups = []
    if groups:
        try:
            for entry in os.scandir(day_dir / groups[-1]):
                match = _SEGMENT.fullmatch(entry.name)
                if match:
                    highest = max(highest, int(match.group("seq")))
        except OSError:
            pass
    for rel in taken:
        if rel.startswith(f"{stream}/{day}/"):
            match = _SEGMENT.fullmatch(rel.rsplit("/", 1)[1])
            if match:
                highest = max(highest, int(match.group("seq")))
    seq = highest + 1
    return seq, f"{stream}/{day}/{seq // GROUP:04d}"


def segment_name(folder: str, seq: int, hhmmss: str, clone: str) -> str:
    return f"{folder}/{seq:07d}-{hhmmss}-{clone}.jsonl"
