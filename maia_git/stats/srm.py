"""Sample-ratio mismatch: do the arms' numbers of distinct users fit the configured split?

Users are what the assignment splits, so users are counted, not interactions (which cluster
within users and would raise the alarm on healthy experiments).

Pearson's chi-square goodness-of-fit test with one degree of freedom against the expected counts
N * share and N * (1 - share) (Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online
Controlled Experiments", KDD 2019, recommend it and a threshold of p < 0.0005-0.001). For one
degree of freedom the survival function is exact in closed form: P(chi2_1 > x) = erfc(sqrt(x/2)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SrmCheck:
    """``flagged`` is False when there is nothing to check (no users at all)."""

    chi2: float | None
    p_value: float | None
    flagged: bool


def srm_check(n_control: int, n_treatment: int, control_share: float, srm_alpha: float) -> SrmCheck:
    total = n_control + n_treatment
    if total == 0:
        return SrmCheck(None, None, False)
    expected_c = total * control_share
    expected_t = total - expected_c
    chi2 = (n_control - expected_c) ** 2 / expected_c + (n_treatment - expected_t) ** 2 / expected_t
    p = math.erfc(math.sqrt(chi2 / 2.0))
    return SrmCheck(chi2, p, p < srm_alpha)


def srm_check_arms(users: Sequence[int], shares: Sequence[float], srm_alpha: float) -> SrmCheck:
    """The same test over k arms against their shares: k - 1 degrees of freedom."""
    total = sum(users)
    if total == 0:
        return SrmCheck(None, None, False)
    chi2 = sum((n - total * s) ** 2 / (total * s) for n, s in zip(users, shares, strict=True))
    p = chi2_sf(chi2, len(users) - 1)
    return SrmCheck(chi2, p, p < srm_alpha)


def chi2_sf(x: float, df: int) -> float:
    """P(chi2_df > x) for a whole ``df`` >= 1, in closed form (Abramowitz and Stegun 26.4.4-5):
    even df, exp(-x/2) sum_{i < df/2} (x/2)^i / i!; odd df, erfc(sqrt(x/2)) plus
    exp(-x/2) sum_{i < (df-1)/2} (x/2)^(i+1/2) / Gamma(i + 3/2)."""
    half = x / 2.0
    if df % 2 == 0:
        term = total = 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(half) / math.gamma(1.5)
    for i in range((df - 1) // 2):
        total += math.exp(-half) * term
        term *= half / (i + 1.5)
    return min(1.0, total)
