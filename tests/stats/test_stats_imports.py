"""The statistics core is pure and cheap to import: it runs after every push."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from maia_git.stats import ArmStats, RatioSums, analyze, plan
q = RatioSums(40, 3000.0, 40, 230000.0, 40, 3000.0)
analyze("e", ArmStats(RatioSums(50, 20, 50, 20, 50, 20), q),
        ArmStats(RatioSums(50, 30, 60, 40, 80, 50), q))
analyze("e", ArmStats.from_records([{"user_id": "u", "success": True}]), ArmStats(),
        method="fixed")
plan(0.2, 0.1)
heavy = {"scipy", "numpy", "git", "filelock", "ruamel", "click"}
print(sorted(heavy & {name.split(".")[0] for name in sys.modules}))
"""


def test_analysis_imports_nothing_heavy_or_impure() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"
