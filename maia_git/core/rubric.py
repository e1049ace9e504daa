"""The quality rubric: the response it reads, the formula of each criterion, and the weights.

A response description has the fields listed in docs/scoring.md.
Each criterion earns 0-100 from parts whose points add up to 100; docs/scoring.md states every
formula and must change with this file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from maia_git.errors import UsageError

STATUS_POINTS = {"completed": 1.0, "partial": 0.5, "failed": 0.0}
EXPLANATION_POINTS = {"excellent": 1.0, "good": 0.75, "adequate": 0.5, "poor": 0.25}


@dataclass(frozen=True)
class Response:
    """A validated response description; None marks a field that was missing (or null)."""

    status: str | None = None
    requirements: tuple[str, ...] | None = None
    addressed_requirements: tuple[str, ...] | None = None
    validation_performed: bool | None = None
    edge_cases_considered: bool | None = None
    tools_used: tuple[str, ...] | None = None
    expected_tools: tuple[str, ...] | None = None
    systematic_planning: bool | None = None
    logical_breakdown: bool | None = None
    explanation_quality: str | None = None
    token_count: int | None = None
    execution_time_seconds: float | None = None


def show(value: object) -> str:
    """A value as the user wrote it (JSON spelling), cut short to keep messages on one line."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _wrong(name: str, expected: str, value: object) -> UsageError:
    return UsageError(f"response field {name!r} must be {expected}, got {show(value)}")


def _bool(data: Mapping[str, object], name: str) -> bool | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise _wrong(name, "true or false", value)


def _strings(data: Mapping[str, object], name: str) -> tuple[str, ...] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _wrong(name, "a list of strings", value)
    return tuple(value)


def _choice(data: Mapping[str, object], name: str, known: Mapping[str, float]) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and value in known):
        return value
    raise _wrong(name, f"one of {', '.join(known)}", value)


def _amount(data: Mapping[str, object], name: str, whole: bool) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    fraction = isinstance(value, float) and not value.is_integer()
    if _is_number(value) and value >= 0 and not (whole and fraction):
        return value
    raise _wrong(name, "a whole number >= 0" if whole else "a number >= 0", value)


