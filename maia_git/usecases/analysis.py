"""Analysing an experiment: its logs read into per-user totals (cached per shard), summed per
arm, then the promotion rule of the stats package. What the rest of the code calls:

    arm_stats(ws, exp_id) -> (control, treatment, logs)      the sums, and a LogReport
    arms_stats(ws, exp_id) -> ({arm: sums}, logs)             the same for any number of arms
    analyze_experiment(ws, exp_id, method=None) -> ExperimentAnalysis
    plan_sample_size(baseline, mde, alpha=None, power=0.8, ws=None) -> stats.Plan

Reading needs no lock and changes nothing in the repository (the cache lives in the git
directory). A shard that git reports unchanged is not read again, and a set of shards analysed
before is not even merged again (``storage.statcache``). Which files hold the logs
(``_shard_files``) is kept apart from what is computed from a file (``storage.logscan``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from statistics import StatisticsError
from typing import TYPE_CHECKING, Any

from maia_git import stats
from maia_git.core.assign import Split
from maia_git.core.ids import check_id
from maia_git.core.models import Experiment
from maia_git.core.settings import Settings
from maia_git.errors import MaiaError, UsageError
from maia_git.stats import Analysis, ArmStats, MultiAnalysis, Plan, Reason
from maia_git.stats.users import UserTotals
from maia_git.storage import segments, state
from maia_git.storage.logscan import MAX_PROBLEMS, ShardScan, scan_shard
from maia_git.storage.statcache import Entry, Key, StatCache
from maia_git.usecases import pins, repeats
from maia_git.workspace import Workspace

if TYPE_CHECKING:
    from maia_git.stats.rulesim import RulePlan


@dataclass(frozen=True)
class Problem:
    """A line that breaks the schema (``line`` 0: a shard that could not be read at all, or a
    warehouse row, which ``row`` names by its ts, user_id and interaction_id)."""

    file: str
    line: int
    error: str
    row: Mapping[str, str | None] | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file, "line": self.line, "error": self.error}
        if self.row is not None:
            out["row"] = dict(self.row)
        return out


@dataclass(frozen=True)
class LogReport:
    """What reading the logs found besides the sums: nothing in it is counted."""

    problems: tuple[Problem, ...] = ()  # the first MAX_PROBLEMS, in shard and line order
    invalid_lines: int = 0
    duplicate_lines: int = 0  # lines whose interaction_id came earlier
    shards: int = 0
    shards_read: int = 0  # the others came from the cache

    def to_dict(self) -> dict[str, object]:
        return {
            "invalid_lines": self.invalid_lines,
            "problems": [p.to_dict() for p in self.problems],
            "duplicate_lines": self.duplicate_lines,
            "shards": self.shards,
            "shards_read": self.shards_read,
        }


@dataclass(frozen=True)
class ExperimentAnalysis:
    """The stats package's ``Analysis`` of an experiment (``MultiAnalysis`` with several
    treatments), with its status and log report."""

    analysis: Analysis | MultiAnalysis
    logs: LogReport
    name: str
    status: str

    @property
    def decision(self) -> str:
        return self.analysis.decision

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self.analysis.reasons

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the analysis's fields, then name, status and the log report."""
        head = {"name": self.name, "status": self.status}
        return self.analysis.to_dict() | head | self.logs.to_dict()


def analyze_experiment(ws: Workspace, exp_id: str, method: str | None = None) -> ExperimentAnalysis:
    """Analyse ``exp_id`` in any status; ``method`` defaults to maia.yaml's. An unknown id is
    NotFound (exit 2); no logs yet gives a result whose reasons say so, not an error."""
    check_id(exp_id)
    entry = state.load_entry(ws.top, exp_id)
    experiment = pins.effective(ws.repo, state.load_experiment(ws.top, exp_id), entry.status)
    arms, logs = _collect(ws, exp_id, experiment)
    analysis = analyze_arm_sums(ws, experiment, arms, method)
    return ExperimentAnalysis(analysis, logs, experiment.name, str(entry.status))


