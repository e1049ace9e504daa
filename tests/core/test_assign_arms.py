"""Assignment with more than one treatment: the same bucket cut into the arms' shares."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import maia_git
from maia_git.core.assign import arm, arm_among, bucket, cuts
from maia_git.errors import UsageError

VECTORS = Path(maia_git.__file__).parent / "spec" / "assignment-vectors.csv"


def test_two_arms_keep_the_published_vectors() -> None:
    with VECTORS.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    for row in rows:
        got = arm_among(row["experiment_id"], row["user_id"], ["control", "treatment"], [0.5, 0.5])
        assert got == row["arm"]


@given(st.text(min_size=1, max_size=30).filter(str.isprintable),
       st.integers(1, 9999).map(lambda b: b / 10000))  # fmt: skip
def test_two_arms_agree_with_the_two_arm_rule_for_any_share(user: str, share: float) -> None:
    names = ["control", "treatment"]
    assert arm_among("exp_001", user, names, [share, 1 - share]) == arm("exp_001", user, share)


def test_the_cuts_follow_the_shares_in_order() -> None:
    assert cuts([0.5, 0.5]) == [5000, 10000]
    assert cuts([0.4, 0.3, 0.3]) == [4000, 7000, 10000]
    assert cuts([1 / 3, 1 / 3, 1 / 3]) == [3333, 6667, 10000]
    assert cuts([0.1, 0.2, 0.3, 0.4]) == [1000, 3000, 6000, 10000]


def test_each_bucket_goes_to_the_arm_whose_range_holds_it() -> None:
    names = ["control", "treatment_1", "treatment_2"]
    for i in range(300):
        user = f"user_{i}"
        b = bucket("exp_007", user)
        expected = "control" if b < 4000 else "treatment_1" if b < 7000 else "treatment_2"
        assert arm_among("exp_007", user, names, [0.4, 0.3, 0.3]) == expected


def test_the_split_matches_the_shares() -> None:
    names = ["control", "a", "b", "c"]
    counts = Counter(arm_among("exp_002", f"u{i}", names, [0.4, 0.2, 0.2, 0.2])
                     for i in range(20000))  # fmt: skip
    for name, share in zip(names, [0.4, 0.2, 0.2, 0.2], strict=True):
        assert abs(counts[name] / 20000 - share) < 0.015


@pytest.mark.parametrize("shares", [[1.0], [0.5, 0.6], [0.0, 1.0], [0.5, "0.5"], [True, 0.5]])
def test_bad_shares_are_usage_errors(shares: list[object]) -> None:
    with pytest.raises(UsageError):
        cuts(shares)  # type: ignore[arg-type]


def test_a_share_per_arm() -> None:
    with pytest.raises(UsageError, match="3 arms need 3 shares"):
        arm_among("exp_001", "u", ["control", "a", "b"], [0.5, 0.5])
