"""One interaction-log line: validating a line someone wrote, and making one to record.

Each field's check is derived from the table of field rules in ``core.fields``, from which the
published schema (``maia_git/spec/interaction.schema.json``) and the column checks of the fast
reader are derived too; checking a million lines needs no jsonschema and stays fast. Fields the
schema does not name are allowed and ignored, so a newer writer's extra field never makes an older
reader drop the line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from maia_git.core import assign, fields
from maia_git.core.assign import ARM_NAME, Split, arm_names, user_id_problem
from maia_git.core.fields import BLOB_PATTERN as BLOB_PATTERN  # read from here by older code
from maia_git.core.fields import FIELDS, Field, bound
from maia_git.core.fields import MAX_LATENCY_MS as MAX_LATENCY_MS
from maia_git.core.fields import MAX_TOKENS as MAX_TOKENS
from maia_git.core.fields import REQUIRED as REQUIRED
from maia_git.core.fields import TS_PATTERN as TS_PATTERN
from maia_git.errors import UsageError

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _is_number(value: Any) -> bool:
    # JSON true/false are not numbers, but Python's bool is an int.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ts_problem(value: Any) -> str | None:
    match = TS_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return "must be an RFC 3339 UTC timestamp like 2024-05-01T12:00:00Z"
    if match[3] > "28":  # the pattern already bounds the day by 31; only these days need a calendar
        try:
            date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return f"{value!r} is not a calendar date"
    return None


def _arm_problem(value: Any) -> str | None:
    # Which names are arms depends on the experiment (``arm_problem``); the form is fixed.
    if isinstance(value, str) and ARM_NAME.fullmatch(value):
        return None
    return "must be control or treatment (or a treatment's name, with several treatments)"


def arm_problem(value: Any, split: Split) -> str | None:
    """Why ``value`` is not an arm of an experiment split by ``split``, or None."""
    names = arm_names(split)
    if isinstance(value, str) and value in names:
        return None
    if len(names) == 2:
        return "must be control or treatment"
    return "must be one of " + ", ".join(names)


def _success_problem(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _number_rule(f: Field) -> Callable[[Any], str | None]:
    low, high = f.low, f.high
    assert low is not None and high is not None
    message = f"must be a number from {bound(low)} to {bound(high)}"

    def problem(value: Any) -> str | None:
        return None if _is_number(value) and low <= value <= high else message

    return problem


def _integer_rule(f: Field) -> Callable[[Any], str | None]:
    low, high = f.low, f.high
    assert low is not None and high is not None
    message = f"must be an integer from {bound(low)} to {bound(high)}"

    def problem(value: Any) -> str | None:
        # JSON Schema's "integer" is a mathematical integer, so a line holding 12.0 is valid.
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if _is_number(value) and integral and low <= value <= high else message

    return problem


def _recorded_tokens_problem(value: Any) -> str | None:
    # What we write ourselves is a Python int, never 12.0.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return None
    return f"must be an integer from 0 to {MAX_TOKENS}"


def _blob_problem(value: Any) -> str | None:
    if isinstance(value, str) and BLOB_PATTERN.fullmatch(value):
        return None
    return "must be a git blob id (40 or 64 lower-case hex digits)"


_RULES: dict[str, Callable[[Field], Callable[[Any], str | None]]] = {
    fields.TIMESTAMP: lambda f: _ts_problem,
    # Text (user ids, interaction ids): non-empty, no control characters, encodable as UTF-8.
    fields.TEXT: lambda f: user_id_problem,
    fields.ARM: lambda f: _arm_problem,
    fields.BOOLEAN: lambda f: _success_problem,
    fields.NUMBER: _number_rule,
    fields.INTEGER: _integer_rule,
    fields.BLOB: lambda f: _blob_problem,
}
# Each field's check, derived from the table in ``core.fields``.
FIELD_CHECKS: dict[str, Callable[[Any], str | None]] = {f.name: _RULES[f.kind](f) for f in FIELDS}
_quality_problem = FIELD_CHECKS["quality_score"]
_latency_problem = FIELD_CHECKS["latency_ms"]


# The git blob id of the prompt the runtime served. Like the arm, it is also checked against the
# experiment (it must be the pin of the line's arm), so it is kept apart from the plain fields.
PROMPT_BLOB = "prompt_blob"


def check_line(
    obj: Any,
    experiment_id: str | None = None,
    control_share: Split = 0.5,
    pins: Mapping[str, str] | None = None,
) -> str | None:
    """Why a parsed log line breaks the schema, or None if it is valid.

    With ``experiment_id``, the arm must also be one of the experiment's (``control_share``:
    its control share, or the Arms of one with several treatments) and equal the user's
    assignment; with ``pins``
    (``{arm: blob id}``), a ``prompt_blob`` must be the pinned prompt of the line's arm.
    """
    if not isinstance(obj, dict):
        return "not a JSON object"
    for name in REQUIRED:
        if name not in obj:
            return f"missing required field {name!r}"
    for name, problem_of in FIELD_CHECKS.items():
        if name in obj:
            problem = problem_of(obj[name])
            if problem:
                return f"{name} {problem}"
    if experiment_id is not None:
        problem = arm_problem(obj["arm"], control_share)
        if problem:
            return f"arm {problem}"
        expected = assign.arm_of(experiment_id, obj["user_id"], control_share)
        if obj["arm"] != expected:
            return f"arm {obj['arm']} is not the assignment of this user ({expected})"
    # A prompt_blob's form is checked above; here, that it is the pin of its arm.
    if PROMPT_BLOB in obj and pins and obj[PROMPT_BLOB] != pins.get(obj["arm"]):
        return blob_mismatch(obj["arm"], obj[PROMPT_BLOB], pins.get(obj["arm"]))
    return None


def blob_mismatch(arm: str, served: str, pinned: str | None) -> str:
    return (
        f"prompt_blob {served[:12]} is not the {arm} prompt pinned when the experiment "
        f"started ({(pinned or 'none')[:12]}): the user was served another text"
    )


def format_ts(now: datetime) -> str:
    """``now`` as an RFC 3339 UTC timestamp with microseconds."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise UsageError("the time of an interaction must carry a time zone")
    return now.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def _checked(name: str, value: Any, problem_of: Callable[[Any], str | None]) -> Any:
    problem = problem_of(value)
    if problem:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:76] + "..."
        raise UsageError(f"invalid {name} {shown}: {problem}")
    return value