def analyze_arm_sums(
    ws: Workspace, experiment: Experiment, arms: Mapping[str, ArmStats], method: str | None = None
) -> Analysis | MultiAnalysis:
    """The promotion rule on every arm's sums (control first): ``analyze_sums`` for two arms,
    each treatment against control for several. What ``analyze_experiment`` runs, and
    ``usecases.timeline`` at each cut-off."""
    if not experiment.several:
        control, treatment = arms["control"], arms["treatment"]
        return analyze_sums(ws, experiment.id, control, treatment, experiment.split, method)
    settings = ws.settings.analysis(experiment.split, method)
    return stats.analyze_arms(experiment.id, arms, experiment.shares(), settings)


def analyze_sums(
    ws: Workspace, exp_id: str, control: ArmStats, treatment: ArmStats, control_share: float,
    method: str | None = None,
) -> Analysis:  # fmt: skip
    """The promotion rule on given sums, with the workspace's settings: what
    ``analyze_experiment`` runs, and ``usecases.timeline`` at each cut-off."""
    settings = ws.settings.analysis(control_share, method)
    return stats.analyze(exp_id, control, treatment, settings)


def arm_stats(ws: Workspace, exp_id: str) -> tuple[ArmStats, ArmStats, LogReport]:
    """Control's and treatment's sufficient statistics from every shard, and the log report
    (an experiment with several treatments: ``arms_stats``)."""
    arms, logs = arms_stats(ws, exp_id)
    if set(arms) != {"control", "treatment"}:
        raise UsageError(f"{exp_id} has several treatments: read its arms with arms_stats")
    return arms["control"], arms["treatment"], logs


def arms_stats(ws: Workspace, exp_id: str) -> tuple[dict[str, ArmStats], LogReport]:
    """Each arm's sufficient statistics from every shard (control first), and the log report."""
    check_id(exp_id)
    entry = state.load_entry(ws.top, exp_id)
    experiment = pins.effective(ws.repo, state.load_experiment(ws.top, exp_id), entry.status)
    return _collect(ws, exp_id, experiment)


def plan_sample_size(
    baseline: float, mde: float, alpha: float | None = None, power: float = 0.8,
    ws: Workspace | None = None,
) -> Plan:  # fmt: skip
    """Interactions per arm for both methods; alpha and the sequential tuning default to the
    workspace's settings, or to maia.yaml's defaults outside one."""
    s = ws.settings if ws is not None else Settings()
    try:
        return stats.plan(baseline, mde, s.alpha if alpha is None else alpha, power,
                          s.sequential_tuning)  # fmt: skip
    except (ArithmeticError, StatisticsError):
        raise UsageError(
            f"cannot plan for baseline {baseline:g}, mde {mde:g}: the numbers are "
            "too extreme to compute; use values nearer the middle"
        ) from None


def plan_rule_size(
    baseline: float, mde: float, power: float = 0.8, ws: Workspace | None = None, *,
    per_user: float = 1.0, icc: float = 0.0, every: int = 20, method: str | None = None,
) -> RulePlan:  # fmt: skip
    """Users per arm for the whole promotion rule with the workspace's settings (or maia.yaml's
    defaults outside one), by simulation (``stats.rulesim``; numpy is imported there)."""
    from maia_git.stats.rulesim import plan_rule

    s = (ws.settings if ws is not None else Settings()).analysis(0.5, method)
    return plan_rule(baseline, mde, power, s, per_user=per_user, icc=icc, every=every)


# ---- reading every shard, through the cache ----


@dataclass
class _Shard:
    rel: str
    key: Key | None
    entry: Entry
    ids: set[int] | None = None  # hashes of its interaction ids, when it was just read


