"""The quality guardrail: a non-inferiority test on the difference of the arms' mean quality.

d = m_t - m_c, m an arm's mean quality score per scored interaction (a ratio metric over users),
Var(d) = Var(m_t) + Var(m_c) by the delta method. The guardrail passes only with evidence that
quality is not worse than control by more than ``quality_margin`` points: the lower end of the
method's interval for d lies above -margin (Schumi and Wittes, "Through the looking glass:
understanding non-inferiority", Trials 12:106, 2011, section "Analysis"). Under the sequential
method that interval is the confidence sequence, so repeated looks cannot pass it by luck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maia_git.stats.method import Estimate, estimate
from maia_git.stats.ratio import RatioSums
from maia_git.stats.settings import Settings


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """``test`` is None when neither arm's quality varies: then d itself is compared."""

    control_mean: float
    treatment_mean: float
    diff: float
    test: Estimate | None
    passed: bool

    @property
    def low(self) -> float:
        return self.diff if self.test is None else self.test.low


def quality_test(control: RatioSums, treatment: RatioSums, s: Settings) -> NonInferiority | None:
    """None when an arm has fewer than two users with a quality score (nothing to test)."""
    v_c, v_t = control.variance, treatment.variance
    if v_c is None or v_t is None:
        return None
    m_c, m_t = control.num / control.den, treatment.num / treatment.den
    diff = m_t - m_c
    se = math.sqrt(v_c + v_t)
    if se == 0.0:
        return NonInferiority(m_c, m_t, diff, None, diff > -s.quality_margin)
    test = estimate(diff, se, control.units + treatment.units, s)
    return NonInferiority(m_c, m_t, diff, test, test.low > -s.quality_margin)
