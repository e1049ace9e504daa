"""The bayesian read-out against GrowthBook's gbstats, and the bayesian promotion rule.

Golden values: gbstats 0.8.0, ``EffectBayesianABTest(RatioStatistic(a), RatioStatistic(b),
EffectBayesianConfig())`` (its default prior: ``GaussianPrior(mean=0, variance=1,
proper=False)``), fed the same per-user sums; twelve arms pairs, one to twenty interactions per
user. Each row: control's and treatment's RatioSums (units, num, den, num2, den2, numden),
``chance_to_win``, ``risk[1]`` (the expected loss of choosing the treatment), ``risk[0]`` (of
keeping control), and ``ci`` at alpha 0.05.
"""

from __future__ import annotations

import json

import pytest
from statsarms import binary

from maia_git.stats import RatioSums, analyze
from maia_git.stats.bayes import posterior, relative_effect

Row = tuple[tuple[float, ...], tuple[float, ...], float, float, float, tuple[float, float]]

GBSTATS_0_8_0: list[Row] = [
    (
        (30.0, 14.0, 30.0, 14.0, 30.0, 14.0),
        (30.0, 17.0, 30.0, 17.0, 30.0, 17.0),
        0.7542952809489276,
        0.04540302826513673,
        0.259688742550851,
        (-0.3961071187346776, 0.824678547306106),
    ),
    (
        (100.0, 28.0, 100.0, 28.0, 100.0, 28.0),
        (100.0, 37.0, 100.0, 37.0, 100.0, 37.0),
        0.8791342569334695,
        0.016353812721025714,
        0.33778238414959694,
        (-0.21671494821731585, 0.8595720910744583),
    ),
    (
        (500.0, 284.0, 500.0, 284.0, 500.0, 284.0),
        (480.0, 284.0, 480.0, 284.0, 480.0, 284.0),
        0.7687078649437671,
        0.007639849107419889,
        0.04930651577408666,
        (-0.06950318442916409, 0.15283651776249763),
    ),
    (
        (1000.0, 99.0, 1000.0, 99.0, 1000.0, 99.0),
        (1000.0, 105.0, 1000.0, 105.0, 1000.0, 105.0),
        0.6664792236607027,
        0.03102007794957523,
        0.09162613855563574,
        (-0.21550372065271825, 0.3367158418648392),
    ),
    (
        (50.0, 42.0, 50.0, 42.0, 50.0, 42.0),
        (60.0, 39.0, 60.0, 39.0, 60.0, 39.0),
        0.005198253872723416,
        0.22633606703360537,
        0.00014559084312925938,
        (-0.399205237069072, -0.053175715311880284),
    ),
    (
        (2000.0, 905.0, 2000.0, 905.0, 2000.0, 905.0),
        (2100.0, 935.0, 2100.0, 935.0, 2100.0, 935.0),
        0.31880162647938104,
        0.0230965255111135,
        0.007048117197511725,
        (-0.08282292518533539, 0.05072610855813184),
    ),
    (
        (40.0, 56.0, 120.0, 108.0, 430.0, 186.0),
        (40.0, 63.0, 104.0, 143.0, 348.0, 203.0),
        0.9671364984564584,
        0.0020879690695860243,
        0.300164892146509,
        (-0.019385494299316797, 0.6155393404531626),
    ),
    (
        (200.0, 346.0, 924.0, 928.0, 5232.0, 1952.0),
        (220.0, 490.0, 1058.0, 1612.0, 6270.0, 2899.0),
        0.9998468856799002,
        2.4636125684739584e-06,
        0.23682185236001432,
        (0.10824295708678805, 0.3653958204081036),
    ),
    (
        (300.0, 1875.0, 3142.0, 16077.0, 42532.0, 25549.0),
        (310.0, 1941.0, 3374.0, 16343.0, 47220.0, 26964.0),
        0.04099210345214711,
        0.03632508172878671,
        0.0003435760974884306,
        (-0.07652825572394398, 0.004565244461347422),
    ),
    (
        (800.0, 328.0, 1596.0, 422.0, 3710.0, 755.0),
        (790.0, 396.0, 1597.0, 516.0, 3759.0, 920.0),
        0.9952601876528414,
        0.00011870808277967878,
        0.20667979060030495,
        (0.050503818418353386, 0.3626183466166971),
    ),
    (
        (120.0, 532.0, 771.0, 3120.0, 6267.0, 4335.0),
        (100.0, 536.0, 655.0, 3704.0, 5489.0, 4427.0),
        0.9999999069417776,
        5.96822083419936e-10,
        0.1859496074383534,
        (0.11603289190991832, 0.2558663217731443),
    ),
    (
        (5000.0, 6278.0, 12504.0, 12598.0, 37528.0, 18852.0),
        (5000.0, 6387.0, 12491.0, 12955.0, 37453.0, 19200.0),
        0.9264224622070193,
        0.00041728656853781416,
        0.018838322890860744,
        (-0.006484611421629021, 0.04332668406627488),
    ),
]


