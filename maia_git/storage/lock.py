"""The workspace lock: ``.git/maia.lock`` (flock, released by the kernel if maia dies).

The lock file itself is never written or deleted (deleting it broke mutual exclusion in filelock
3.20.4-3.29.4); the holder's process id goes in a side file so that a waiter that times out can
name it.

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
from typing import Any

from maia_git.core.escape import reason
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
            # file lets two processes hold "the" lock at once.
            lock = FileLock(
                str(self.path), timeout=self.timeout, thread_local=False, preserve_lock_file=True
            )
        except TypeError:  # filelock 3.x: keeps the file, has no such option
            lock = FileLock(str(self.path), timeout=self.timeout, thread_local=False)
        try:
            self._acquire(lock, Timeout)
        except Timeout:
            raise LockTimeout(self._timeout_message()) from None
        except OSError as err:  # a read-only repository, a full disk, no permission
            raise MaiaError(f"cannot take the workspace lock {self.path}: {reason(err)}") from None
        self._lock = lock
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:4]))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        owner = f"{os.getpid()} {socket.gethostname()} {stamp} {command}\n"
        # Only a hint for waiters that time out: failing to write it must not fail the command.
        with contextlib.suppress(OSError):
            self.owner_path.write_text(owner, encoding="utf-8")
        return self

    def _acquire(self, lock: Any, timeout_error: type[Exception]) -> None:
        """Take the lock; on a terminal, after 1 s of waiting, say so on one updated line."""
        if self.timeout <= PROGRESS_AFTER or not sys.stderr.isatty():
            lock.acquire()
            return
        start = time.monotonic()
        try:
            lock.acquire(timeout=PROGRESS_AFTER)
            return
        except timeout_error:
            pass
        try:
            while True:
                waited = time.monotonic() - start
                sys.stderr.write(
                    f"\rmaia: waiting for the workspace lock ({self._holder()}): "
                    f"{waited:.0f} s of {self.timeout:g} s "
                )
                sys.stderr.flush()
                left = self.timeout - waited
                if left <= 0:
                    raise timeout_error(str(self.path))
                try:
                    lock.acquire(timeout=min(1.0, left))
                    return
                except timeout_error:
                    continue
        finally:
            sys.stderr.write("\r\033[K")  # the line goes: what follows is the real outcome
            sys.stderr.flush()

    def _owner(self) -> tuple[str, str, str, list[str]] | None:
        """(pid, host, since, command) from the side file, if the process it names may be alive;
        None when the file is missing, unreadable or stale (a dead process holds nothing)."""
        try:
            pid, host, stamp, *command = self.owner_path.read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            return None
        return (pid, host, stamp, command) if _alive(pid, host) else None

    def _holder(self) -> str:
        """Who holds the lock, as far as the side file knows, if that process is alive."""
        owner = self._owner()
        if owner is None:
            return "held by another process"
        pid, _host, _stamp, command = owner
        return f"held by process {pid}: {' '.join(command)}"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._lock is not None:
            self._lock.release()  # type: ignore[attr-defined]
            self._lock = None

    def _timeout_message(self) -> str:
        owner = self._owner()
        if owner is None:
            # The side file names the last process that took the lock; it has exited, so the
            # holder is someone else (a command that could not write the file): name nobody.
            return (
                f"the workspace lock is held by another process (waited {self.timeout:g} s); "
                "`maia doctor` shows what is running"
            )
        pid, host, stamp, command = owner
        return (
            f"the workspace lock is held by process {pid} on {host} since {stamp} "
            f"({' '.join(command)}); waited {self.timeout:g} s"
        )


PROGRESS_AFTER = 1.0  # seconds of silent waiting before the progress line appears


def _alive(pid: str, host: str) -> bool:
    """Whether process ``pid`` on ``host`` may still run (another host's cannot be checked)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return True
