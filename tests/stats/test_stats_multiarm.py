"""Several treatments against one control: Holm, the many-to-one adjustment, one winner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsarms import binary, sums

from maia_git.errors import UsageError
from maia_git.stats import ArmStats, RatioSums, analyze, analyze_arms
from maia_git.stats.multiple import critical, holm, holm_levels, many_to_one, within
from maia_git.stats.srm import chi2_sf, srm_check_arms

METHODS = ["sequential", "fixed", "bayesian"]


# ---- Holm, by hand ----


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03; 2 x 0.03 = 0.06; max(0.06, 1 x 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # sorted 0.001, 0.04, 0.2, 0.5 -> 0.004, 0.12, 0.4, 0.5
    assert holm([0.5, 0.2, 0.001, 0.04]) == pytest.approx([0.5, 0.4, 0.004, 0.12])
    # capped at 1, and monotone: 3 x 0.4 = 1.2 -> 1; then max(1, 2 x 0.45) = 1
    assert holm([0.4, 0.45, 0.9]) == pytest.approx([1.0, 1.0, 1.0])
    assert holm([0.02]) == [0.02]


def test_holm_levels_follow_the_rank() -> None:
    assert holm_levels([0.04, 0.01, 0.03], 0.05) == pytest.approx([0.05, 0.05 / 3, 0.025])


def test_the_sequential_method_holm_adjusts_each_arms_always_valid_p_value() -> None:
    control = binary(300, 150)
    arms = {"control": control, "a": binary(300, 190), "b": binary(300, 175), "c": binary(300, 160)}
    raw = [analyze("e", control, arms[n]).evidence.lift.test.p_value for n in "abc"]  # type: ignore[union-attr]

    result = analyze_arms("e", arms)

    got = [c.evidence.lift.test.p_value for c in result.comparisons]  # type: ignore[union-attr]
    assert [c.unadjusted_p for c in result.comparisons] == pytest.approx(raw, rel=1e-12)
    order = sorted(range(3), key=raw.__getitem__)
    expected = [0.0] * 3
    running = 0.0
    for rank, i in enumerate(order):  # the step-down rule written out again
        running = max(running, min(1.0, (3 - rank) * raw[i]))
        expected[i] = running
    assert got == pytest.approx(expected, rel=1e-12)
    assert result.adjustment == "holm"


# ---- the many-to-one adjustment ----


def _equal_variance_samples(sizes: list[int], shifts: list[float], seed: int) -> list[np.ndarray]:
    """One value per user; every arm has the same sample variance (so scipy's pooled variance
    and the per-arm sums' variances coincide) but its own size and mean."""
    rng = np.random.default_rng(seed)
    out = []
    for n, shift in zip(sizes, shifts, strict=True):
        x = rng.normal(0.0, 1.0, n)
        out.append((x - x.mean()) / x.std(ddof=1) * 10.0 + 50.0 + shift)
    return out


@pytest.mark.parametrize(
    ("sizes", "shifts"),
    [
        ([4000, 4000, 4000, 4000], [0.0, 0.3, 0.55, -0.2]),
        ([6000, 3000, 4500], [0.0, 0.5, 0.35]),
        ([5000, 2500, 2500, 5000, 4000], [0.0, 0.2, 0.6, 0.45, 0.1]),
    ],
)
def test_many_to_one_from_sums_agrees_with_scipy_dunnett(
    sizes: list[int], shifts: list[float]
) -> None:
    """One interaction per user: each arm's RatioSums (y_u = 1) gives the mean and its
    variance; z_i and their correlation come from the sums alone. scipy.stats.dunnett works on
    the raw values (pooled variance, multivariate t with N - k - 1 degrees of freedom, its own
    randomised integration); with these sizes t and normal differ by less than 1e-4."""
    samples = _equal_variance_samples(sizes, shifts, seed=sum(sizes))
    arms = [sums(x, np.ones(len(x))) for x in samples]
    control, treatments = arms[0], arms[1:]
    v_c = control.variance
    assert v_c is not None and control.mean is not None
    se = [math.sqrt(t.variance + v_c) for t in treatments]  # type: ignore[operator]
    z = [(t.mean - control.mean) / s for t, s in zip(treatments, se, strict=True)]  # type: ignore[operator]
    corr = [[1.0 if i == j else v_c / (se[i] * se[j]) for j in range(len(se))]
            for i in range(len(se))]  # fmt: skip

    ours = many_to_one(z, corr)
    reference = scipy_stats.dunnett(*samples[1:], control=samples[0], rng=7)

    assert z == pytest.approx(reference.statistic, rel=1e-9)
    assert ours == pytest.approx(reference.pvalue, abs=5e-4)
    assert many_to_one(z, corr) == ours  # the same input, the same answer, to the last bit


def test_the_critical_value_holds_the_family_at_alpha() -> None:
    corr = [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]

    c = critical(0.05, corr)

    assert 1.0 - within(c, corr) == pytest.approx(0.05, abs=1e-6)
    # Dunnett's table (two-sided, 3 treatments, infinite df, equal sizes): 2.35
    assert c == pytest.approx(2.349, abs=2e-3)
    assert critical(0.05, [[1.0]]) == pytest.approx(1.959964, abs=1e-6)


def test_under_fixed_the_simultaneous_interval_and_adjusted_p_tell_one_story() -> None:
    control = binary(500, 250)
    for successes in (270, 285, 290, 300, 330):
        arms = {"control": control, "a": binary(500, successes), "b": binary(500, 255)}
        result = analyze_arms("e", arms, method="fixed")
        lift = result.comparisons[0].evidence.lift
        assert lift is not None
        assert (lift.test.p_value < 0.05) == (lift.interval[0] > 0.0)
        assert lift.test.p_value >= result.comparisons[0].unadjusted_p  # type: ignore[operator]


def test_the_fixed_analysis_is_deterministic() -> None:
    arms = {"control": binary(300, 150), "a": binary(300, 180), "b": binary(300, 175)}

    first = json.dumps(analyze_arms("e", arms, method="fixed").to_dict())

    assert json.dumps(analyze_arms("e", arms, method="fixed").to_dict()) == first


# ---- the decision ----


@pytest.mark.parametrize("method", METHODS)
def test_two_arms_decide_as_the_two_arm_analysis_does(method: str) -> None:
    for c, t in ((200, 300), (200, 215), (300, 150)):
        control, treatment = binary(400, c), binary(400, t)
        two = analyze("e", control, treatment, method=method)
        many = analyze_arms("e", {"control": control, "treatment": treatment}, method=method)
        assert many.decision == two.decision
        assert many.comparisons[0].evidence.lift == two.evidence.lift


@pytest.mark.parametrize("method", METHODS)
def test_at_most_one_arm_is_promoted_the_best(method: str) -> None:
    arms = {"control": binary(400, 200), "good": binary(400, 280), "better": binary(400, 310)}

    result = analyze_arms("e", arms, method=method)

    assert result.decision == "promote" and result.winner == "better"
    assert [c.eligible for c in result.comparisons] == [True, True]


def _with_tokens(arm: ArmStats, tokens: float) -> ArmStats:
    users = arm.users
    spread = np.resize([-1.0, 0.0, 1.0], users) * 0.2 * tokens
    return ArmStats(arm.completion, RatioSums(), sums(tokens + spread, np.ones(users)))


def test_the_best_arm_that_passes_every_rule_wins_not_the_best_lift() -> None:
    arms = {
        "control": _with_tokens(binary(400, 200), 1000),
        "costly": _with_tokens(binary(400, 330), 1500),
        "frugal": _with_tokens(binary(400, 290), 1020),
    }

    result = analyze_arms("e", arms)

    assert result.winner == "frugal"
    costly = result.comparisons[0]
    assert [r.code for r in costly.reasons] == ["tokens_worse"]


def test_without_a_winner_every_arms_reasons_are_named() -> None:
    arms = {"control": binary(400, 200), "treatment_1": binary(400, 205),
            "treatment_2": binary(20, 15)}  # fmt: skip

    result = analyze_arms("e", arms, shares=[0.45, 0.45, 0.1])

    assert result.decision == "keep_running" and result.winner is None
    messages = [r.message for r in result.reasons]
    assert "treatment_2 has 20 of 30 users" in messages
    assert any(m.startswith("treatment_1: lift") for m in messages)


def test_every_treatment_significantly_worse_stops() -> None:
    arms = {"control": binary(400, 300), "a": binary(400, 150), "b": binary(400, 160)}

    assert analyze_arms("e", arms).decision == "stop_no_winner"


def test_a_sample_ratio_mismatch_over_three_arms_blocks_every_arm() -> None:
    arms = {"control": binary(500, 250), "a": binary(400, 330), "b": binary(300, 150)}

    result = analyze_arms("e", arms)

    assert result.srm.flagged and result.decision == "keep_running"
    assert result.reasons[0].code == "srm" and "control 500 (33%)" in result.reasons[0].message
    assert not analyze_arms("e", arms, shares=[5 / 12, 4 / 12, 3 / 12]).srm.flagged


def test_chi_square_with_more_degrees_of_freedom_matches_scipy() -> None:
    for df in range(1, 7):
        for x in (0.2, 1.0, 4.0, 12.0, 40.0):
            assert chi2_sf(x, df) == pytest.approx(scipy_stats.chi2.sf(x, df), rel=1e-12)
    check = srm_check_arms([100, 100, 100], [1 / 3, 1 / 3, 1 / 3], 0.001)
    assert check.chi2 == 0.0 and check.p_value == 1.0


def test_the_json_shows_every_arm_and_comparison() -> None:
    arms = {"control": binary(400, 200), "a": binary(400, 280), "b": binary(400, 230)}

    data = json.loads(json.dumps(analyze_arms("e", arms).to_dict(), allow_nan=False))

    assert [a["name"] for a in data["arms"]] == ["control", "a", "b"]
    assert [c["arm"] for c in data["comparisons"]] == ["a", "b"]
    for key in ("lift", "lift_ci", "p_value", "p_value_unadjusted", "quality_non_inferior",
                "guardrails", "eligible", "reasons"):  # fmt: skip
        assert key in data["comparisons"][0]
    assert data["winner"] == "a" and data["adjustment"] == "holm"


@pytest.mark.parametrize(
    ("arms", "shares"),
    [
        ({"control": binary(10, 5)}, None),
        ({"control": binary(10, 5), "a": binary(10, 5)}, [0.5]),
        ({"control": binary(10, 5), "a": binary(10, 5)}, [0.6, 0.6]),
        ({"control": binary(10, 5), "a": "not an arm"}, None),
    ],
)
def test_misuse_raises(arms: dict[str, object], shares: list[float] | None) -> None:
    with pytest.raises(UsageError):
        analyze_arms("e", arms, shares)  # type: ignore[arg-type]


def test_an_empty_treatment_leaves_the_others_testable() -> None:
    arms = {"control": binary(400, 200), "empty": ArmStats(), "good": binary(400, 300)}

    result = analyze_arms("e", arms, [0.495, 0.01, 0.495], method="fixed", min_samples=0)

    assert result.winner == "good"
    assert result.comparisons[0].reasons[0].code == "empty_arm"


def test_each_comparisons_reasons_name_its_arm_not_treatment() -> None:
    arms = {"control": binary(400, 200), "empty": ArmStats(), "worse": binary(400, 100)}

    result = analyze_arms("e", arms, [0.495, 0.01, 0.495], method="fixed", min_samples=0)

    messages = [r.message for c in result.comparisons for r in (*c.reasons, *c.notes)]
    assert "empty has no interactions; lift undefined" in messages
    assert any(m.startswith("worse completes significantly less often") for m in messages)
    assert not [m for m in messages if "treatment" in m], messages


def test_an_untestable_treatment_still_counts_in_the_family() -> None:
    """One of two treatments has no users: the other is still adjusted for two treatments,
    by Holm as if the empty one had p = 1, by Dunnett as if it were independent (Sidak)."""
    control, good = binary(400, 200), binary(400, 240)
    arms = {"control": control, "empty": ArmStats(), "good": good}
    for method in ("sequential", "fixed"):
        alone = analyze("e", control, good, method=method, min_samples=0).evidence.lift
        assert alone is not None
        p = alone.test.p_value

        result = analyze_arms("e", arms, [0.495, 0.01, 0.495], method=method, min_samples=0)

        lift = result.comparisons[1].evidence.lift
        assert lift is not None and result.comparisons[1].unadjusted_p == pytest.approx(p)
        expected = min(1.0, 2 * p) if method == "sequential" else 1 - (1 - p) ** 2
        assert lift.test.p_value == pytest.approx(expected, rel=1e-9)
        assert lift.test.p_value > p
        assert lift.test.low < alone.test.low and lift.test.high > alone.test.high  # wider
