"""``maia demo``: the whole job end to end, in a fresh repository, with simulated traffic.

A synthetic agent answers simulated users; its treatment prompt completes more tasks. Every
response is scored by the rubric and recorded through the same API a runtime uses, the logs are
committed after each batch, the experiment is analysed after each batch, and the winner is
promoted to a branch.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maia_git.core.settings import Settings
from maia_git.errors import UsageError

CONTROL = """# Support agent (v1)

You are a support agent for a cloud hosting company. Answer the customer's question.
"""
TREATMENT = """# Support agent (v2)

You are a support agent for a cloud hosting company.

1. Restate the customer's goal in one sentence.
2. Plan the steps, and use the tools listed for each step.
3. Check the result against every requirement before you answer.
4. Say which edge cases you considered.
"""
REQUIREMENTS = ["diagnose", "fix", "explain", "prevent"]
TOOLS = ["logs_search", "config_diff", "status_page"]


@dataclass
class DemoResult:
    directory: Path
    experiment_id: str
    users: int
    batches: int
    analysis: dict[str, Any]
    promoted_branch: str | None
    history: list[dict[str, Any]] = field(default_factory=list)


def _git(top: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=top, check=True, capture_output=True)


def prepare(directory: Path | None) -> Path:
    """A new git repository with two prompt versions, as the first commit."""
    top = Path(tempfile.mkdtemp(prefix="maia-demo-")) if directory is None else directory
    if top.exists() and any(top.iterdir()):
        raise UsageError(f"--dir {top} is not empty; give a new or empty folder")
    top.mkdir(parents=True, exist_ok=True)
    _git(top, "init", "-q", "-b", "main")
    probe = subprocess.run(["git", "var", "GIT_AUTHOR_IDENT"], cwd=top, capture_output=True)
    if probe.returncode != 0:  # no identity configured: give this demo repository one
        _git(top, "config", "user.name", "maia demo")
        _git(top, "config", "user.email", "demo@maia.invalid")
    (top / "agents").mkdir()
    (top / "agents/support_agent.md").write_text(CONTROL, encoding="utf-8")
    (top / "agents/support_agent_v2.md").write_text(TREATMENT, encoding="utf-8")
    _git(top, "add", "agents")
    _git(top, "commit", "-q", "-m", "Support agent prompts: v1 and a v2 candidate")
    return top


def simulated_response(rng: random.Random, treatment: bool) -> tuple[bool, dict[str, Any]]:
    """One synthetic response: the v2 prompt plans, checks and completes more often."""
    completes = rng.random() < (0.78 if treatment else 0.55)
    done = REQUIREMENTS if completes else REQUIREMENTS[: rng.randint(1, 3)]
    careful = treatment and rng.random() < 0.85
    return completes, {
        "status": "completed" if completes else "partial",
        "requirements": REQUIREMENTS,
        "addressed_requirements": done,
        "validation_performed": careful or rng.random() < 0.3,
        "edge_cases_considered": careful or rng.random() < 0.2,
        "tools_used": TOOLS if (careful or rng.random() < 0.5) else TOOLS[:1],
        "expected_tools": TOOLS,
        "systematic_planning": careful or rng.random() < 0.3,
        "logical_breakdown": treatment or rng.random() < 0.5,
        "explanation_quality": rng.choice(
            ["excellent", "good"] if treatment else ["good", "adequate", "poor"]
        ),
        # The same cost in both arms: a costlier prompt would be held back by the tokens guardrail.
        "token_count": rng.randint(700, 1300),
        "execution_time_seconds": round(rng.uniform(3, 12), 2),
    }


def create_experiment(framework: Any, top: Path) -> Any:
    """The example experiment on the support agent's two prompts (created and started)."""
    return framework.create_experiment(
        name="Plan-and-check support prompt",
        hypothesis="Planning, tool use and a final check complete 20% more support tasks",
        agent_name="support_agent",
        control_prompt=top / "agents/support_agent.md",
        treatment_prompt=top / "agents/support_agent_v2.md",
    )


def serve(
    framework: Any, scorer: Any, exp_id: str, user: str, interaction_id: str, rng: random.Random
) -> None:
    """One simulated user, served as a runtime would: assign, answer, score, record."""
    arm = framework.assign_treatment(exp_id, user)
    success, response = simulated_response(rng, arm == "treatment")
    score = scorer.evaluate_response(response, "support_agent", interaction_id)
    framework.record_interaction(
        exp_id,
        user,
        success,
        quality_score=score.overall_score,
        tokens_used=response["token_count"],
        latency_ms=response["execution_time_seconds"] * 1000,
        interaction_id=interaction_id,
    )


def run(
    directory: Path | None = None,
    users: int = 600,
    batch: int = 50,
    seed: int = 7,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
) -> DemoResult:
    from maia_git.api import ABTestingFramework, AutomatedQualityScorer
    from maia_git.usecases import init, sync
    from maia_git.workspace import Workspace

    if not 60 <= users <= 100_000:
        raise UsageError("--users must be from 60 (30 per arm before any decision) to 100000")
    top = prepare(directory)
    ws = Workspace.find(top, initialised=False)
    init.init(ws)
    # The sequential interval is tightest at the planned sample size: plan for these users.
    settings = top / "maia.yaml"
    planned = settings.read_text(encoding="utf-8").replace(
        f"sequential_tuning: {Settings().sequential_tuning}", f"sequential_tuning: {float(users)}"
    )
    if planned != settings.read_text(encoding="utf-8"):
        settings.write_text(planned, encoding="utf-8")
        _git(
            top,
            "commit",
            "-q",
            "-m",
            "maia: plan the sequential test for the demo's traffic",
            "--",
            "maia.yaml",
        )
    framework = ABTestingFramework(top)
    scorer = AutomatedQualityScorer(top)
    experiment = create_experiment(framework, top)
    exp_id = experiment.experiment_id
    rng = random.Random(seed)
    analysis: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    from maia_git.usecases.analysis import analyze_experiment

    served = batches = 0
    while served < users:
        for _ in range(min(batch, users - served)):
            served += 1
            user = f"user-{served:05d}@example.com"
            serve(framework, scorer, exp_id, user, f"{exp_id}-{served}", rng)
        batches += 1
        sync.sync(Workspace.find(top))
        analysis = analyze_experiment(Workspace.find(top), exp_id).to_dict()
        history.append(
            {
                "users": served,
                "decision": analysis["decision"],
                "p_value": analysis.get("p_value"),
                "lift": analysis.get("lift"),
            }
        )
        if progress is not None:
            progress(served, analysis)
        if analysis["decision"] != "keep_running":
            break
    framework.close()
    promoted = framework.auto_promote_winner(exp_id) if analysis["decision"] == "promote" else None
    return DemoResult(
        top, exp_id, served, batches, analysis, promoted.branch if promoted else None, history
    )
