"""The values maia works with: experiment definitions, queue entries, statuses, priorities."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    PROMOTED = "promoted"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
FINISHED = frozenset({Status.COMPLETED, Status.PROMOTED, Status.CANCELLED})


@dataclass(frozen=True)
class Pin:
    """The prompt an arm serves: its path and the git blob id of its text when the experiment
    started. The pinned text is what the experiment serves and compares, whatever the file holds
    later."""

    path: str
    blob: str
    share: float | None = None  # the arm's share of the buckets at start (absent: older pins)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "blob": self.blob}
        if self.share is not None:
            data["share"] = self.share
        return data


@dataclass(frozen=True)
class Experiment:
    """What is being tested: ``experiments/<id>/experiment.yaml``. Status lives in the queue."""

    id: str
    name: str
    control: str
    treatment: str
    hypothesis: str = ""
    control_share: float = 0.5
    created: str = ""
    winner: str | None = None
    promotion_branch: str | None = None
    pins: dict[str, Pin] = field(default_factory=dict, hash=False)  # arm -> pin, set at start

    @property
    def split(self) -> float:
        """The control share in force: the one pinned at start (a later edit is not applied;
        ``maia doctor`` reports it), else the definition's."""
        pinned = self.pins.get("control")
        return (
            pinned.share if pinned is not None and pinned.share is not None else self.control_share
        )

    def arm_paths(self) -> dict[str, str]:
        """Each arm's prompt path, as the definition names it."""
        return {"control": self.control, "treatment": self.treatment}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "hypothesis": self.hypothesis,
            "control": self.control,
            "treatment": self.treatment,
            "control_share": self.control_share,
            "created": self.created,
        }
        if self.winner is not None:
            data["winner"] = self.winner
        if self.promotion_branch is not None:
            data["promotion_branch"] = self.promotion_branch
        if self.pins:
            data["pins"] = {arm: pin.to_dict() for arm, pin in self.pins.items()}
        return data


@dataclass(frozen=True)
class QueueEntry:
    """Where an experiment stands: ``queue/<id>.yaml`` (status, priority, times, notes)."""

    id: str
    agent: str
    status: Status
    priority: Priority = Priority.MEDIUM
    created: str = ""
    queued: str | None = None
    started: str | None = None
    paused: str | None = None
    finished: str | None = None
    notes: str = ""
    reason: str | None = None
    outcome: str | None = None

    def with_(self, **changes: Any) -> QueueEntry:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "status": str(self.status),
            "priority": str(self.priority),
            "created": self.created,
            "queued": self.queued,
            "started": self.started,
            "paused": self.paused,
            "finished": self.finished,
            "notes": self.notes,
            "reason": self.reason,
            "outcome": self.outcome,
        }
