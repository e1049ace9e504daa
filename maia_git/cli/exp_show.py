"""``maia exp show | list | log``."""

from __future__ import annotations

import click

from maia_git.cli.options import EXPERIMENT_ID
from maia_git.cli.render import emit_json, json_option, safe, style, table

STATUSES = ["draft", "queued", "active", "paused", "completed", "promoted", "cancelled"]


@click.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@json_option
def show(exp_id: str, as_json: bool) -> None:
    """Show one experiment: definition, status, priority and times.

    \b
    Example:
      maia exp show exp_001 --json
    """
    from maia_git.usecases.views import show as run_show
    from maia_git.workspace import Workspace

    data = run_show(Workspace.find(), exp_id)
    if as_json:
        emit_json(data)
        return
    click.echo(style(safe(f"{data['id']}: {data.get('name') or '(no definition)'}"), bold=True))
    shown = {k: v for k, v in data.items() if k not in ("id", "name") and v not in (None, "")}
    width = max((len(k) for k in shown), default=0) + 2
    for key, value in shown.items():
        if key in ("treatments", "shares"):  # several treatments: one "name=value" per arm
            value = ", ".join(f"{arm}={v}" for arm, v in value.items())
        elif key == "pins":  # each arm's pinned blob and share (the paths are shown above)
            value = ", ".join(_pin(arm, pin) for arm, pin in value.items())
        click.echo(f"  {key + ':':<{width}}{safe(str(value))}")


def _pin(arm: str, pin: dict[str, object]) -> str:
    share = pin.get("share")
    return f"{arm}={str(pin.get('blob'))[:10]}" + ("" if share is None else f" ({share})")


@click.command("list")
@click.option(
    "--status", type=click.Choice(STATUSES), default=None, help="Only experiments in this state."
)
@json_option
def list_(status: str | None, as_json: bool) -> None:
    """List experiments with their agent, status and priority.

    \b
    Example:
      maia exp list --status active
    """
    from maia_git.usecases.views import list_experiments
    from maia_git.workspace import Workspace

    rows = list_experiments(Workspace.find(), status)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no experiments" + (f" with status {status}" if status else ""))
        return
    click.echo(
        table(
            ["ID", "STATUS", "PRIORITY", "AGENT", "NAME"],
            [[r["id"], r["status"], r["priority"], r["agent"], r.get("name")] for r in rows],
        )
    )


@click.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@json_option
def log(exp_id: str, as_json: bool) -> None:
    """Print an experiment's history, read back from the commit trailers.

    \b
    Example:
      maia exp log exp_001
    """
    from maia_git.usecases.views import history
    from maia_git.workspace import Workspace

    events = history(Workspace.find(), exp_id)
    if as_json:
        emit_json(events)
        return
    for e in events:
        arrow = f"  [{e['transition']}]" if e["transition"] else ""
        click.echo(f"{e['commit'][:10]}  {e['date']}  {e['subject']}{arrow}")
