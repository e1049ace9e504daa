"""The workspace: a git repository with ``maia.yaml``, and the transaction every change runs in.

A transaction: take the lock, recover from a killed predecessor, read fresh, let the caller decide
and stage files, then write them atomically and commit exactly those paths, then unlock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from maia_git import crash
from maia_git.core.settings import Settings, lock_timeout_from, parse_settings
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import advance, git, journal, yamlio
from maia_git.storage.atomic import check_inside, write_atomic
from maia_git.storage.lock import WorkspaceLock
from maia_git.storage.state import SETTINGS_FILE


def utcnow() -> str:
    """RFC 3339 UTC with microseconds, so queue order within one second is kept."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Workspace:
    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self.top = repo.top
        self._settings: Settings | None = None
        self.initialised = False  # whether commands need maia.yaml (Workspace.find sets it)

    @classmethod
    def find(
        cls, start: str | os.PathLike[str] | None = None, *, initialised: bool = True
    ) -> Workspace:
        ws = cls(git.find_repo(Path(start) if start is not None else Path.cwd()))
        ws.initialised = initialised
        ws.check_initialised()
        return ws

    def check_initialised(self) -> None:
        if self.initialised and not (self.top / SETTINGS_FILE).is_file():
            raise UsageError(f"{self.top} is not a maia workspace: run `maia init` there first")

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.top)
        return self._settings

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        git.check_committable(self.repo)
        configured = (
            self.settings.lock_timeout
            if (self.top / SETTINGS_FILE).is_file()
            else Settings().lock_timeout
        )
        timeout = env_lock_timeout(configured)
        with WorkspaceLock(self.repo.git_dir, timeout):
            crash.point("after_lock")
            journal.recover(self.repo, wait=timeout)
            advance.recover(self.repo)  # a branch move a killed `maia sync --push` began
            # Recovery may have removed the maia.yaml of an init that never committed.
            self.check_initialised()
            self._settings = None  # read fresh inside the lock
            yield Transaction(self)
            crash.point("before_unlock")


class Transaction:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.files: dict[str, bytes | None] = {}
        self.appended: list[str] = []

    def write(self, rel: str, data: bytes) -> None:
        self.files[rel] = data

    def delete(self, rel: str) -> None:
        self.files[rel] = None

    def commit(self, message: str, date: str | None = None) -> None:
        """Write the staged files and commit them (and ``appended`` logs) as one commit."""
        repo = self.ws.repo
        paths = sorted(self.files)
        journal.begin(repo, restore=paths, keep=self.appended)
        crash.point("after_journal")
        try:
            self._write_files()
            crash.point("after_write")
            git.commit_paths(repo, [*paths, *self.appended], message, date)
        except BaseException:  # any failure, even an unexpected one, leaves nothing half done
            _undo(repo)
            raise
        crash.point("after_commit")
        journal.end(repo)

    def _write_files(self) -> None:
        for rel in self.files:  # every path is checked before any is written
            check_inside(self.ws.top, rel)
        for rel, data in self.files.items():
            target = self.ws.top / rel
            if data is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, data)


def _undo(repo: git.Repo) -> None:
    """Put the committed state back after a failed write or commit: nothing is left half done.

    If that fails too (a full disk, a live git holding ``index.lock``), the journal stays and the
    next transaction finishes the job; the caller reports the original error, not this one.
    """
    with suppress(MaiaError):
        journal.recover(repo, wait=0)


def env_lock_timeout(configured: float) -> float:
    """``MAIA_LOCK_TIMEOUT`` if set (checked), else the configured wait."""
    raw = os.environ.get("MAIA_LOCK_TIMEOUT")
    if raw is None:
        return configured
    try:
        return lock_timeout_from(raw)
    except ValueError as err:
        raise UsageError(str(err)) from None


def load_settings(top: Path) -> Settings:
    path = top / SETTINGS_FILE
    doc = yamlio.load(path, SETTINGS_FILE)
    settings, key, message = parse_settings(doc.data)
    if settings is None:
        raise doc.error(key, message)
    return settings
