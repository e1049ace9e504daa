"""The experiment queue through the CLI: capacity, priorities, automatic start, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, new_exp
from helpers import snapshot


def status(maia, ws: Path) -> dict:
    result = maia("queue", "status", "--json", cwd=ws)
    assert result.code == 0, result.err
    return json.loads(result.out)


def active_ids(maia, ws: Path) -> list[str]:
    return sorted(e["experiment_id"] for e in status(maia, ws)["active_experiments"])


@pytest.fixture
def five(ws: Path, maia) -> Path:
    """Five drafts on five agents: low, medium, high, high, medium."""
    for i, level in enumerate(["low", "medium", "high", "high", "medium"], start=1):
        new_exp(maia, ws, "--priority", level, agent=f"agent{i}")
    return ws


def test_five_started_with_max_three(five: Path, maia) -> None:
    ws = five
    for i in range(1, 6):
        assert maia("exp", "start", f"exp_00{i}", cwd=ws).code == 0
    data = status(maia, ws)
    assert data["queue_counts"]["active"] == 3
    assert data["queue_counts"]["queued"] == 2
    assert data["capacity"] == {"max_concurrent": 3, "active": 3, "available_slots": 0}
    assert active_ids(maia, ws) == ["exp_001", "exp_002", "exp_003"]
    # Completing one starts the highest-priority, oldest waiting one: exp_004 (high).
    done = maia("exp", "complete", "exp_001", cwd=ws)
    assert "exp_004: queued -> active (started by the queue)" in done.out
    assert active_ids(maia, ws) == ["exp_002", "exp_003", "exp_004"]
    body = git(ws, "log", "-1", "--format=%B")
    assert "Maia-Experiment: exp_001" in body and "Maia-Experiment: exp_004" in body
    # Pausing frees a slot: exp_005 starts.
    maia("exp", "pause", "exp_002", "--note", "tool outage", cwd=ws)
    assert active_ids(maia, ws) == ["exp_003", "exp_004", "exp_005"]
    # Resume puts it back in line: no slot, so it waits.
    maia("exp", "resume", "exp_002", cwd=ws)
    assert status(maia, ws)["queue_counts"]["queued"] == 1


def test_three_active_in_priority_order_when_queued_together(ws: Path, maia) -> None:
    (ws / "maia.yaml").write_text(
        (ws / "maia.yaml").read_text().replace("max_concurrent: 3", "max_concurrent: 1")
    )
    git(ws, "commit", "-qam", "one slot")
    levels = ["low", "medium", "high", "high", "medium"]
    for i, level in enumerate(levels, start=1):
        new_exp(maia, ws, "--priority", level, agent=f"agent{i}")
        maia("exp", "start", f"exp_00{i}", cwd=ws)
    line = json.loads(maia("queue", "list", "--json", cwd=ws).out)
    assert [e["experiment_id"] for e in line] == [
        "exp_001",
        "exp_003",
        "exp_004",
        "exp_002",
        "exp_005",
    ]
    (ws / "maia.yaml").write_text(
        (ws / "maia.yaml").read_text().replace("max_concurrent: 1", "max_concurrent: 3")
    )
    git(ws, "commit", "-qam", "three slots")
    # Two slots open at once: the next two in line (high, high) and then medium start.
    maia("exp", "complete", "exp_001", cwd=ws)
    assert active_ids(maia, ws) == ["exp_002", "exp_003", "exp_004"]


def test_priority_change_reorders_the_line(ws: Path, maia) -> None:
    (ws / "maia.yaml").write_text(
        (ws / "maia.yaml").read_text().replace("max_concurrent: 3", "max_concurrent: 1")
    )
    git(ws, "commit", "-qam", "one slot")
    for i in range(1, 4):
        new_exp(maia, ws, agent=f"agent{i}")
        maia("exp", "start", f"exp_00{i}", cwd=ws)
    assert maia("queue", "priority", "exp_003", "--priority", "high", cwd=ws).code == 0
    line = [e["experiment_id"] for e in json.loads(maia("queue", "list", "--json", cwd=ws).out)]
    assert line == ["exp_001", "exp_003", "exp_002"]
    assert "Maia-Priority: medium->high" in git(ws, "log", "-1", "--format=%B")
    maia("exp", "complete", "exp_001", cwd=ws)
    assert active_ids(maia, ws) == ["exp_003"]


def test_priority_change_refused_unless_queued(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    snap = snapshot(ws)
    result = maia("queue", "priority", exp_id, "--priority", "low", cwd=ws)
    assert result.code == 4 and "only queued" in result.err
    bad = maia("queue", "priority", exp_id, "--priority", "urgent", cwd=ws)
    assert bad.code == 2 and "high, medium or low" in bad.err
    assert snapshot(ws) == snap


def test_history_newest_first_with_times_and_notes(ws: Path, maia) -> None:
    for i in range(1, 4):
        new_exp(maia, ws, "--note", f"note {i}", agent=f"agent{i}")
        maia("exp", "start", f"exp_00{i}", cwd=ws)
    maia("exp", "complete", "exp_002", "--note", "treatment won", cwd=ws)
    maia("exp", "cancel", "exp_001", "--note", "obsolete", cwd=ws)
    maia("exp", "complete", "exp_003", cwd=ws)
    items = json.loads(maia("queue", "history", "--json", cwd=ws).out)
    assert [i["experiment_id"] for i in items] == ["exp_003", "exp_001", "exp_002"]
    assert items[2]["outcome"] == "treatment won" and items[1]["reason"] == "obsolete"
    assert items[2]["notes"] == "note 2"
    for item in items:
        assert item["created_at"] <= item["started_at"] <= item["completed_at"]
    limited = json.loads(maia("queue", "history", "--limit", "1", "--json", cwd=ws).out)
    assert [i["experiment_id"] for i in limited] == ["exp_003"]


def test_one_active_per_agent_and_its_switch(ws: Path, maia) -> None:
    first = new_exp(maia, ws, agent="bot")
    second = new_exp(maia, ws, agent="bot")
    third = new_exp(maia, ws, agent="cat")
    for exp_id in (first, second, third):
        maia("exp", "start", exp_id, cwd=ws)
    assert active_ids(maia, ws) == [first, third]
    assert status(maia, ws)["queue_counts"]["queued"] == 1
    (ws / "maia.yaml").write_text(
        (ws / "maia.yaml")
        .read_text()
        .replace("one_active_per_agent: true", "one_active_per_agent: false")
    )
    git(ws, "commit", "-qam", "allow two per agent")
    fourth = new_exp(maia, ws, agent="dog")
    maia("exp", "start", fourth, cwd=ws)  # the start re-runs the scheduler
    assert second in active_ids(maia, ws)


@pytest.mark.parametrize(
    "value,needle",
    [
        ("0", "max_concurrent must be a whole number from 1 to 1000"),
        ("-2", "from 1 to 1000"),
        ("three", "not 'three'"),
        ("1.5", "whole number"),
    ],
)
def test_bad_max_concurrent_is_refused(ws: Path, maia, value: str, needle: str) -> None:
    new_exp(maia, ws)
    (ws / "maia.yaml").write_text(
        (ws / "maia.yaml").read_text().replace("max_concurrent: 3", f"max_concurrent: {value}")
    )
    snap = snapshot(ws)
    result = maia("exp", "start", "exp_001", cwd=ws)
    assert result.code == 3
    assert result.err.startswith("maia: error: maia.yaml:") and needle in result.err
    assert snapshot(ws) == snap


def test_hand_edited_unknown_status_is_refused(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    other = new_exp(maia, ws, agent="other")
    path = ws / f"queue/{exp_id}.yaml"
    path.write_text(path.read_text().replace("status: draft", "status: running"))
    snap = snapshot(ws)
    result = maia("exp", "start", other, cwd=ws)
    assert result.code == 3
    assert f"queue/{exp_id}.yaml:" in result.err and "status must be one of" in result.err
    assert snapshot(ws) == snap