def make_record(
    experiment_id: str,
    user_id: str,
    *,
    success: bool,
    now: datetime,
    control_share: Split = 0.5,
    arm: str | None = None,
    quality_score: float | None = None,
    tokens: int | None = None,
    latency_ms: float | None = None,
    interaction_id: str | None = None,
    prompt_blobs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The log record of one interaction; bad input raises UsageError (exit 2).

    The arm is the user's assignment; ``arm`` (the CLI's ``--arm``), if given, must agree.
    ``prompt_blobs`` (``{arm: pinned blob id}``) fills in ``prompt_blob``: what was served.
    """
    _checked("user id", user_id, user_id_problem)
    if arm is not None:
        _checked("arm", arm, lambda value: arm_problem(value, control_share))
    assigned = assign.arm_of(experiment_id, user_id, control_share)
    if arm is not None and arm != assigned:
        raise UsageError(
            f"arm {arm!r} disagrees with the assignment of user {user_id!r} "
            f"in {experiment_id}: {assigned}"
        )
    record: dict[str, Any] = {
        "ts": format_ts(now),
        "user_id": user_id,
        "arm": assigned,
        "success": _checked("success", success, _success_problem),
    }
    optional = (
        ("quality_score", "quality", quality_score, _quality_problem),
        ("tokens", "tokens", tokens, _recorded_tokens_problem),
        ("latency_ms", "latency", latency_ms, _latency_problem),
        ("interaction_id", "interaction id", interaction_id, user_id_problem),
    )
    for field, shown, value, problem_of in optional:
        if value is not None:
            record[field] = _checked(shown, value, problem_of)
    if prompt_blobs and assigned in prompt_blobs:
        record[PROMPT_BLOB] = prompt_blobs[assigned]
    return record


def to_line(record: dict[str, Any]) -> str:
    """One compact JSON line, newline included (UTF-8 kept as is; NaN refused)."""
    return _ENCODER.encode(record) + "\n"
