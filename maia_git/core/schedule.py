"""Scheduling: which queued experiments start now. One pure function of entries and settings."""

from __future__ import annotations

from collections.abc import Iterable

from maia_git.core.models import QueueEntry, Status


def pick_next(entries: Iterable[QueueEntry], max_concurrent: int, one_per_agent: bool) -> list[str]:
    """Ids to activate, in order: highest priority first, oldest first within a level.

    A queued experiment whose agent already has an active one is skipped (when ``one_per_agent``),
    so it does not block the experiments behind it.
    """
    entries = list(entries)
    active = [e for e in entries if e.status is Status.ACTIVE]
    busy = {e.agent for e in active}
    free = max_concurrent - len(active)
    waiting = sorted(
        (e for e in entries if e.status is Status.QUEUED),
        key=lambda e: (e.priority.rank, e.queued or "", e.id),
    )
    chosen: list[str] = []
    for entry in waiting:
        if free <= 0:
            break
        if one_per_agent and entry.agent in busy:
            continue
        chosen.append(entry.id)
        busy.add(entry.agent)
        free -= 1
    return chosen


def why_waiting(
    entries: Iterable[QueueEntry], max_concurrent: int, one_per_agent: bool
) -> dict[str, str]:
    """For each queued experiment, why it is not active: the same rules as ``pick_next``.

    Either its agent already has an active experiment (it waits for that one, whatever the free
    slots say), or every slot is taken, or experiments ahead of it will take the free ones.
    """
    entries = list(entries)
    active = [e for e in entries if e.status is Status.ACTIVE]
    running = {e.agent: e.id for e in active}
    free = max_concurrent - len(active)
    waiting = sorted(
        (e for e in entries if e.status is Status.QUEUED),
        key=lambda e: (e.priority.rank, e.queued or "", e.id),
    )
    reasons: dict[str, str] = {}
    for entry in waiting:
        if one_per_agent and entry.agent in running:
            reasons[entry.id] = (
                f"waits for {running[entry.agent]}, the active experiment on agent {entry.agent}"
            )
        elif free <= 0:
            reasons[entry.id] = f"waits for a free slot ({len(active)}/{max_concurrent} active)"
        else:  # pick_next would start it: the queue has not been rescheduled since
            reasons[entry.id] = "starts at the next change (`maia doctor --fix` starts it now)"
            free -= 1
            running[entry.agent] = entry.id
    return reasons
