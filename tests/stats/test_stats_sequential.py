"""The sequential method against the paper's formulas, on the log ratio with users as units.

(The confidence sequence itself agreed with gbstats 0.8.0's SequentialTwoSidedTTest to 14-16
digits when it was applied to the lift directly; it now runs on the log ratio, which gbstats does
not offer, so the reference is the paper's formulas written afresh.)
"""

from __future__ import annotations

import numpy as np
import pytest

from maia_git.stats import ArmStats, RatioSums, analyze
from maia_git.stats import sequential as seq


def _binary(users: int, successes: int) -> ArmStats:
    return ArmStats(RatioSums(users, successes, users, successes, users, successes))


def _paper_reference(
    p_c: float, n_c: int, p_t: float, n_t: int, alpha: float, tuning: float
) -> tuple[float, float, float]:
    """Waudby-Smith et al. (arXiv:2103.06476v7) eqs. 9, 155 and 161, written out afresh, for
    theta = ln(p_t / p_c) with one interaction per user (so users are the sample size)."""
    n = n_c + n_t
    rho2 = (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / tuning
    var_of_means = np.array([p_c * (1 - p_c) / (n_c - 1), p_t * (1 - p_t) / (n_t - 1)])
    grad = np.array([-1 / p_c, 1 / p_t])  # d ln(p_t / p_c) / d(p_c, p_t)
    s2 = float(grad**2 @ var_of_means) * n  # per-user variance of the estimator
    estimate = np.log(p_t / p_c)
    half = np.sqrt(s2 * 2 * (n * rho2 + 1) / (n * n * rho2) * np.log(np.sqrt(n * rho2 + 1) / alpha))
    e_value = np.exp(n * n * rho2 * estimate**2 / (2 * s2 * (n * rho2 + 1))) / np.sqrt(n * rho2 + 1)
    return float(half), float(min(1.0, 1 / e_value)), float(estimate)


@pytest.mark.parametrize("seed", range(8))
def test_matches_the_paper_formulas_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c, n_t = (int(v) for v in rng.integers(30, 20_000, size=2))
    x_c, x_t = int(rng.binomial(n_c, 0.4)), int(rng.binomial(n_t, 0.43))
    alpha, tuning = float(rng.choice([0.01, 0.05, 0.1])), float(rng.choice([500, 5000, 50_000]))
    half, p_ref, theta = _paper_reference(x_c / n_c, n_c, x_t / n_t, n_t, alpha, tuning)

    result = analyze(
        "e", _binary(n_c, x_c), _binary(n_t, x_t), alpha=alpha, sequential_tuning=tuning
    ).to_dict()

    assert result["p_value"] == pytest.approx(p_ref, abs=1e-9)
    assert result["lift_ci"] == pytest.approx([np.expm1(theta - half), np.expm1(theta + half)])


def test_p_value_and_interval_agree_on_significance() -> None:
    # The interval excludes 0 exactly when p < alpha (the two come from one e-process).
    rho = seq.rho(0.05, 5000)
    for z in np.linspace(-8, 8, 121):
        estimate, se, n = float(z) * 0.01, 0.01, 4000
        low, high = seq.interval(estimate, se, n, 0.05, rho)
        assert (low > 0 or high < 0) == (seq.p_value(estimate, se, n, rho) < 0.05)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_rho_makes_the_interval_nearly_tightest_at_the_tuning_size(alpha: float) -> None:
    # Eq. 161 approximates the rho that minimises the half-width at N = tuning.
    best = seq.rho(alpha, 5000)
    others = [seq.boundary(5000, alpha, best * k) for k in np.linspace(0.3, 3.0, 271)]

    assert seq.boundary(5000, alpha, best) <= min(others) * 1.001


def test_huge_evidence_does_not_overflow() -> None:
    rho = seq.rho(0.05, 5000)

    assert seq.p_value(1.0, 1e-6, 10_000_000, rho) == 0.0
