"""``maia ci analyze``: analyse the experiments a push touched, report, and promote.

In GitHub Actions it writes a Markdown summary to ``$GITHUB_STEP_SUMMARY``, ``promotable``,
``analyzed`` and ``results`` to ``$GITHUB_OUTPUT``, and annotations to stdout; outside Actions it
prints the same summary. Running it twice on the same commit does the work once: a promoted
experiment is completed by the first run, and only active experiments are promoted.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maia_git.core import summary
from maia_git.core.escape import markdown_inline, workflow_data
from maia_git.core.models import Status
from maia_git.errors import MaiaError, NotFound, UsageError
from maia_git.storage import git, state
from maia_git.storage.jsonl import read_lines
from maia_git.storage.segments import log_files
from maia_git.workspace import Workspace

_LOG_PATH = re.compile(r"experiments/([^/]+)/interactions/.+\.jsonl")
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class CiReport:
    base: str | None
    results: list[dict[str, Any]] = field(default_factory=list)
    promoted: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    markdown: str = ""

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


def completion_series(ws: Workspace, exp_id: str, points: int = 12) -> dict[str, Any]:
    """Each arm's cumulative completion rate over time, at up to ``points`` moments.

    Counts are kept per timestamp prefix, coarsened whenever there are too many buckets, so the
    memory stays bounded however long the log is.
    """
    buckets: dict[str, list[int]] = {}
    width = 0
    for shard in log_files(ws.repo, exp_id).files:
        for _, record in _lines(ws.top / shard):
            if not (
                isinstance(record, dict)
                and isinstance(record.get("ts"), str)
                and record.get("arm") in ("control", "treatment")
                and isinstance(record.get("success"), bool)
            ):
                continue
            counts = buckets.setdefault(record["ts"][: _PRECISIONS[width]], [0, 0, 0, 0])
            offset = 0 if record["arm"] == "control" else 2
            counts[offset] += 1
            counts[offset + 1] += record["success"]
            if len(buckets) > _MAX_BUCKETS and width + 1 < len(_PRECISIONS):
                width += 1
                buckets = _coarsen(buckets, _PRECISIONS[width])
    return _cumulative(buckets, points)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    try:
        yield from read_lines(path)
    except NotFound:
        return  # sealed and removed since it was listed: its records are in a segment


def _coarsen(buckets: dict[str, list[int]], size: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for key, counts in buckets.items():
        into = out.setdefault(key[:size], [0, 0, 0, 0])
        for i in range(4):
            into[i] += counts[i]
    return out


def _cumulative(buckets: dict[str, list[int]], points: int) -> dict[str, Any]:
    keys = sorted(buckets)
    step = max(1, -(-len(keys) // points))
    totals = [0, 0, 0, 0]
    labels: list[str] = []
    control: list[float] = []
    treatment: list[float] = []
    for i, key in enumerate(keys):
        totals = [a + b for a, b in zip(totals, buckets[key], strict=True)]
        if (i + 1) % step == 0 or i == len(keys) - 1:
            labels.append(key[5:].replace("T", " "))
            control.append(round(100 * totals[1] / totals[0], 1) if totals[0] else 0.0)
            treatment.append(round(100 * totals[3] / totals[2], 1) if totals[2] else 0.0)
    return {"labels": labels, "control": control, "treatment": treatment}


def mermaid_chart(exp_id: str, series: Mapping[str, Any]) -> list[str]:
    if not series["labels"]:
        return []
    labels = ", ".join(json.dumps(label) for label in series["labels"])
    return [
        "```mermaid",
        "xychart-beta",
        f'  title "{exp_id}: cumulative completion rate (%)"',
        f"  x-axis [{labels}]",
        '  y-axis "completion %" 0 --> 100',
        f"  line [{', '.join(str(v) for v in series['control'])}]",
        f"  line [{', '.join(str(v) for v in series['treatment'])}]",
        "```",
        "",
        "_First line: control; second line: treatment._",
    ]


def section(result: Mapping[str, Any], series: Mapping[str, Any]) -> str:
    decision = result["decision"]
    icon = {"promote": "✅", "keep_running": "⏳", "stop_no_winner": "🛑"}.get(decision, "")
    lines = [
        f"### {result['experiment_id']}: {markdown_inline(result.get('name') or '')} {icon}",
        "",
        *summary.arms_table(result),
        "",
        *summary.tests_lines(result),
        "",
    ]
    if result.get("invalid_lines"):
        lines += [
            f"⚠️ {result['invalid_lines']} log line(s) broke the schema and were not "
            "counted (`maia doctor` lists them).",
            "",
        ]
    return "\n".join([*lines, *mermaid_chart(result["experiment_id"], series), ""])


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append outputs in the multi-line-safe ``name<<DELIMITER`` form, after checking them."""
    chunks = []
    for name, value in values.items():
        if not _OUTPUT_NAME.fullmatch(name):
            raise MaiaError(f"invalid output name {name!r}")
        delimiter = f"MAIA_{uuid.uuid4().hex}"
        if delimiter in value:  # practically impossible, but never write an ambiguous output
            raise MaiaError(f"output {name} contains its own delimiter")
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(chunks))


