"""An experiment's analysis as it stood at a series of cut-off times: how the lift and its
interval moved, so a reader sees when the result became significant and whether it still moves.

The analysis at a cut-off is the analysis of the lines stamped up to that time, through the same
code path as ``maia exp analyze``: the same shard reader (``storage.logscan``, with its line rules
and its interaction-id de-duplication) and the same promotion rule (``analysis.analyze_sums``).
Each shard's raw lines are sorted into one temporary file per time bucket by their parsed ``ts``;
each bucket is read like a shard, and the buckets' per-user totals are merged in time order (a
user's lines may fall in several buckets), the arms' per-user sums formed again at each point.
So the last point counts exactly the lines and users the analysis counts, and the whole costs
about two more reads of the logs, in the memory of one batch and the per-user totals. (A line
whose ``ts`` cannot be read is invalid to the analysis too; it goes to the last bucket, where the
reader reports it as the analysis would.)
"""

from __future__ import annotations

import re
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from maia_git.core.assign import Split
from maia_git.core.ids import check_id
from maia_git.stats import Analysis
from maia_git.stats.multiarm import MultiAnalysis
from maia_git.stats.users import UserTotals
from maia_git.storage import state
from maia_git.storage.logscan import CHUNK_BYTES, parse_batch, raw_batches, scan_shard
from maia_git.usecases import pins
from maia_git.usecases.analysis import analyze_arm_sums, log_files
from maia_git.workspace import Workspace

Progress = Callable[[int], None]  # told the number of log bytes just read
DEFAULT_POINTS = 24
# Only to find the time range (where to put the cut-offs): which bucket a line goes to is decided
# on its parsed value, so a timestamp this pattern misses can move a cut-off, never a count.
_TS_BYTES = re.compile(rb'"ts"\s*:\s*"([0-9]{4}-[0-9T:.+Z-]{15,40})"')


@dataclass(frozen=True)
class Point:
    """The analysis of every line stamped at or before ``until``."""

    until: str
    analysis: Analysis | MultiAnalysis

    def to_dict(self) -> dict[str, Any]:
        full = self.analysis.to_dict()
        if isinstance(self.analysis, MultiAnalysis):
            return {"until": self.until} | _arms_point(full)
        keep = ("lift", "lift_ci", "p_value", "decision", "control", "treatment")
        return {"until": self.until} | {k: full[k] for k in keep}


def _arms_point(full: dict[str, Any]) -> dict[str, Any]:
    """Several treatments: every arm's counts, each treatment's lift, the decision."""
    arms = [{k: a[k] for k in ("name", "users", "n", "successes")} for a in full["arms"]]
    keep = ("arm", "lift", "lift_ci", "p_value")
    comparisons = [{k: c[k] for k in keep} for c in full["comparisons"]]
    return {"arms": arms, "comparisons": comparisons} | {k: full[k] for k in ("decision", "winner")}


@dataclass(frozen=True)
class Timeline:
    experiment_id: str
    points: tuple[Point, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"experiment_id": self.experiment_id, "points": [p.to_dict() for p in self.points]}


def log_bytes(ws: Workspace, exp_id: str) -> int:
    """The size of the logs ``lift_over_time`` reads twice: what its progress counts up to."""
    return sum(_size(ws.top / rel) for rel in log_files(ws, exp_id))


