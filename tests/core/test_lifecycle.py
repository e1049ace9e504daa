"""The transition table and the pure decision, without any files."""

from __future__ import annotations

import pytest

from maia_git.core.decide import decide
from maia_git.core.lifecycle import TRANSITIONS, allowed_events, apply
from maia_git.core.models import Priority, QueueEntry, Status
from maia_git.core.settings import Settings
from maia_git.errors import TransitionError

NOW = "2026-01-01T00:00:00.000000Z"


def entry(exp_id: str, status: Status, agent: str = "a", **kw: object) -> QueueEntry:
    return QueueEntry(exp_id, agent, status, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("event,table", sorted(TRANSITIONS.items()))
def test_every_listed_transition_applies_and_stamps_time(event: str, table: dict) -> None:
    for before, after in table.items():
        updated, transition = apply(entry("e", before), event, NOW)
        assert updated.status is after
        assert transition.arrow == f"{before}->{after}"


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("event", sorted(TRANSITIONS))
def test_everything_not_listed_is_refused(status: Status, event: str) -> None:
    if status in TRANSITIONS[event]:
        return
    with pytest.raises(TransitionError, match="allowed"):
        apply(entry("e", status), event, NOW)


def test_finished_states_allow_nothing_but_promotion_of_completed() -> None:
    assert allowed_events(Status.PROMOTED) == []
    assert allowed_events(Status.CANCELLED) == []
    assert allowed_events(Status.COMPLETED) == ["promote"]


def test_resume_clears_paused_time_and_keeps_reason() -> None:
    paused, _ = apply(entry("e", Status.ACTIVE), "pause", NOW, reason="wait")
    assert paused.paused == NOW and paused.reason == "wait"
    resumed, _ = apply(paused, "resume", NOW)
    assert resumed.paused is None and resumed.status is Status.QUEUED


def test_decide_starts_next_in_the_same_decision() -> None:
    entries = {
        "a": entry("a", Status.ACTIVE, "x"),
        "b": entry("b", Status.QUEUED, "y", priority=Priority.LOW, queued="1"),
        "c": entry("c", Status.QUEUED, "z", priority=Priority.HIGH, queued="2"),
    }
    decision = decide(entries, "a", "complete", Settings(max_concurrent=1), NOW)
    assert [t.arrow for t in decision.transitions] == ["active->completed", "queued->active"]
    assert decision.transitions[1].id == "c"
