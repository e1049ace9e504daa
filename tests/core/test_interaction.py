"""Interaction lines: the validator against the shipped JSON Schema, and making records."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import maia_git
from maia_git.core.interaction import (
    BLOB_PATTERN,
    FIELD_CHECKS,
    PROMPT_BLOB,
    REQUIRED,
    check_line,
    make_record,
    to_line,
)
from maia_git.errors import UsageError

SPEC = Path(maia_git.__file__).parent / "spec"
SCHEMA: dict[str, Any] = json.loads((SPEC / "interaction.schema.json").read_text("utf-8"))
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# ---- an independent reading of the schema file: only the keywords it uses, nothing assumed ----

_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": _is_number,
    "integer": lambda v: _is_number(v) and float(v).is_integer(),
}


def _calendar_date(value: Any) -> bool:
    try:
        date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return False
    return True


def _keyword_holds(key: str, rule: Any, value: Any) -> bool:
    if key in _ANNOTATIONS:
        return True
    if key == "$ref":
        target = SCHEMA
        for part in rule.removeprefix("#/").split("/"):
            target = target[part]
        return schema_valid(target, value)
    if key == "type":
        return bool(_TYPES[rule](value))
    if key == "enum":
        return any(value == e and type(value) is type(e) for e in rule)
    if key == "not":
        return not schema_valid(rule, value)
    if key in ("required", "properties", "additionalProperties"):
        return not isinstance(value, dict) or _object_keyword_holds(key, rule, value)
    if key in ("minimum", "maximum"):
        return not _is_number(value) or (value >= rule if key == "minimum" else value <= rule)
    if key in ("minLength", "pattern", "format"):
        return not isinstance(value, str) or _string_keyword_holds(key, rule, value)
    raise AssertionError(f"the schema uses {key!r}, which this test does not understand")


def _object_keyword_holds(key: str, rule: Any, value: dict[str, Any]) -> bool:
    if key == "required":
        return all(name in value for name in rule)
    if key == "properties":
        return all(schema_valid(rule[k], v) for k, v in value.items() if k in rule)
    return rule is True or set(value) <= set(SCHEMA["properties"])


def _string_keyword_holds(key: str, rule: Any, value: str) -> bool:
    if key == "minLength":
        return len(value) >= int(rule)
    if key == "pattern":
        # ECMA-262 patterns; these ones mean the same in Python once '$' cannot match before a
        # final newline, which the schema rules out separately (no control characters).
        return re.search(rule, value) is not None
    return rule != "date-time" or _calendar_date(value)


def schema_valid(schema: dict[str, Any], value: Any) -> bool:
    return all(_keyword_holds(key, rule, value) for key, rule in schema.items())


def _jsonschema_validator() -> Any:
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        return None
    cls = jsonschema.Draft202012Validator
    cls.check_schema(SCHEMA)
    return cls(SCHEMA, format_checker=cls.FORMAT_CHECKER)


# ---- sample lines ----

GOOD = {
    "minimal": {"ts": "2024-05-01T12:00:00Z", "user_id": "u1", "arm": "control", "success": False},
    "full": {
        "ts": "2024-05-01T12:00:00.123456Z",
        "user_id": "alice@example.com",
        "arm": "treatment",
        "success": True,
        "quality_score": 82.5,
        "tokens": 1234,
        "latency_ms": 812.25,
        "interaction_id": "7f9c-1",
    },
    "plus zero offset, nanoseconds": {
        "ts": "2024-05-01T23:59:59.123456789+00:00",
        "user_id": "用户",
        "arm": "control",
        "success": True,
    },
    "boundaries": {
        "ts": "2024-02-29T00:00:00Z",
        "user_id": "👩\u200d💻",
        "arm": "control",
        "success": True,
        "quality_score": 100,
        "tokens": 0,
        "latency_ms": 0,
    },
    "low quality, whole float tokens": {
        "ts": "2024-12-31T12:00:00Z",
        "user_id": "x",
        "arm": "treatment",
        "success": False,
        "quality_score": 0.0,
        "tokens": 12.0,
    },
    "extra fields": {
        "ts": "2024-05-01T12:00:00Z",
        "user_id": "u",
        "arm": "control",
        "success": True,
        "model": "any",
        "meta": {"k": [1, None]},
    },
}

_BASE = GOOD["minimal"]
_BAD_VALUES: list[tuple[str, Any]] = [
    ("ts", "2024-05-01 12:00:00Z"),
    ("ts", "2024-05-01T12:00:00"),
    ("ts", "2024-05-01T12:00:00+02:00"),
    ("ts", "2024-05-01T12:00:00-00:00"),
    ("ts", "2024-05-01T12:00:00z"),
    ("ts", "2024-13-01T00:00:00Z"),
    ("ts", "2024-05-01T24:00:00Z"),
    ("ts", "2024-05-01T12:00:00Z\n"),
    ("ts", "2024-05-01T12:00:00.Z"),
    ("ts", 1714564800),
    ("user_id", ""),
    ("user_id", "a\nb"),
    ("user_id", "tab\t"),
    ("user_id", "c1\x85"),
    ("user_id", 5),
    ("user_id", None),
    ("arm", "Control"),
    ("arm", ""),
    ("arm", None),
    ("arm", 0),
    ("success", "true"),
    ("success", 1),
    ("success", None),
    ("quality_score", -0.1),
    ("quality_score", 100.5),
    ("quality_score", "50"),
    ("quality_score", True),
    ("quality_score", None),
    ("tokens", -1),
    ("tokens", 1.5),
    ("tokens", True),
    ("tokens", "3"),
    ("latency_ms", -0.001),
    ("latency_ms", "1"),
    ("latency_ms", False),
    ("interaction_id", ""),
    ("interaction_id", "a\tb"),
    ("interaction_id", 7),
]
BAD: dict[str, Any] = {f"{k}={v!r}": {**_BASE, k: v} for k, v in _BAD_VALUES}
BAD |= {f"without {k}": {f: v for f, v in _BASE.items() if f != k} for k in REQUIRED}
BAD |= {"a list": [_BASE], "a string": "x", "a number": 5, "null": None}
# Valid by pattern, but not a day of the calendar: only a date-time format check catches it.
CALENDAR_BAD = {"February 30": {**_BASE, "ts": "2024-02-30T00:00:00Z"}}
BAD |= CALENDAR_BAD


@pytest.mark.parametrize("name", GOOD)
def test_good_lines_pass_both_the_validator_and_the_schema(name: str) -> None:
    assert check_line(GOOD[name]) is None
    assert schema_valid(SCHEMA, GOOD[name])


@pytest.mark.parametrize("name", BAD)
def test_bad_lines_fail_both_the_validator_and_the_schema(name: str) -> None:
    problem = check_line(BAD[name])

    assert problem is not None and "\n" not in problem
    assert not schema_valid(SCHEMA, BAD[name])


JSONSCHEMA = _jsonschema_validator()
# Without rfc3339-validator, jsonschema skips "format" and cannot see a day that does not exist.
FORMAT_CHECKED = JSONSCHEMA is not None and "date-time" in JSONSCHEMA.format_checker.checkers


def test_jsonschema_agrees_when_it_is_installed() -> None:
    validator = JSONSCHEMA
    if validator is None:
        pytest.skip("jsonschema is not installed; the structure test and the reading above apply")
    for name, line in GOOD.items():
        assert validator.is_valid(line), name
    for name, line in BAD.items():
        if name not in CALENDAR_BAD or FORMAT_CHECKED:
            assert not validator.is_valid(line), name


def test_schema_structure_matches_the_validator() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["type"] == "object"
    assert tuple(SCHEMA["required"]) == REQUIRED
    # prompt_blob is checked apart from the plain fields: against the experiment's pins too
    assert set(SCHEMA["properties"]) == set(FIELD_CHECKS) | {PROMPT_BLOB}
    assert SCHEMA["properties"][PROMPT_BLOB]["pattern"] == f"^{BLOB_PATTERN.pattern}$".replace(
        "(?:", "("
    )
    assert SCHEMA["additionalProperties"] is True
    # Which names are arms is the experiment's (check_line with it); the schema fixes the form.
    assert SCHEMA["properties"]["arm"]["pattern"] == "^[a-z][a-z0-9_]{0,31}$"
    assert SCHEMA["properties"]["quality_score"] | {"description": ""} == {
        "description": "",
        "type": "number",
        "minimum": 0,
        "maximum": 100,
    }
    assert SCHEMA["properties"]["tokens"]["type"] == "integer"


def test_messages_name_the_field_and_the_problem() -> None:
    assert (
        check_line({**_BASE, "tokens": -1})
        == "tokens must be an integer from 0 to 9007199254740991"
    )
    assert check_line({"ts": "2024-05-01T12:00:00Z"}) == "missing required field 'user_id'"
    assert check_line([]) == "not a JSON object"
    assert "calendar" in str(check_line(CALENDAR_BAD["February 30"]))
    assert "U+000A" in str(check_line({**_BASE, "user_id": "a\nb"}))


def test_a_lone_surrogate_user_id_is_refused_beyond_what_the_schema_can_say() -> None:
    # json.loads turns the escape "\ud800" into a str no UTF-8 writer could have produced.
    assert "Unicode" in str(
        check_line(
            json.loads(
                '{"ts":"2024-05-01T12:00:00Z","user_id":"\\ud800","arm":"control","success":true}'
            )
        )
    )


def _vector_rows() -> list[dict[str, str]]:
    with (SPEC / "assignment-vectors.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))[::97]


@pytest.mark.parametrize("row", _vector_rows(), ids=lambda r: f"{r['experiment_id']}-{r['bucket']}")
def test_the_arm_must_equal_the_assignment_when_the_experiment_is_known(
    row: dict[str, str],
) -> None:
    right = {**_BASE, "user_id": row["user_id"], "arm": row["arm"]}
    wrong = {**right, "arm": "treatment" if row["arm"] == "control" else "control"}

    assert check_line(right, row["experiment_id"]) is None
    assert "assignment" in str(check_line(wrong, row["experiment_id"]))
    assert check_line(wrong) is None  # without the experiment, only the schema applies


def test_the_arm_check_follows_the_control_share() -> None:
    line = {**_BASE, "user_id": "alice"}

    assert check_line({**line, "arm": "control"}, "exp_001", control_share=1.0) is None
    assert check_line({**line, "arm": "treatment"}, "exp_001", control_share=0.0) is None
    assert check_line({**line, "arm": "control"}, "exp_001", control_share=0.0) is not None


# ---- hypothesis: the validator and the schema agree on any object ----

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(-10, 200, allow_nan=False),
    st.sampled_from(["control", "treatment", "", "2024-05-01T12:00:00Z", "2023-02-29T01:02:03Z"]),
    _text,
    st.lists(st.integers(), max_size=2),
)
_fields = st.sampled_from([*FIELD_CHECKS, "extra"])


@given(st.dictionaries(_fields, _values, max_size=9), st.sets(_fields), st.booleans())
def test_the_validator_and_the_schema_agree_on_any_object(
    changes: dict[str, Any], removed: set[str], start_valid: bool
) -> None:
    obj = {**(GOOD["full"] if start_valid else {}), **changes}
    for name in removed - set(changes):
        obj.pop(name, None)

    valid = check_line(obj) is None
    assert valid == schema_valid(SCHEMA, obj)
    if FORMAT_CHECKED:
        assert valid == JSONSCHEMA.is_valid(obj)


# ---- making records ----


def _md5_arm(experiment_id: str, user_id: str) -> str:
    digest = hashlib.md5(f"{experiment_id}:{user_id}".encode()).digest()
    return "control" if int.from_bytes(digest[:8], "big") % 10000 < 5000 else "treatment"


def test_a_record_is_one_compact_utf8_line_in_field_order() -> None:
    record = make_record(
        "exp_001",
        "José",
        success=True,
        now=datetime(2024, 5, 1, 14, 0, 0, 250, tzinfo=timezone(timedelta(hours=2))),
        quality_score=82.5,
        tokens=10,
        latency_ms=5,
        interaction_id="i-1",
    )

    assert to_line(record) == (
        '{"ts":"2024-05-01T12:00:00.000250Z","user_id":"José","arm":"'
        + _md5_arm("exp_001", "José")
        + '","success":true,"quality_score":82.5,"tokens":10,"latency_ms":5,'
        '"interaction_id":"i-1"}\n'
    )
    assert check_line(record, "exp_001") is None


def test_optional_fields_left_out_are_not_written() -> None:
    record = make_record("exp_001", "bob", success=False, now=NOW)

    assert record == {
        "ts": "2024-05-01T12:00:00.000000Z",
        "user_id": "bob",
        "arm": _md5_arm("exp_001", "bob"),
        "success": False,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quality_score", -0.5, "quality"),
        ("quality_score", 100.01, "quality"),
        ("quality_score", math.nan, "quality"),
        ("quality_score", math.inf, "quality"),
        ("quality_score", True, "quality"),
        ("quality_score", "80", "quality"),
        ("tokens", -1, "tokens"),
        ("tokens", True, "tokens"),
        ("tokens", 1.0, "tokens"),
        ("latency_ms", -1, "latency"),
        ("latency_ms", math.nan, "latency"),
        ("latency_ms", math.inf, "latency"),
        ("latency_ms", False, "latency"),
        ("interaction_id", "", "interaction id"),
        ("interaction_id", "a\nb", "interaction id"),
        ("success", 1, "success"),
        ("success", "yes", "success"),
        ("user_id", "", "user id"),
        ("user_id", "a\tb", "user id"),
        ("user_id", "\x7f", "user id"),
        ("arm", "Control", "arm"),
    ],
)
def test_bad_record_input_is_refused_clearly(field: str, value: Any, message: str) -> None:
    kwargs: dict[str, Any] = {"user_id": "alice", "success": True, "now": NOW, field: value}

    with pytest.raises(UsageError, match=f"^invalid {message} ") as raised:
        make_record("exp_001", **kwargs)

    assert "\n" not in str(raised.value)


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(UsageError) as raised:
        make_record("exp_001", "x" * 5000 + "\n", success=True, now=NOW)

    assert len(str(raised.value)) < 200 and "U+000A" in str(raised.value)


def test_an_arm_that_disagrees_with_the_assignment_is_refused() -> None:
    assigned = _md5_arm("exp_001", "alice")
    other = "treatment" if assigned == "control" else "control"

    assert make_record("exp_001", "alice", success=True, now=NOW, arm=assigned)["arm"] == assigned
    with pytest.raises(UsageError, match=f"disagrees with the assignment.*{assigned}"):
        make_record("exp_001", "alice", success=True, now=NOW, arm=other)


def test_bad_experiment_share_or_clock_is_refused() -> None:
    with pytest.raises(UsageError, match="experiment id"):
        make_record("Bad Id", "alice", success=True, now=NOW)
    with pytest.raises(UsageError, match="control share"):
        make_record("exp_001", "alice", success=True, now=NOW, control_share=2)
    with pytest.raises(UsageError, match="time zone"):
        make_record("exp_001", "alice", success=True, now=datetime(2024, 5, 1))


def test_a_line_never_holds_nan() -> None:
    with pytest.raises(ValueError):
        to_line({"quality_score": math.nan})


@given(
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30),
    st.booleans(),
    st.none() | st.floats(0, 100),
    st.none() | st.integers(0, 10**12),
    st.none() | st.floats(0, 1e9),
    st.datetimes(timezones=st.just(UTC)),
)
def test_every_record_made_is_a_valid_line(
    user: str,
    success: bool,
    quality: float | None,
    tokens: int | None,
    latency: float | None,
    now: datetime,
) -> None:
    record = make_record(
        "exp_001",
        user,
        success=success,
        now=now,
        quality_score=quality,
        tokens=tokens,
        latency_ms=latency,
    )
    line = to_line(record)

    assert line.endswith("\n") and line.count("\n") == 1
    parsed = json.loads(line)
    assert parsed == record
    assert check_line(parsed, "exp_001") is None
    assert schema_valid(SCHEMA, parsed)


def test_prompt_blob_is_optional_a_blob_id_and_with_pins_the_arm_s_pin() -> None:
    control, treatment = "a" * 40, "b" * 64
    pins = {"control": control, "treatment": treatment}
    line = {**_BASE, "arm": "control"}
    assert check_line(line, pins=pins) is None  # absent: allowed
    assert check_line({**line, PROMPT_BLOB: control}, pins=pins) is None
    assert check_line({**line, PROMPT_BLOB: "A" * 40}) == (
        "prompt_blob must be a git blob id (40 or 64 lower-case hex digits)"
    )
    assert check_line({**line, PROMPT_BLOB: treatment}) is None  # no pins: the form only
    assert check_line({**line, PROMPT_BLOB: treatment}, pins=pins) == (
        "prompt_blob bbbbbbbbbbbb is not the control prompt pinned when the experiment started "
        "(aaaaaaaaaaaa): the user was served another text"
    )
    record = make_record("exp_001", "u", success=True, now=NOW, prompt_blobs=pins)
    assert record[PROMPT_BLOB] == pins[record["arm"]]
