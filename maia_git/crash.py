"""Named crash points for the reliability tests.

``MAIA_CRASH_AT=after_write`` makes maia SIGKILL itself (or, with ``MAIA_CRASH_GROUP=1``, its
whole process group) when it reaches that step of a transaction. Unset, this costs one lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_lock",
    "after_journal",
    "after_write",
    "after_add",
    "after_commit",
    "before_unlock",
)
# The steps of `maia sync` and `maia sync --push` (storage.sealing, usecases.sync), and of the
# promotion path of `maia ci analyze --auto-promote`.
SYNC_POINTS = (
    "after_migrate_copy",
    "after_rotate",
    "after_seal_journal",
    "after_seal_write",
    "after_commit",
    "after_consume",
)


def point(name: str) -> None:
    if os.environ.get("MAIA_CRASH_AT") == name:
        if os.environ.get("MAIA_CRASH_GROUP") == "1":
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
