"""Ratio metrics over users: gbstats agreement, aggregation per user, and the add-one rule."""

from __future__ import annotations

import numpy as np
import pytest
from statsarms import sums

from maia_git.errors import UsageError
from maia_git.stats import ArmStats, RatioSums
from maia_git.stats.users import UserTotals

# Golden values from gbstats 0.8.0 (PyPI), GrowthBook's stats engine:
#   m = SampleMeanStatistic(n=units, sum=num, sum_squares=num2)
#   d = SampleMeanStatistic(n=units, sum=den, sum_squares=den2)
#   r = RatioStatistic(n=units, m_statistic=m, d_statistic=d, m_d_sum_of_products=numden)
#   -> r.mean, r.variance
# on per-user (x_u, y_u) drawn with numpy (seed 20261129): clustered completion (y_u 1-20,
# p_u ~ Beta(2, 2)) at 2-1000 users, one interaction per user, quality sums, tokens, latency.
# (units, num, den, num2, den2, numden, mean, variance)
GBSTATS_0_8_0 = [
    (2, 4.0, 25.0, 10.0, 425.0, 65.0, 0.16, 0.000512000000000002),
    (3, 5.0, 22.0, 11.0, 254.0, 32.0, 0.22727272727272727, 0.08901799740454885),
    (30, 166.0, 300.0, 1576.0, 4068.0, 2304.0, 0.5533333333333333, 0.09371420689655172),
    (100, 612.0, 1117.0, 6068.0, 15523.0, 8601.0, 0.5478961504028648, 0.10548332183892233),
    (1000, 5242.0, 10738.0, 45338.0, 148192.0, 72290.0, 0.4881728441050475, 0.08745609364330878),
    (50, 17.0, 50.0, 17.0, 50.0, 17.0, 0.34, 0.22897959183673466),
    (400, 218.0, 400.0, 218.0, 400.0, 218.0, 0.545, 0.24859649122807018),
    (40, 10268.291254342203, 156.0, 3539009.6557612694, 788.0, 52617.97379067216,
     65.82237983552695, 44.17920604491064),
    (500, 132944.33068898774, 1965.0, 45019776.33480892, 9733.0, 658156.3684047753,
     67.65614793332709, 66.75965559743167),
    (200, 7389382.0, 2843.0, 369636034878.0, 53525.0, 139357534.0, 2599.149489975378,
     169261.9939970635),
    (80, 97184.50696244478, 182.0, 204262096.2871563, 496.0, 265995.15394171036,
     533.9808074859603, 150698.34464311524),
    (4, 19.0, 20.0, 91.0, 100.0, 95.0, 0.95, 0.01),
    (5, 20.0, 20.5, 130.0, 140.25, 135.0, 0.975609756097561, 0.0011501326545307888),
]  # fmt: skip


@pytest.mark.parametrize("case", GBSTATS_0_8_0)
def test_mean_and_variance_match_gbstats_ratio_statistic(case: tuple[float, ...]) -> None:
    units, num, den, num2, den2, numden, mean, variance = case

    r = RatioSums(int(units), num, den, num2, den2, numden)

    assert r.mean == pytest.approx(mean, rel=1e-9, abs=1e-12)
    assert r.unit_variance == pytest.approx(variance, rel=1e-9, abs=1e-12)
    assert r.variance == pytest.approx(variance / units, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_variance_is_the_delta_method_as_gradient_and_covariance(seed: int) -> None:
    # Deng et al. 2018 eq. 1, written afresh: grad' Cov(mean x, mean y) grad.
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 21, 300).astype(float)
    x = rng.binomial(y.astype(int), rng.beta(2, 2, 300)).astype(float)
    cov = np.cov(np.vstack([x, y]), ddof=1) / x.size
    grad = np.array([1 / y.mean(), -x.mean() / y.mean() ** 2])

    assert sums(x, y).variance == pytest.approx(float(grad @ cov @ grad), rel=1e-9)