def annotation_lines(report: CiReport) -> list[str]:
    lines = []
    for r in report.results:
        exp_id = r["experiment_id"]
        if r.get("srm"):
            lines.append(
                f"::warning title=Sample ratio mismatch::{exp_id}: the arms' sizes do "
                f"not match the configured split (p = {r.get('srm_p_value'):.2g})"
            )
        if r.get("invalid_lines"):
            lines.append(
                f"::warning title=Invalid log lines::{exp_id}: {r['invalid_lines']} "
                "line(s) broke the schema and were not counted"
            )
        lines.append(f"::notice title={exp_id}::decision {r['decision']}")
    for p in report.promoted:
        lines.append(
            f"::notice title=Promoted {p['experiment_id']}::branch {p['branch']}"
            + (
                f", pull request {workflow_data(str(p['pull_request']['url']))}"
                if p.get("pull_request")
                else ""
            )
        )
    lines += [f"::error title=maia::{workflow_data(e)}" for e in report.errors]
    return lines


def analyze_all(ws: Workspace, base: str | None) -> CiReport:
    from maia_git.usecases.analysis import analyze_experiment

    report = CiReport(usable_base(ws, base))
    parts = [
        "## maia-git analysis",
        "",
        f"Experiments whose logs changed since `{report.base[:10]}`."
        if report.base
        else "Every active experiment.",
        "",
    ]
    for exp_id in experiments_to_analyze(ws, report.base):
        result = analyze_experiment(ws, exp_id).to_dict()
        entry = state.load_entry(ws.top, exp_id)
        result["status"] = str(entry.status)
        if state.has_experiment(ws.top, exp_id):
            result["name"] = state.load_experiment(ws.top, exp_id).name
        report.results.append(result)
        parts.append(section(result, completion_series(ws, exp_id)))
    if not report.results:
        parts.append("No experiment to analyse.")
    report.markdown = "\n".join(parts) + "\n"
    return report


def promote_all(ws: Workspace, report: CiReport, open_pr: bool, environ: Mapping[str, str]) -> None:
    """Promote every promotable experiment, then push the completion commits back."""
    from maia_git.usecases.promotion import promote
    from maia_git.usecases.push import push

    has_remote = git.attempt(ws.repo, "remote", "get-url", ws.settings.remote)[0] == 0
    for exp_id in report.promotable:
        try:
            done = promote(ws, exp_id, push=has_remote, open_pr=open_pr, environ=environ)
        except MaiaError as err:
            report.errors.append(f"{exp_id}: {err}")
            continue
        report.promoted.append(done.to_dict())
    if report.promoted and has_remote:
        try:
            with ws.transaction():
                push(ws)
        except MaiaError as err:
            report.errors.append(str(err))
    if report.promoted:
        report.markdown += "\n### Promoted\n\n" + "".join(
            f"- {p['experiment_id']}: branch `{p['branch']}`"
            + (f", pull request {p['pull_request']['url']}" if p.get("pull_request") else "")
            + "\n"
            for p in report.promoted
        )
