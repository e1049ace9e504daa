"""The experiment state machine, as data, and the one function that applies an event.

draft -> queued -> active <-> paused -> completed -> promoted; cancelled from any state that is not
finished. ``activate`` is the scheduler's event: users start, the queue activates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maia_git.core.models import QueueEntry, Status
from maia_git.errors import TransitionError

S = Status
TRANSITIONS: dict[str, dict[Status, Status]] = {
    "start": {S.DRAFT: S.QUEUED},
    "activate": {S.QUEUED: S.ACTIVE},
    "pause": {S.ACTIVE: S.PAUSED, S.QUEUED: S.PAUSED},
    "resume": {S.PAUSED: S.QUEUED},
    "complete": {S.ACTIVE: S.COMPLETED, S.PAUSED: S.COMPLETED},
    "promote": {S.COMPLETED: S.PROMOTED},
    "cancel": {
        S.DRAFT: S.CANCELLED,
        S.QUEUED: S.CANCELLED,
        S.ACTIVE: S.CANCELLED,
        S.PAUSED: S.CANCELLED,
    },
}
USER_EVENTS = ("start", "pause", "resume", "complete", "cancel", "promote")
# Which timestamp field an arrival in each state sets.
_STAMP = {
    S.QUEUED: "queued",
    S.ACTIVE: "started",
    S.PAUSED: "paused",
    S.COMPLETED: "finished",
    S.PROMOTED: "finished",
    S.CANCELLED: "finished",
}


@dataclass(frozen=True)
class Transition:
    id: str
    event: str
    before: Status
    after: Status

    @property
    def arrow(self) -> str:
        return f"{self.before}->{self.after}"


def allowed_events(status: Status) -> list[str]:
    return [e for e in USER_EVENTS if status in TRANSITIONS[e]]


def apply(entry: QueueEntry, event: str, now: str, **fields: Any) -> tuple[QueueEntry, Transition]:
    """Apply ``event`` to ``entry``; raise TransitionError naming the events that are allowed."""
    after = TRANSITIONS[event].get(entry.status)
    if after is None:
        allowed = ", ".join(allowed_events(entry.status)) or "none (the experiment is finished)"
        raise TransitionError(
            f"cannot {event} {entry.id}: it is {entry.status}; allowed: {allowed}"
        )
    changes = {_STAMP[after]: now, **{k: v for k, v in fields.items() if v is not None}}
    if after is S.QUEUED and entry.status is S.PAUSED:
        changes["paused"] = None
    updated = entry.with_(status=after, **changes)
    return updated, Transition(entry.id, event, entry.status, after)
