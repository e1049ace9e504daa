"""``maia score eval | avg | report``."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from maia_git.cli.render import emit_json, json_option, style, table

if TYPE_CHECKING:
    from maia_git.core.scoring import AgentReport, Score
    from maia_git.usecases.scores import ScoresReport

MAX_WARNINGS = 20
days_option = click.option(
    "--days", type=float, default=7, show_default=True, help="Length of the window, in days."
)


@click.group()
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
@click.option("--agent", required=True, help="The agent that gave the response.")
@click.option("--response-id", required=True, help="The response's id (1-200 printable chars).")
@click.option("--no-save", is_flag=True, help="Only print the score; append nothing.")
@json_option
def eval_(source: str, agent: str, response_id: str, no_save: bool, as_json: bool) -> None:
    """Score one response description (JSON, from FILE or stdin) and append the score.

    The description's fields (status, requirements, addressed_requirements, tools_used,
    expected_tools, explanation_quality, token_count, ...) and the formulas are in
    docs/scoring.md; a missing field counts as not done and is named in the feedback.

    \b
    Example:
      maia score eval response.json --agent helper --response-id r-001
      cat response.json | maia score eval - --agent helper --response-id r-002 --json
    """
    from datetime import UTC, datetime

    from maia_git.core.scoring import format_ts
    from maia_git.storage.scores import stream
    from maia_git.usecases.recording import writer_name
    from maia_git.usecases.scores import score_file
    from maia_git.workspace import Workspace

    now = datetime.now(UTC)
    result = score_file(Workspace.find(), source, agent, response_id, now, save=not no_save)
    saved = None if no_save else stream(agent, now, writer_name())
    if as_json:
        emit_json(
            {
                "agent": agent,
                "response_id": response_id,
                "ts": format_ts(now),
                **asdict(result),
                "saved_to": saved,
            }
        )
        return
    _print_score(result, agent, response_id)
    click.echo(f"saved for {saved} (`maia sync` commits it)" if saved else "not saved (--no-save)")


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
    """Per agent: count and mean over the window, trend against the window before it, and the
    scores below 60.

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
            ["AGENT", "COUNT", "MEAN", "PREVIOUS", "CHANGE", "TREND", "BELOW 60"],
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
    return [a.agent, a.count, mean, previous, change, a.trend, len(a.poor)]
