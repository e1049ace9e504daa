"""``maia ci analyze``: choose the experiments a push touched, analyse them, and promote.

This module returns data (``CiReport``); the command renders it (``cli.ci_render``: the Markdown
summary, the annotations, the ``$GITHUB_OUTPUT`` lines). Every git write happens inside the
workspace lock. Promotion converges when rerun after a failure at any step: the commits are
rebuilt with the analysed commit's time (the same ids), a promotion branch already on the
remote is adopted, and a promotion completed here but never pushed is finished.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maia_git import crash
from maia_git.core.assign import ARMS
from maia_git.core.models import Status
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import git, state
from maia_git.storage.branch import blob_of
from maia_git.workspace import Workspace

_LOG_PATH = re.compile(r"experiments/([^/]+)/interactions/.+\.jsonl")


@dataclass
class CiReport:
    base: str | None
    results: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)  # per experiment, for charts
    promoted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def analyzed(self) -> list[str]:
        return [r["experiment_id"] for r in self.results]

    @property
    def promotable(self) -> list[str]:
        return [
            r["experiment_id"]
            for r in self.results
            if r["decision"] == "promote" and r.get("status") == "active"
        ]


def usable_base(ws: Workspace, base: str | None) -> str | None:
    """``base`` if it names a commit here; None (analyse every active experiment) otherwise."""
    if not base or set(base) == {"0"}:
        return None
    if base.startswith("-"):
        raise UsageError(f"--base {base!r} is not a revision")
    code, out, _ = git.attempt(ws.repo, "rev-parse", "-q", "--verify", f"{base}^{{commit}}")
    return out.strip() if code == 0 else None


def experiments_to_analyze(ws: Workspace, base: str | None) -> list[str]:
    if base is None:
        entries = state.load_entries(ws.top, finished=False)
        return sorted(i for i, e in entries.items() if e.status is Status.ACTIVE)
    out = git.run(ws.repo, "diff", "--name-only", "-z", base, "HEAD", "--", "experiments")
    ids = {m.group(1) for p in out.split("\0") if (m := _LOG_PATH.fullmatch(p))}
    return sorted(i for i in ids if (ws.top / state.queue_rel(i)).exists())


# Timestamp prefixes from finest to coarsest: microseconds ... seconds, minutes, hours, days.
_PRECISIONS = (26, 23, 21, 19, 16, 13, 10)
_MAX_BUCKETS = 20_000


def completion_series(
    ws: Workspace, exp_id: str, points: int = 12, arms: Sequence[str] = ARMS
) -> dict[str, Any]:
    """Each arm's cumulative completion rate over time, at up to ``points`` moments: the
    ``labels``, one list of rates per arm in ``arms`` (control first), and each arm's counted
    [lines, successes].

    Counts are kept per timestamp prefix, coarsened whenever there are too many buckets, so the
    memory stays bounded however long the log is.
    """
    from maia_git.usecases.analysis import counted_lines

    index = {name: 2 * i for i, name in enumerate(arms)}
    width = 2 * len(arms)  # [lines, successes] per arm
    buckets: dict[str, list[int]] = {}
    precision = 0
    totals = [0] * width
    # The lines the analysis counts, and only those: the chart never disagrees with the table.
    for record in counted_lines(ws, exp_id):
        offset = index.get(record["arm"])
        if offset is None:
            continue  # not an arm of this experiment: the analysis does not count it either
        counts = buckets.setdefault(record["ts"][: _PRECISIONS[precision]], [0] * width)
        for into in (counts, totals):
            into[offset] += 1
            into[offset + 1] += record["success"]
        if len(buckets) > _MAX_BUCKETS and precision + 1 < len(_PRECISIONS):
            precision += 1
            buckets = _coarsen(buckets, _PRECISIONS[precision], width)
    counted = {name: totals[i : i + 2] for name, i in index.items()}
    return _cumulative(buckets, points, list(arms)) | {"counted": counted}


def _coarsen(buckets: dict[str, list[int]], size: int, width: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for key, counts in buckets.items():
        into = out.setdefault(key[:size], [0] * width)
        for i in range(width):
            into[i] += counts[i]
    return out


def _cumulative(buckets: dict[str, list[int]], points: int, arms: list[str]) -> dict[str, Any]:
    keys = sorted(buckets)
    step = max(1, -(-len(keys) // points))
    totals = [0] * (2 * len(arms))
    labels: list[str] = []
    rates: dict[str, list[float]] = {name: [] for name in arms}
    for i, key in enumerate(keys):
        totals = [a + b for a, b in zip(totals, buckets[key], strict=True)]
        if (i + 1) % step == 0 or i == len(keys) - 1:
            labels.append(key[5:].replace("T", " "))
            for j, name in enumerate(arms):
                lines, successes = totals[2 * j], totals[2 * j + 1]
                rates[name].append(round(100 * successes / lines, 1) if lines else 0.0)
    return {"labels": labels, "arms": rates}


def arm_names(result: Mapping[str, Any]) -> tuple[str, ...]:
    """The arms of an analysis's JSON, control first."""
    arms = result.get("arms")
    return tuple(a["name"] for a in arms) if isinstance(arms, list) else ARMS


