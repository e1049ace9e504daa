"""The statistics core is pure and cheap to import: it runs after every push."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from maia_git.stats import ArmStats, analyze, plan
q = dict(quality_count=40, quality_sum=3000.0, quality_sumsq=230000.0)
analyze("e", ArmStats(n=50, successes=20, **q), ArmStats(n=50, successes=30, **q))
analyze("e", ArmStats(n=50, successes=20), ArmStats(n=50, successes=30), method="fixed")
plan(0.2, 0.1)
heavy = {"scipy", "numpy", "git", "filelock", "ruamel", "click"}
print(sorted(heavy & {name.split(".")[0] for name in sys.modules}))
"""


def test_analysis_imports_nothing_heavy_or_impure() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"
