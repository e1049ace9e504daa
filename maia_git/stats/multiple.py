"""Several treatments against one control: the family-wise corrections.

``holm``: Holm's step-down adjustment (Holm, "A simple sequentially rejective multiple test
procedure", Scand. J. Statist. 6, 1979): with the k p-values in ascending order,
p*_(r) = max over s <= r of min(1, (k - s + 1) p_(s)). Valid for any dependence, so it applies
to the sequential method's always-valid p-values unchanged.

``many_to_one``: Dunnett's many-to-one adjustment (Dunnett, "A multiple comparison procedure for
comparing several treatments with a control", JASA 50, 1955), on the normal statistics
z_i = theta_i / se_i of each treatment against the shared control. They are jointly normal with
corr(z_i, z_j) = Cov(theta_i, theta_j) / (se_i se_j), the covariance being control's share of
the variance (``stats.arms``). The two-sided adjusted p-value is
p*_i = 1 - P(max_j |Z_j| < |z_i|), and ``critical`` is the c with P(max_j |Z_j| < c) = 1 - alpha
(the simultaneous interval theta_i +- c se_i excludes 0 exactly when p*_i < alpha). The
probability is scipy's ``multivariate_normal.cdf`` (Genz's quasi-Monte Carlo integration), with
a fixed seed so the same logs always give the same answer; scipy is imported here, on first use.
``scipy.stats.dunnett`` needs raw samples; this needs only the statistics, which the per-user
sums give. With one treatment both reduce to the unadjusted two-sided p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

SEED = 20260419  # the integration's fixed seed
ABSEPS = 1e-5  # the integration's absolute error target (scipy's default)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: (p_values[i], i))
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def holm_levels(p_values: Sequence[float], alpha: float) -> list[float]:
    """Each p-value's level in Holm's procedure: alpha / (k - rank), rank 0 the smallest."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: (p_values[i], i))
    levels = [alpha] * k
    for rank, i in enumerate(order):
        levels[i] = alpha / (k - rank)
    return levels


def within(c: float, corr: Sequence[Sequence[float]]) -> float:
    """P(max_j |Z_j| < c) for Z ~ N(0, corr), deterministic."""
    k = len(corr)
    if k == 1:
        return math.erf(c / math.sqrt(2.0))
    import numpy as np
    from scipy.stats import multivariate_normal

    upper = np.full(k, c)
    found: Any = multivariate_normal.cdf(
        upper,
        mean=np.zeros(k),
        cov=np.asarray(corr, dtype=float),
        lower_limit=-upper,
        abseps=ABSEPS,
        releps=0.0,
        rng=np.random.default_rng(SEED),
    )
    return min(max(float(found), 0.0), 1.0)


def many_to_one(z: Sequence[float], corr: Sequence[Sequence[float]]) -> list[float]:
    """Dunnett-adjusted two-sided p-values of the statistics ``z`` with correlation ``corr``."""
    if len(corr) == 1:
        return [math.erfc(abs(v) / math.sqrt(2.0)) for v in z]
    return [min(max(1.0 - within(abs(v), corr), 0.0), 1.0) for v in z]


def critical(alpha: float, corr: Sequence[Sequence[float]]) -> float:
    """The c with P(max_j |Z_j| < c) = 1 - alpha: regula falsi (Illinois) on the seeded
    probability, between one test's quantile and Bonferroni's, which bracket it."""
    from statistics import NormalDist

    k = len(corr)
    normal = NormalDist()
    low, high = normal.inv_cdf(1.0 - alpha / 2.0), normal.inv_cdf(1.0 - alpha / (2.0 * k))
    if k == 1:
        return low
    f_low, f_high = within(low, corr) - (1.0 - alpha), within(high, corr) - (1.0 - alpha)
    side = 0
    for _ in range(30):
        if f_low >= 0.0 or high - low < 1e-7:
            return low
        if f_high <= 0.0:
            return high
        mid = high - f_high * (high - low) / (f_high - f_low)
        f_mid = within(mid, corr) - (1.0 - alpha)
        if abs(f_mid) < 1e-8:
            return mid
        if f_mid < 0.0:
            low, f_low = mid, f_mid
            f_high = f_high / 2.0 if side == -1 else f_high
            side = -1
        else:
            high, f_high = mid, f_mid
            f_low = f_low / 2.0 if side == 1 else f_low
            side = 1
    return high
