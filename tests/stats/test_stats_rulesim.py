"""maia exp plan under the whole rule: its simulated power against the rule itself."""

from __future__ import annotations

import numpy as np
import pytest

from maia_git.errors import UsageError
from maia_git.stats import ArmStats, RatioSums, Settings, analyze
from maia_git.stats.rulesim import plan_rule


def _rule_power(users: int, s: Settings, per_user: float, icc: float, every: int,
                seed: int, experiments: int = 1000) -> float:  # fmt: skip
    """The share of simulated experiments that ``stats.analyze`` promotes by ``users`` per arm,
    users drawn as the plan describes them, but written out afresh here."""
    rng = np.random.default_rng(seed)
    k = 1 / icc - 1
    promoted = 0
    for _ in range(experiments):
        cumulative = []
        for scale in (1.0, 1.3):
            y = 1 + rng.poisson(per_user - 1, users).astype(float)
            p = np.minimum(1.0, rng.beta(0.4 * k, 0.6 * k, users) * scale)
            x = rng.binomial(y.astype(np.int64), p).astype(float)
            cumulative.append(np.cumsum(np.vstack([np.ones(users), x, y, x * x, y * y, x * y]), 1))
        looks = range(every, users + 1, every) if s.method == "sequential" else [users]
        for look in looks:
            arms = [ArmStats(RatioSums(int(c[0, look - 1]), *c[1:, look - 1].tolist()))
                    for c in cumulative]  # fmt: skip
            if analyze("sim", *arms, s).decision == "promote":
                promoted += 1
                break
    return promoted / experiments


@pytest.mark.parametrize("method", ["sequential", "fixed"])
def test_the_planned_power_matches_a_simulation_of_the_rule_within_three_points(
    method: str,
) -> None:
    s = Settings(method=method)

    plan = plan_rule(0.4, 0.3, 0.8, s, per_user=3, icc=0.2, every=20)

    assert plan.users_per_arm is not None and plan.power >= 0.8
    check = _rule_power(plan.users_per_arm, s, 3, 0.2, 20, seed=99)
    print(f"\n{method}: plan {plan.users_per_arm} users per arm, power {plan.power:.1%}; "
          f"the rule simulated afresh: {check:.1%}")  # fmt: skip
    assert abs(plan.power - check) <= 0.03


def test_an_mde_at_or_below_min_lift_is_said_to_hardly_ever_promote() -> None:
    plan = plan_rule(0.5, 0.10, 0.8, Settings(), every=250)

    assert plan.warning is not None and "can hardly promote" in plan.warning
    assert plan.users_per_arm is None and plan.power < 0.5


def test_more_correlated_users_need_more_users() -> None:
    s = Settings()
    few = plan_rule(0.4, 0.3, 0.8, s, per_user=5, icc=0.05, every=50)
    many = plan_rule(0.4, 0.3, 0.8, s, per_user=5, icc=0.4, every=50)

    assert few.users_per_arm is not None and many.users_per_arm is not None
    assert few.users_per_arm < many.users_per_arm


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [((0.5, -0.1, 0.8), {}, "positive lift"), ((0.9, 0.2, 0.8), {}, "below 1"),
     ((0.5, 0.2, 0.8), {"icc": 1.0}, "icc"), ((0.5, 0.2, 0.8), {"per_user": 0.5}, "at least 1"),
     ((0.5, 0.2, 1.0), {}, "power")],
)  # fmt: skip
def test_bad_input_is_a_usage_error(args: tuple[float, ...], kwargs: dict[str, float],
                                    message: str) -> None:  # fmt: skip
    with pytest.raises(UsageError, match=message):
        plan_rule(*args, Settings(), **kwargs)  # type: ignore[arg-type]
