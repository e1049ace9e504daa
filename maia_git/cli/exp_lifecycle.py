"""``maia exp new | start | pause | resume | complete | cancel``."""

from __future__ import annotations

import click

from maia_git.cli.options import EXPERIMENT_ID, note_option, priority_option
from maia_git.cli.render import (
    change_dict,
    dry_run_option,
    emit_json,
    json_option,
    print_change,
)


@click.command()
@click.argument("name")
@click.option("--agent", required=True, help="The agent whose prompt is tested.")
@click.option(
    "--control",
    required=True,
    type=click.Path(dir_okay=False),
    help="The current prompt file (promotion overwrites it).",
)
@click.option(
    "--treatment",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A candidate prompt file; repeat it to test several treatments against control.",
)
@click.option(
    "--arm-name",
    "arm_names",
    multiple=True,
    metavar="NAME",
    help="With several treatments: each one's arm name, in --treatment order "
    "(default treatment_1, treatment_2, ...).",
)
@click.option("--hypothesis", default="", help="What you expect and why.")
@click.option("--id", "exp_id", default=None, help="Experiment id (default: the next exp_NNN).")
@priority_option("medium", "Its place in the queue once started.")
@click.option(
    "--control-share",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.5,
    show_default=True,
    help="Share of users in the control arm (one treatment).",
)
@click.option(
    "--share",
    "shares",
    multiple=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    metavar="FRACTION",
    help="With several treatments: each arm's share of users, control first, adding up to 1 "
    "(default: equal shares).",
)
@note_option("Free text kept with the queue entry.", "--notes")
@dry_run_option
@json_option
def new(
    name: str,
    agent: str,
    control: str,
    treatment: tuple[str, ...],
    arm_names: tuple[str, ...],
    hypothesis: str,
    exp_id: str | None,
    priority: str,
    control_share: float,
    shares: tuple[float, ...],
    note: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Create a draft experiment comparing a control prompt file with one or more treatments.

    With one treatment the arms are control and treatment. Repeat --treatment to compare
    several (up to 9), each with control: name them with --arm-name and split the users with
    --share (one per arm, control first).

    \b
    Examples:
      maia exp new "ReAct pattern" --agent cloud_architect \\
          --control agents/cloud_architect.md --treatment agents/cloud_architect_react.md \\
          --hypothesis "ReAct completes 20% more tasks" --priority high
      maia exp new "Tone" --agent cloud_architect --control agents/cloud_architect.md \\
          --treatment agents/ca_short.md --arm-name short \\
          --treatment agents/ca_formal.md --arm-name formal \\
          --share 0.5 --share 0.25 --share 0.25
    """
    from maia_git.usecases.experiments import new_experiment
    from maia_git.workspace import Workspace

    change = new_experiment(
        Workspace.find(),
        name=name,
        agent=agent,
        control=control,
        treatment=treatment[0] if len(treatment) == 1 else list(treatment),
        hypothesis=hypothesis,
        exp_id=exp_id,
        priority=priority,
        control_share=control_share,
        notes=note or "",
        dry_run=dry_run,
        arm_names=list(arm_names) or None,
        shares=list(shares) or None,
    )
    if as_json:
        emit_json({**change_dict(change), "status": "draft"})
    elif dry_run:
        print_change(change)
    else:
        click.echo(
            f"created {change.experiment_id} (draft); start it with "
            f"`maia exp start {change.experiment_id}`"
        )


def _event_command(event: str, doc: str, note_help: str, *old: str) -> click.Command:
    @click.command(event, help=doc)
    @click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
    @note_option(note_help, *old)
    @dry_run_option
    @json_option
    def run(exp_id: str, note: str | None, dry_run: bool, as_json: bool) -> None:
        from maia_git.usecases.experiments import apply_event
        from maia_git.workspace import Workspace

        change = apply_event(Workspace.find(), exp_id, event, note, dry_run=dry_run)
        print_change(change, as_json)

    return run


start = _event_command(
    "start",
    """Put a draft experiment in the queue.

It becomes active at once when a slot is free (fewer than max_concurrent active and, by default,
no other active experiment on the same agent); otherwise it waits its turn by priority.
Both prompts are pinned now (their git blob ids go into the definition): the experiment serves
and compares these texts whatever the files hold later, so each must be committed as it is.

\b
Example:
  maia exp start exp_001
""",
    "Free text for the commit message.",
)
pause = _event_command(
    "pause",
    """Pause an active experiment; its slot goes to the next queued one.

\b
Example:
  maia exp pause exp_001 --note "waiting for the tool fix"
""",
    "Why it is paused, kept in the queue entry.",
    "--reason",
)
resume = _event_command(
    "resume",
    """Put a paused experiment back in line (active at once if a slot is free).

\b
Example:
  maia exp resume exp_001
""",
    "Free text for the commit message.",
)
complete = _event_command(
    "complete",
    """Complete an active or paused experiment (or record the outcome of a promoted one).

\b
Example:
  maia exp complete exp_001 --note "no difference; keep control"
""",
    "The outcome, kept in the queue entry.",
    "--outcome",
    "--reason",
)
cancel = _event_command(
    "cancel",
    """Cancel an experiment that has not finished.

\b
Example:
  maia exp cancel exp_002 --note "hypothesis invalidated"
""",
    "Why it is cancelled, kept in the queue entry.",
    "--reason",
)
