"""The cost guardrails: tokens and latency per interaction, each a non-inferiority test on the
ratio of the arms' means.

theta = ln(m_t / m_c), m an arm's tokens (or latency) per interaction carrying the number, a
ratio metric over users with the delta-method variance Var(theta) = Var(m_t) / m_t^2 +
Var(m_c) / m_c^2 (Deng, Knoblich and Lu 2018, section 3.3), as for the completion lift. A cost
guardrail with margin M passes only with evidence that the treatment costs at most M more: the
upper end of the method's interval for theta lies below ln(1 + M) (the non-inferiority test of
Schumi and Wittes 2011, on the ratio scale). Under the sequential method that interval is the
confidence sequence, so repeated looks cannot pass it by luck; under the Bayesian method it is
the credible interval of the flat prior.

``margin`` None: the metric is reported and never blocks a promotion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.lift import expm1_or_inf, log_ratio_se
from maia_git.stats.method import Estimate, estimate
from maia_git.stats.ratio import RatioSums
from maia_git.stats.settings import Settings

COSTS = ("tokens", "latency")


@dataclass(frozen=True, slots=True)
class CostCheck:
    """``test`` is None when neither arm's metric varies or a mean is 0: the means compared.

    ``passed`` is None when the margin is off (reported, not a condition)."""

    metric: str
    margin: float | None
    control_mean: float
    treatment_mean: float
    test: Estimate | None
    passed: bool | None

    @property
    def change(self) -> float:
        """Relative change of the treatment's mean against control's (+0.5 = 50% more)."""
        return _relative(self.control_mean, self.treatment_mean)

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.test is None:
            return None
        return (math.expm1(self.test.low), expm1_or_inf(self.test.high))

    @property
    def high(self) -> float:
        """The upper bound the margin is compared with (the change itself without a test)."""
        return self.change if self.test is None else expm1_or_inf(self.test.high)


def cost_test(
    metric: str, control: RatioSums, treatment: RatioSums, s: Settings
) -> CostCheck | None:
    """None when an arm has fewer than two users carrying the metric (nothing to test)."""
    v_c, v_t = control.variance, treatment.variance
    if v_c is None or v_t is None:
        return None
    margin: float | None = getattr(s, f"{metric}_margin")
    m_c, m_t = control.num / control.den, treatment.num / treatment.den
    if m_c <= 0.0 or m_t <= 0.0 or (v_c == 0.0 and v_t == 0.0):
        passed = None if margin is None else _relative(m_c, m_t) <= margin
        return CostCheck(metric, margin, m_c, m_t, None, passed)
    se = log_ratio_se(m_c, v_c, m_t, v_t)
    test = estimate(math.log(m_t / m_c), se, control.units + treatment.units, s)
    passed = None if margin is None else test.high < math.log1p(margin)
    return CostCheck(metric, margin, m_c, m_t, test, passed)


def _relative(control: float, treatment: float) -> float:
    if control > 0.0:
        return treatment / control - 1.0
    return 0.0 if treatment == control else math.inf
