"""Two-proportion z-test on completion, with the pooled standard error (two-sided).

z = (p_t - p_c) / sqrt(p (1 - p) (1/n_c + 1/n_t)), p = pooled rate; the textbook test, e.g.
Fleiss, Levin and Paik, "Statistical Methods for Rates and Proportions" (3rd ed., 2003), 2.6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.arm import ArmStats


@dataclass(frozen=True, slots=True)
class ZTest:
    """``z`` and ``p_value`` are None when untestable: an empty arm, or no variance at all."""

    diff: float | None
    z: float | None
    p_value: float | None


def two_proportion_z(control: ArmStats, treatment: ArmStats) -> ZTest:
    if control.n == 0 or treatment.n == 0:
        return ZTest(None, None, None)
    diff = treatment.successes / treatment.n - control.successes / control.n
    pooled = (control.successes + treatment.successes) / (control.n + treatment.n)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / control.n + 1.0 / treatment.n))
    if se == 0.0:
        # Both arms all successes or all failures: nothing varies, so nothing can be tested.
        return ZTest(diff, None, None)
    z = diff / se
    return ZTest(diff, z, normal_two_sided_p(z))


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) = erfc(|z| / sqrt 2): exact, and no scipy import on this path."""
    return math.erfc(abs(z) / math.sqrt(2.0))
