"""`maia demo` end to end, as a real process in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git, run_cli


def test_demo_promotes_the_winner_to_a_branch(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = run_cli(["demo", "--dir", str(target), "--users", "600"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" in proc.stdout
    assert "git log -p maia/promote/exp_001" in proc.stdout
    branch = "maia/promote/exp_001"
    assert (
        git(target, "show", f"{branch}:agents/support_agent.md")
        == (target / "agents/support_agent_v2.md").read_text()
    )
    analysis = json.loads(git(target, "show", f"{branch}:experiments/exp_001/analysis.json"))
    assert analysis["decision"] == "promote"
    assert analysis["treatment"]["rate"] > analysis["control"]["rate"]
    assert min(analysis["control"]["n"], analysis["treatment"]["n"]) >= 30
    assert analysis["treatment"]["quality_mean"] > analysis["control"]["quality_mean"]
    # The user's side of the demo repository: main holds the completed experiment and logs.
    assert git(target, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert "status: completed" in (target / "queue/exp_001.yaml").read_text()
    assert git(target, "status", "--porcelain") == ""
    shown = json.loads(run_cli(["exp", "show", "exp_001", "--json"], target).stdout)
    assert shown["winner"] == "treatment" and shown["promotion_branch"] == branch
    scores = [
        *(target / "scores/support_agent").rglob("*.jsonl"),
        *(target / ".git/maia/pending/scores/support_agent").rglob("*.jsonl"),
    ]
    assert (
        scores
        and sum(len(p.read_text().splitlines()) for p in scores)
        == analysis["control"]["n"] + analysis["treatment"]["n"]
    )


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine\n")
    proc = run_cli(["demo", "--dir", str(tmp_path / "busy")], tmp_path)
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["file.txt"]
