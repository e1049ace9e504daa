"""A generated workspace for the report: three experiments (two active, one queued behind its
agent's active one), two agents with quality scores over several days, logs spread over days
with an invalid line and a repeated interaction id, and hostile text in names and hypotheses.
Made through the real CLI in a real git repository; deterministic for a given seed.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maia_git.cli.main import main
from maia_git.core.assign import arm, arm_among
from maia_git.core.scoring import band_for, format_ts
from maia_git.storage import scores

HOSTILE_NAME = '<script>alert("name")</script> & "quoted" </td>'
HOSTILE_HYPOTHESIS = '"><img src=x onerror=alert(1)> {{ 7*7 }} <!--'
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
AGENTS = ("alpha", "beta")


def _git(top: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=top, check=True, capture_output=True)


def _maia(top: Path, *args: str) -> None:
    with contextlib.chdir(top):
        code = main(list(args))
    assert code == 0, f"maia {' '.join(args)} exited {code}"


FRIENDLY = ("Plan, act, check", "A checklist completes more tasks")


def make_workspace(top: Path, seed: int = 7, hostile: bool = True) -> list[str]:
    """Create the workspace in the empty folder ``top``; return its experiment ids. Without
    ``hostile``, exp_001 has a friendly name (for the screenshots in docs/)."""
    top.mkdir(parents=True, exist_ok=True)
    _git(top, "init", "-q", "-b", "main")
    (top / "agents").mkdir()
    for agent in AGENTS:
        (top / "agents" / f"{agent}.md").write_text(f"You are {agent}.\nAnswer the question.\n")
        (top / "agents" / f"{agent}_v2.md").write_text(
            f"You are {agent}.\nPlan first, then answer.\nCheck <every> step & say so.\n"
        )
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "prompts")
    _maia(top, "init")
    specs = [
        ("alpha", *((HOSTILE_NAME, HOSTILE_HYPOTHESIS) if hostile else FRIENDLY), "high"),
        ("beta", "Plan before answering", "Planning helps beta", "medium"),
        ("alpha", "Shorter alpha prompt", "Shorter is as good", "low"),
    ]
    ids = []
    for n, (agent, name, hypothesis, priority) in enumerate(specs, 1):
        exp_id = f"exp_00{n}"
        _maia(top, "exp", "new", name, "--agent", agent, "--control", f"agents/{agent}.md",
              "--treatment", f"agents/{agent}_v2.md", "--hypothesis", hypothesis,
              "--priority", priority)  # fmt: skip
        _maia(top, "exp", "start", exp_id)
        ids.append(exp_id)
    rng = random.Random(seed)
    _logs(top, "exp_001", rng, users=420, days=6, rates=(0.45, 0.66))
    _logs(top, "exp_002", rng, users=260, days=4, rates=(0.5, 0.52), broken=True)
    for agent, days in zip(AGENTS, (9, 5), strict=True):
        _scores(top, agent, rng, days)
    _maia(top, "sync")
    return ids


def _logs(
    top: Path, exp_id: str, rng: random.Random, users: int, days: int,
    rates: tuple[float, float], broken: bool = False,
) -> None:  # fmt: skip
    lines = []
    for u in range(users):
        user = f"user-{u:04d}"
        side = arm(exp_id, user)
        p = rates[side == "treatment"]
        for k in range(rng.randint(1, 3)):
            when = START + timedelta(minutes=rng.uniform(0, days * 24 * 60))
            record = {
                "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "user_id": user, "arm": side,
                "success": rng.random() < p, "quality_score": round(rng.uniform(40, 100), 2),
                "tokens": rng.randint(200, 1500), "latency_ms": round(rng.uniform(300, 9000), 1),
                "interaction_id": f"{exp_id}-{user}-{k}",
            }  # fmt: skip
            lines.append(json.dumps(record))
    if broken:
        lines.append(json.dumps({"ts": "<b>not a time</b>", "user_id": "<i>u</i>",
                                 "arm": "control", "success": True}))  # fmt: skip
        lines.append(lines[0])  # a repeated interaction id: counted once
    folder = top / "experiments" / exp_id / "interactions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "generated.jsonl").write_text("\n".join(lines) + "\n")


def _scores(top: Path, agent: str, rng: random.Random, days: int) -> None:
    for day in range(days):
        for n in range(rng.randint(3, 9)):
            overall = round(min(100.0, max(0.0, rng.gauss(70 + 2 * day, 12))), 2)
            when = START + timedelta(days=day, hours=rng.uniform(0, 12))
            scores.append(top / ".git", {
                "ts": format_ts(when), "agent": agent, "response_id": f"{agent}-{day}-{n}",
                "overall": overall, "criteria": {"task_completion": overall},
                "band": band_for(overall),
            }, "generated")  # fmt: skip


ARMS = ("control", "short", "formal")


def make_arms_workspace(top: Path) -> str:
    """Create, in the empty folder ``top``, a workspace with one active experiment of three
    arms (control, short, formal; equal shares) and a log over four days in which formal
    completes more tasks; return its id."""
    top.mkdir(parents=True, exist_ok=True)
    _git(top, "init", "-q", "-b", "main")
    (top / "agents").mkdir()
    for name, text in (("helper", "You are a helpful agent.\n"), ("helper_short", "Be short.\n"),
                       ("helper_formal", "Be <formal> & thorough.\n")):  # fmt: skip
        (top / "agents" / f"{name}.md").write_text(text)
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "prompts")
    _maia(top, "init")
    _maia(top, "exp", "new", "Tone <b>of voice</b>", "--agent", "helper", "--control",
          "agents/helper.md", "--treatment", "agents/helper_short.md", "--arm-name", "short",
          "--treatment", "agents/helper_formal.md", "--arm-name", "formal")  # fmt: skip
    _maia(top, "exp", "start", "exp_001")
    lines = []
    for i in range(900):
        user = f"user-{i % 450}"
        side = arm_among("exp_001", user, ARMS, [1 / 3] * 3)
        record = {
            "ts": (START + timedelta(minutes=6 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user_id": user, "arm": side, "success": i % 10 < (8 if side == "formal" else 4),
            "quality_score": 70 + i % 9, "tokens": 500 + i % 300,
        }  # fmt: skip
        lines.append(json.dumps(record))
    folder = top / "experiments" / "exp_001" / "interactions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "generated.jsonl").write_text("\n".join(lines) + "\n")
    return "exp_001"
