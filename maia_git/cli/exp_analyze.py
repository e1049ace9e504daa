"""``maia exp analyze`` and ``maia exp plan``."""

from __future__ import annotations

import math
from typing import Any

import click

from maia_git.cli.options import EXPERIMENT_ID
from maia_git.cli.render import emit_json, json_option, style, table
from maia_git.errors import UsageError

SHOWN_PROBLEMS = 5
ARM_COLUMNS = ["ARM", "USERS", "INTERACTIONS", "SUCCESSES", "RATE", "QUALITY", "TOKENS",
               "LATENCY MS"]  # fmt: skip
DECISION_COLOURS = {"promote": "green", "keep_running": "yellow", "stop_no_winner": "red"}


@click.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@click.option("--method", type=click.Choice(["sequential", "fixed", "bayesian"]), default=None,
              help="sequential: safe to re-check after every push; fixed: one planned look; "
                   "bayesian: chance to beat control and expected loss (GrowthBook's). "
                   "Default: maia.yaml's method.")  # fmt: skip
@json_option
def analyze(exp_id: str, method: str | None, as_json: bool) -> None:
    """Analyse an experiment's logs: both arms, the tests, and the decision with its reasons.

    Works in any status; for a completed, promoted or cancelled experiment the decision is
    what its data say, and the report says that it has ended. Lines that break the log format
    are reported with file:line and not counted; shards unchanged since the last analysis are
    not read again.

    \b
    Example:
      maia exp analyze exp_001
      maia exp analyze exp_001 --method fixed --json
    """
    from maia_git.usecases.analysis import analyze_experiment
    from maia_git.workspace import Workspace

    data = analyze_experiment(Workspace.find(), exp_id, method).to_dict()
    if as_json:
        emit_json(data)
        return
    click.echo("\n".join(report_lines(data)))


def report_lines(d: dict[str, Any]) -> list[str]:
    """The analysis as a readable report: arms, tests, decision and reasons, log problems."""
    lines = [style(f"{d['experiment_id']}: {d['name']} ({d['status']})", bold=True), ""]
    if "arms" in d:  # several treatments
        lines += _several(d)
    else:
        rows = [_arm_row(name, d[name]) for name in ("control", "treatment")]
        lines += [table(ARM_COLUMNS, rows), ""]
        lines += _tests(d)
    colour = DECISION_COLOURS.get(d["decision"], "white")
    winner = f" (winner: {d['winner']})" if d.get("winner") else ""
    lines += ["", "decision: " + style(d["decision"], fg=colour, bold=True) + winner + _finished(d)]
    lines += [f"  - {r['code']}: {r['message']}" for r in d["reasons"]]
    lines += [f"  note: {r['message']}" for r in d["notes"]]
    return lines + _log_lines(d)


FINISHED = ("completed", "promoted", "cancelled")


def _finished(d: dict[str, Any]) -> str:
    """An experiment that has ended takes no more data: the decision is only what the data say."""
    if d["status"] not in FINISHED:
        return ""
    return f" (but {d['experiment_id']} is {d['status']}: it records nothing more)"


def _arm_row(name: str, arm: dict[str, Any]) -> list[Any]:
    return [name, arm["users"], arm["n"], arm["successes"], _pct(arm["rate"]),
            _num(arm["quality_mean"]), _num(arm["tokens_mean"], 0),
            _num(arm["latency_mean"], 0)]  # fmt: skip


def _several(d: dict[str, Any]) -> list[str]:
    """Every arm, then each treatment against control (corrected for the family)."""
    rows = [_arm_row(f"{a['name']} ({a['share']:.0%})", a) for a in d["arms"]]
    lines = [table(ARM_COLUMNS, rows), ""]
    correction = {"holm": "Holm-adjusted", "dunnett": "Dunnett-adjusted"}.get(d["adjustment"])
    for c in d["comparisons"]:
        how = f", {correction} for {len(d['comparisons'])} treatments" if correction else ""
        verdict = "meets every condition" if c["eligible"] else "does not meet every condition"
        lines += [style(f"{c['arm']} against control{how}: {verdict}", bold=True)]
        lines += ["  " + line for line in _tests(d | c, c["arm"], srm=False)] + [""]
    srm = "mismatch" if d["srm"] else "ok"
    return [*lines, f"sample ratio: p = {_p(d['srm_p_value'])} on users of every arm ({srm})"]


