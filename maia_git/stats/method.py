"""One estimate, one story: the method's interval and p-value for an estimate and its se.

``fixed``: the normal interval estimate +- z_{1-alpha/2} se and the two-sided p-value of the same
z. ``bayesian``: the same interval, which is the credible interval under a flat prior (what the
guardrails use under that method; the lift itself is read out by ``stats.bayes``).
``sequential``: the confidence sequence and its always-valid p-value (``stats.sequential``),
with ``units`` (users in both arms) as the sample size. Either way the interval excludes 0
exactly when p < alpha, so a result cannot be "significant" with an interval that contains no
change, or the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from maia_git.stats import sequential
from maia_git.stats.settings import Settings


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    se: float
    low: float
    high: float
    p_value: float


def estimate(value: float, se: float, units: int, s: Settings) -> Estimate:
    """The method's interval and p-value; ``se`` must be positive and ``units`` >= 1."""
    if s.method != "sequential":
        half = NormalDist().inv_cdf(1.0 - s.alpha / 2.0) * se
        p = math.erfc(abs(value / se) / math.sqrt(2.0))
        return Estimate(value, se, value - half, value + half, p)
    rho = sequential.rho(s.alpha, s.sequential_tuning)
    low, high = sequential.interval(value, se, units, s.alpha, rho)
    return Estimate(value, se, low, high, sequential.p_value(value, se, units, rho))
