"""An agent's quality scores over time: the mean of each day, the windowed averages of
``maia score average`` at the end of each day, and how many scores fell in each band."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maia_git.core import scoring
from maia_git.core.ids import check_id
from maia_git.core.scoring import BANDS, parse_ts
from maia_git.storage import scores as store
from maia_git.workspace import Workspace

WINDOWS = (7, 30)  # days, as `maia score average --days`
_EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    count: int
    mean: float | None  # None on a day without scores
    averages: tuple[float | None, ...]  # one per WINDOWS: the window ending with this day

    def to_dict(self) -> dict[str, Any]:
        windows = {f"average_{d}d": v for d, v in zip(WINDOWS, self.averages, strict=True)}
        return {"day": self.day, "count": self.count, "mean": self.mean} | windows


@dataclass(frozen=True)
class Trend:
    agent: str
    days: tuple[Day, ...]
    bands: tuple[tuple[str, int], ...]  # every band, best first
    problems: tuple[str, ...]  # "file:line: reason" of lines not counted

    @property
    def count(self) -> int:
        return sum(n for _, n in self.bands)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "windows": list(WINDOWS),
            "days": [d.to_dict() for d in self.days],
            "bands": dict(self.bands),
            "problems": list(self.problems),
        }


def score_agents(ws: Workspace) -> list[str]:
    """Agents with a folder of scores."""
    return store.agents(ws.repo)


def quality_trend(ws: Workspace, agent: str) -> Trend:
    check_id(agent, "agent name")
    loaded = store.read_scores(ws.repo, *_EVER, agent)
    timed = sorted(((parse_ts(r["ts"]), r) for r in loaded.records), key=lambda p: p[0])
    bands = Counter(str(r["band"]) for _, r in timed)
    band_rows = tuple((name, bands.get(name, 0)) for name, _ in BANDS)
    days = _days(timed) if timed else ()
    return Trend(agent, days, band_rows, tuple(loaded.problems))


def _days(timed: list[tuple[datetime, Mapping[str, Any]]]) -> tuple[Day, ...]:
    """Day by day from the first score to the last: a day is (midnight, next midnight] UTC,
    as a window of ``maia score avg`` ending at that midnight."""
    times = [when for when, _ in timed]
    values = [float(r["overall"]) for _, r in timed]  # checked when read (storage.scores)
    first = (times[0] - timedelta(microseconds=1)).astimezone(UTC).date()
    last = (times[-1] - timedelta(microseconds=1)).astimezone(UTC).date()
    out = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        mean, count = _window(times, values, end, 1)
        averages = tuple(_window(times, values, end, days)[0] for days in WINDOWS)
        out.append(Day(day.isoformat(), count, mean, averages))
    return tuple(out)


def _window(
    times: list[datetime], values: list[float], end: datetime, days: int
) -> tuple[float | None, int]:
    """What ``maia score avg --days`` reports over (end - days, end] (``scoring.average``, whose
    window and mean these are), from the time-sorted scores: a slice, not a scan of them all."""
    near = values[bisect_right(times, end - timedelta(days=days)) : bisect_right(times, end)]
    return scoring.rounded_mean(near), len(near)
