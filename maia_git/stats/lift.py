"""Relative lift of the completion rate, and its fixed-horizon confidence interval.

lift = p_t / p_c - 1. Its variance by the delta method on the ratio of two independent means
(Deng, Knoblich and Lu, "Applying the Delta Method in Metric Analytics", KDD 2018, section 3):
    Var(lift) = var_t / (p_c^2 n_t) + var_c p_t^2 / (p_c^4 n_c),  var = p (1 - p),
the same expression gbstats uses (``frequentist_variance``), so the sequential interval built on it
matches GrowthBook's. The fixed interval is the normal one, lift +- z_{1-alpha/2} se.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.arm import ArmStats


@dataclass(frozen=True, slots=True)
class Lift:
    """A defined relative lift; ``se`` is 0 when neither rate varies (all or no successes)."""

    lift: float
    se: float


def relative_lift(control: ArmStats, treatment: ArmStats) -> Lift | None:
    """None when the lift is undefined: an empty arm or a control rate of 0."""
    if control.n == 0 or treatment.n == 0 or control.successes == 0:
        return None
    p_c = control.successes / control.n
    p_t = treatment.successes / treatment.n
    var = delta_variance(p_c, control.n, p_t, treatment.n)
    return Lift(p_t / p_c - 1.0, math.sqrt(var))


def delta_variance(p_c: float, n_c: float, p_t: float, n_t: float) -> float:
    var_c, var_t = p_c * (1.0 - p_c), p_t * (1.0 - p_t)
    return var_t / (p_c * p_c * n_t) + var_c * p_t * p_t / (p_c**4 * n_c)


def fixed_interval(lift: Lift, alpha: float) -> tuple[float, float]:
    from statistics import NormalDist

    half = NormalDist().inv_cdf(1.0 - alpha / 2.0) * lift.se
    return (lift.lift - half, lift.lift + half)