# What a killed maia command leaves in the git directory for the next one to finish.
LEFT_BY_A_KILL = ("maia-journal.json", "maia/advance.json")


def analyze_all(ws: Workspace, base: str | None) -> CiReport:
    from maia_git.usecases.analysis import analyze_experiment

    report = CiReport(usable_base(ws, base))
    if any((ws.repo.git_dir / name).exists() for name in LEFT_BY_A_KILL):
        with ws.transaction():
            pass  # recover first: the analysis must see committed state, not a half-written one
    for exp_id in experiments_to_analyze(ws, report.base):
        result = analyze_experiment(ws, exp_id).to_dict()
        entry = state.load_entry(ws.top, exp_id)
        result["status"] = str(entry.status)
        if state.has_experiment(ws.top, exp_id):
            result["name"] = state.load_experiment(ws.top, exp_id).name
        report.results.append(result)
        report.series[exp_id] = completion_series(ws, exp_id, arms=arm_names(result))
    return report


def unfinished(ws: Workspace) -> list[str]:
    """Promotions completed here whose completion never reached the remote (a failed or killed
    earlier run): the remote branch's queue entry differs from ours."""
    from maia_git.usecases.promotion import branch_name
    from maia_git.usecases.push import fetch

    branch = ws.repo.branch()
    if branch is None:
        return []
    with ws.transaction():  # fetching writes refs/remotes/...
        tip = fetch(ws, ws.settings.remote, branch)
    found = []
    for exp_id, entry in sorted(state.load_entries(ws.top, finished=True).items()):
        if entry.status is not Status.COMPLETED or not state.has_experiment(ws.top, exp_id):
            continue
        experiment = state.load_experiment(ws.top, exp_id)
        if experiment.winner in (None, "control") or experiment.promotion_branch != branch_name(
            exp_id
        ):
            continue
        rel = state.queue_rel(exp_id)
        if tip is None or blob_of(ws.repo, tip, rel) != blob_of(ws.repo, "HEAD", rel):
            found.append(exp_id)
    return found


def promote_all(ws: Workspace, report: CiReport, open_pr: bool, environ: Mapping[str, str]) -> None:
    """Promote every promotable experiment (and finish unfinished ones), then push the
    completion commits back."""
    from maia_git.usecases.promotion import FixedTime, promote
    from maia_git.usecases.push import push

    has_remote = git.attempt(ws.repo, "remote", "get-url", ws.settings.remote)[0] == 0
    fixed = FixedTime.of_commit(ws.repo)  # taken before any commit of ours
    todo = list(report.promotable)
    if has_remote:
        try:
            todo += [e for e in unfinished(ws) if e not in todo]
        except MaiaError as err:
            report.errors.append(str(err))
    for exp_id in todo:
        try:
            done = promote(
                ws, exp_id, push=has_remote, open_pr=open_pr, environ=environ, fixed=fixed
            )
        except MaiaError as err:
            report.errors.append(f"{exp_id}: {err}")
            continue
        report.promoted.append(done.to_dict())
    crash.point("after_pull_requests")
    if report.promoted and has_remote:
        try:
            with ws.transaction():
                push(ws)
        except MaiaError as err:
            report.errors.append(str(err))
