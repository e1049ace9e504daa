"""Scheduling is one pure function: tested alone, with plain values."""

from __future__ import annotations

from maia_git.core.models import Priority, QueueEntry, Status
from maia_git.core.schedule import pick_next

H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW


def q(exp_id: str, priority: Priority, queued: str, agent: str | None = None) -> QueueEntry:
    return QueueEntry(exp_id, agent or exp_id, Status.QUEUED, priority, queued=queued)


def active(exp_id: str, agent: str | None = None) -> QueueEntry:
    return QueueEntry(exp_id, agent or exp_id, Status.ACTIVE)


def test_priority_then_age() -> None:
    entries = [q("l1", L, "1"), q("m2", M, "2"), q("h3", H, "3"), q("m1", M, "1"), q("h4", H, "4")]
    assert pick_next(entries, 3, True) == ["h3", "h4", "m1"]


def test_fills_only_free_slots() -> None:
    entries = [active("a1"), active("a2"), q("x", H, "1"), q("y", H, "2")]
    assert pick_next(entries, 3, True) == ["x"]
    assert pick_next(entries, 2, True) == []


def test_busy_agent_is_skipped_not_blocking() -> None:
    entries = [active("a1", "bot"), q("same", H, "1", "bot"), q("other", L, "2", "cat")]
    assert pick_next(entries, 3, True) == ["other"]
    assert pick_next(entries, 3, False) == ["same", "other"]


def test_two_queued_for_one_free_agent_start_only_one() -> None:
    entries = [q("first", M, "1", "bot"), q("second", M, "2", "bot")]
    assert pick_next(entries, 3, True) == ["first"]


def test_paused_and_finished_entries_hold_no_slot() -> None:
    entries = [
        QueueEntry("p", "p", Status.PAUSED),
        QueueEntry("c", "c", Status.COMPLETED),
        q("x", L, "1"),
    ]
    assert pick_next(entries, 1, True) == ["x"]
