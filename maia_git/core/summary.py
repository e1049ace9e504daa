"""Readable summaries of an analysis, for commit messages, pull requests and CI step summaries."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from maia_git.core.escape import code_fence, code_span, markdown_inline


def pct(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def p_text(value: Any) -> str:
    if value is None:
        return "-"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def yes_no(value: Any) -> str:
    return "-" if value is None else ("shown" if value else "not shown")


def arms_table(analysis: Mapping[str, Any]) -> list[str]:
    rows = [
        "| arm | users | interactions | successes | completion | quality (mean ± se) | tokens |"
        " latency ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("control", "treatment"):
        arm = analysis.get(name) or {}
        quality = (
            f"{num(arm.get('quality_mean'))} ± {num(arm.get('quality_se'))}"
            if arm.get("quality_mean") is not None
            else "-"
        )
        rows.append(
            f"| {name} | {arm.get('users', 0)} | {arm.get('n', 0)} | {arm.get('successes', 0)} | "
            f"{pct(arm.get('rate'))} | {quality} | {num(arm.get('tokens_mean'), 0)} | "
            f"{num(arm.get('latency_mean'), 0)} |"
        )
    return rows


def tests_lines(analysis: Mapping[str, Any]) -> list[str]:
    ci = analysis.get("lift_ci") or [None, None]
    return [
        f"- **Lift** (completion, relative): {pct(analysis.get('lift'))} "
        f"(CI {pct(ci[0])} to {pct(ci[1])})",
        f"- {_evidence(analysis)}; "
        f"quality not worse (margin {analysis.get('quality_margin')}): "
        f"{yes_no(analysis.get('quality_non_inferior'))}; "
        f"sample ratio: {p_text(analysis.get('srm_p_value'))}",
        *_cost_lines(analysis),
        f"- **Decision**: {code_span(str(analysis.get('decision')))}",
        *[
            f"  - {markdown_inline(str(r.get('message', r.get('code'))))}"
            for r in analysis.get("reasons") or []
        ],
    ]


def _evidence(analysis: Mapping[str, Any]) -> str:
    if analysis.get("method") != "bayesian":
        method = markdown_inline(str(analysis.get("method")))
        return f"**p-value** ({method}): {p_text(analysis.get('p_value'))}"
    return (
        f"**Chance to beat control** (bayesian): {pct(analysis.get('chance_to_win'))}, "
        f"expected loss {pct(analysis.get('expected_loss'))}"
    )


def _cost_lines(analysis: Mapping[str, Any]) -> list[str]:
    """The cost guardrails, one line each (left out by analyses older than them)."""
    lines = []
    for metric, g in (analysis.get("guardrails") or {}).items():
        name = markdown_inline(str(metric).capitalize())
        if g.get("change") is None:
            lines.append(f"- **{name}** per interaction: not compared")
            continue
        ci = g.get("ci") or [None, None]
        limit = "no margin" if g.get("margin") is None else f"at most +{g['margin'] * 100:g}%"
        lines.append(
            f"- **{name}** per interaction: {signed(g['change'])} "
            f"(CI {signed(ci[0])} to {signed(ci[1])}); {limit}: {yes_no(g.get('passed'))}"
        )
    return lines


def signed(value: Any) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def prompt_diff(old: str, new: str, old_name: str, new_name: str, limit: int = 200) -> str:
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"a/{old_name}", f"b/{new_name}", lineterm=""
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines) or "(no textual difference)"


def promotion_body(
    analysis: Mapping[str, Any],
    experiment: Mapping[str, Any],
    diff: str,
    forced_by: str | None = None,
    reason: str | None = None,
) -> str:
    md = markdown_inline
    head = [
        f"Promotes the treatment prompt of **{md(str(experiment['id']))}** "
        f"({md(str(experiment.get('name', '')))}) "
        f"for agent {code_span(str(experiment.get('agent')))}.",
        "",
    ]
    if experiment.get("hypothesis"):
        head += [f"> {md(str(experiment['hypothesis']))}", ""]
    if forced_by:
        head += [f"**Forced** by {md(forced_by)}: {md(reason or '')}", ""]
    return (
        "\n".join(
            [
                *head,
                *arms_table(analysis),
                "",
                *tests_lines(analysis),
                "",
                f"{code_span(str(experiment.get('control')))} now holds the content of "
                f"{code_span(str(experiment.get('treatment')))}:",
                "",
                code_fence(diff, "diff"),
                "",
                "Merging this pull request is the promotion.",
            ]
        )
        + "\n"
    )
