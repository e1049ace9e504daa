"""The cost guardrails (tokens and latency per interaction): non-inferiority by the method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsarms import binary, sums

from maia_git.errors import UsageError
from maia_git.stats import ArmStats, RatioSums, Settings, analyze
from maia_git.stats.cost import cost_test

METHODS = ["sequential", "fixed"]


def costly(users: int, successes: int, tokens: float, latency: float = 800.0) -> ArmStats:
    """``users`` users with one interaction each; tokens and latency vary around the given
    means (sd 20% of the mean) in the same pattern in every arm."""
    arm = binary(users, successes)
    spread = np.resize([-1.0, -0.5, 0.0, 0.5, 1.0], users) * 0.2 / np.sqrt(0.5)
    ones = np.ones(users)
    return ArmStats(arm.completion, RatioSums(), sums(tokens * (1 + spread), ones),
                    sums(latency * (1 + spread), ones))  # fmt: skip


def codes(result: object) -> list[str]:
    return [r.code for r in result.reasons]  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", METHODS)
def test_more_completion_at_half_again_the_tokens_is_not_promoted(method: str) -> None:
    control = costly(400, 200, tokens=1000)
    treatment = costly(400, 300, tokens=1500)

    result = analyze("e", control, treatment, method=method)

    assert result.decision != "promote"
    assert codes(result) == ["tokens_worse"]
    message = result.reasons[0].message
    assert "tokens per interaction +50.0% against control" in message
    assert "+10% allowed" in message


@pytest.mark.parametrize("method", METHODS)
def test_the_same_with_five_percent_more_tokens_is_promoted(method: str) -> None:
    control = costly(400, 200, tokens=1000)
    treatment = costly(400, 300, tokens=1050)

    result = analyze("e", control, treatment, method=method)

    assert result.decision == "promote", codes(result)
    tokens = result.to_dict()["guardrails"]["tokens"]  # type: ignore[index]
    assert tokens["passed"] is True and tokens["margin"] == 0.1
    assert tokens["change"] == pytest.approx(0.05)
    assert tokens["ci"][0] < 0.05 < tokens["ci"][1] < 0.1


def test_slower_answers_name_latency_and_the_margin_is_configurable() -> None:
    control = costly(400, 200, tokens=1000, latency=800)
    treatment = costly(400, 300, tokens=1000, latency=1200)

    assert codes(analyze("e", control, treatment)) == ["latency_worse"]
    assert analyze("e", control, treatment, latency_margin=0.8).decision == "promote"
    off = analyze("e", control, treatment, latency_margin=None)
    assert off.decision == "promote"
    latency = off.to_dict()["guardrails"]["latency"]  # type: ignore[index]
    assert latency["passed"] is None and latency["change"] == pytest.approx(0.5)


def test_a_change_not_yet_shown_within_the_margin_keeps_running() -> None:
    control = costly(60, 20, tokens=1000)
    treatment = costly(60, 45, tokens=1080)  # +8%: inside the margin, but 60 users cannot show it

    result = analyze("e", control, treatment, latency_margin=None)

    assert codes(result) == ["tokens_not_shown"]
    assert "+8.0% against control: not yet shown within +10% (upper bound" in (
        result.reasons[0].message
    )


def test_tokens_logged_by_one_arm_only_cannot_pass() -> None:
    control = costly(400, 200, tokens=1000)
    bare = binary(400, 300)
    treatment = ArmStats(bare.completion, RatioSums(), RatioSums(), control.latency)

    result = analyze("e", control, treatment)

    assert codes(result) == ["tokens_not_shown"]
    assert "control has 400 and treatment 0 users logging tokens" in result.reasons[0].message


def test_a_cost_a_few_users_log_in_one_arm_is_noted_not_blocking() -> None:
    bare = binary(400, 300)
    stray = RatioSums.of_units([(850.0, 1.0)])  # one user, one interaction with tokens
    treatment = ArmStats(bare.completion, RatioSums(), stray)

    result = analyze("e", binary(400, 200), treatment)

    assert result.decision == "promote"
    assert [n.code for n in result.notes] == ["no_quality", "cost_too_sparse"]
    assert "control has 0 and treatment 1 users logging tokens" in result.notes[1].message


def test_neither_arm_logging_a_cost_is_reported_not_blocking() -> None:
    result = analyze("e", binary(400, 200), binary(400, 300))

    assert result.decision == "promote"
    tokens = result.to_dict()["guardrails"]["tokens"]  # type: ignore[index]
    assert tokens == {"margin": 0.1, "control_mean": None, "treatment_mean": None,
                      "change": None, "ci": None, "passed": None}  # fmt: skip


def test_constant_costs_compare_the_means() -> None:
    same = RatioSums.of_units([(500.0, 1.0)] * 50)
    more = RatioSums.of_units([(600.0, 1.0)] * 50)
    s = Settings()

    equal = cost_test("tokens", same, same, s)
    worse = cost_test("tokens", same, more, s)

    assert equal is not None and equal.test is None and equal.passed is True
    assert worse is not None and worse.change == pytest.approx(0.2) and worse.passed is False


def test_a_free_control_against_a_paid_treatment_fails() -> None:
    free = RatioSums.of_units([(0.0, 1.0)] * 50)
    paid = RatioSums.of_units([(float(i % 7), 1.0) for i in range(50)])

    check = cost_test("tokens", free, paid, Settings())

    assert check is not None and check.change == math.inf and check.passed is False


def test_a_negative_margin_is_misuse() -> None:
    with pytest.raises(UsageError, match="tokens_margin must not be negative"):
        Settings(tokens_margin=-0.1)


def _cost_arm(rng: np.random.Generator, users: int, mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-user token sums: 1-20 interactions a user, a user-level mean (lognormal) times
    per-interaction noise, so tokens cluster within users."""
    counts = rng.integers(1, 21, users).astype(float)
    level = mean * rng.lognormal(-0.125, 0.5, users)
    return level * counts * rng.gamma(counts * 4.0, 1.0 / (counts * 4.0)), counts


def test_repeated_looks_cannot_pass_a_cost_at_the_margin_by_luck() -> None:
    """The treatment costs exactly the margin more (+10%); the guardrail is checked after every
    batch of 20 users per arm up to 600. Passing it at any look is a false pass: under the
    sequential method that must happen in at most alpha / 2 of experiments (the one-sided
    half of the two-sided sequence); the fixed interval checked that often passes far more."""
    rng = np.random.default_rng(20261129)
    sims, users, batch = 400, 600, 20
    passed = {"sequential": 0, "fixed": 0}
    for _ in range(sims):
        xc, yc = _cost_arm(rng, users, 1000.0)
        xt, yt = _cost_arm(rng, users, 1100.0)
        ever = dict.fromkeys(passed, False)
        for n in range(batch, users + 1, batch):
            control, treatment = sums(xc[:n], yc[:n]), sums(xt[:n], yt[:n])
            for method in passed:
                check = cost_test("tokens", control, treatment, Settings(method=method))
                ever[method] = ever[method] or bool(check and check.passed)
        for method in passed:
            passed[method] += ever[method]

    assert passed["sequential"] / sims <= 0.025
    assert passed["fixed"] / sims > 0.05
