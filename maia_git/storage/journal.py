"""Crash recovery for transactions.

Before a transaction writes its files it records their paths in ``.git/maia-journal.json``; after
the commit it removes the record. If maia dies in between, the next transaction (inside the lock)
finds the record and puts the working tree back to the committed state for those paths: a file
that already matches HEAD was committed, one that does not is restored from HEAD (or removed if
HEAD never had it). Append-only logs are listed as ``keep`` and never rolled back. Restored files
are written atomically (a reader sees the new content or the old, never a half-written file), and
the killed writer's temp files and the empty folders of a file that never got committed go too.

Git lock files follow one rule, here and in ``maia doctor``: maia never deletes a git lock that a
live process may hold. A lock (``index.lock``, ``HEAD.lock``, the branch's ref lock,
``next-index-*.lock``) is deleted only when the journal says a maia transaction was committing
when it was killed **and** no process may hold it: no git process works in this repository and
no process at all (libgit2 and JGit tools included) has a lock file open. Killing Python alone
leaves its git child running, and that child still owns the lock. Where processes
cannot be inspected (no ``/proc``: macOS, BSD), maia cannot know, so it deletes nothing and says
how to remove the lock by hand.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from maia_git.errors import MaiaError
from maia_git.storage import git
from maia_git.storage.atomic import write_atomic

NAME = "maia-journal.json"


def begin(repo: git.Repo, restore: Sequence[str], keep: Sequence[str] = ()) -> None:
    record = {"pid": os.getpid(), "restore": list(restore), "keep": list(keep)}
    write_atomic(repo.git_dir / NAME, json.dumps(record).encode("utf-8"))


def end(repo: git.Repo) -> None:
    (repo.git_dir / NAME).unlink(missing_ok=True)


def recover(repo: git.Repo, wait: float) -> bool:
    """Finish what a killed transaction left; return True if there was anything to do."""
    path = repo.git_dir / NAME
    if not path.exists():
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        restore = [p for p in record.get("restore", []) if isinstance(p, str)]
    except (OSError, ValueError, AttributeError):
        restore = []
    _clear_stale_git_locks(repo, wait)
    if restore:
        _restore(repo, restore)
        _drop_temp_files(repo, restore)
    path.unlink(missing_ok=True)
    return True


def _restore(repo: git.Repo, paths: list[str]) -> None:
    # The working tree first, then the index: if the second step fails (no room for git to
    # write the index), what users and readers see is already back, and the journal stays so
    # that the next transaction finishes the job.
    head = git.has_commits(repo)
    committed = _committed(repo, paths) if head else {}
    for rel in paths:
        if rel in committed:
            _put_back(repo, rel, *committed[rel])
        else:
            _remove(repo.top, rel)
    if head:
        git.run(repo, "reset", "-q", "HEAD", "--", *paths)
    else:
        git.run(repo, "rm", "-q", "--cached", "-r", "--ignore-unmatch", "--", *paths, check=False)


def _committed(repo: git.Repo, paths: list[str]) -> dict[str, tuple[str, str]]:
    """``{path: (mode, blob id)}`` of the paths that HEAD has."""
    listing = git.run(repo, "ls-tree", "-r", "-z", "HEAD", "--", *paths)
    found = {}
    for item in filter(None, listing.split("\0")):
        meta, _, rel = item.partition("\t")
        mode, _kind, sha = meta.split()
        found[rel] = (mode, sha)
    return found


def _put_back(repo: git.Repo, rel: str, mode: str, sha: str) -> None:
    """Write HEAD's content of ``rel`` atomically (``git checkout`` rewrites files in place)."""
    target = repo.top / rel
    data = git.run(repo, "cat-file", "blob", sha).encode("utf-8")
    if mode != "100644" or _blob_id(data) != sha:
        # Not UTF-8 text (git.run decodes), a symlink or an executable: let git write it.
        git.run(repo, "checkout", "HEAD", "--", rel)
    elif target.is_symlink() or not target.is_file() or target.read_bytes() != data:
        write_atomic(target, data)


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _remove(top: Path, rel: str) -> None:
    """Remove a file HEAD never had, and the folders it leaves empty (``experiments/<id>/``)."""
    target = top / rel
    target.unlink(missing_ok=True)
    folder = target.parent
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _drop_temp_files(repo: git.Repo, paths: list[str]) -> None:
    """Remove the temp files that writers killed inside ``write_atomic`` left beside the targets.

    Only a lock holder writes these files, and the lock is ours: any other process's are left
    by a dead one (the killed transaction, or a recovery that was itself killed).
    """
    for rel in paths:
        target = repo.top / rel
        if not target.parent.is_dir():
            continue
        for temp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            pid = temp.name[len(target.name) + 2 : -4]
            if pid.isdigit() and int(pid) != os.getpid():
                temp.unlink(missing_ok=True)


def git_lock_files(repo: git.Repo) -> list[Path]:
    """The git lock files that exist in the repository now."""
    names = ["index.lock", "HEAD.lock", "packed-refs.lock"]
    ref = repo.head_ref()
    if ref:
        names.append(f"{ref}.lock")
    found = [repo.git_dir / n for n in names if (repo.git_dir / n).exists()]
    # `git commit --only` builds the commit in a temporary index of its own.
    return found + sorted(repo.git_dir.glob("next-index-*.lock"))


def by_hand(locks: Sequence[Path], top: Path) -> str:
    """How to remove ``locks`` by hand, once nothing works on the repository."""
    shown = " ".join(_rel(lock, top) for lock in locks)
    return f"make sure no git command or git tool works on this repository, then `rm {shown}`"


def _rel(path: Path, top: Path) -> str:
    try:
        return path.relative_to(top).as_posix()
    except ValueError:
        return str(path)


def _clear_stale_git_locks(repo: git.Repo, wait: float) -> None:
    deadline = time.monotonic() + wait
    while locks := git_lock_files(repo):
        holders = lock_holders(repo.top, locks)
        if holders is None:
            raise MaiaError(
                "a killed maia command left git locks, and on this system maia cannot tell "
                f"whether another process holds them: {by_hand(locks, repo.top)}"
            )
        if not holders:
            for lock in locks:
                lock.unlink(missing_ok=True)
            return
        if time.monotonic() > deadline:
            held = ", ".join(p.name for p in locks)
            pids = ", ".join(map(str, holders))
            raise MaiaError(f"process {pids} may still hold {held}; wait for it to finish")
        time.sleep(0.05)


def lock_holders(top: Path, locks: Sequence[Path]) -> list[int] | None:
    """Processes that may hold one of ``locks``: a git working in ``top``, or any process with a
    lock file open. None where processes cannot be inspected (no /proc)."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    target = str(top.resolve())
    wanted = {str(lock.resolve()) for lock in locks}
    found: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _git_in(entry, target) or _has_open(entry, wanted):
            found.append(int(entry.name))
    return sorted(found)


def _git_in(entry: Path, target: str) -> bool:
    try:
        cwd = os.readlink(entry / "cwd")
        comm = (entry / "comm").read_text().strip()
    except OSError:
        return False
    inside = cwd == target or cwd.startswith(target + os.sep)
    return inside and comm.startswith("git")


def _has_open(entry: Path, wanted: set[str]) -> bool:
    try:
        return any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir())
    except OSError:
        return False  # gone, or another user's (it could not write our .git either)
