"""Welch's unequal-variance t-test on quality, from count, sum and sum of squares.

Welch, "The generalization of Student's problem when several different population variances are
involved", Biometrika 34 (1947); degrees of freedom by Satterthwaite (1946). The one-sided
``p_worse`` tests H1: mean_t - mean_c < -margin, the guardrail "quality not worse than control".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.arm import ArmStats
from maia_git.stats.tdist import t_cdf


@dataclass(frozen=True, slots=True)
class WelchTest:
    """``t``, ``df`` and the p-values are None when neither arm's scores vary."""

    control_mean: float
    treatment_mean: float
    diff: float
    t: float | None
    df: float | None
    p_value: float | None
    p_worse: float | None


def welch_quality(control: ArmStats, treatment: ArmStats, margin: float = 0.0) -> WelchTest | None:
    """None when an arm has fewer than 2 quality scores (no variance estimate)."""
    c_var, t_var = control.quality_var, treatment.quality_var
    if c_var is None or t_var is None:
        return None
    c_n, t_n = control.quality_count, treatment.quality_count
    return welch(
        c_n, control.quality_sum / c_n, c_var, t_n, treatment.quality_sum / t_n, t_var, margin
    )


def welch(
    c_n: int, c_mean: float, c_var: float, t_n: int, t_mean: float, t_var: float, margin: float
) -> WelchTest:
    c_se2, t_se2 = c_var / c_n, t_var / t_n
    se2 = c_se2 + t_se2
    diff = t_mean - c_mean
    if se2 == 0.0:
        return WelchTest(c_mean, t_mean, diff, None, None, None, None)
    # Welch-Satterthwaite, written with weights that sum to 1 so that squares of tiny variances
    # cannot underflow to 0 / 0.
    w_c, w_t = c_se2 / se2, t_se2 / se2
    df = 1.0 / (w_c * w_c / (c_n - 1) + w_t * w_t / (t_n - 1))
    se = math.sqrt(se2)
    t = diff / se
    return WelchTest(
        c_mean,
        t_mean,
        diff,
        t,
        df,
        2.0 * t_cdf(-abs(t), df),
        t_cdf((diff + margin) / se, df),
    )
