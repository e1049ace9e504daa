"""Named points in a transaction where the reliability tests kill maia.

In the product ``point`` does nothing: ``HOOK`` is None and nothing in the package sets it, no
environment variable included. The test suite starts maia through ``tests/maia_seams.py``,
which sets ``HOOK`` to a function that SIGKILLs the process at the point a test names, so the
crash tests can stop a transaction at every step (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Callable

HOOK: Callable[[str], None] | None = None

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
    if HOOK is not None:
        HOOK(name)
