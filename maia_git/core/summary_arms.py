"""Readable summaries of an analysis with several treatments (``stats.multiarm``'s JSON), for the
CI step summary and the pull request: every arm's numbers, each treatment against control with
the adjustment for testing several at once, the one winner, and each arm's unmet conditions.
An analysis of two arms keeps ``core.summary``'s layout; every text from the experiment or the
logs goes through ``core.escape``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maia_git.core.escape import code_fence, code_span, markdown_inline
from maia_git.core.summary import num, p_text, pct, signed, yes_no

ADJUSTMENTS = {
    "holm": "Holm's step-down adjustment",
    "dunnett": "Dunnett's many-to-one adjustment",
    "none": "no adjustment",
}
_SHORT = {"holm": "Holm", "dunnett": "Dunnett"}


def lines(analysis: Mapping[str, Any]) -> list[str]:
    """The arms table, the comparisons table and the decision with each arm's unmet conditions."""
    return [
        *arms_table(analysis),
        "",
        *comparisons_table(analysis),
        "",
        *decision_lines(analysis),
    ]


def arms_table(analysis: Mapping[str, Any]) -> list[str]:
    rows = [
        "| arm | share | users | interactions | successes | completion | quality (mean ± se) |"
        " tokens | latency ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm in analysis.get("arms") or []:
        quality = (
            f"{num(arm.get('quality_mean'))} ± {num(arm.get('quality_se'))}"
            if arm.get("quality_mean") is not None
            else "-"
        )
        rows.append(
            f"| {_arm(analysis, arm.get('name'))} | {pct(arm.get('share'))} | "
            f"{arm.get('users', 0)} | {arm.get('n', 0)} | {arm.get('successes', 0)} | "
            f"{pct(arm.get('rate'))} | {quality} | {num(arm.get('tokens_mean'), 0)} | "
            f"{num(arm.get('latency_mean'), 0)} |"
        )
    return rows


def comparisons_table(analysis: Mapping[str, Any]) -> list[str]:
    """One row per treatment against control: the lift with its interval and evidence, the
    quality and cost guardrails, and whether it meets every condition."""
    method = str(analysis.get("method"))
    adjustment = str(analysis.get("adjustment"))
    said = ADJUSTMENTS.get(adjustment, adjustment)
    intro = (
        f"Each treatment against control ({markdown_inline(method)} method, "
        f"{markdown_inline(said)} for {len(analysis.get('comparisons') or [])} treatments):"
    )
    if method == "bayesian":
        head = "| treatment | lift | interval | chance to beat control | expected loss |"
    else:
        short = markdown_inline(_SHORT.get(adjustment, adjustment))
        head = f"| treatment | lift | interval ({short}) | p-value ({short}) | p-value unadjusted |"
    rows = [
        intro,
        "",
        head + " quality not worse | tokens | latency | meets every condition |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    rows += [_comparison_row(analysis, c, method) for c in analysis.get("comparisons") or []]
    return rows


def _comparison_row(analysis: Mapping[str, Any], c: Mapping[str, Any], method: str) -> str:
    ci = c.get("lift_ci") or [None, None]
    if method == "bayesian":
        evidence = f"{pct(c.get('chance_to_win'))} | {pct(c.get('expected_loss'))}"
    else:
        evidence = f"{p_text(c.get('p_value'))} | {p_text(c.get('p_value_unadjusted'))}"
    guardrails = c.get("guardrails") or {}
    costs = " | ".join(_cost(guardrails.get(m)) for m in ("tokens", "latency"))
    return (
        f"| {_arm(analysis, c.get('arm'))} | {signed(c.get('lift'))} | {_interval(ci)} | "
        f"{evidence} | {yes_no(c.get('quality_non_inferior'))} | {costs} | "
        f"{'yes' if c.get('eligible') else 'no'} |"
    )


def _cost(g: Mapping[str, Any] | None) -> str:
    """A cost guardrail in one cell: the relative change, its interval and the verdict."""
    if not g or g.get("change") is None:
        return "not compared"
    interval = _interval(g.get("ci") or [None, None])
    passed = g.get("passed")
    verdict = "no margin" if passed is None else ("within" if passed else "above")
    margin = "" if g.get("margin") is None else f" +{g['margin'] * 100:g}%"
    shown = signed(g["change"]) + ("" if interval == "-" else f" ({interval})")
    return f"{shown}, {verdict}{margin}"


def _interval(ci: list[Any]) -> str:
    return "-" if ci[0] is None and ci[1] is None else f"{signed(ci[0])} to {signed(ci[1])}"


def decision_lines(analysis: Mapping[str, Any]) -> list[str]:
    """The sample-ratio check, the decision and winner, then each treatment's unmet
    conditions by name (the notes after them)."""
    winner = analysis.get("winner")
    chosen = f"winner {code_span(str(winner))}" if winner else "no winner"
    lines = [
        f"- **Sample ratio** (users in {len(analysis.get('arms') or [])} arms against their "
        f"shares): {p_text(analysis.get('srm_p_value'))}"
        + ("; **mismatch**" if analysis.get("srm") else ""),
        f"- **Decision**: {code_span(str(analysis.get('decision')))}, {chosen}",
    ]
    for c in analysis.get("comparisons") or []:
        reasons = c.get("reasons") or []
        state = "meets every condition" if not reasons else "unmet:"
        lines.append(f"  - {_arm(analysis, c.get('arm'))}: {state}")
        lines += [f"    - {_message(r)}" for r in reasons]
    lines += [f"- note: {_message(n)}" for n in analysis.get("notes") or []]
    return lines


def promotion_body(
    analysis: Mapping[str, Any],
    experiment: Mapping[str, Any],
    diff: str,
    arm: str,
    forced_by: str | None = None,
    reason: str | None = None,
) -> str:
    """The pull request that promotes ``arm`` of an experiment with several treatments."""
    md = markdown_inline
    count = len(analysis.get("comparisons") or [])
    head = [
        f"Promotes the {code_span(arm)} prompt of **{md(str(experiment['id']))}** "
        f"({md(str(experiment.get('name', '')))}) for agent "
        f"{code_span(str(experiment.get('agent')))}, of {count} treatments tested against "
        "control.",
        "",
    ]
    if experiment.get("hypothesis"):
        head += [f"> {md(str(experiment['hypothesis']))}", ""]
    if forced_by:
        head += [f"**Forced** by {md(forced_by)}: {md(reason or '')}", ""]
    path = (experiment.get("treatments") or {}).get(arm, "")
    tail = [
        f"{code_span(str(experiment.get('control')))} now holds the content of "
        f"{code_span(str(path))} ({code_span(arm)}):",
        "",
        code_fence(diff, "diff"),
        "",
        "Merging this pull request is the promotion.",
    ]
    return "\n".join([*head, *lines(analysis), "", *tail]) + "\n"


def _arm(analysis: Mapping[str, Any], name: Any) -> str:
    shown = markdown_inline(str(name))
    return f"**{shown}** (winner)" if name is not None and name == analysis.get("winner") else shown


def _message(r: Mapping[str, Any]) -> str:
    return markdown_inline(str(r.get("message", r.get("code"))))
