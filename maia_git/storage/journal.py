"""Crash recovery for transactions.

Before a transaction writes its files it records their paths in ``.git/maia-journal.json``; after
the commit it removes the record. If maia dies in between, the next transaction (inside the lock)
finds the record and puts the working tree back to the committed state for those paths: a file
that already matches HEAD was committed, one that does not is restored from HEAD (or removed if
HEAD never had it). Append-only logs are listed as ``keep`` and never rolled back.

A git lock file (``index.lock``, ``HEAD.lock``) left by a killed git is removed only when the
journal says maia was committing and no live git process is working in this repository: killing
Python alone leaves its git child running, and that child still owns the lock (NOTES.md).
"""

from __future__ import annotations

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
    path.unlink(missing_ok=True)
    return True


def _restore(repo: git.Repo, paths: list[str]) -> None:
    tracked = set()
    if git.has_commits(repo):
        listing = git.run(repo, "ls-tree", "-r", "--name-only", "-z", "HEAD", "--", *paths)
        tracked = set(filter(None, listing.split("\0")))
        git.run(repo, "reset", "-q", "HEAD", "--", *paths, check=False)
        if tracked:
            git.run(repo, "checkout", "HEAD", "--", *sorted(tracked))
    else:
        git.run(repo, "rm", "-q", "--cached", "-r", "--ignore-unmatch", "--", *paths, check=False)
    for rel in paths:
        if rel not in tracked:
            (repo.top / rel).unlink(missing_ok=True)


def _git_lock_files(repo: git.Repo) -> list[Path]:
    names = ["index.lock", "HEAD.lock", "packed-refs.lock"]
    ref = repo.head_ref()
    if ref:
        names.append(f"{ref}.lock")
    return [repo.git_dir / n for n in names if (repo.git_dir / n).exists()]


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
