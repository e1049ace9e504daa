"""Assignment: the shipped vectors, the split, bad input, and properties that hold for all ids."""

from __future__ import annotations

import csv
import hashlib
import runpy
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import maia_git
from maia_git.core.assign import CONTROL, TREATMENT, arm, assign_many, bucket, check_user_id
from maia_git.core.ids import is_valid_id
from maia_git.errors import UsageError

SPEC = Path(maia_git.__file__).parent / "spec"
VECTORS = SPEC / "assignment-vectors.csv"
MAKE_VECTORS = Path(maia_git.__file__).parent.parent / "scripts" / "make_vectors.py"


def _vectors() -> list[dict[str, str]]:
    with VECTORS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _independent_bucket(experiment_id: str, user_id: str) -> int:
    digest = hashlib.md5(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000


# Ids the assignment must accept: printable or not, they hold no control character.
valid_users = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=60)
experiment_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True).filter(is_valid_id)


def test_the_code_agrees_with_every_vector() -> None:
    rows = _vectors()

    wrong = [
        row
        for row in rows
        if bucket(row["experiment_id"], row["user_id"]) != int(row["bucket"])
        or arm(row["experiment_id"], row["user_id"]) != row["arm"]
    ]

    assert len(rows) >= 1000
    assert wrong == []


def test_batch_assignment_agrees_with_every_vector() -> None:
    rows = _vectors()
    by_experiment: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_experiment.setdefault(row["experiment_id"], []).append(row)

    for experiment_id, group in by_experiment.items():
        got = list(assign_many(experiment_id, (row["user_id"] for row in group), 0.5))
        assert got == [(row["user_id"], row["arm"]) for row in group]


def test_vectors_cover_the_hard_cases() -> None:
    users = {row["user_id"] for row in _vectors()}

    assert any(not u.isascii() and "é" in u for u in users)  # accents
    assert any("\u0301" in u for u in users)  # a decomposed accent
    assert any("\u4e00" <= c <= "\u9fff" for u in users for c in u)  # CJK
    assert any(ord(c) > 0xFFFF for u in users for c in u)  # emoji, beyond the BMP
    assert any("@" in u for u in users)  # emails
    assert any(len(u) >= 500 for u in users)  # long ids
    assert any("," in u for u in users) and any('"' in u for u in users)  # CSV quoting


def test_vectors_file_is_what_the_independent_script_writes() -> None:
    render = runpy.run_path(str(MAKE_VECTORS))["render"]

    assert VECTORS.read_text(encoding="utf-8") == render()


def test_control_gets_half_of_100000_users_within_one_percent() -> None:
    users = (f"user-{i}" for i in range(100_000))

    counts = Counter(a for _, a in assign_many("exp_001", users))

    assert abs(counts[CONTROL] / 100_000 - 0.5) < 0.01
    assert counts[CONTROL] + counts[TREATMENT] == 100_000


def test_a_control_share_of_20_percent_splits_near_20_percent() -> None:
    users = [f"{i}@example.com" for i in range(50_000)]

    counts = Counter(a for _, a in assign_many("checkout-flow", users, control_share=0.2))

    assert abs(counts[CONTROL] / 50_000 - 0.2) < 0.01
    assert [a for _, a in assign_many("checkout-flow", users[:200], 0.2)] == [
        arm("checkout-flow", u, 0.2) for u in users[:200]
    ]


def test_shares_of_zero_and_one_put_everyone_in_one_arm() -> None:
    users = [f"u{i}" for i in range(2000)]

    assert {a for _, a in assign_many("exp_001", users, 0)} == {TREATMENT}
    assert {a for _, a in assign_many("exp_001", users, 1)} == {CONTROL}


@pytest.mark.parametrize(
    "user_id",
    ["", "line\nbreak", "tab\there", "\r", "nul\x00", "del\x7f", "c1\x85", "c1\x9f", "\ud800"],
)
def test_bad_user_ids_are_refused(user_id: str) -> None:
    with pytest.raises(UsageError, match="invalid user id"):
        check_user_id(user_id)
    with pytest.raises(UsageError):
        arm("exp_001", user_id)
    with pytest.raises(UsageError):
        list(assign_many("exp_001", [user_id]))


def test_batch_assignment_yields_the_users_before_a_bad_one_then_stops() -> None:
    users = iter(["alice", "bob", "bad\nid", "carol"])
    got = []

    with pytest.raises(UsageError, match="U\\+000A"):
        for pair in assign_many("exp_001", users):
            got.append(pair)

    assert [u for u, _ in got] == ["alice", "bob"]
    assert next(users) == "carol"  # streamed: nothing read ahead


@pytest.mark.parametrize("user_id", ["👩\u200d💻", "non\u00a0breaking", "\u2028", "é", " "])
def test_unprintable_but_legal_ids_take_the_slow_path_and_pass(user_id: str) -> None:
    assert list(assign_many("exp_001", [user_id])) == [(user_id, arm("exp_001", user_id))]


@pytest.mark.parametrize("share", [-0.1, 1.01, float("nan"), True, "0.5", None])
def test_bad_control_shares_are_refused(share: object) -> None:
    with pytest.raises(UsageError, match="control share"):
        arm("exp_001", "alice", share)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="control share"):
        assign_many("exp_001", ["alice"], share)  # type: ignore[arg-type]


@pytest.mark.parametrize("experiment_id", ["", "Exp_001", "exp 1", "head", "2024-01-01"])
def test_bad_experiment_ids_are_refused(experiment_id: str) -> None:
    with pytest.raises(UsageError, match="experiment id"):
        bucket(experiment_id, "alice")


@given(experiment_ids, valid_users)
def test_bucket_is_in_range_and_matches_an_independent_md5(experiment_id: str, user: str) -> None:
    b = bucket(experiment_id, user)

    assert 0 <= b < 10000
    assert b == _independent_bucket(experiment_id, user)


@given(experiment_ids, valid_users, st.floats(0, 1))
def test_arm_is_deterministic_and_follows_the_bucket(
    experiment_id: str, user: str, share: float
) -> None:
    first = arm(experiment_id, user, share)

    assert arm(experiment_id, user, share) == first
    assert list(assign_many(experiment_id, [user], share)) == [(user, first)]
    expected = CONTROL if bucket(experiment_id, user) < round(share * 10000) else TREATMENT
    assert first == expected


@given(valid_users, st.characters(categories=["Cc"]), st.integers(0, 60))
def test_any_control_character_anywhere_is_refused(user: str, control: str, at: int) -> None:
    bad = user[:at] + control + user[at:]

    with pytest.raises(UsageError):
        list(assign_many("exp_001", ["fine", bad]))