def _sums(values: tuple[float, ...]) -> RatioSums:
    return RatioSums(int(values[0]), *values[1:])


@pytest.mark.parametrize("row", GBSTATS_0_8_0)
def test_chance_to_beat_control_and_expected_loss_equal_gbstats(row: Row) -> None:
    control, treatment, chance, loss, control_loss, ci = row

    effect = relative_effect(_sums(control), _sums(treatment))
    assert effect is not None
    post = posterior(*effect, alpha=0.05)

    assert post.chance_to_win == pytest.approx(chance, abs=1e-12)
    assert post.expected_loss == pytest.approx(loss, rel=1e-9, abs=1e-15)
    assert post.control_loss == pytest.approx(control_loss, rel=1e-9, abs=1e-15)
    assert (post.low, post.high) == pytest.approx(ci, abs=1e-12)


def test_the_analysis_reports_gbstats_numbers_under_the_bayesian_method() -> None:
    control, treatment, chance, loss, _, ci = GBSTATS_0_8_0[7]
    from maia_git.stats import ArmStats

    result = analyze("e", ArmStats(_sums(control)), ArmStats(_sums(treatment)), method="bayesian")
    data = result.to_dict()

    assert data["chance_to_win"] == pytest.approx(chance, abs=1e-12)
    assert data["expected_loss"] == pytest.approx(loss, rel=1e-9)
    assert data["lift_ci"] == pytest.approx(list(ci), abs=1e-12)
    assert data["p_value"] is None  # no p-value: the interval is the posterior's
    assert result.decision == "promote"


def test_a_proper_prior_shrinks_towards_its_mean_as_gbstats_does() -> None:
    """gbstats 0.8.0 on row 7 with ``GaussianPrior(mean=0, variance=0.09, proper=True)``:
    expected 0.22601212418645864, chance_to_win 0.9997895662826165, risk[1]
    3.3699406664938283e-06."""
    control, treatment = (_sums(v) for v in GBSTATS_0_8_0[7][:2])
    effect = relative_effect(control, treatment)
    assert effect is not None
    d, var = effect

    flat = posterior(d, var, 0.05)
    shrunk = posterior(d, var, 0.05, prior=(0.0, 0.09))

    assert shrunk.mean == pytest.approx(0.22601212418645864, abs=1e-12)
    assert shrunk.chance_to_win == pytest.approx(0.9997895662826165, abs=1e-12)
    assert shrunk.expected_loss == pytest.approx(3.3699406664938283e-06, rel=1e-9)
    assert 0 < shrunk.mean < flat.mean and shrunk.sd < flat.sd


def test_not_likely_enough_to_win_names_the_chance() -> None:
    result = analyze("e", binary(200, 100), binary(200, 110), method="bayesian", min_lift=0.0)

    assert [r.code for r in result.reasons] == ["chance_too_low", "loss_too_high"]
    assert "chance to beat control" in result.reasons[0].message


def test_expected_loss_alone_can_hold_back_a_promotion() -> None:
    control, treatment = binary(400, 200), binary(400, 300)

    assert analyze("e", control, treatment, method="bayesian").decision == "promote"
    strict = analyze("e", control, treatment, method="bayesian", max_expected_loss=0.0)
    assert [r.code for r in strict.reasons] == ["loss_too_high"]


def test_an_arm_without_variation_is_adjusted_not_an_error() -> None:
    result = analyze("e", binary(300, 300), binary(300, 0), method="bayesian")

    assert result.decision == "stop_no_winner"
    assert result.to_dict()["chance_to_win"] < 1e-6


@pytest.mark.parametrize(
    ("control", "treatment"),
    [
        (binary(300, 300), binary(300, 300)),  # all successes
        (binary(300, 0), binary(300, 0)),  # none
        (binary(1, 1), binary(1, 0)),  # one user each
        (binary(0, 0), binary(0, 0)),  # empty
    ],
)
def test_degenerate_data_gives_reasons_not_errors(control: object, treatment: object) -> None:
    result = analyze("e", control, treatment, method="bayesian", min_samples=0)  # type: ignore[arg-type]

    assert result.decision in ("keep_running", "stop_no_winner")
    assert result.reasons
    json.dumps(result.to_dict(), allow_nan=False)
