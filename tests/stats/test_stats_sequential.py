"""The sequential method against GrowthBook's published implementation and the paper's formulas."""

from __future__ import annotations

import numpy as np
import pytest

from maia_git.stats import ArmStats, analyze
from maia_git.stats import sequential as seq

# Computed with gbstats 0.8.0 (PyPI), the GrowthBook stats engine, by
#   t = SequentialTwoSidedTTest(ProportionStatistic(n=n_c, sum=x_c), ProportionStatistic(n=n_t,
#       sum=x_t), SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning))
#   r = t.compute_result()  ->  r.expected, r.p_value, r.ci
# (n_c, x_c, n_t, x_t, alpha, tuning, lift, p_value, ci_low, ci_high)
GBSTATS_0_8_0 = [
    (500, 250, 500, 290, 0.05, 5000, 0.15999999999999992, 0.2960928687102311,
     -0.06913977509580993, 0.38913977509580977),
    (1000, 100, 1100, 140, 0.05, 5000, 0.27272727272727254, 0.6530097068944652,
     -0.2163948625359159, 0.761849407990461),
    (60, 30, 40, 26, 0.05, 5000, 0.30000000000000004, 0.9537019002469311,
     -1.21057016283867, 1.8105701628386701),
    (3000, 1500, 3000, 1480, 0.05, 5000, -0.013333333333333308, 1.0,
     -0.09121522754621812, 0.0645485608795515),
    (800, 400, 820, 470, 0.1, 1000, 0.14634146341463405, 0.10754523226500362,
     -0.0015390882120803195, 0.29422201504134843),
    (200, 120, 210, 100, 0.01, 20000, -0.20634920634920637, 0.523114408979313,
     -0.7221306558756067, 0.30943224317719387),
]  # fmt: skip


@pytest.mark.parametrize("case", GBSTATS_0_8_0)
def test_matches_gbstats_sequential_two_sided_t_test(case: tuple[float, ...]) -> None:
    n_c, x_c, n_t, x_t, alpha, tuning, lift, p_value, low, high = case
    control = ArmStats(n=int(n_c), successes=int(x_c))
    treatment = ArmStats(n=int(n_t), successes=int(x_t))

    result = analyze("e", control, treatment, alpha=alpha, sequential_tuning=tuning).to_dict()

    assert result["lift"] == pytest.approx(lift, abs=1e-6)
    assert result["p_value"] == pytest.approx(p_value, abs=1e-6)
    assert result["lift_ci"] == pytest.approx([low, high], abs=1e-6)


def _paper_reference(
    p_c: float, n_c: int, p_t: float, n_t: int, alpha: float, tuning: float
) -> tuple[float, float, float]:
    """Waudby-Smith et al. (arXiv:2103.06476v7) eqs. 9, 155 and 161, written out afresh."""
    n = n_c + n_t
    rho2 = (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / tuning
    mean = np.array([p_c, p_t])
    var_of_means = np.array([p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t])
    grad = np.array([-p_t / p_c**2, 1 / p_c])
    s2 = float(grad**2 @ var_of_means) * n  # per-unit variance of the lift estimator
    estimate = mean[1] / mean[0] - 1
    half = np.sqrt(s2 * 2 * (n * rho2 + 1) / (n * n * rho2) * np.log(np.sqrt(n * rho2 + 1) / alpha))
    e_value = np.exp(n * n * rho2 * estimate**2 / (2 * s2 * (n * rho2 + 1))) / np.sqrt(n * rho2 + 1)
    return float(half), float(min(1.0, 1 / e_value)), float(estimate)


@pytest.mark.parametrize("seed", range(8))
def test_matches_the_paper_formulas_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c, n_t = (int(v) for v in rng.integers(30, 20_000, size=2))
    x_c, x_t = int(rng.binomial(n_c, 0.4)), int(rng.binomial(n_t, 0.43))
    alpha, tuning = float(rng.choice([0.01, 0.05, 0.1])), float(rng.choice([500, 5000, 50_000]))
    half, p_ref, lift_ref = _paper_reference(x_c / n_c, n_c, x_t / n_t, n_t, alpha, tuning)

    result = analyze(
        "e", ArmStats(n=n_c, successes=x_c), ArmStats(n=n_t, successes=x_t),
        alpha=alpha, sequential_tuning=tuning,
    ).to_dict()  # fmt: skip

    assert result["p_value"] == pytest.approx(p_ref, abs=1e-6)
    assert result["lift_ci"] == pytest.approx([lift_ref - half, lift_ref + half], abs=1e-6)


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
