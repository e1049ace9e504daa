"""Three arms analysed after every batch, as the workflow does after every push.

A/A/A: control and two treatments with the same 50% completion rate; the rule is applied after
every 25 users per arm up to 500. Any promotion is a false one; the family-wise rate of the
default method (sequential, Holm across treatments) must stay at or below 5%. Power: one
treatment truly +30% (65%) beside a null one.
"""

from __future__ import annotations

import time

import numpy as np

from maia_git.stats import ArmStats, RatioSums, Settings, analyze_arms

EXPERIMENTS, MAX_PER_ARM, EVERY, BASELINE = 600, 500, 25, 0.5
NAMES = ("control", "treatment_1", "treatment_2")


def _binary(users: int, successes: int) -> ArmStats:
    return ArmStats(RatioSums(users, successes, users, successes, users, successes))


def first_promotions(seed: int, rates: tuple[float, float, float], method: str) -> list[str | None]:
    """Per experiment, the arm promoted at the first look that promotes one (None: never)."""
    rng = np.random.default_rng(seed)
    looks = np.arange(EVERY, MAX_PER_ARM + 1, EVERY)
    cumulative = [
        (rng.random((EXPERIMENTS, MAX_PER_ARM)) < rate).cumsum(axis=1)[:, looks - 1].tolist()
        for rate in rates
    ]
    settings = Settings(method=method)
    winners: list[str | None] = []
    for e in range(EXPERIMENTS):
        winner = None
        for j, n in enumerate(looks.tolist()):
            arms = {name: _binary(n, cumulative[i][e][j]) for i, name in enumerate(NAMES)}
            result = analyze_arms("sim", arms, settings=settings)
            if result.decision == "promote":
                winner = result.winner
                break
        winners.append(winner)
    return winners


def test_three_arm_aa_false_promotions_stay_within_alpha_and_power_is_reported() -> None:
    started = time.perf_counter()

    null = first_promotions(31, (BASELINE, BASELINE, BASELINE), "sequential")
    real = first_promotions(37, (BASELINE, BASELINE * 1.3, BASELINE), "sequential")

    false_rate = sum(w is not None for w in null) / EXPERIMENTS
    power = real.count("treatment_1") / EXPERIMENTS
    wrong = real.count("treatment_2") / EXPERIMENTS
    print(f"\nthree arms, {EXPERIMENTS} experiments, a look every {EVERY} users per arm up to "
          f"{MAX_PER_ARM}, sequential + Holm:\n  A/A/A family-wise false promotions "
          f"{false_rate:.1%}; one arm +30%: promoted {power:.1%}, the null arm {wrong:.1%}"
          f" ({time.perf_counter() - started:.1f} s)")  # fmt: skip
    assert false_rate <= 0.05
    assert wrong <= 0.05
    assert power >= 0.5
