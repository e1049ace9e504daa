"""How many interactions per arm an experiment needs (``maia exp plan``).

Fixed horizon: the two-proportion sample size without continuity correction (Fleiss, Levin and
Paik, "Statistical Methods for Rates and Proportions", 3rd ed. 2003, eq. 4.14):
    n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{1-b} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2.
Sequential: the smallest n per arm at which the confidence sequence of ``sequential`` excludes 0
with probability ``power`` when the true lift is ``mde``, found by bisection on
    Phi(|mde| / se(n) - boundary(2n)),  se(n) from the delta method at the two true rates.
It counts only that one look, ignoring the chance of stopping earlier, so it errs on the high side.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from maia_git.errors import UsageError
from maia_git.stats import _checks, sequential
from maia_git.stats.settings import DEFAULTS


@dataclass(frozen=True, slots=True)
class Plan:
    baseline: float
    mde: float
    treatment_rate: float
    alpha: float
    power: float
    sequential_tuning: float
    fixed_per_arm: int
    sequential_per_arm: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def plan(
    baseline: float,
    mde: float,
    alpha: float = DEFAULTS.alpha,
    power: float = 0.8,
    sequential_tuning: float = DEFAULTS.sequential_tuning,
) -> Plan:
    """Interactions per arm to detect a relative lift ``mde`` on a completion rate ``baseline``."""
    p1 = _checks.open_unit("baseline", baseline)
    lift = _checks.number("mde", mde)
    alpha = _checks.open_unit("alpha", alpha)
    power = _checks.open_unit("power", power)
    tuning = _checks.number("sequential_tuning", sequential_tuning)
    p2 = p1 * (1.0 + lift)
    if lift == 0.0 or not 0.0 < p2 < 1.0:
        raise UsageError(
            f"mde {lift:g} on baseline {p1:g} gives a treatment rate of {p2:g}: "
            "it must differ from the baseline and lie between 0 and 1"
        )
    if tuning <= 0:
        raise UsageError(f"sequential_tuning must be positive (got {tuning:g})")
    return Plan(
        p1, lift, p2, alpha, power, tuning,
        fixed_per_arm(p1, p2, alpha, power),
        sequential_per_arm(p1, p2, alpha, power, tuning),
    )  # fmt: skip


def fixed_per_arm(p1: float, p2: float, alpha: float, power: float) -> int:
    from statistics import NormalDist

    z_a, z_b = NormalDist().inv_cdf(1.0 - alpha / 2.0), NormalDist().inv_cdf(power)
    pbar = (p1 + p2) / 2.0
    root = z_a * math.sqrt(2.0 * pbar * (1.0 - pbar)) + z_b * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil(root * root / (p2 - p1) ** 2)


def sequential_power(n: int, p1: float, p2: float, alpha: float, rho: float) -> float:
    """The chance that the sequence excludes 0 at a look with ``n`` interactions per arm."""
    from statistics import NormalDist

    se = math.sqrt(delta_variance(p1, n, p2, n))
    return NormalDist().cdf(abs(p2 / p1 - 1.0) / se - sequential.boundary(2 * n, alpha, rho))


def sequential_per_arm(p1: float, p2: float, alpha: float, power: float, tuning: float) -> int:
    rho = sequential.rho(alpha, tuning)
    low, high = 0, 1  # invariant: power(low) < target <= power(high) once high is found
    while sequential_power(high, p1, p2, alpha, rho) < power:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if sequential_power(mid, p1, p2, alpha, rho) < power:
            low = mid
        else:
            high = mid
    return high


def delta_variance(p_c: float, n_c: float, p_t: float, n_t: float) -> float:
    """Var(p_t / p_c) by the delta method for independent binomial rates."""
    var_c, var_t = p_c * (1.0 - p_c), p_t * (1.0 - p_t)
    return var_t / (p_c * p_c * n_t) + var_c * p_t * p_t / (p_c**4 * n_c)
