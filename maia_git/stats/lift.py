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

Under the ``bayesian`` method the read-out is GrowthBook's instead (``stats.bayes``): the
posterior of the relative lift (m_t - m_c) / m_c, whose mean and credible interval are the lift
and interval reported, with the chance to beat control and the expected loss; no p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.bayes import Posterior, posterior, relative_effect
from maia_git.stats.method import Estimate, estimate
from maia_git.stats.ratio import RatioSums
from maia_git.stats.settings import Settings


@dataclass(frozen=True, slots=True)
class Lift:
    """The test of theta; ``adjusted`` when the add-one adjustment was needed; ``posterior``
    under the bayesian method, which then gives the lift and its interval."""

    test: Estimate
    adjusted: bool
    posterior: Posterior | None = None

    @property
    def lift(self) -> float:
        if self.posterior is not None:
            return self.posterior.mean
        return expm1_or_inf(self.test.value)

    @property
    def interval(self) -> tuple[float, float]:
        if self.posterior is not None:
            return (self.posterior.low, self.posterior.high)
        return (expm1_or_inf(self.test.low), expm1_or_inf(self.test.high))


def log_ratio(control: RatioSums, treatment: RatioSums) -> tuple[float, float, bool] | None:
    """(theta, se, adjusted), or None when an arm has no users."""
    if control.units == 0 or treatment.units == 0:
        return None
    control, treatment, adjusted = _testable(control, treatment)
    m_c, m_t = control.num / control.den, treatment.num / treatment.den
    v_c, v_t = control.variance, treatment.variance
    assert v_c is not None and v_t is not None  # units >= 2 here
    return math.log(m_t / m_c), log_ratio_se(m_c, v_c, m_t, v_t), adjusted


def log_ratio_se(m_c: float, v_c: float, m_t: float, v_t: float) -> float:
    """The delta-method standard error of ln(m_t / m_c) from each arm's mean and its variance."""
    return math.sqrt(v_t / (m_t * m_t) + v_c / (m_c * m_c))


def relative_lift(control: RatioSums, treatment: RatioSums, s: Settings) -> Lift | None:
    found = log_ratio(control, treatment)
    if found is None:
        return None
    theta, se, adjusted = found
    test = estimate(theta, se, control.units + treatment.units, s)
    if s.method != "bayesian":
        return Lift(test, adjusted)
    effect = relative_effect(*_testable(control, treatment)[:2])
    assert effect is not None  # the add-one adjustment leaves a positive rate and variance
    return Lift(test, adjusted, posterior(*effect, s.alpha))


def _testable(control: RatioSums, treatment: RatioSums) -> tuple[RatioSums, RatioSums, bool]:
    """The arms, with the add-one adjustment when either one has no variation to work with."""
    adjusted = _degenerate(control) or _degenerate(treatment)
    if adjusted:
        return control.with_pseudo_units(), treatment.with_pseudo_units(), True
    return control, treatment, False


def _degenerate(arm: RatioSums) -> bool:
    var = arm.variance
    return arm.num <= 0 or arm.num >= arm.den or var is None or var <= 0.0


def expm1_or_inf(theta: float) -> float:
    try:
        return math.expm1(theta)
    except OverflowError:
        return math.inf