def _tests(d: dict[str, Any], arm: str = "treatment", *, srm: bool = True) -> list[str]:
    ci = d["lift_ci"]
    level = f"{1 - d['alpha']:.0%}"
    interval = (
        f"{level} interval {_pct(ci[0], True)} to {_pct(ci[1], True)}" if ci else "no interval"
    )
    adjusted = " (add-one adjusted)" if d["lift_adjusted"] else ""
    q_ci = d["quality_ci"]
    if d["quality_diff"] is None:
        quality = "not compared"
    else:
        verdict = "shown" if d["quality_non_inferior"] else "not shown"
        bounds = f", interval {_num(q_ci[0])} to {_num(q_ci[1])}" if q_ci else ""
        quality = (
            f"{arm} - control {_num(d['quality_diff'])}{bounds}; not worse by more than "
            f"{d['quality_margin']:g}: {verdict}"
        )
    lines = [
        f"method:       {d['method']} (per user)",
        f"lift:         {_pct(d['lift'], True)} ({interval}){adjusted}",
        _evidence(d),
        f"quality:      {quality}",
        *(f"{m + ':':<13} {_cost(g)}" for m, g in d["guardrails"].items()),
    ]
    if srm:
        shown = "mismatch" if d["srm"] else "ok"
        lines.append(f"sample ratio: p = {_p(d['srm_p_value'])} on users ({shown})")
    return lines


def _evidence(d: dict[str, Any]) -> str:
    if d["method"] != "bayesian":
        same = "the same statistic as the interval"
        return f"p-value:      {_p(d['p_value'])} ({d['method']}, {same})"
    return (
        f"bayesian:     chance to beat control {_pct(d['chance_to_win'])} (needs > "
        f"{d['min_chance_to_win']:.0%}), expected loss {_pct3(d['expected_loss'])} (needs < "
        f"{_pct3(d['max_expected_loss'])})"
    )


def _pct3(value: float | None) -> str:
    return "-" if value is None else f"{value:.3%}"


def _cost(g: dict[str, Any]) -> str:
    """A cost guardrail: the change per interaction, its interval and the verdict."""
    if g["change"] is None:
        return "not compared (not logged in both arms)"
    ci = g["ci"]
    bounds = f", interval {_pct(ci[0], True)} to {_pct(ci[1], True)}" if ci else ""
    if g["margin"] is None:
        return f"{_pct(g['change'], True)} per interaction{bounds}; no margin (report only)"
    over = ci is not None and ci[0] is not None and ci[0] > g["margin"]
    verdict = "shown" if g["passed"] else "exceeded" if over else "not shown"
    return (f"{_pct(g['change'], True)} per interaction{bounds}; at most "
            f"+{g['margin'] * 100:g}%: {verdict}")  # fmt: skip


def _log_lines(d: dict[str, Any]) -> list[str]:
    lines = []
    if d["invalid_lines"] or d["problems"]:
        shown = d["problems"][:SHOWN_PROBLEMS]
        more = " (more with --json)" if d["invalid_lines"] > len(shown) else ""
        lines += ["", f"{d['invalid_lines']} invalid line(s), not counted{more}:"]
        lines += [f"  {_where(p)}: {p['error']}" for p in shown]
    if d["duplicate_lines"]:
        lines += ["", f"{d['duplicate_lines']} line(s) repeat an interaction_id: counted once"]
    if _no_logs(d):
        lines += ["", "no interaction logs yet"]
    return lines


def _no_logs(d: dict[str, Any]) -> bool:
    """No log file, and nothing from a warehouse source (which has no files) either."""
    arms = d.get("arms") or [d[a] for a in ("control", "treatment") if a in d]
    return not d["shards"] and not d["invalid_lines"] and not any(a["n"] for a in arms)


def _where(problem: dict[str, Any]) -> str:
    """file:line, or for a warehouse row the source and the row's ts, user and id."""
    row = problem.get("row")
    if row is None:
        return f"{problem['file']}:{problem['line']}"
    named = ", ".join(f"{k} {v}" for k, v in row.items() if v is not None)
    return f"{problem['file']} ({named or 'a row without ts, user_id or interaction_id'})"


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


