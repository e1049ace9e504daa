"""Statistics for A/B experiments: pure functions on per-arm sufficient statistics.

Importing this package is cheap, and nothing here imports scipy or numpy: analysis after every
push must take milliseconds (see ``tdist``). The tests compare every formula with scipy.
"""

from __future__ import annotations

from maia_git.stats.analysis import Analysis, Settings
from maia_git.stats.arm import ArmStats
from maia_git.stats.decision import analyze
from maia_git.stats.power import Plan, plan
from maia_git.stats.reasons import Reason

__all__ = ["Analysis", "ArmStats", "Plan", "Reason", "Settings", "analyze", "plan"]
