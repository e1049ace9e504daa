"""The values maia works with: experiment definitions, queue entries, statuses, priorities."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
