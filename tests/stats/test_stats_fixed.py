"""Fixed-horizon tests against scipy on the raw arrays they summarise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from maia_git.stats import ArmStats
from maia_git.stats.lift import fixed_interval, relative_lift
from maia_git.stats.proportions import two_proportion_z
from maia_git.stats.srm import srm_check
from maia_git.stats.welch import welch_quality

SEEDS = [1, 2, 3, 4, 5]


def _binary_arm(values: np.ndarray) -> ArmStats:
    return ArmStats.from_records({"success": bool(v)} for v in values)


def _quality_arm(scores: np.ndarray) -> ArmStats:
    return ArmStats.from_records({"success": True, "quality_score": float(q)} for q in scores)


@pytest.mark.parametrize("seed", SEEDS)
def test_z_test_matches_first_principles_on_raw_arrays(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = rng.random(int(rng.integers(40, 900))) < 0.4
    t = rng.random(int(rng.integers(40, 900))) < 0.47
    pooled = np.concatenate([c, t]).mean()
    se = np.sqrt(pooled * (1 - pooled) * (1 / c.size + 1 / t.size))
    z_ref = (t.mean() - c.mean()) / se

    result = two_proportion_z(_binary_arm(c), _binary_arm(t))

    assert result.z == pytest.approx(z_ref, abs=1e-9)
    assert result.p_value == pytest.approx(2 * sps.norm.sf(abs(z_ref)), abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_z_test_equals_the_uncorrected_chi_square_on_the_2x2_table(seed: int) -> None:
    # z^2 is Pearson's chi-square on the 2x2 table: an implementation we did not write.
    rng = np.random.default_rng(seed)
    n_c, n_t = (int(v) for v in rng.integers(40, 900, size=2))
    x_c, x_t = int(rng.binomial(n_c, 0.3)), int(rng.binomial(n_t, 0.35))
    table = [[x_c, n_c - x_c], [x_t, n_t - x_t]]

    chi2, p, _, _ = sps.chi2_contingency(table, correction=False)
    result = two_proportion_z(ArmStats(n=n_c, successes=x_c), ArmStats(n=n_t, successes=x_t))

    assert result.z is not None and result.z**2 == pytest.approx(chi2, rel=1e-9)
    assert result.p_value == pytest.approx(p, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_welch_matches_scipy_ttest_ind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = rng.normal(70, 12, size=int(rng.integers(5, 400))).clip(0, 100)
    t = rng.normal(73, 20, size=int(rng.integers(5, 400))).clip(0, 100)

    ref = sps.ttest_ind(t, c, equal_var=False)
    result = welch_quality(_quality_arm(c), _quality_arm(t))

    assert result is not None
    assert result.t == pytest.approx(ref.statistic, abs=1e-9)
    assert result.df == pytest.approx(ref.df, rel=1e-9)
    assert result.p_value == pytest.approx(ref.pvalue, abs=1e-9)


@pytest.mark.parametrize(("seed", "margin"), [(1, 0.0), (2, 2.5), (3, 10.0)])
def test_one_sided_worse_check_matches_scipy_with_shifted_treatment(
    seed: int, margin: float
) -> None:
    # H1: mean_t - mean_c < -margin is H1: mean(t + margin) < mean(c).
    rng = np.random.default_rng(seed)
    c = rng.uniform(40, 100, size=150)
    t = rng.uniform(35, 95, size=120)

    ref = sps.ttest_ind(t + margin, c, equal_var=False, alternative="less")
    result = welch_quality(_quality_arm(c), _quality_arm(t), margin)

    assert result is not None and result.p_worse == pytest.approx(ref.pvalue, abs=1e-9)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_welch_with_one_constant_arm_still_tests() -> None:
    c = np.full(20, 80.0)
    t = np.array([70.0, 75, 80, 85, 60, 65, 72, 78])

    ref = sps.ttest_ind(t, c, equal_var=False)
    result = welch_quality(_quality_arm(c), _quality_arm(t))

    assert result is not None and result.p_value == pytest.approx(ref.pvalue, abs=1e-9)


def test_welch_with_no_spread_anywhere_gives_no_p_value() -> None:
    result = welch_quality(_quality_arm(np.full(5, 80.0)), _quality_arm(np.full(7, 60.0)))

    assert result is not None
    assert (result.t, result.df, result.p_value, result.p_worse) == (None,) * 4
    assert result.diff == -20.0


def test_welch_needs_two_scores_per_arm() -> None:
    assert welch_quality(_quality_arm(np.array([50.0])), _quality_arm(np.ones(9))) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_lift_interval_matches_the_delta_method_as_gradient_and_covariance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = rng.random(int(rng.integers(100, 3000))) < 0.3
    t = rng.random(int(rng.integers(100, 3000))) < 0.36
    m = np.array([c.mean(), t.mean()])
    cov = np.diag([c.var() / c.size, t.var() / t.size])  # population variances, as gbstats
    grad = np.array([-m[1] / m[0] ** 2, 1 / m[0]])  # d(m_t / m_c - 1) / d(m_c, m_t)
    se_ref = float(np.sqrt(grad @ cov @ grad))
    half = sps.norm.ppf(0.95) * se_ref

    lift = relative_lift(_binary_arm(c), _binary_arm(t))

    assert lift is not None
    assert lift.lift == pytest.approx(m[1] / m[0] - 1, abs=1e-12)
    assert lift.se == pytest.approx(se_ref, rel=1e-9)
    assert fixed_interval(lift, 0.10) == pytest.approx(
        (lift.lift - half, lift.lift + half), abs=1e-9
    )


@pytest.mark.parametrize(
    ("n_c", "n_t", "share"), [(500, 500, 0.5), (520, 480, 0.5), (1000, 1130, 0.5), (300, 700, 0.3)]
)
def test_srm_matches_scipy_chisquare(n_c: int, n_t: int, share: float) -> None:
    total = n_c + n_t
    ref = sps.chisquare([n_c, n_t], f_exp=[total * share, total * (1 - share)])

    result = srm_check(n_c, n_t, share, 0.001)

    assert result.chi2 == pytest.approx(ref.statistic, abs=1e-9)
    assert result.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert result.flagged == (ref.pvalue < 0.001)


def test_srm_flags_a_clear_mismatch_and_not_an_empty_experiment() -> None:
    assert srm_check(1000, 1200, 0.5, 0.001).flagged
    assert not srm_check(1000, 1200, 1000 / 2200, 0.001).flagged
    empty = srm_check(0, 0, 0.5, 0.001)
    assert (empty.p_value, empty.flagged) == (None, False)


def test_welch_survives_variances_too_small_to_square() -> None:
    # Found by the property test: 5.5e-270 squared underflows to 0 in the textbook df formula.
    control = ArmStats(n=2, quality_count=2)
    treatment = ArmStats(n=2, quality_count=2, quality_sumsq=5.528957312352091e-270)

    result = welch_quality(control, treatment)

    assert result is not None and result.df == pytest.approx(1.0)
    assert result.p_value == 1.0
