"""Run maia with the test suite's seams: ``python tests/maia_seams.py ARGS...``.

The installed product has no switch that kills it mid-transaction or turns its lock off. The
reliability tests need both, so they start maia through this file, which reads these variables
(nothing in ``maia_git`` does) and then runs the CLI exactly as ``python -m maia_git`` would:

- ``MAIA_CRASH_AT=<point>``: SIGKILL maia when a transaction reaches that point
  (``maia_git.crash.POINTS`` and ``SYNC_POINTS``); with ``MAIA_CRASH_GROUP=1``, kill its whole
  process group;
- ``MAIA_UNSAFE_NO_LOCK=1``: the workspace lock is not taken (the stress test's negative control).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

SEAMS = ("MAIA_CRASH_AT", "MAIA_CRASH_GROUP", "MAIA_UNSAFE_NO_LOCK")


def _crash(name: str) -> None:
    if os.environ.get("MAIA_CRASH_AT") == name:
        if os.environ.get("MAIA_CRASH_GROUP") == "1":
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def install() -> None:
    from maia_git import crash
    from maia_git.storage.lock import WorkspaceLock

    if os.environ.get("MAIA_CRASH_AT"):
        crash.HOOK = _crash
    if os.environ.get("MAIA_UNSAFE_NO_LOCK") == "1":

        def no_lock(self: WorkspaceLock) -> WorkspaceLock:
            return self

        def no_release(self: WorkspaceLock, *exc: Any) -> None:
            return None

        WorkspaceLock.__enter__ = no_lock  # type: ignore[method-assign]
        WorkspaceLock.__exit__ = no_release  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.path.pop(0)  # this folder: maia_git comes from the installed package, as in the product
    install()
    from maia_git.cli.main import entry

    entry()