def lift_over_time(
    ws: Workspace, exp_id: str, points: int = DEFAULT_POINTS, progress: Progress | None = None
) -> Timeline:
    """The analysis at up to ``points`` evenly spaced times from the first line to the last;
    a cut-off that adds no line is left out. No logs: no points. With several treatments each
    point is the analysis of every arm (``MultiAnalysis``)."""
    check_id(exp_id)
    entry = state.load_entry(ws.top, exp_id)
    experiment = pins.effective(ws.repo, state.load_experiment(ws.top, exp_id), entry.status)
    split, blobs = experiment.assignment(), pins.blob_ids(experiment)
    shards = [ws.top / rel for rel in log_files(ws, exp_id)]
    tell = progress or (lambda _: None)
    span = _time_range(shards, tell)
    if span is None:
        return Timeline(exp_id, ())
    cutoffs = _cutoffs(*span, max(1, points))
    with tempfile.TemporaryDirectory(prefix="maia-timeline-") as tmp:
        buckets = _sort_into_buckets(shards, cutoffs, Path(tmp), tell)
        sums = _bucket_sums(buckets, exp_id, split, blobs)
    found: list[Point] = []
    # Per-user totals add across buckets (a user's interactions may fall in several); the arms'
    # sums of squares do not, so they are formed again at each point.
    totals = {arm: UserTotals() for arm in experiment.arm_names()}
    for cutoff, bucket in zip(cutoffs, sums, strict=True):
        if not sum(map(len, bucket.values())):
            continue  # nothing new since the last point
        for arm, users in bucket.items():
            totals[arm].merge(users)
        arms = {arm: users.arm_stats() for arm, users in totals.items()}
        found.append(Point(_format(cutoff), analyze_arm_sums(ws, experiment, arms)))
    return Timeline(exp_id, tuple(found))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _epoch(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time, None if it is not one. The usual UTC form
    costs a match and a cache hit: logs hold many lines a second."""
    if not isinstance(value, str):
        return None
    match = _UTC.fullmatch(value)
    if match is None:
        return _parsed(value)
    whole = _second(match[1])
    return whole if whole is None or match[2] is None else whole + float(match[2])


_UTC = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(?:Z|\+00:00)"
)


@lru_cache(maxsize=1 << 14)
def _second(text: str) -> float | None:
    return _parsed(text + "Z")


def _parsed(text: str) -> float | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _format(epoch: float) -> str:
    text = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"  # milliseconds


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk
    except OSError:
        return  # the analysis reports an unreadable shard; here it adds nothing


def _time_range(shards: list[Path], tell: Progress) -> tuple[float, float] | None:
    low = high = None
    for path in shards:
        tail = b""
        for chunk in _chunks(path):
            tell(len(chunk))
            text, _, tail = (tail + chunk).rpartition(b"\n")
            stamps = [_epoch(m.decode("ascii", "replace")) for m in _TS_BYTES.findall(text)]
            found = [s for s in stamps if s is not None]
            if found:
                low = min(found) if low is None else min(low, *found)
                high = max(found) if high is None else max(high, *found)
    return None if low is None or high is None else (low, high)


def _cutoffs(low: float, high: float, points: int) -> list[float]:
    """``points`` cut-offs ending at ``high``; the last takes every later line as well."""
    if high <= low:
        return [high]
    step = (high - low) / points
    return [low + step * k for k in range(1, points)] + [high]


def _sort_into_buckets(
    shards: list[Path], cutoffs: list[float], tmp: Path, tell: Progress
) -> list[Path]:
    paths = [tmp / f"{k:04d}.jsonl" for k in range(len(cutoffs))]
    files = [open(p, "wb") for p in paths]  # noqa: SIM115 (closed together below)
    try:
        for path in shards:
            try:
                with open(path, "rb") as shard:
                    _sort_shard(shard, cutoffs, files, tell)
            except OSError:
                continue  # as in _chunks
    finally:
        for f in files:
            f.close()
    return paths


def _sort_shard(
    shard: BinaryIO, cutoffs: list[float], files: Sequence[BinaryIO], tell: Progress
) -> None:
    last = len(cutoffs) - 1
    for _, item in raw_batches(shard):
        if isinstance(item, str):
            continue  # a line too long or torn: not counted by the analysis either
        values, failed = parse_batch(item)
        parsed, bad = iter(values), set(failed)
        out: list[list[bytes]] = [[] for _ in cutoffs]
        for offset, raw in enumerate(item):
            value = None if offset in bad else next(parsed)
            when = _epoch(value.get("ts")) if isinstance(value, dict) else None
            out[last if when is None else min(bisect_left(cutoffs, when), last)].append(raw)
        for lines, file in zip(out, files, strict=True):
            if lines:
                file.write(b"\n".join(lines) + b"\n")
        tell(sum(map(len, item)) + len(item))


def _bucket_sums(
    buckets: list[Path], exp_id: str, split: Split, blobs: dict[str, str]
) -> list[dict[str, UserTotals]]:
    """Each bucket read as a shard, in time order; an interaction id counts in its first bucket.
    A line served another prompt than its arm's pin is not counted, as in the analysis."""
    seen: set[int] = set()
    sums = []
    for path in buckets:
        scan = scan_shard(path, exp_id, split, seen, blobs)
        seen = scan.ids
        sums.append(scan.arms)
    return sums
