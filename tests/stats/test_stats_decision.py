"""The promotion rule on users, one condition at a time, and every degenerate input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsarms import scored

from maia_git.errors import UsageError
from maia_git.stats import Analysis, ArmStats, RatioSums, analyze

METHODS = ["sequential", "fixed"]


def arm(n: int, x: int, q_n: int = 0, mean: float = 0.0, sd: float = 0.0) -> ArmStats:
    """``n`` users with one interaction each, ``x`` successes; ``q_n`` of them with a quality
    score, of the given mean and sample standard deviation."""
    return scored(n, x, q_n, mean, sd)


WINNER = (arm(400, 200, 400, 75, 10), arm(400, 300, 400, 75, 10))


def codes(result: Analysis) -> list[str]:
    return [r.code for r in result.reasons]


def as_json(result: Analysis) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    return loaded


@pytest.mark.parametrize("method", METHODS)
def test_a_clear_winner_is_promoted(method: str) -> None:
    result = analyze("exp_001", *WINNER, method=method)

    assert result.decision == "promote"
    assert result.reasons == () and result.notes == ()


def test_to_dict_has_the_documented_fields() -> None:
    data = as_json(analyze("exp_001", *WINNER))

    for key in (
        "experiment_id",
        "method",
        "lift",
        "lift_ci",
        "p_value",
        "quality_p_value",
        "srm_p_value",
        "srm",
        "decision",
        "reasons",
        "alpha",
        "min_samples",
        "min_lift",
    ):
        assert key in data, key  # fmt: skip
    for side in ("control", "treatment"):
        block = data[side]
        assert isinstance(block, dict)
        for key in (
            "users",
            "n",
            "successes",
            "rate",
            "quality_mean",
            "tokens_mean",
            "latency_mean",
            "sums",
        ):
            assert key in block, (side, key)  # fmt: skip
    assert data["experiment_id"] == "exp_001" and data["method"] == "sequential"
    assert data["lift"] == pytest.approx(0.5)
    sums = data["control"]["sums"]  # type: ignore[index]
    assert set(sums) == {"completion", "quality", "tokens", "latency"}
    assert sums["completion"] == {"units": 400, "num": 200, "den": 400, "num2": 200, "den2": 400,
                                  "numden": 200}  # fmt: skip
    assert isinstance(data["lift_ci"], list) and len(data["lift_ci"]) == 2


@pytest.mark.parametrize("method", METHODS)
def test_too_few_samples_names_each_short_arm(method: str) -> None:
    result = analyze("e", *WINNER, method=method, min_samples=500)

    assert result.decision == "keep_running"
    assert codes(result) == ["min_samples", "min_samples"]
    assert result.reasons[0].message == "control has 400 of 500 users"


@pytest.mark.parametrize("method", METHODS)
def test_sample_ratio_mismatch_blocks_promotion_and_stopping(method: str) -> None:
    result = analyze("e", arm(1000, 500), arm(1300, 900), method=method)

    assert result.decision == "keep_running"
    assert codes(result) == ["srm"]
    assert result.to_dict()["srm"] is True


def test_the_configured_split_removes_the_mismatch() -> None:
    result = analyze("e", arm(1000, 500), arm(1300, 900), control_share=1000 / 2300)

    assert result.decision == "promote" and not result.evidence.srm.flagged


@pytest.mark.parametrize("method", METHODS)
def test_lift_must_exceed_the_minimum(method: str) -> None:
    result = analyze("e", arm(4000, 2000), arm(4000, 2300), method=method)

    assert "lift_below_min" in codes(result)
    assert result.reasons[0].message == "lift +15.0% is not above the minimum +15.0%"
    assert result.decision != "promote"


def test_a_significant_small_lift_whose_interval_reaches_the_minimum_keeps_running() -> None:
    result = analyze("e", arm(10000, 5000), arm(10000, 5600))

    assert result.evidence.lift is not None
    ci = result.evidence.lift.interval
    assert ci[0] > 0 and ci[1] > 0.15
    assert codes(result) == ["lift_below_min"]
    assert result.decision == "keep_running"


@pytest.mark.parametrize("method", METHODS)
def test_not_significant_keeps_running(method: str) -> None:
    result = analyze("e", arm(30, 15), arm(30, 20), method=method)

    assert codes(result) == ["not_significant"]
    assert result.decision == "keep_running"
    assert f"({method})" in result.reasons[0].message


def test_the_methods_differ_where_only_one_look_was_planned() -> None:
    control, treatment = arm(500, 250), arm(500, 290)

    assert analyze("e", control, treatment, method="fixed").decision == "promote"
    assert analyze("e", control, treatment, method="sequential").decision == "keep_running"


@pytest.mark.parametrize("method", METHODS)
def test_worse_quality_blocks_promotion(method: str) -> None:
    control, treatment = arm(400, 200, 400, 80, 10), arm(400, 300, 400, 70, 10)

    result = analyze("e", control, treatment, method=method)

    assert codes(result) == ["quality_worse"]
    assert result.decision == "keep_running"
    quality = result.evidence.quality
    assert quality is not None and quality.test is not None and quality.test.high < -5


@pytest.mark.parametrize("method", METHODS)
def test_quality_must_be_shown_within_the_margin_not_merely_not_shown_worse(method: str) -> None:
    # Equal means, but too few users to bound the difference within 5 points: not shown.
    control, treatment = arm(60, 10, 10, 75, 15), arm(60, 40, 10, 75, 15)

    result = analyze("e", control, treatment, method=method, min_samples=10)

    assert codes(result) == ["quality_not_shown"]
    assert "not yet shown within 5 points" in result.reasons[0].message


def test_the_margin_sets_how_much_worse_quality_may_be() -> None:
    control, treatment = arm(400, 200, 400, 80, 5), arm(400, 300, 400, 78, 5)

    assert analyze("e", control, treatment).decision == "promote"  # default margin 5 points
    assert codes(analyze("e", control, treatment, quality_margin=1)) == ["quality_not_shown"]
    assert codes(analyze("e", control, treatment, quality_margin=0)) == ["quality_worse"]


def test_better_quality_is_never_worse() -> None:
    control, treatment = arm(400, 200, 400, 60, 10), arm(400, 300, 400, 90, 10)

    assert analyze("e", control, treatment).decision == "promote"


def test_no_quality_scores_at_all_pass_with_a_note() -> None:
    result = analyze("e", arm(400, 200), arm(400, 300))

    assert result.decision == "promote"
    assert [n.code for n in result.notes] == ["no_quality"]
    assert as_json(result)["quality_p_value"] is None


def test_quality_in_one_arm_only_cannot_pass() -> None:
    result = analyze("e", arm(400, 200), arm(400, 300, 1, 90))

    assert codes(result) == ["quality_not_shown"]
    assert "control has 0 and treatment 1" in result.reasons[0].message


def test_constant_quality_scores_compare_means_directly() -> None:
    same = analyze("e", arm(400, 200, 50, 80), arm(400, 300, 50, 80))
    lower = analyze("e", arm(400, 200, 50, 80), arm(400, 300, 50, 60))

    assert same.decision == "promote"
    assert [n.code for n in same.notes] == ["quality_no_variance"]
    assert codes(lower) == ["quality_not_shown"]
    assert as_json(lower)["quality_p_value"] is None


@pytest.mark.parametrize("method", METHODS)
def test_an_aa_experiment_with_plenty_of_data_stops(method: str) -> None:
    result = analyze("e", arm(10000, 5000), arm(10000, 5000), method=method)

    assert result.decision == "stop_no_winner"
    assert codes(result) == ["lift_below_min", "not_significant", "no_winner"]
    assert "upper bound" in result.reasons[-1].message


@pytest.mark.parametrize("method", METHODS)
def test_a_significantly_worse_treatment_stops(method: str) -> None:
    result = analyze("e", arm(500, 300), arm(500, 200), method=method)

    assert result.decision == "stop_no_winner"
    assert result.reasons[-1].code == "no_winner"


def test_a_mismatch_never_stops() -> None:
    result = analyze("e", arm(10000, 5000), arm(12000, 6000))

    assert result.decision == "keep_running" and "srm" in codes(result)


def test_too_few_samples_never_stop() -> None:
    result = analyze("e", arm(500, 300), arm(500, 200), min_samples=600)

    assert result.decision == "keep_running"


# Degenerate data: a result with reason codes, never an exception, always valid JSON.
DEGENERATE = {
    "control empty": (arm(0, 0), arm(40, 20),
                      ["min_samples", "srm", "empty_arm", "not_significant"]),
    "both empty": (arm(0, 0), arm(0, 0),
                   ["min_samples", "min_samples", "empty_arm", "empty_arm", "not_significant"]),
    "all successes": (arm(30, 30), arm(30, 30), ["lift_below_min", "not_significant"]),
    "no successes": (arm(40, 0), arm(40, 0), ["lift_below_min", "not_significant"]),
    "one user each": (arm(1, 1), arm(1, 0), ["min_samples", "min_samples", "lift_below_min",
                                             "not_significant"]),
}  # fmt: skip


@pytest.mark.parametrize("name", DEGENERATE)
@pytest.mark.parametrize("method", METHODS)
def test_degenerate_data_gives_reasons_not_errors(name: str, method: str) -> None:
    control, treatment, expected = DEGENERATE[name]

    result = analyze("e", control, treatment, method=method)
    data = as_json(result)

    assert result.decision in ("keep_running", "stop_no_winner")
    # A 100% control leaves no room for +15%: the fixed interval may say so at 30 users.
    assert codes(result) in (expected, [*expected, "no_winner"])
    assert (codes(result) == expected) or method == "fixed"
    assert data["decision"] == result.decision


@pytest.mark.parametrize("method", METHODS)
def test_nothing_against_three_hundred_is_a_real_test_with_a_true_reason(method: str) -> None:
    # 0 successes against 300: no variance in either arm, yet the answer is not in doubt.
    result = analyze("e", arm(300, 300), arm(300, 0), method=method)

    assert result.decision == "stop_no_winner"
    assert codes(result) == ["lift_below_min", "no_winner"]
    assert "significantly less often (0.0% against 100.0%" in result.reasons[-1].message
    assert [n.code for n in result.notes] == ["adjusted", "no_quality"]
    data = as_json(result)
    assert data["lift_adjusted"] is True and data["p_value"] < 1e-4  # type: ignore[operator]
    assert data["lift_ci"][1] < 0  # type: ignore[index]


@pytest.mark.parametrize("method", METHODS)
def test_a_control_that_never_succeeds_can_lose_to_a_treatment_that_does(method: str) -> None:
    result = analyze("e", arm(300, 0), arm(300, 60), method=method)

    assert result.decision == "promote"
    assert [n.code for n in result.notes] == ["adjusted", "no_quality"]


@pytest.mark.parametrize("method", METHODS)
def test_interval_and_p_value_tell_one_story(method: str) -> None:
    # Wherever p < alpha the interval excludes no change, and the other way round.
    for x_t in range(0, 61, 3):
        data = as_json(analyze("e", arm(60, 30), arm(60, x_t), method=method))
        low, high = data["lift_ci"]  # type: ignore[misc]
        assert (data["p_value"] < 0.05) == (low > 0 or high < 0), x_t  # type: ignore[operator]


def test_empty_arms_with_no_minimum_still_analyse() -> None:
    result = analyze("e", arm(0, 0), arm(0, 0), min_samples=0)

    assert codes(result) == ["empty_arm", "empty_arm", "not_significant"]
    assert as_json(result)["srm_p_value"] is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"alpha": 1.5},
        {"alpha": float("nan")},
        {"method": "bayes"},
        {"min_samples": -1},
        {"min_samples": 2.5},
        {"min_lift": float("inf")},
        {"quality_margin": -1.0},
        {"control_share": 1.0},
        {"srm_alpha": 0.0},
        {"sequential_tuning": 0},
        {"tokens_margin": -0.1},
        {"latency_margin": float("nan")},
        {"min_chance_to_win": 1.0},
        {"max_expected_loss": -0.01},
    ],
)
def test_misuse_raises_usage_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        analyze("e", *WINNER, **kwargs)  # type: ignore[arg-type]


def test_arms_must_be_arm_stats() -> None:
    with pytest.raises(UsageError):
        analyze("e", {"n": 3}, WINNER[1])  # type: ignore[arg-type]


def test_an_unknown_setting_is_misuse() -> None:
    with pytest.raises(UsageError, match="unknown setting"):
        analyze("e", *WINNER, tuning=5)


@st.composite
def _arms(draw: st.DrawFn) -> ArmStats:
    users = draw(st.integers(0, 100_000))
    per_user = draw(st.integers(1, 20))
    n = users * per_user
    x = draw(st.integers(0, n))
    # x_u^2 and x_u y_u between their extremes: spread evenly, or all on as few users as can be
    spread = draw(st.floats(0, 1))
    even = x * x / users if users else 0.0
    x2 = even + spread * (min(x, per_user) * x - even)
    q_units = draw(st.integers(0, users))
    q = draw(st.floats(0, 100))
    qsd = draw(st.floats(0, 50))
    quality = RatioSums(q_units, q * q_units, q_units, (q * q + qsd * qsd) * q_units, q_units,
                        q * q_units)  # fmt: skip
    completion = RatioSums(users, x, n, x2, per_user * n, per_user * x)
    return ArmStats(completion, quality)


@settings(max_examples=300, deadline=None)
@given(
    _arms(),
    _arms(),
    st.sampled_from([*METHODS, "bayesian"]),
    st.floats(0.001, 0.5),
    st.integers(0, 100),
    st.floats(-1, 2),
    st.floats(0.05, 0.95),
)
def test_any_valid_input_gives_a_json_safe_result(
    control: ArmStats,
    treatment: ArmStats,
    method: str,
    alpha: float,
    min_samples: int,
    min_lift: float,
    share: float,
) -> None:
    result = analyze(
        "e", control, treatment, method=method, alpha=alpha, min_samples=min_samples,
        min_lift=min_lift, control_share=share,
    )  # fmt: skip

    data = as_json(result)
    assert data["decision"] in ("promote", "keep_running", "stop_no_winner")
    assert (data["decision"] == "promote") == (data["reasons"] == [])
    for key in ("p_value", "quality_p_value", "srm_p_value"):
        value = data[key]
        assert value is None or (isinstance(value, float) and 0.0 <= value <= 1.0), key
