"""Crash recovery for transactions.

Before a transaction writes its files it records their paths in ``.git/maia-journal.json``; after
the commit it removes the record. If maia dies in between, the next transaction (inside the lock)
finds the record and puts the working tree back to the committed state for those paths: a file
that already matches HEAD was committed, one that does not is restored from HEAD (or removed if
HEAD never had it). Append-only logs are listed as ``keep`` and never rolled back. Restored files
are written atomically (a reader sees the new content or the old, never a half-written file), and
the killed writer's temp files and the empty folders of a file that never got committed go too.

A git lock file (``index.lock``, ``HEAD.lock``) left by a killed git is removed only when the
journal says maia was committing and no live git process is working in this repository: killing
Python alone leaves its git child running, and that child still owns the lock (NOTES.md).
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


def _git_lock_files(repo: git.Repo) -> list[Path]:
    names = ["index.lock", "HEAD.lock", "packed-refs.lock"]
    ref = repo.head_ref()
    if ref:
        names.append(f"{ref}.lock")
    found = [repo.git_dir / n for n in names if (repo.git_dir / n).exists()]
    # `git commit --only` builds the commit in a temporary index of its own.
    return found + sorted(repo.git_dir.glob("next-index-*.lock"))


def _clear_stale_git_locks(repo: git.Repo, wait: float) -> None:
    deadline = time.monotonic() + wait
    while _git_lock_files(repo):
        if not live_git_processes(repo.top):
            for lock in _git_lock_files(repo):
                lock.unlink(missing_ok=True)
            return
        if time.monotonic() > deadline:
            held = ", ".join(p.name for p in _git_lock_files(repo))
            raise MaiaError(f"a running git process still holds {held}; wait for it to finish")
        time.sleep(0.05)


def live_git_processes(top: Path) -> list[int]:
    """Process ids of git commands working in ``top`` (Linux /proc; empty elsewhere)."""
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    target = str(top.resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm.startswith("git") and os.readlink(entry / "cwd") == target:
                found.append(int(entry.name))
        except OSError:
            continue
    return found
