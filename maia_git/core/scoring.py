"""Scoring a response against a rubric, the score records kept in scores/, and their averages.

Decisions (the band, `--fail-under`) use unrounded values; what is shown and stored is rounded to
two decimals. Time windows are passed a `now`; nothing here reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maia_git.core.ids import check_id
from maia_git.core.rubric import DEFAULT_RUBRIC, Criterion, Part, Rubric, show, validate_response
from maia_git.errors import UsageError

# Lower bound of each band, best first (docs/scoring.md).
BANDS = (("exceptional", 90.0), ("good", 75.0), ("acceptable", 60.0), ("poor", 0.0))
POOR_BELOW = 60.0


@dataclass(frozen=True)
class Score:
    overall: float
    criteria: dict[str, float]
    band: str
    feedback: list[str]


def band_for(score: float) -> str:
    """The band of a 0-100 score: 59.99 is poor, 60 acceptable, 74.99 acceptable, 75 good..."""
    if not 0 <= score <= 100:  # NaN fails both comparisons
        raise UsageError(f"a score must be within 0-100, got {score}")
    return next(name for name, floor in BANDS if score >= floor)


def _sentence(criterion: Criterion, part: Part, share: float) -> str:
    label = criterion.name.replace("_", " ").capitalize()
    lost = share * part.points * (1 - part.earned)
    return f"{label} lost {round(lost, 2):g} points: {part.shortfall}."


def score_response(data: Mapping[str, object], rubric: Rubric = DEFAULT_RUBRIC) -> Score:
    """Score a response description (the guide's JSON fields) 0-100 against `rubric`."""
    response = validate_response(data)
    total = rubric.total_weight
    weighted: list[float] = []
    criteria: dict[str, float] = {}
    feedback: list[str] = []
    for criterion in rubric.criteria:
        parts = criterion.formula(response, rubric.budgets)
        value = math.fsum(p.points * p.earned for p in parts)
        weighted.append(criterion.weight * value)
        criteria[criterion.name] = round(value, 2)
        share = criterion.weight / total
        feedback += [_sentence(criterion, p, share) for p in parts if p.earned < 1]
    # Summing weight x value exactly and dividing once keeps whole-number results exact (a response
    # worth 60 scores 60.0, not 59.999...); rounding to 9 places drops what float noise is left
    # before the band is decided on the otherwise unrounded overall.
    overall = min(100.0, max(0.0, round(math.fsum(weighted) / total, 9)))
    return Score(round(overall, 2), criteria, band_for(overall), feedback)


def format_ts(now: datetime) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2025-10-12T09:30:00.000Z."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(text: object) -> datetime:
    """An RFC 3339 timestamp with an offset (Z or +hh:mm), as an aware datetime."""
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise UsageError(
            f"score record field 'ts' must be an RFC 3339 time with an offset, got {show(text)}"
        )
    return when


def _check_response_id(response_id: object) -> str:
    if not isinstance(response_id, str) or not response_id or not response_id.isprintable():
        raise UsageError(f"a response id must be non-empty printable text, got {show(response_id)}")
    return response_id


def score_record(score: Score, agent: str, response_id: str, now: datetime) -> dict[str, object]:
    """The line appended to scores/<agent>/<YYYY-MM>.jsonl for one score."""
    return {
        "ts": format_ts(now),
        "agent": check_id(agent, "agent name"),
        "response_id": _check_response_id(response_id),
        "overall": score.overall,
        "criteria": dict(score.criteria),
        "band": score.band,
    }


def _score_value(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise UsageError(f"{what} must be a number 0-100, got {show(value)}")
    return float(value)


def check_record(data: object) -> Mapping[str, object]:
    """Return a stored score record if it is well formed, else raise UsageError naming the field."""
    if not isinstance(data, Mapping):
        raise UsageError(f"a score record must be a JSON object, got {show(data)}")
    parse_ts(data.get("ts"))
    agent = data.get("agent")
    if not isinstance(agent, str):
        raise UsageError(f"score record field 'agent' must be text, got {show(agent)}")
    check_id(agent, "agent name")
    _check_response_id(data.get("response_id"))
    _score_value(data.get("overall"), "score record field 'overall'")
    criteria = data.get("criteria")
    if not isinstance(criteria, Mapping):
        raise UsageError(f"score record field 'criteria' must be an object, got {show(criteria)}")
    for name, value in criteria.items():
        _score_value(value, f"score record field 'criteria.{name}'")
    if data.get("band") not in {name for name, _ in BANDS}:
        raise UsageError(f"score record field 'band' is not a band: {show(data.get('band'))}")
    return data


def _days(days: float) -> timedelta:
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= 36500:
        raise UsageError(f"days must be a number above 0 (at most 36500), got {show(days)}")
    return timedelta(days=days)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def _windows(
    records: Iterable[object], now: datetime, days: float
) -> tuple[list[Mapping[str, object]], list[Mapping[str, object]]]:
    """Records in (now - days, now] and in the window of the same length before it."""
    width, end = _days(days), _aware(now)
    current: list[Mapping[str, object]] = []
    previous: list[Mapping[str, object]] = []
    for record in map(check_record, records):
        when = parse_ts(record["ts"])
        if end - width < when <= end:
            current.append(record)
        elif end - 2 * width < when <= end - width:
            previous.append(record)
    return current, previous


def _mean(records: list[Mapping[str, object]]) -> float | None:
    values = [_score_value(r["overall"], "score record field 'overall'") for r in records]
    return math.fsum(values) / len(values) if values else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def average(
    records: Iterable[object], agent: str, now: datetime, days: float = 7
) -> tuple[float | None, int]:
    """The mean overall score of `agent` over (now - days, now], and how many scores it averages."""
    check_id(agent, "agent name")
    current, _ = _windows(records, now, days)
    mine = [r for r in current if r["agent"] == agent]
    return rounded_mean(
        [_score_value(r["overall"], "score record field 'overall'") for r in mine]
    ), len(mine)


def rounded_mean(values: Sequence[float]) -> float | None:
    """The mean that ``average`` reports for checked overall scores: exact sum (so the order of
    the values does not matter), rounded to 2 places; None for none."""
    return _rounded(math.fsum(values) / len(values)) if values else None


@dataclass(frozen=True)
class AgentReport:
    agent: str
    count: int
    mean: float | None
    previous_count: int
    previous_mean: float | None
    change: float | None  # mean minus previous_mean; None when either window is empty
    trend: str  # "up", "down", "flat" or "n/a"
    poor: tuple[Mapping[str, object], ...]  # records in the window scored below 60, oldest first
    failing: bool  # the mean is below fail_under
    below: int = 0  # scores in the window below the report's threshold (fail_under, else 60)


@dataclass(frozen=True)
class Report:
    days: float
    fail_under: float | None
    agents: tuple[AgentReport, ...]

    @property
    def threshold(self) -> float:
        """What `below` counts under: --fail-under when given, else the poor band's 60."""
        return POOR_BELOW if self.fail_under is None else self.fail_under

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(a.agent for a in self.agents if a.failing)


def _trend(change: float | None) -> str:
    if change is None:
        return "n/a"
    return "up" if change > 0 else "down" if change < 0 else "flat"


def _agent_report(
    agent: str,
    now_rows: list[Mapping[str, object]],
    before: list[Mapping[str, object]],
    fail_under: float | None,
) -> AgentReport:
    mean, previous = _mean(now_rows), _mean(before)
    change = None if mean is None or previous is None else round(mean - previous, 2)
    # The stored band was decided on the unrounded overall, so 59.996 (stored 60.0) is poor.
    poor = sorted((r for r in now_rows if r["band"] == "poor"), key=lambda r: parse_ts(r["ts"]))
    failing = fail_under is not None and mean is not None and mean < fail_under
    if fail_under is None:
        below = len(poor)
    else:
        below = sum(1 for r in now_rows if _score_value(r["overall"], "overall") < fail_under)
    return AgentReport(
        agent,
        len(now_rows),
        _rounded(mean),
        len(before),
        _rounded(previous),
        change,
        _trend(change),
        tuple(poor),
        failing,
        below,
    )


def report(
    records: Iterable[object], now: datetime, days: float = 7, fail_under: float | None = None
) -> Report:
    """Per agent: count and mean over the window, trend against the window before, poor scores."""
    if fail_under is not None:
        _score_value(fail_under, "--fail-under")
    current, previous = _windows(records, now, days)
    agents = sorted({str(r["agent"]) for r in current + previous})
    rows = tuple(
        _agent_report(
            agent,
            [r for r in current if r["agent"] == agent],
            [r for r in previous if r["agent"] == agent],
            fail_under,
        )
        for agent in agents
    )
    return Report(days, fail_under, rows)
