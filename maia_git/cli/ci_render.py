"""Rendering what ``maia ci analyze`` found, at the edge: the Markdown step summary, the
workflow annotations, and the ``$GITHUB_OUTPUT`` lines (checked before they are written)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maia_git.core import summary, summary_arms
from maia_git.core.escape import code_span, markdown_inline, workflow_data
from maia_git.errors import MaiaError
from maia_git.usecases.ci import CiReport

_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def markdown(report: CiReport) -> str:
    """The step summary: a section (table, tests, chart) per experiment, then the promotions."""
    parts = [
        "## maia-git analysis",
        "",
        f"Experiments whose logs changed since `{report.base[:10]}`."
        if report.base
        else "Every active experiment.",
        "",
    ]
    for result in report.results:
        parts.append(section(result, report.series[result["experiment_id"]]))
    if not report.results:
        parts.append("No experiment to analyse.")
    text = "\n".join(parts) + "\n"
    if report.promoted:
        text += "\n### Promoted\n\n" + "".join(
            f"- {p['experiment_id']}: {_promoted_arm(p)}branch `{p['branch']}`"
            + (f", pull request {p['pull_request']['url']}" if p.get("pull_request") else "")
            + "\n"
            for p in report.promoted
        )
    return text


def _promoted_arm(promotion: Mapping[str, Any]) -> str:
    """The arm promoted, named when it is one of several treatments."""
    arm = promotion.get("winner")
    return "" if arm in (None, "treatment") else f"{code_span(str(arm))} on "


def outputs(report: CiReport) -> dict[str, str]:
    return {
        "promotable": json.dumps(report.promotable),
        "analyzed": json.dumps(report.analyzed),
        "results": json.dumps(report.results),
        "decisions": json.dumps({r["experiment_id"]: r["decision"] for r in report.results}),
        "winners": json.dumps({r["experiment_id"]: winner(r) for r in report.results}),
    }


def winner(result: Mapping[str, Any]) -> str | None:
    """The arm an analysis would promote: ``treatment`` of two arms, the named one of several,
    None without a promotion."""
    if "arms" in result:
        return result.get("winner")
    return "treatment" if result["decision"] == "promote" else None


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
        *(f"  line [{', '.join(str(v) for v in rates)}]" for rates in series["arms"].values()),
        "```",
        "",
        _legend(list(series["arms"])),
    ]


def _legend(arms: list[str]) -> str:
    """Mermaid's xychart has no legend: say which line is which arm, in drawing order."""
    if arms == ["control", "treatment"]:
        return "_First line: control; second line: treatment._"
    return f"_Lines in order: {markdown_inline(', '.join(arms))}._"


def section(result: Mapping[str, Any], series: Mapping[str, Any]) -> str:
    decision = result["decision"]
    icon = {"promote": "✅", "keep_running": "⏳", "stop_no_winner": "🛑"}.get(decision, "")
    lines = [
        f"### {result['experiment_id']}: {markdown_inline(result.get('name') or '')} {icon}",
        "",
        *analysis_lines(result),
        "",
    ]
    if result.get("invalid_lines"):
        lines += [
            f"⚠️ {result['invalid_lines']} log line(s) broke the schema and were not "
            f"counted (`maia exp analyze {result['experiment_id']}` shows them).",
            "",
        ]
    return "\n".join([*lines, *mermaid_chart(result["experiment_id"], series), ""])


def analysis_lines(result: Mapping[str, Any]) -> list[str]:
    """Every arm's numbers and the tests: two arms as they always were, several arms with each
    treatment against control (``core.summary_arms``)."""
    if "arms" in result:
        return summary_arms.lines(result)
    return [*summary.arms_table(result), "", *summary.tests_lines(result)]


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
        arm = f" (winner {workflow_data(str(r['winner']))})" if r.get("winner") else ""
        lines.append(f"::notice title={exp_id}::decision {r['decision']}{arm}")
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
