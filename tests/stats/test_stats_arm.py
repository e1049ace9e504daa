"""ArmStats: an arm's four ratio metrics, folded from records per user, and read back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia_git.errors import UsageError
from maia_git.stats import ArmStats

RECORDS: list[dict[str, object]] = [
    {"user_id": "a", "success": True, "quality_score": 80, "tokens": 1200, "latency_ms": 900.5},
    {"user_id": "a", "success": False, "quality_score": 40.5},
    {"user_id": "b", "success": True, "tokens": 300},
    {"user_id": "c", "success": True, "quality_score": None, "latency_ms": 100},
]


def test_fold_counts_users_and_interactions() -> None:
    arm = ArmStats.from_records(RECORDS)

    assert (arm.users, arm.n, arm.successes) == (3, 4, 3)
    assert arm.rate == 0.75
    assert (arm.quality.units, arm.quality.den) == (1, 2)
    assert arm.quality.mean == pytest.approx(60.25)
    assert arm.tokens.mean == 750.0 and arm.tokens.units == 2
    assert arm.latency.mean == pytest.approx(500.25)
    # user a: x = 1 of y = 2; b and c: 1 of 1
    assert (arm.completion.num2, arm.completion.den2, arm.completion.numden) == (3, 6, 4)


def test_empty_arm_has_no_derived_values() -> None:
    data = json.loads(json.dumps(ArmStats().to_dict(), allow_nan=False))

    assert (data["users"], data["n"], data["rate"], data["quality_mean"]) == (0, 0, None, None)


def test_to_dict_and_from_dict_round_trip() -> None:
    arm = ArmStats.from_records(RECORDS)

    again = ArmStats.from_dict(json.loads(json.dumps(arm.to_dict(), allow_nan=False)))

    assert again == arm


@pytest.mark.parametrize(
    "record",
    [{"user_id": "a", "success": "yes"}, {"user_id": "a", "success": True, "tokens": "9"},
     {"user_id": "", "success": True}, {"success": True},
     {"user_id": "a", "success": True, "quality_score": True}],
)  # fmt: skip
def test_bad_records_raise_usage_error(record: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ArmStats.from_records([record])


@given(st.lists(st.tuples(st.integers(0, 9), st.booleans()), max_size=60), st.integers(0, 60))
def test_disjoint_users_add_and_the_order_of_records_does_not_matter(
    rows: list[tuple[int, bool]], cut: int
) -> None:
    records = [{"user_id": f"u{u}", "success": ok} for u, ok in rows]
    low = [r for r in records if int(str(r["user_id"])[1:]) < 5]
    high = [r for r in records if int(str(r["user_id"])[1:]) >= 5]

    whole = ArmStats.from_records(records)

    assert ArmStats.from_records(low) + ArmStats.from_records(high) == whole
    assert ArmStats.from_records(records[cut:] + records[:cut]) == whole
