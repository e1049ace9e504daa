"""Runs the reference guide's Python examples as a user would, and checks what they print."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from maia_git.core.assign import arm

from conftest import git

SCRIPT = Path(__file__).with_name("guide_examples.py")


def test_the_guide_examples_run_and_print_what_the_guide_says(ws: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=ws, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # 1. The guide's perfect response scores 100 and is kept.
    assert "Overall Score: 100.0/100" in out
    assert "Task Completion: 100.0/100" in out and "Tool Accuracy: 100.0/100" in out
    assert "7-day average: 100.0/100" in out
    # 2. The first experiment is exp_001; assignment is the MD5 rule; one record is not enough.
    assert "Experiment ID: exp_001" in out
    assert f"User assigned to: {arm('exp_001', 'nathan@example.com')}" in out
    assert "Insufficient data for analysis (need 30+ interactions per arm)" in out
    assert "Not ready for promotion (criteria not met)" in out
    # 3. The queue: exp_001 (created and started in 2) and exp_002 (no definition) active.
    assert "Active: 2/3" in out and "Queued: 0" in out and "Available Slots: 1" in out
    assert "  exp_001 (cloud_architect) - Priority: medium" in out
    assert "  exp_002 (jobs_agent) - Priority: medium" in out
    history = out.split("== 3. experiment queue")[1].split("== 4.")[0]
    assert history.index("exp_002 - Status: cancelled") < history.index(
        "exp_001 - Status: completed"
    )
    assert "  Notes: Resume parsing improvement" in history
    # 4. Integration: a second experiment with 1,200 simulated users after the guide's one
    # interaction: significant, promoted as a pull request branch, then completed in the queue.
    assert "✅ Statistically significant result!" in out
    assert "🚀 Promoted treatment to production!" in out
    promoted = git(ws, "show", "maia/promote/exp_005:claude/agents/cloud_architect_v2.1.md")
    assert promoted == (ws / "claude/agents/cloud_architect_v2.2_react.md").read_text()
    effect = out.split("   Effect size: ")[1].split("%")[0]
    outcome = (ws / "queue/exp_005.yaml").read_text().split("outcome: ")[1].splitlines()[0]
    assert outcome.startswith(f'"Treatment {effect}% better, p=')
    # The state is in git: every change a commit, the queue files as the calls left them.
    statuses = {
        p.stem: p.read_text().split("status: ")[1].split()[0]
        for p in (ws / "queue").glob("exp_*.yaml")
    }
    assert statuses == {
        "exp_001": "completed",
        "exp_002": "cancelled",
        "exp_003": "queued",
        "exp_004": "active",
        "exp_005": "completed",
    }
    assert "priority: high" in (ws / "queue/exp_003.yaml").read_text()
    assert (
        git(
            ws,
            "status",
            "--porcelain",
            "--",
            "queue",
            "experiments/exp_005/experiment.yaml",
            "maia.yaml",
        )
        == ""
    )
    log = [
        json.loads(line)
        for path in [
            *sorted((ws / "experiments/exp_001/interactions").rglob("*.jsonl")),
            ws / ".git/maia/pending/experiments/exp_001/interactions/test-writer.jsonl",
        ]
        if path.exists()
        for line in path.read_text().splitlines()
    ]
    assert log[0]["user_id"] == "nathan@example.com" and log[0]["tokens"] == 750
    scores = [
        *(ws / "scores/cloud_architect").rglob("*.jsonl"),
        *(ws / ".git/maia/pending/scores/cloud_architect").rglob("*.jsonl"),
    ]
    assert len(scores) == 1 and len(scores[0].read_text().splitlines()) == 2
