"""Statistics for A/B experiments: pure functions on per-arm, per-user sufficient statistics.

Importing this package is cheap, and nothing here imports scipy or numpy: analysis after every
push must take milliseconds. The tests compare the formulas with gbstats, scipy and simulation.
"""

from __future__ import annotations

from maia_git.stats.analysis import Analysis
from maia_git.stats.arm import ArmStats
from maia_git.stats.decision import analyze, analyze_arms
from maia_git.stats.multiarm import MultiAnalysis
from maia_git.stats.power import Plan, plan
from maia_git.stats.ratio import RatioSums
from maia_git.stats.reasons import Reason
from maia_git.stats.settings import Settings

__all__ = [
    "Analysis",
    "ArmStats",
    "MultiAnalysis",
    "Plan",
    "RatioSums",
    "Reason",
    "Settings",
    "analyze",
    "analyze_arms",
    "plan",
]
