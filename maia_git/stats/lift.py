"""The completion rate's relative lift, tested on the log of the ratio of the two arms' rates.

theta = ln(m_t / m_c), m the ratio mean of an arm (successes over interactions, per-user sums),
with the delta-method variance Var(theta) = Var(m_t) / m_t^2 + Var(m_c) / m_c^2 (Deng, Knoblich
and Lu 2018, section 3.3; the arms are independent). The p-value, the interval and the point
estimate all come from theta; the relative lift and its interval are exp(.) - 1. The log scale
keeps the interval's two sides honest at small samples, where a symmetric interval on the
relative lift itself misses on one side far more often than on the other (the tests measure
both sides by simulation).

When either arm's rate is 0% or 100%, or an arm has fewer than two users, the delta method has no
variance to work with; then both arms get Agresti and Caffo's add-one adjustment (one more
user who succeeded and one who failed, ``RatioSums.with_pseudo_units``) and the same statistic
is computed on that: a treatment with 0 successes against 300 still gets a real test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.method import Estimate, estimate
from maia_git.stats.ratio import RatioSums
from maia_git.stats.settings import Settings


@dataclass(frozen=True, slots=True)
class Lift:
    """The test of theta; ``adjusted`` when the add-one adjustment was needed."""

    test: Estimate
    adjusted: bool

    @property
    def lift(self) -> float:
        return _relative(self.test.value)

    @property
    def interval(self) -> tuple[float, float]:
        return (_relative(self.test.low), _relative(self.test.high))


def log_ratio(control: RatioSums, treatment: RatioSums) -> tuple[float, float, bool] | None:
    """(theta, se, adjusted), or None when an arm has no users."""
    if control.units == 0 or treatment.units == 0:
        return None
    adjusted = _degenerate(control) or _degenerate(treatment)
    if adjusted:
        control, treatment = control.with_pseudo_units(), treatment.with_pseudo_units()
    m_c, m_t = control.num / control.den, treatment.num / treatment.den
    v_c, v_t = control.variance, treatment.variance
    assert v_c is not None and v_t is not None  # units >= 2 here
    return math.log(m_t / m_c), math.sqrt(v_t / (m_t * m_t) + v_c / (m_c * m_c)), adjusted


def relative_lift(control: RatioSums, treatment: RatioSums, s: Settings) -> Lift | None:
    found = log_ratio(control, treatment)
    if found is None:
        return None
    theta, se, adjusted = found
    return Lift(estimate(theta, se, control.units + treatment.units, s), adjusted)


def _degenerate(arm: RatioSums) -> bool:
    var = arm.variance
    return arm.num <= 0 or arm.num >= arm.den or var is None or var <= 0.0


def _relative(theta: float) -> float:
    try:
        return math.expm1(theta)
    except OverflowError:
        return math.inf
