"""The order that picks which copy of a repeated interaction id counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia_git.core.repeats import copy_order, ts_micros


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)))
def test_micros_agree_with_datetime(moment: datetime) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    delta = moment.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    want = delta.days * 86400 + delta.seconds
    assert ts_micros(text) // 1_000_000 == want
    assert ts_micros(text) % 1_000_000 == moment.microsecond


def test_digits_beyond_micros_are_cut_and_a_leap_second_rolls_over() -> None:
    assert ts_micros("2026-01-01T00:00:00.1234569Z") == ts_micros("2026-01-01T00:00:00.123456Z")
    assert ts_micros("2026-06-30T23:59:60Z") == ts_micros("2026-07-01T00:00:00+00:00")
    with pytest.raises(ValueError):
        ts_micros("yesterday")


def test_earlier_ts_then_failure_then_absent_values_come_first() -> None:
    base = {"ts": "2026-01-01T00:00:01Z", "user_id": "u", "arm": "control", "success": True}
    earlier = {**base, "ts": "2026-01-01T00:00:00.999999Z"}
    failure = {**base, "success": False}
    scored = {**base, "quality_score": 0}
    ranked = sorted([scored, base, failure, earlier], key=lambda r: copy_order(r, "exp_001"))
    assert ranked == [earlier, failure, base, scored]
