"""The values maia works with: experiment definitions, queue entries, statuses, priorities."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from maia_git.core.assign import ARMS, Arms, Split


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
    """What is being tested: ``experiments/<id>/experiment.yaml``. Status lives in the queue.

    A control and one treatment (``treatment``, ``control_share``), or a control and several
    named treatments (``treatments``: name -> prompt path, in order; ``arm_shares``: each arm's
    share, control first; ``treatment`` is then empty)."""

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
    treatments: dict[str, str] = field(default_factory=dict, hash=False)  # several: name -> path
    arm_shares: tuple[float, ...] = ()  # several treatments: each arm's share, control first

    @property
    def several(self) -> bool:
        """Whether the experiment has more than one treatment."""
        return bool(self.treatments)

    @property
    def split(self) -> float:
        """The control share in force: the one pinned at start (a later edit is not applied;
        ``maia doctor`` reports it), else the definition's."""
        pinned = self.pins.get("control")
        if pinned is not None and pinned.share is not None:
            return pinned.share
        return self.arm_shares[0] if self.several else self.control_share

    def arm_names(self) -> tuple[str, ...]:
        """The arms, control first: control and treatment, or control and the named ones."""
        return ("control", *self.treatments) if self.several else ARMS

    def shares(self) -> tuple[float, ...]:
        """Each arm's share in force (pinned at start if pinned), aligned with ``arm_names``."""
        if not self.several:
            return (self.split, 1 - self.split)
        pinned = [self.pins.get(arm) for arm in self.arm_names()]
        if all(p is not None and p.share is not None for p in pinned):
            return tuple(p.share for p in pinned if p is not None and p.share is not None)
        return self.arm_shares

    def assignment(self) -> Split:
        """What ``core.assign.arm_of`` cuts the buckets by: the control share in force, or the
        Arms of an experiment with several treatments."""
        return Arms(self.arm_names(), self.shares()) if self.several else self.split

    def arm_paths(self) -> dict[str, str]:
        """Each arm's prompt path, as the definition names it, in arm order."""
        if self.several:
            return {"control": self.control, **self.treatments}
        return {"control": self.control, "treatment": self.treatment}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "hypothesis": self.hypothesis,
            "control": self.control,
        }
        if self.several:
            data["treatments"] = dict(self.treatments)
            data["shares"] = dict(zip(self.arm_names(), self.arm_shares, strict=True))
        else:
            data["treatment"] = self.treatment
            data["control_share"] = self.control_share
        data["created"] = self.created
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