@dataclass
class _Collector:
    ws: Workspace
    exp_id: str
    share: Split
    cache: StatCache
    pins: dict[str, str]  # arm -> pinned blob id: a line served another prompt is not counted
    read: int = 0
    unreadable: list[Problem] = field(default_factory=list)

    def shard(self, rel: str, key: Key | None) -> _Shard | None:
        """``key``: the file's cache key, taken before anything was read."""
        entry = self.cache.load(key) if key is not None else None
        if entry is not None:
            return _Shard(rel, key, entry)
        scan = self.scan(rel)
        if scan is None:
            return None
        if key is not None:
            self.cache.store(key, scan, rel)
        ids, scan.ids = scan.ids, set()  # one reference, dropped once merged (see across)
        return _Shard(rel, key, Entry(scan, len(ids)), ids)

    def scan(self, rel: str, seen: set[int] | None = None) -> ShardScan | None:
        self.read += 1
        try:
            return scan_shard(self.ws.top / rel, self.exp_id, self.share, seen, self.pins)
        except FileNotFoundError:
            if os.path.isabs(rel):
                return None  # pending records sealed since the listing: not lost, in a segment
            self.unreadable.append(Problem(rel, 0, "cannot read: no such file"))
            return None
        except OSError as err:
            self.unreadable.append(Problem(rel, 0, f"cannot read: {err.strerror or err}"))
            return None

    def across(self, shards: list[_Shard]) -> None:
        """Count an interaction id repeated in two shards once: in the first, by name."""
        with_ids = [s for s in shards if s.entry.id_count]
        if len(with_ids) < 2:
            return
        keys = [(s.rel, s.key) for s in with_ids if s.key is not None]
        mark = self.cache.combined_key(keys) if len(keys) == len(with_ids) else None
        if mark is not None and self.cache.marked(mark):
            return  # these very shards were found disjoint before
        seen: set[int] = set()
        disjoint = True
        for s in with_ids:
            ids = s.ids if s.ids is not None else self._ids(s)
            s.ids = None
            if ids is not None and seen.isdisjoint(ids):
                if seen:
                    seen |= ids
                else:
                    seen = ids  # no copy: nothing else holds it any more
                continue
            disjoint = False  # read it again, skipping the ids of the shards before it
            s.entry = Entry(self.scan(s.rel, seen) or ShardScan.of(self.share), 0)
        if disjoint and mark is not None:
            self.cache.mark(mark)

    def _ids(self, s: _Shard) -> set[int] | None:
        return self.cache.load_ids(s.key, s.entry.id_count) if s.key is not None else None


def counted_lines(ws: Workspace, exp_id: str) -> Iterator[dict[str, Any]]:
    """Each log line the analysis counts, one by one, for readers that need the lines (the CI
    chart): the same files, the same line rules (``core.fields`` through ``check_line``, the
    experiment's split and pins), and of a repeated interaction id the copy that
    ``core.repeats`` names. Slower than the analysis's reader; the same lines."""
    from maia_git.core.interaction import check_line
    from maia_git.core.repeats import copy_order
    from maia_git.storage.jsonl import read_lines

    entry = state.load_entry(ws.top, exp_id)
    experiment = pins.effective(ws.repo, state.load_experiment(ws.top, exp_id), entry.status)
    share, blobs = experiment.assignment(), pins.blob_ids(experiment)
    best: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for rel in log_files(ws, exp_id):
        try:
            lines = list(read_lines(ws.top / rel))
        except (OSError, MaiaError):
            continue  # the analysis reports it
        for _, item in lines:
            if isinstance(item, str) or check_line(item, exp_id, share, blobs) is not None:
                continue
            key = item.get("interaction_id")
            if key is None:
                yield item
                continue
            order = copy_order(item, exp_id)
            if key not in best or order < best[key][0]:
                best[key] = (order, item)
    for _, item in best.values():
        yield item


def log_files(ws: Workspace, exp_id: str) -> list[str]:
    """The log files the analysis of ``exp_id`` reads: segments (repo-relative), then pending
    records (absolute paths in the git directory)."""
    return _shard_files(ws, exp_id)[0]


