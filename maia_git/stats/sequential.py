"""Always-valid p-values and confidence sequences for the relative lift (the default method).

The asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas,
"Time-uniform central limit theory and asymptotic confidence sequences" (arXiv:2103.06476v7,
eq. 9 for the interval, eq. 155 for the p-value, eq. 161 for rho), as GrowthBook implements it in
gbstats ``SequentialTwoSidedTTest``. With N users in both arms (the randomised units) and the
per-user variance s2 = se^2 N, the half-width is

    sqrt(s2) * sqrt( 2 (N rho^2 + 1) / (N rho)^2 * ln( sqrt(N rho^2 + 1) / alpha ) ).

rho is tuned so the sequence is tightest at ``tuning`` users in both arms (GrowthBook's
sequentialTuningParameter; the default is in ``stats.settings``). The interval holds at every N
at once, so re-analysing after every push keeps the chance of ever excluding a true lift at or
below alpha.
"""

from __future__ import annotations

import math


def rho(alpha: float, tuning: float) -> float:
    """Eq. 161: the mixture width that minimises the half-width at N = tuning."""
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / tuning)


def boundary(n_total: int, alpha: float, rho_: float) -> float:
    """The half-width in standard errors: the sequential counterpart of z_{1-alpha/2}."""
    nr2 = n_total * rho_ * rho_
    return math.sqrt(2.0 * (nr2 + 1.0) / nr2 * math.log(math.sqrt(nr2 + 1.0) / alpha))


def interval(
    estimate: float, se: float, n_total: int, alpha: float, rho_: float
) -> tuple[float, float]:
    """Eq. 9 written with se: sqrt(s2) / sqrt(N) = se, so half-width = se * boundary."""
    half = se * boundary(n_total, alpha, rho_)
    return (estimate - half, estimate + half)


def p_value(estimate: float, se: float, n_total: int, rho_: float) -> float:
    """Eq. 155: 1 / e-value, capped at 1; computed in logs so large evidence cannot overflow."""
    nr2p1 = n_total * rho_ * rho_ + 1.0
    z2 = (estimate / se) ** 2
    log_e = rho_ * rho_ * n_total * z2 / (2.0 * nr2p1) - 0.5 * math.log(nr2p1)
    return 1.0 if log_e <= 0.0 else math.exp(-log_e)
