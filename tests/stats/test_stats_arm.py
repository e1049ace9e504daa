"""ArmStats: sufficient statistics that fold records and add across shards."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia_git.errors import UsageError
from maia_git.stats import ArmStats

RECORDS: list[dict[str, object]] = [
    {"success": True, "quality_score": 80, "tokens": 1200, "latency_ms": 900.5},
    {"success": False, "quality_score": 40.5},
    {"success": True, "tokens": 300},
    {"success": True, "quality_score": None, "latency_ms": 100},
]


def test_fold_matches_numpy_on_the_same_values() -> None:
    arm = ArmStats.from_records(RECORDS)

    quality = np.array([80, 40.5])
    assert (arm.n, arm.successes) == (4, 3)
    assert arm.rate == 0.75
    assert arm.quality_count == 2
    assert arm.quality_mean == pytest.approx(quality.mean(), abs=1e-12)
    assert arm.quality_std == pytest.approx(quality.std(ddof=1), abs=1e-12)
    assert arm.tokens_mean == 750.0
    assert arm.latency_mean == pytest.approx(500.25)


def test_constructor_takes_running_sums_directly() -> None:
    arm = ArmStats(n=10, successes=4, quality_count=3, quality_sum=270.0, quality_sumsq=24500.0)

    assert arm.rate == 0.4
    assert arm.quality_mean == 90.0
    assert arm.quality_var == pytest.approx((24500.0 - 270.0**2 / 3) / 2)
    assert arm.tokens_mean is None and arm.latency_mean is None


def test_numpy_integers_are_accepted_as_counts() -> None:
    arm = ArmStats(n=np.int64(5), successes=np.int64(2))  # type: ignore[arg-type]

    assert type(arm.n) is int and arm.rate == 0.4


def test_empty_arm_has_no_derived_values() -> None:
    arm = ArmStats()

    derived = (arm.rate, arm.quality_mean, arm.quality_std, arm.tokens_mean, arm.latency_mean)
    assert derived == (None,) * 5
    assert json.loads(json.dumps(arm.to_dict(), allow_nan=False))["rate"] is None


def test_one_quality_score_has_a_mean_but_no_spread() -> None:
    arm = ArmStats.from_record({"success": False, "quality_score": 55})

    assert arm.quality_mean == 55.0 and arm.quality_std is None


def test_variance_rounding_below_zero_is_clamped() -> None:
    values = [0.1 + 1e6] * 50
    arm = ArmStats.from_records({"success": True, "quality_score": v} for v in values)

    assert arm.quality_var is not None and arm.quality_var >= 0.0


def test_to_dict_round_trips_through_json() -> None:
    arm = ArmStats.from_records(RECORDS)

    again = ArmStats.from_dict(json.loads(json.dumps(arm.to_dict(), allow_nan=False)))

    assert again == arm


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": -1},
        {"n": 3, "successes": 4},
        {"n": 3, "quality_count": 4},
        {"n": 1, "tokens_count": 2},
        {"n": 1, "latency_count": 2},
        {"n": True},
        {"n": 2.5},
        {"n": "3"},
        {"quality_sum": float("nan")},
        {"quality_sumsq": -1.0},
        {"tokens_sum": -5.0},
        {"latency_sum": float("inf")},
    ],
)
def test_misuse_raises_usage_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ArmStats(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"success": 1},
        {"success": True, "quality_score": "high"},
        {"success": True, "tokens": True},
    ],
)
def test_bad_record_raises_usage_error(record: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ArmStats.from_record(record)


def test_adding_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ArmStats() + 1  # type: ignore[operator]


# Values that are multiples of 1/4 and small add exactly in floating point, so shard sums must
# equal the one-pass fold bit for bit, whatever the grouping.
_exact = st.integers(min_value=0, max_value=400).map(lambda k: k / 4)
_record = st.fixed_dictionaries(
    {"success": st.booleans()},
    optional={
        "quality_score": _exact,
        "tokens": st.integers(min_value=0, max_value=100_000),
        "latency_ms": _exact,
    },
)
_shard = st.lists(_record, max_size=20)


@given(_shard, _shard, _shard)
def test_addition_is_associative_and_matches_the_concatenated_fold(
    a: list[dict[str, object]], b: list[dict[str, object]], c: list[dict[str, object]]
) -> None:
    sa, sb, sc = (ArmStats.from_records(r) for r in (a, b, c))

    assert (sa + sb) + sc == sa + (sb + sc)
    assert (sa + sb) + sc == ArmStats.from_records(a + b + c)
    assert sa + ArmStats() == sa


_any_score = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(st.tuples(st.booleans(), _any_score), max_size=30), st.integers(0, 30))
def test_any_split_of_real_scores_agrees_to_rounding(
    rows: list[tuple[bool, float]], cut: int
) -> None:
    records = [{"success": s, "quality_score": q} for s, q in rows]

    split = ArmStats.from_records(records[:cut]) + ArmStats.from_records(records[cut:])
    whole = ArmStats.from_records(records)

    assert (split.n, split.successes, split.quality_count) == (
        whole.n,
        whole.successes,
        whole.quality_count,
    )
    assert math.isclose(split.quality_sum, whole.quality_sum, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(split.quality_sumsq, whole.quality_sumsq, rel_tol=1e-12, abs_tol=1e-7)