def _collect(
    ws: Workspace, exp_id: str, experiment: Experiment
) -> tuple[dict[str, ArmStats], LogReport]:
    share, blobs = experiment.assignment(), pins.blob_ids(experiment)
    if _elsewhere(ws, exp_id):  # Parquet, SQL, or segments exported from git
        from maia_git.usecases import warehouse

        sums = warehouse.source_sums(ws, warehouse.Rules(exp_id, share, blobs))
        shown = tuple(Problem(p.file, p.line, p.error, p.row) for p in sums.problems)
        report = LogReport(shown, sums.invalid, sums.duplicates)
        return {arm: sums.arms[arm].arm_stats() for arm in experiment.arm_names()}, report
    folder = state.interactions_rel(exp_id)
    rels, problems = _shard_files(ws, exp_id)
    cache = StatCache(ws.repo, folder, exp_id, share, blobs)
    keys = [cache.key(rel) for rel in rels]
    whole = None
    if None not in keys and not problems:
        whole = cache.combined_key([(r, k) for r, k in zip(rels, keys, strict=True) if k])
        found = cache.load_result(whole)
        if found is not None:
            return _cached(*found, len(rels))
    collector = _Collector(ws, exp_id, share, cache, blobs)
    shards = [s for s in map(collector.shard, rels, keys) if s is not None]
    collector.across(shards)
    totals, report = _total(
        shards, problems + collector.unreadable, len(rels), collector.read, experiment.arm_names()
    )
    if report.duplicate_lines:  # count the copy core.repeats names, as every source does
        repeats.corrected(ws.top, rels, exp_id, share, blobs, totals)
    arms = {arm: t.arm_stats() for arm, t in totals.items()}
    # A file that changed while it was read would make the stored result wrong for its key.
    if whole is not None and not collector.unreadable and list(map(cache.key, rels)) == keys:
        cache.store_result(whole, arms, report.to_dict())
    return arms, report


def _elsewhere(ws: Workspace, exp_id: str) -> bool:
    """Whether the logs are read by an engine (``usecases.warehouse``): a source other than git
    in maia.yaml, or segments exported to Parquet. Checked without importing that module, so the
    plain git path stays as light as it was."""
    if ws.settings.logs:
        from maia_git.usecases import warehouse

        return warehouse.uses_engine(ws, exp_id)
    return (ws.top / "experiments" / exp_id / "exported.json").is_file()


def _cached(
    arms: dict[str, ArmStats], report: dict[str, Any], count: int
) -> tuple[dict[str, ArmStats], LogReport]:
    problems = tuple(Problem(p["file"], p["line"], p["error"]) for p in report["problems"])
    logs = LogReport(problems, report["invalid_lines"], report["duplicate_lines"], count, 0)
    return arms, logs


def _shard_files(ws: Workspace, exp_id: str) -> tuple[list[str], list[Problem]]:
    """The files that hold the experiment's records (``storage.segments.log_files``)."""
    listing = segments.log_files(ws.repo, exp_id)
    return listing.files, [Problem(where, 0, why) for where, why in listing.problems]


def _total(
    shards: list[_Shard], problems: list[Problem], count: int, read: int, names: tuple[str, ...]
) -> tuple[dict[str, UserTotals], LogReport]:
    """Merge the shards' per-user totals (a user may appear in several shards)."""
    totals = {arm: UserTotals() for arm in names}
    shown = list(problems)
    invalid = duplicates = 0
    for s in shards:
        scan = s.entry.scan
        if not any(map(len, totals.values())):
            totals = dict(scan.arms)  # the first: no copy needed
        else:
            for arm, mine in totals.items():
                mine.merge(scan.arms[arm])
        invalid += scan.invalid
        duplicates += scan.duplicates
        shown += [Problem(s.rel, line, error) for line, error in scan.problems]
    report = LogReport(tuple(shown[:MAX_PROBLEMS]), invalid, duplicates, count, read)
    return totals, report
