"""``maia queue status | list | history | priority``."""

from __future__ import annotations

from typing import Any

import click

from maia_git.cli.lazy import LazyGroup
from maia_git.cli.options import EXPERIMENT_ID, legacy_priority_argument, priority_option
from maia_git.cli.render import (
    change_dict,
    dry_run_option,
    emit_json,
    json_option,
    print_change,
    table,
)

COLUMNS = ["ID", "STATUS", "PRIORITY", "AGENT", "SINCE", "WAITING FOR"]


@click.group(cls=LazyGroup)
def queue() -> None:
    """The experiment queue: capacity, the waiting line, history and priorities.

    \b
    Example:
      maia queue status
    """


def _table(items: list[dict[str, Any]]) -> str:
    """The entries as a table; the WAITING FOR column only when a queued one is among them."""
    waiting = any(i["status"] == "queued" for i in items)
    columns = COLUMNS if waiting else COLUMNS[:-1]
    return table(columns, [row if waiting else row[:-1] for row in _rows(items)])


def _rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            i["experiment_id"],
            i["status"],
            i["priority"],
            i["agent_name"],
            i["started_at"] or i["queued_at"],
            i.get("waiting_for"),
        ]
        for i in items
    ]


@queue.command()
@json_option
def status(as_json: bool) -> None:
    """Active x/y, queued, available slots, and the active and queued lists.

    Each queued experiment says what it waits for: a free slot, or the active experiment of
    its agent (one active experiment per agent, by default), which free slots do not change.

    \b
    Example:
      maia queue status --json
    """
    from maia_git.usecases.queue import status as run_status
    from maia_git.workspace import Workspace

    data = run_status(Workspace.find())
    if as_json:
        emit_json(data)
        return
    cap, counts = data["capacity"], data["queue_counts"]
    click.echo(
        f"active {cap['active']}/{cap['max_concurrent']}, queued {counts['queued']}, "
        f"paused {counts['paused']}, available slots {cap['available_slots']}"
    )
    for title, key in (("active", "active_experiments"), ("queued", "queued_experiments")):
        if data[key]:
            click.echo(f"\n{title}:")
            click.echo(_table(data[key]))


@queue.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Active, queued (in the order they will start, each with what it waits for) and paused.

    \b
    Example:
      maia queue list
    """
    from maia_git.usecases.queue import waiting_line
    from maia_git.workspace import Workspace

    items = waiting_line(Workspace.find())
    if as_json:
        emit_json(items)
    elif not items:
        click.echo("the queue is empty")
    else:
        click.echo(_table(items))


@queue.command()
@click.option("--limit", type=int, default=10, show_default=True)
@json_option
def history(limit: int, as_json: bool) -> None:
    """Completed, promoted and cancelled experiments, newest first.

    \b
    Example:
      maia queue history --limit 5
    """
    from maia_git.usecases.queue import history as run_history
    from maia_git.workspace import Workspace

    items = run_history(Workspace.find(), limit)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("no finished experiments yet")
        return
    click.echo(
        table(
            ["ID", "STATUS", "AGENT", "CREATED", "STARTED", "FINISHED", "OUTCOME / REASON"],
            [
                [
                    i["experiment_id"],
                    i["status"],
                    i["agent_name"],
                    i["created_at"],
                    i["started_at"],
                    i["completed_at"],
                    i["outcome"] or i["reason"] or i["notes"],
                ]
                for i in items
            ],
        )
    )


@queue.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@legacy_priority_argument
@priority_option(None, "The new priority: high, medium or low.  [required]")
@dry_run_option
@json_option
def priority(exp_id: str, priority: str | None, dry_run: bool, as_json: bool) -> None:
    """Change the priority of a queued experiment.

    \b
    Example:
      maia queue priority exp_003 --priority high
    """
    from maia_git.usecases.experiments import set_priority
    from maia_git.workspace import Workspace

    if priority is None:
        raise click.UsageError("Missing option '--priority'.")
    change = set_priority(Workspace.find(), exp_id, priority, dry_run=dry_run)
    unchanged = change.message.startswith("nothing to change")
    if as_json:
        changed = not unchanged and not dry_run
        emit_json({**change_dict(change), "changed": changed, "priority": priority})
    elif unchanged:
        click.echo(change.message.strip())
    elif dry_run:
        print_change(change)
    else:
        click.echo(f"{exp_id}: priority {change.entries[0].priority}")