def test_per_user_totals_from_records_equal_the_numpy_sums() -> None:
    rng = np.random.default_rng(4)
    records, per_user = [], {}
    for u in range(200):
        p = rng.beta(2, 2)
        rows = [bool(rng.random() < p) for _ in range(int(rng.integers(1, 12)))]
        scores = [float(rng.uniform(0, 100)) if rng.random() < 0.5 else None for _ in rows]
        per_user[f"u{u}"] = (rows, scores)
        for ok, q in zip(rows, scores, strict=True):
            records.append({"user_id": f"u{u}", "success": ok}
                           | ({} if q is None else {"quality_score": q}))  # fmt: skip
    order = rng.permutation(len(records))

    arm = ArmStats.from_records([records[i] for i in order])

    x = np.array([sum(r) for r, _ in per_user.values()], float)
    y = np.array([len(r) for r, _ in per_user.values()], float)
    qx = np.array([sum(q for q in s if q is not None) for _, s in per_user.values()])
    qy = np.array([sum(q is not None for q in s) for _, s in per_user.values()], float)
    assert arm.completion == sums(x, y)
    assert arm.quality.units == sums(qx, qy).units
    for got, want in zip(arm.quality.to_dict().values(), sums(qx, qy).to_dict().values(),
                         strict=True):  # fmt: skip
        assert got == pytest.approx(want, rel=1e-12)
    assert (arm.users, arm.n) == (200, len(records))


def test_totals_merge_across_shards_where_arm_sums_would_not() -> None:
    # One user's interactions in two shards: x_u^2 of the whole is not the sum of the parts'.
    a, b = UserTotals(), UserTotals()
    for ok in (True, True, False):
        a.add_record("u1", ok)
    for ok in (True, False):
        b.add_record("u1", ok)
    b.add_record("u2", True)
    whole = ArmStats.from_records(
        [{"user_id": "u1", "success": ok} for ok in (True, True, False, True, False)]
        + [{"user_id": "u2", "success": True}]
    )

    naive = a.arm_stats().completion + b.arm_stats().completion
    a.merge(b)

    assert a.arm_stats() == whole
    assert naive.num2 != whole.completion.num2 and naive.units == 3


def test_totals_survive_their_byte_form() -> None:
    t = UserTotals()
    t.add_record("ü-1", True, 50.0, 10, 2.5)
    t.add_record("u 2", False)

    again = UserTotals.from_bytes(t.to_bytes())

    assert again.arm_stats() == t.arm_stats() and list(again.rows) == ["ü-1", "u 2"]
    with pytest.raises(ValueError):
        UserTotals.from_bytes(t.to_bytes()[:-1])


def test_pseudo_units_make_an_all_or_nothing_arm_vary() -> None:
    none = sums(np.zeros(300), np.ones(300))

    adjusted = none.with_pseudo_units()

    assert none.variance == 0.0
    assert adjusted.units == 302 and adjusted.mean == pytest.approx(1 / 302)
    assert adjusted.variance is not None and adjusted.variance > 0


def test_degenerate_sums_have_no_variance_rather_than_an_error() -> None:
    assert RatioSums().mean is None and RatioSums().variance is None
    assert RatioSums(1, 1.0, 2.0, 1.0, 4.0, 2.0).variance is None


@pytest.mark.parametrize(
    "kwargs",
    [{"units": -1}, {"units": 0, "den": 3.0}, {"num": float("nan")}, {"den": -1.0, "units": 1},
     {"units": 1.5}],
)  # fmt: skip
def test_misuse_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        RatioSums(**kwargs)  # type: ignore[arg-type]


def test_an_arm_checks_its_metrics_fit_together() -> None:
    with pytest.raises(UsageError):
        ArmStats(sums(np.array([3.0]), np.array([2.0])))  # more successes than interactions
    with pytest.raises(UsageError):
        ArmStats(
            sums(np.ones(2), np.ones(2)), sums(np.ones(3), np.ones(3))
        )  # quality users > users
    with pytest.raises(UsageError):
        ArmStats.from_records([{"user_id": "u", "success": 1}])
