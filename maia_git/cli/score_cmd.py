"""``maia score eval | avg | report``."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from maia_git.cli.lazy import LazyGroup
from maia_git.cli.render import dry_run_option, emit_json, json_option, style, table

if TYPE_CHECKING:
    from maia_git.core.scoring import AgentReport, Score
    from maia_git.usecases.scores import ScoresReport

MAX_WARNINGS = 20
REPORT_COLUMNS = ["AGENT", "COUNT", "MEAN", "PREVIOUS", "CHANGE", "TREND"]
days_option = click.option(
    "--days", type=float, default=7, show_default=True, help="Length of the window, in days."
)


@click.group(cls=LazyGroup)
def score() -> None:
    """Score agent responses against the rubric and follow their quality over time.

    Scores are kept beside git until `maia sync` seals them into files under
    scores/<agent>/<YYYY-MM>/ and commits them. The rubric and its formulas: docs/scoring.md
    (change it in the `rubric:` section of maia.yaml).

    \b
    Example:
      maia score eval response.json --agent helper --response-id r-001
      maia score report --days 7 --fail-under 70
    """


@score.command("eval")
@click.argument("source", metavar="[FILE|-]", default="-", required=False)
@click.option("--agent", default=None, help="The agent that gave the response (to keep the score).")
@click.option(
    "--response-id", default=None, help="The response's id (1-200 printable chars; default: FILE)."
)
@dry_run_option
@click.option("--no-save", is_flag=True, hidden=True, help="Old spelling of --dry-run.")
@json_option
def eval_(
    source: str,
    agent: str | None,
    response_id: str | None,
    dry_run: bool,
    no_save: bool,
    as_json: bool,
) -> None:
    """Score one response description (JSON, from FILE or stdin) and keep the score.

    The score is appended to scores/AGENT/<YYYY-MM>.jsonl when run in a maia workspace with
    --agent; anywhere else it is only printed (with the default rubric outside a workspace).
    The description's fields (status, requirements, addressed_requirements, tools_used,
    expected_tools, explanation_quality, token_count, ...) and the formulas are in
    docs/scoring.md; a missing field counts as not done and is named in the feedback.

    \b
    Example:
      maia score eval response.json                          # score it, anywhere
      maia score eval response.json --agent helper --response-id r-001
      cat response.json | maia score eval - --agent helper --response-id r-002 --json
    """
    from datetime import UTC, datetime

    from maia_git.core.scoring import format_ts
    from maia_git.usecases.scores import evaluate_source

    now = datetime.now(UTC)
    done = evaluate_source(source, agent, response_id, now, save=not (dry_run or no_save))
    if as_json:
        emit_json(
            {
                "agent": done.agent,
                "response_id": done.response_id,
                "ts": format_ts(now),
                **asdict(done.score),
                "saved_to": done.saved_to,
                "not_saved": done.not_saved,
                "dry_run": dry_run or no_save,
            }
        )
        return
    _print_score(done.score, done.agent or "response", done.response_id)
    if done.saved_to:
        click.echo(f"saved for {done.saved_to} (`maia sync` commits it)")
    else:
        click.echo(f"not saved: {done.not_saved}")


def _print_score(result: Score, agent: str, response_id: str) -> None:
    click.echo(style(f"{agent} {response_id}: {result.overall:g} ({result.band})", bold=True))
    click.echo(table(["CRITERION", "SCORE"], [[k, f"{v:g}"] for k, v in result.criteria.items()]))
    if result.feedback:
        click.echo("feedback:")
        for sentence in result.feedback:
            click.echo(f"  - {sentence}")


def _warn(problems: tuple[str, ...]) -> None:
    for problem in problems[:MAX_WARNINGS]:
        click.echo(f"maia: warning: {problem}", err=True)
    if len(problems) > MAX_WARNINGS:
        click.echo(f"maia: warning: ... and {len(problems) - MAX_WARNINGS} more", err=True)


@score.command("avg")
@click.option("--agent", required=True, help="The agent whose scores are averaged.")
@days_option
@json_option
def avg(agent: str, days: float, as_json: bool) -> None:
    """Print an agent's mean score over the last DAYS days, and how many scores it averages.

    \b
    Example:
      maia score avg --agent helper --days 30
    """
    from maia_git.usecases.scores import average
    from maia_git.workspace import Workspace

    result = average(Workspace.find(), agent, days)
    _warn(result.problems)
    if as_json:
        emit_json(asdict(result))
    elif result.mean is None:
        click.echo(f"{agent}: no scores in the last {days:g} days")
    else:
        click.echo(
            f"{agent}: mean {result.mean:g} over {result.count} "
            f"score{'s' if result.count != 1 else ''} in the last {days:g} days"
        )


@score.command("report")
@days_option
@click.option(
    "--fail-under",
    type=float,
    default=None,
    metavar="N",
    help="Exit 1 when an agent's mean over the window is below N (for CI).",
)
@json_option
def report_(days: float, fail_under: float | None, as_json: bool) -> None:
    """Per agent: count and mean over the window, trend against the window before it, and how
    many scores are below --fail-under (below 60, the poor band, without it).

    \b
    Example:
      maia score report --days 7
      maia score report --json --fail-under 70   # in CI: exit 1 alerts
    """
    from maia_git.usecases.scores import report
    from maia_git.workspace import Workspace

    result = report(Workspace.find(), days, fail_under)
    _warn(result.problems)
    if as_json:
        emit_json(_report_json(result))
    else:
        _print_report(result)
    failing = [a for a in result.report.agents if a.failing]
    if failing:
        shown = ", ".join(f"{a.agent} (mean {a.mean:g})" for a in failing)
        click.echo(f"maia: mean below --fail-under {fail_under:g}: {shown}", err=True)
        click.get_current_context().exit(1)


def _report_json(result: ScoresReport) -> dict[str, Any]:
    from maia_git.core.scoring import format_ts

    data = asdict(result.report)
    return {
        "now": format_ts(result.now),
        **data,
        "failing": list(result.report.failing),
        "problems": list(result.problems),
    }


def _print_report(result: ScoresReport) -> None:
    days = result.report.days
    if not result.report.agents:
        click.echo(f"no scores in the last {2 * days:g} days")
        return
    click.echo(f"scores over the last {days:g} days; trend against the {days:g} days before")
    click.echo(
        table(
            [*REPORT_COLUMNS, f"BELOW {result.report.threshold:g}"],
            [_row(a) for a in result.report.agents],
        )
    )
    poor = [(a.agent, r) for a in result.report.agents for r in a.poor]
    if poor:
        shown = poor[-POOR_SHOWN:]  # the most recent; --json has them all
        click.echo(f"\nscores below 60 (poor), the latest {len(shown)} of {len(poor)}:")
        click.echo(
            table(
                ["AGENT", "TIME", "RESPONSE", "SCORE"],
                [[agent, r["ts"], r["response_id"], f"{r['overall']:g}"] for agent, r in shown],
            )
        )


POOR_SHOWN = 10


def _row(a: AgentReport) -> list[Any]:
    change = None if a.change is None else f"{a.change:+g}"
    mean = None if a.mean is None else f"{a.mean:g}"
    previous = None if a.previous_mean is None else f"{a.previous_mean:g}"
    return [a.agent, a.count, mean, previous, change, a.trend, a.below]
