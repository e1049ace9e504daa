"""Peeking and clustering: the promotion rule re-analysed after every batch, as CI does.

A fixed-horizon test checked again and again promotes a treatment that is no better
in about 14-17% of experiments; the sequential method must keep that at or below alpha. And
users talk to the agent many times, with correlated outcomes: analysed per interaction, 8-12% of
A/A experiments were promoted and the sample-ratio check flagged 35-42% of looks. Per user it
must hold false promotions at or below 3% and sample-ratio flags at or below 1% of looks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from maia_git.stats import ArmStats, RatioSums, Settings, analyze

EXPERIMENTS, MAX_PER_ARM, EVERY = 1000, 500, 10
BASELINE = 0.5


def _cumulative_successes(seed: int, treatment_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Successes per arm at each look, one interaction per user: shape (experiments, looks)."""
    rng = np.random.default_rng(seed)
    looks = np.arange(EVERY, MAX_PER_ARM + 1, EVERY) - 1
    control = rng.random((EXPERIMENTS, MAX_PER_ARM)) < BASELINE
    treatment = rng.random((EXPERIMENTS, MAX_PER_ARM)) < treatment_rate
    return control.cumsum(axis=1)[:, looks], treatment.cumsum(axis=1)[:, looks]


def _binary(users: int, successes: int) -> ArmStats:
    return ArmStats(RatioSums(users, successes, users, successes, users, successes))


def promotion_rate(seed: int, treatment_rate: float, method: str, tuning: float = 1000) -> float:
    """The share of experiments whose decision is ``promote`` at some look."""
    control, treatment = _cumulative_successes(seed, treatment_rate)
    sizes = range(EVERY, MAX_PER_ARM + 1, EVERY)
    settings = Settings(method=method, sequential_tuning=tuning)
    promoted = 0
    for c_row, t_row in zip(control.tolist(), treatment.tolist(), strict=True):
        for n, c, t in zip(sizes, c_row, t_row, strict=True):
            if analyze("sim", _binary(n, c), _binary(n, t), settings).decision == "promote":
                promoted += 1
                break
    return promoted / EXPERIMENTS


def test_sequential_keeps_false_promotions_under_alpha_where_fixed_does_not() -> None:
    started = time.perf_counter()

    fixed = promotion_rate(seed=7, treatment_rate=BASELINE, method="fixed")
    sequential = promotion_rate(seed=7, treatment_rate=BASELINE, method="sequential")
    bayesian = promotion_rate(seed=7, treatment_rate=BASELINE, method="bayesian")

    print(f"\nA/A, {EXPERIMENTS} experiments, a look every {EVERY} users per arm up to "
          f"{MAX_PER_ARM}:\n  false promotions: fixed {fixed:.1%}, sequential {sequential:.1%}"
          f", bayesian {bayesian:.1%} ({time.perf_counter() - started:.1f} s)")  # fmt: skip
    assert 0.08 <= fixed <= 0.20
    assert sequential <= 0.05
    # A chance to beat control of 95% is a one-sided 5% test on the same estimate: peeking
    # inflates it like the fixed method's (docs/analysis.md, "Choosing a method").
    assert bayesian > 0.05


def test_sequential_power_with_a_true_twenty_percent_lift() -> None:
    rate = BASELINE * 1.2

    fixed = promotion_rate(seed=11, treatment_rate=rate, method="fixed")
    wide = promotion_rate(seed=11, treatment_rate=rate, method="sequential", tuning=5000)
    tuned = promotion_rate(seed=11, treatment_rate=rate, method="sequential", tuning=1000)

    print(f"\n+20% lift, promoted: fixed {fixed:.1%} (with peeking); sequential tuned to 5000 "
          f"users {wide:.1%}, to the planned {2 * MAX_PER_ARM}: {tuned:.1%}")  # fmt: skip
    # Error control costs power; tuning rho to the planned size buys some of it back.
    assert 0.2 <= wide < tuned < fixed


@pytest.mark.parametrize("method", ["fixed", "sequential"])
def test_a_single_planned_look_is_within_alpha_for_both(method: str) -> None:
    control, treatment = _cumulative_successes(seed=3, treatment_rate=BASELINE)
    settings = Settings(method=method)
    promoted = sum(
        analyze("sim", _binary(MAX_PER_ARM, c), _binary(MAX_PER_ARM, t), settings).decision
        == "promote"
        for c, t in zip(control[:, -1].tolist(), treatment[:, -1].tolist(), strict=True)
    )

    print(f"\nA/A, one look at {MAX_PER_ARM} per arm, {method}: {promoted / EXPERIMENTS:.1%}")
    assert promoted / EXPERIMENTS <= 0.05


# ---- clustered users: 1-20 interactions each, per-user success probability ~ Beta(2, 2) ----

CLUSTERED, USERS, BATCH = 600, 600, 20  # experiments; users per experiment; a look every BATCH


def clustered_looks(seed: int, lift: float) -> tuple[float, float]:
    """(share of experiments promoted at some look, share of looks with a sample-ratio flag).

    Users are assigned 50/50 at random (as the MD5 assignment does); treatment users succeed
    with probability min(1, p_u * (1 + lift)).
    """
    rng = np.random.default_rng(seed)
    promoted = flags = looks = 0
    for _ in range(CLUSTERED):
        y = rng.integers(1, 21, USERS).astype(float)
        p = rng.beta(2.0, 2.0, USERS)
        treated = rng.random(USERS) < 0.5
        p = np.where(treated, np.minimum(1.0, p * (1.0 + lift)), p)
        x = rng.binomial(y.astype(np.int64), p).astype(float)
        arms = [_cumulative(x, y, ~treated), _cumulative(x, y, treated)]
        for end in range(BATCH, USERS + 1, BATCH):
            result = analyze("sim", *(_arm_at(sums, end) for sums in arms))
            looks += 1
            flags += result.evidence.srm.flagged
            if result.decision == "promote":
                promoted += 1
                break
    return promoted / CLUSTERED, flags / looks


def _cumulative(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-user sums of one arm, cumulated in arrival order: rows units, x, y, x2, y2, xy."""
    m = mask.astype(float)
    columns = np.vstack([m, x * m, y * m, x * x * m, y * y * m, x * y * m])
    return np.cumsum(columns, axis=1)


def _arm_at(sums: np.ndarray, end: int) -> ArmStats:
    units, *rest = sums[:, end - 1].tolist()
    return ArmStats(RatioSums(round(units), *rest))


def test_clustered_aa_users_are_not_promoted_and_raise_no_false_alarm() -> None:
    started = time.perf_counter()

    promoted, flagged = clustered_looks(seed=14, lift=0.0)
    power, _ = clustered_looks(seed=15, lift=0.30)

    print(f"\nclustered A/A, {CLUSTERED} experiments of {USERS} users (1-20 interactions, "
          f"p ~ Beta(2,2)), a look every {BATCH} users:\n  false promotions {promoted:.1%}, "
          f"sample-ratio flags {flagged:.2%} of looks; power at +30% per user {power:.1%}"
          f" ({time.perf_counter() - started:.1f} s)")  # fmt: skip
    assert promoted <= 0.03
    assert flagged <= 0.01
    assert power >= 0.5
