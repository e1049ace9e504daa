"""Make this repository's example workspace: an agent, an experiment and a committed log.

Run once from the repository root (it refuses if exp_001 exists). The traffic is simulated with
the demo's synthetic agent, seeded, so the example shows a real analysis right after cloning:

    python scripts/make_example.py && maia exp analyze exp_001
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from maia_git import ABTestingFramework, AutomatedQualityScorer
from maia_git.usecases import demo, init, sync
from maia_git.workspace import Workspace

USERS = 160


def main() -> int:
    top = Path(__file__).resolve().parent.parent
    if (top / "queue/exp_001.yaml").exists():
        print("exp_001 already exists; nothing to do", file=sys.stderr)
        return 1
    init.init(Workspace.find(top, initialised=False))
    agents = top / "agents"
    agents.mkdir(exist_ok=True)
    (agents / "support_agent.md").write_text(demo.CONTROL, encoding="utf-8")
    (agents / "support_agent_v2.md").write_text(demo.TREATMENT, encoding="utf-8")
    subprocess.run(
        ["git", "add", "agents/support_agent.md", "agents/support_agent_v2.md"], cwd=top, check=True
    )
    subprocess.run(
        [
            "git",
            "commit",
            "-q",
            "-m",
            "Example agent: two versions of its prompt",
            "--",
            "agents/support_agent.md",
            "agents/support_agent_v2.md",
        ],
        cwd=top,
        check=True,
    )
    framework = ABTestingFramework(top)
    scorer = AutomatedQualityScorer(top)
    experiment = demo.create_experiment(framework, top)
    rng = random.Random(2026)
    for i in range(1, USERS + 1):
        demo.serve(
            framework,
            scorer,
            experiment.experiment_id,
            f"example-user-{i:04d}",
            f"example-{i:04d}",
            rng,
        )
    framework.close()
    sync.sync(Workspace.find(top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