def _is_number(value: object) -> TypeGuard[int | float]:
    """A JSON/YAML number: bool is an int to Python but not a number here; NaN and inf are out."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def validate_response(data: object) -> Response:
    """Check a response description; a field of the wrong type raises UsageError naming it.

    Missing fields (and JSON null) are kept as None, scored as not done; unknown fields are ignored.
    """
    if not isinstance(data, Mapping):
        raise UsageError(f"a response description must be a JSON object, got {show(data)}")
    tokens = _amount(data, "token_count", whole=True)
    return Response(
        status=_choice(data, "status", STATUS_POINTS),
        requirements=_strings(data, "requirements"),
        addressed_requirements=_strings(data, "addressed_requirements"),
        validation_performed=_bool(data, "validation_performed"),
        edge_cases_considered=_bool(data, "edge_cases_considered"),
        tools_used=_strings(data, "tools_used"),
        expected_tools=_strings(data, "expected_tools"),
        systematic_planning=_bool(data, "systematic_planning"),
        logical_breakdown=_bool(data, "logical_breakdown"),
        explanation_quality=_choice(data, "explanation_quality", EXPLANATION_POINTS),
        token_count=None if tokens is None else int(tokens),
        execution_time_seconds=_amount(data, "execution_time_seconds", whole=False),
    )


@dataclass(frozen=True)
class Budgets:
    """What a response may spend before the efficiency criterion starts to take points off."""

    token_count: float = 2000
    execution_time_seconds: float = 30.0


@dataclass(frozen=True)
class Part:
    """One part of a criterion: its points (of the criterion's 100), the fraction of them earned,
    and, when not all were earned, what cost them."""

    points: int
    earned: float
    shortfall: str = ""


Formula = Callable[[Response, Budgets], tuple[Part, ...]]


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    return ", ".join(shown[:5]) + more


def _missing(points: int, *fields: str) -> Part:
    verb = "is" if len(fields) == 1 else "are"
    return Part(points, 0.0, f"{' and '.join(fields)} {verb} missing, counted as not done")


def _flag(value: bool | None, points: int, name: str, shortfall: str) -> Part:
    if value is None:
        return _missing(points, name)
    return Part(points, 1.0, "") if value else Part(points, 0.0, shortfall)


def _requirements(r: Response) -> Part:
    absent = [n for n in ("requirements", "addressed_requirements") if getattr(r, n) is None]
    if r.requirements is None or r.addressed_requirements is None:
        return _missing(50, *absent)
    wanted = set(r.requirements)
    missed = wanted - set(r.addressed_requirements)
    if not missed:  # also when nothing was required: there was nothing left undone
        return Part(50, 1.0)
    done = len(wanted) - len(missed)
    return Part(
        50,
        done / len(wanted),
        f"addressed {done} of {len(wanted)} requirements (not addressed: {_listing(missed)})",
    )


def _status(r: Response) -> Part:
    if r.status is None:
        return _missing(20, "status")
    earned = STATUS_POINTS[r.status]
    return Part(20, earned, "" if earned == 1 else f"status is {r.status!r}, not 'completed'")


def task_completion(r: Response, budgets: Budgets) -> tuple[Part, ...]:
    return (
        _requirements(r),
        _status(r),
        _flag(r.validation_performed, 15, "validation_performed", "no validation was performed"),
        _flag(
            r.edge_cases_considered, 15, "edge_cases_considered", "edge cases were not considered"
        ),
    )


def tool_accuracy(r: Response, budgets: Budgets) -> tuple[Part, ...]:
    if r.tools_used is None or r.expected_tools is None:
        absent = [n for n in ("tools_used", "expected_tools") if getattr(r, n) is None]
        return (_missing(100, *absent),)
    # Multisets: calling an expected tool more often than expected is redundant, and a tool
    # expected twice but called once is missing once. Score = |used ∩ expected| / |used ∪ expected|.
    used, expected = Counter(r.tools_used), Counter(r.expected_tools)
    union = sum((used | expected).values())
    if union == 0:
        return (Part(100, 1.0),)
    missing, redundant = expected - used, used - expected
    problems = [f"expected tools not used ({_listing(missing.elements())})"] if missing else []
    problems += [f"redundant tool calls ({_listing(redundant.elements())})"] if redundant else []
    return (Part(100, sum((used & expected).values()) / union, "; ".join(problems)),)


def decomposition(r: Response, budgets: Budgets) -> tuple[Part, ...]:
    return (
        _flag(r.systematic_planning, 50, "systematic_planning", "no systematic planning"),
        _flag(r.logical_breakdown, 50, "logical_breakdown", "no logical breakdown"),
    )


def response_quality(r: Response, budgets: Budgets) -> tuple[Part, ...]:
    quality = r.explanation_quality
    if quality is None:
        return (_missing(100, "explanation_quality"),)
    earned = EXPLANATION_POINTS[quality]
    return (Part(100, earned, "" if earned == 1 else f"explanation quality is {quality!r}"),)


def _within(value: float | None, budget: float, name: str, spent: str) -> Part:
    if value is None:
        return _missing(50, name)
    if value <= budget:
        return Part(50, 1.0)
    # A straight line from full marks at the budget down to nothing at twice the budget; written
    # (2b - v) / b rather than 2 - v / b so that round fractions of the budget come out exact.
    earned = 0.0 if value >= 2 * budget else (2 * budget - value) / budget
    return Part(50, earned, f"{spent}, over the budget of {budget:g}")


def efficiency(r: Response, budgets: Budgets) -> tuple[Part, ...]:
    tokens, seconds = r.token_count, r.execution_time_seconds
    return (
        _within(tokens, budgets.token_count, "token_count", f"used {tokens} tokens"),
        _within(
            seconds, budgets.execution_time_seconds, "execution_time_seconds", f"took {seconds} s"
        ),
    )


FORMULAS: dict[str, Formula] = {
    "task_completion": task_completion,
    "tool_accuracy": tool_accuracy,
    "decomposition": decomposition,
    "response_quality": response_quality,
    "efficiency": efficiency,
}
DEFAULT_WEIGHTS = {
    "task_completion": 40,
    "tool_accuracy": 20,
    "decomposition": 20,
    "response_quality": 15,
    "efficiency": 5,
}


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: float
    formula: Formula


@dataclass(frozen=True)
class Rubric:
    """Weighted criteria; weights are positive and add up to 100 or to 1 (fractions)."""

    criteria: tuple[Criterion, ...]
    budgets: Budgets = field(default_factory=Budgets)

    def __post_init__(self) -> None:
        if not self.criteria:
            raise UsageError("a rubric needs at least one criterion")
        names = [c.name for c in self.criteria]
        if len(set(names)) < len(names):
            raise UsageError(f"a rubric names a criterion twice: {', '.join(names)}")
        for criterion in self.criteria:
            _positive(criterion.weight, f"rubric weight for {criterion.name!r}")
        total = self.total_weight
        if not any(math.isclose(total, goal, rel_tol=1e-9, abs_tol=1e-9) for goal in (100, 1)):
            raise UsageError(f"rubric weights must add up to 100 (or to 1), got {total:g}")

    @property
    def total_weight(self) -> float:
        return math.fsum(c.weight for c in self.criteria)


def _positive(value: object, what: str) -> float:
    if not _is_number(value):
        raise UsageError(f"{what} must be a finite number, got {show(value)}")
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {show(value)}")
    try:
        return float(value)
    except OverflowError:
        raise UsageError(f"{what} is too large, got {show(value)}") from None


def _section(data: object, what: str, kind: str, known: Iterable[str]) -> Mapping[object, object]:
    if not isinstance(data, Mapping):
        raise UsageError(f"{what} must be a mapping, got {show(data)}")
    names = list(known)
    for key in data:
        if key not in names:
            shown = repr(key) if isinstance(key, str) else show(key)
            raise UsageError(f"unknown {kind} {shown} in {what} (known: {', '.join(names)})")
    return data


def _budgets(data: object) -> Budgets:
    known = ("token_count", "execution_time_seconds")
    section = _section(data, "rubric budgets", "budget", known)
    values = {str(k): _positive(v, f"rubric budget {k!r}") for k, v in section.items()}
    return Budgets(**values)


def parse_rubric(data: Mapping[str, object]) -> Rubric:
    """Build a rubric from the `rubric:` section of maia.yaml.

    `weights` keeps only the criteria it names (re-weighting or dropping the others); without it
    the default weights apply. `budgets` sets the efficiency budgets.
    """
    section = _section(data, "rubric", "key", ("weights", "budgets"))
    given = _section(
        section.get("weights", DEFAULT_WEIGHTS), "rubric weights", "criterion", FORMULAS
    )
    if not given:
        raise UsageError("rubric weights are empty: name at least one criterion")
    criteria = tuple(
        Criterion(name, _positive(given[name], f"rubric weight for {name!r}"), formula)
        for name, formula in FORMULAS.items()
        if name in given
    )
    return Rubric(criteria, _budgets(section.get("budgets", {})))


DEFAULT_RUBRIC = Rubric(
    tuple(Criterion(name, DEFAULT_WEIGHTS[name], f) for name, f in FORMULAS.items())
)
