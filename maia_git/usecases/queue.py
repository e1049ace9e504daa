"""Use cases that read the queue: status, the waiting line, and history."""

from __future__ import annotations

from typing import Any

from maia_git.core.models import FINISHED, QueueEntry, Status
from maia_git.core.schedule import why_waiting
from maia_git.errors import UsageError
from maia_git.storage import state
from maia_git.workspace import Workspace


def entry_view(entry: QueueEntry) -> dict[str, Any]:
    """A queue entry with the guide's key names (``experiment_id``, ``agent_name``, ...)."""
    return {
        "experiment_id": entry.id,
        "agent_name": entry.agent,
        "priority": str(entry.priority),
        "status": str(entry.status),
        "created_at": entry.created,
        "queued_at": entry.queued,
        "started_at": entry.started,
        "paused_at": entry.paused,
        "completed_at": entry.finished,
        "notes": entry.notes,
        "reason": entry.reason,
        "outcome": entry.outcome,
    }


def line_order(entries: list[QueueEntry]) -> list[QueueEntry]:
    """Active first, then queued in the order they will start, then paused."""
    rank = {Status.ACTIVE: 0, Status.QUEUED: 1, Status.PAUSED: 2}
    return sorted(
        (e for e in entries if e.status in rank),
        key=lambda e: (
            rank[e.status],
            e.priority.rank if e.status is Status.QUEUED else 0,
            e.queued or "",
            e.id,
        ),
    )


def _with_reasons(ws: Workspace, entries: list[QueueEntry]) -> list[dict[str, Any]]:
    """The waiting line, each queued entry with ``waiting_for``: why it is not active."""
    s = ws.settings
    reasons = why_waiting(entries, s.max_concurrent, s.one_active_per_agent)
    views = []
    for e in line_order(entries):
        view = entry_view(e)
        if e.status is Status.QUEUED:
            view["waiting_for"] = reasons.get(e.id)
        views.append(view)
    return views


def status(ws: Workspace) -> dict[str, Any]:
    entries = list(state.load_entries(ws.top).values())
    counts = {str(s): 0 for s in Status}
    for e in entries:
        counts[str(e.status)] += 1
    limit = ws.settings.max_concurrent
    ordered = _with_reasons(ws, entries)
    return {
        "queue_counts": counts,
        "capacity": {
            "max_concurrent": limit,
            "active": counts["active"],
            "available_slots": max(0, limit - counts["active"]),
        },
        "active_experiments": [v for v in ordered if v["status"] == "active"],
        "queued_experiments": [v for v in ordered if v["status"] == "queued"],
        "paused_experiments": [v for v in ordered if v["status"] == "paused"],
    }


def waiting_line(ws: Workspace) -> list[dict[str, Any]]:
    entries = list(state.load_entries(ws.top, finished=False).values())
    return _with_reasons(ws, entries)


def history(ws: Workspace, limit: int | None = 10) -> list[dict[str, Any]]:
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}")
    done = [e for e in state.load_entries(ws.top).values() if e.status in FINISHED]
    done.sort(key=lambda e: (e.finished or "", e.id), reverse=True)
    return [entry_view(e) for e in done[:limit]]
