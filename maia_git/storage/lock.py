"""The workspace lock: ``.git/maia.lock`` (flock, released by the kernel if maia dies).

The lock file itself is never written or deleted (NOTES.md: deleting it broke mutual exclusion);
the holder's process id goes in a side file so that a waiter that times out can name it.

There is no way to turn the lock off in the product. The stress test's negative control (which
shows that the lock is what keeps concurrent writers correct) replaces ``WorkspaceLock``'s
methods from ``tests/maia_seams.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from maia_git.errors import LockTimeout, MaiaError


class WorkspaceLock:
    def __init__(self, git_dir: Path, timeout: float) -> None:
        self.path = git_dir / "maia.lock"
        self.owner_path = git_dir / "maia.lock.owner"
        self.timeout = timeout
        self._lock: object | None = None

    def __enter__(self) -> WorkspaceLock:
        from filelock import FileLock, Timeout

        try:
            # filelock 4 unlinks the lock file on release unless told not to; a deleted lock
            # file lets two processes hold "the" lock at once (NOTES.md).
            lock = FileLock(
                str(self.path), timeout=self.timeout, thread_local=False, preserve_lock_file=True
            )
        except TypeError:  # filelock 3.x: keeps the file, has no such option
            lock = FileLock(str(self.path), timeout=self.timeout, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise LockTimeout(self._timeout_message()) from None
        except OSError as err:  # a read-only repository, a full disk, no permission
            raise MaiaError(
                f"cannot take the workspace lock {self.path}: {err.strerror or err}"
            ) from None
        self._lock = lock
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:4]))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        owner = f"{os.getpid()} {socket.gethostname()} {stamp} {command}\n"
        # Only a hint for waiters that time out: failing to write it must not fail the command.
        with contextlib.suppress(OSError):
            self.owner_path.write_text(owner, encoding="utf-8")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._lock is not None:
            self._lock.release()  # type: ignore[attr-defined]
            self._lock = None

    def _timeout_message(self) -> str:
        try:
            pid, host, stamp, *command = self.owner_path.read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            return f"the workspace lock is held by another process (waited {self.timeout:g} s)"
        return (
            f"the workspace lock is held by process {pid} on {host} since {stamp} "
            f"({' '.join(command)}); waited {self.timeout:g} s"
        )