@click.command()
@click.option("--baseline", metavar="P", help="Control's completion rate, between 0 and 1.")
@click.option(
    "--mde",
    metavar="M",
    help="Smallest relative lift worth detecting (0.2 = +20%; negative for a drop).",
)
@click.option("--alpha", metavar="A", help="Significance level. Default: maia.yaml's, or 0.05.")
@click.option(
    "--power",
    metavar="B",
    default="0.8",
    show_default=True,
    help="Chance to detect a true lift of the given size.",
)
@click.option(
    "--per-user",
    "per_user",
    metavar="K",
    default="1",
    show_default=True,
    help="Interactions per user, on average.",
)
@click.option(
    "--icc",
    metavar="R",
    default="0",
    show_default=True,
    help="Correlation of one user's outcomes (0: independent; 0.2 is common).",
)
@click.option(
    "--every",
    metavar="N",
    default="20",
    show_default=True,
    help="Users per arm between two looks (the sequential method looks after each).",
)
@json_option
def plan(baseline: str | None, mde: str | None, alpha: str | None, power: str, per_user: str,
         icc: str, every: str, as_json: bool) -> None:  # fmt: skip
    """How many users per arm an experiment needs to be promoted under the whole rule.

    The chance of `promote` is simulated under maia.yaml's rule: the lift must exceed min_lift,
    min_samples users per arm, the method (the sequential one looks after every batch of
    users), and users with several correlated interactions. The closed-form sizes of one test
    alone follow, for one interaction per user.

    \b
    Example:
      maia exp plan --baseline 0.4 --mde 0.3
      maia exp plan --baseline 0.4 --mde 0.3 --per-user 5 --icc 0.2 --json
    """
    from maia_git.usecases.analysis import plan_rule_size, plan_sample_size

    p1, lift = _required("--baseline", baseline), _required("--mde", mde)
    level, chance = None if alpha is None else _number("--alpha", alpha), _number("--power", power)
    ws = _workspace()
    result = plan_sample_size(p1, lift, level, chance, ws).to_dict()
    batch = _number("--every", every)
    if batch != int(batch):
        raise UsageError(f"--every must be a whole number of users, not {every!r}")
    rule = None
    if lift > 0:
        rule = plan_rule_size(p1, lift, chance, ws, per_user=_number("--per-user", per_user),
                              icc=_number("--icc", icc), every=int(batch)).to_dict()  # fmt: skip
    result["rule"] = rule
    if as_json:
        emit_json(result)
        return
    click.echo("\n".join(_plan_lines(result)))


def _plan_lines(r: dict[str, Any]) -> list[str]:
    lines = [
        f"baseline {r['baseline']:.1%} -> {r['treatment_rate']:.1%} (relative lift "
        f"{r['mde']:+.1%}), alpha {r['alpha']:g}, power {r['power']:.0%}",
    ]
    rule = r["rule"]
    if rule is None:
        lines.append("the rule promotes only a lift above min_lift: no plan for a drop")
    else:
        look = f"a look every {rule['every']} users" if rule["method"] == "sequential" else (
            "one look")  # fmt: skip
        size = (
            f"{rule['users_per_arm']:,} users per arm (about {rule['interactions_per_arm']:,.0f}"
            " interactions)" if rule["users_per_arm"] else "not reached within the search"
        )  # fmt: skip
        lines += [
            f"under the whole rule ({rule['method']}, {look}, min_lift {rule['min_lift']:+.0%}, "
            f"{rule['per_user']:g} interactions per user, icc {rule['icc']:g}): {size}; "
            f"promote with probability {rule['power']:.0%} (simulated)",
        ]
        if rule["warning"]:
            lines.append(f"warning: {rule['warning']}")
    lines += [
        "one test alone, one interaction per user:",
        f"  fixed horizon (one planned look):     {r['fixed_per_arm']:,} per arm",
        f"  sequential (a look after every push): {r['sequential_per_arm']:,} per arm",
    ]
    return lines


def _required(name: str, text: str | None) -> float:
    if text is None:
        raise UsageError(f"{name} is required (see `maia exp plan --help`)")
    return _number(name, text)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, not {text!r}")
    return value


def _workspace() -> Any:
    """The workspace here, for its settings, or None: planning needs no repository."""
    from maia_git.workspace import Workspace

    try:
        return Workspace.find()
    except UsageError:
        return None
