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


def point(name: str) -> None:
    if os.environ.get("MAIA_CRASH_AT") == name:
        if os.environ.get("MAIA_CRASH_GROUP") == "1":
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
