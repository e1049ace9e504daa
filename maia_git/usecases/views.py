"""Use cases that read: show, list and the history of an experiment."""

from __future__ import annotations

from typing import Any

from maia_git.core import messages
from maia_git.core.ids import check_id
from maia_git.core.models import QueueEntry, Status
from maia_git.errors import UnknownExperiment, UsageError
from maia_git.storage import git, state
from maia_git.workspace import Workspace


def describe(ws: Workspace, entry: QueueEntry) -> dict[str, Any]:
    """One experiment as the commands print it: definition and queue entry, joined."""
    data: dict[str, Any] = {
        "id": entry.id,
        "name": None,
        "agent": entry.agent,
        "status": str(entry.status),
        "priority": str(entry.priority),
        "control": None,
        "treatment": None,
    }
    if state.has_experiment(ws.top, entry.id):
        experiment = state.load_experiment(ws.top, entry.id)
        data.update({k: v for k, v in experiment.to_dict().items() if k != "id"})
        if experiment.several:
            del data["treatment"]
    data.update({k: v for k, v in entry.to_dict().items() if k not in data})
    return data


def show(ws: Workspace, exp_id: str) -> dict[str, Any]:
    check_id(exp_id)
    return describe(ws, state.load_entry(ws.top, exp_id))


def list_experiments(ws: Workspace, status: str | None = None) -> list[dict[str, Any]]:
    if status is not None and status not in Status.__members__.values():
        raise UsageError(f"unknown status {status!r}: use one of {', '.join(Status)}")
    finished = status is None or Status(status) in (
        Status.COMPLETED,
        Status.PROMOTED,
        Status.CANCELLED,
    )
    entries = state.load_entries(ws.top, finished=finished)
    rows = [describe(ws, e) for e in entries.values() if status is None or e.status == status]
    return sorted(rows, key=lambda r: r["id"])


def history(ws: Workspace, exp_id: str) -> list[dict[str, Any]]:
    """The experiment's commits, oldest first, with the transition each made to it."""
    check_id(exp_id)
    paths = [state.queue_rel(exp_id), f"experiments/{exp_id}"]
    if not (ws.top / paths[0]).exists() and not state.has_experiment(ws.top, exp_id):
        raise UnknownExperiment(exp_id)
    if not git.has_commits(ws.repo):
        return []
    out = git.run(ws.repo, "log", "--reverse", "--format=%H%x1f%aI%x1f%an%x1f%B%x1e", "--", *paths)
    events = []
    for record in filter(None, (r.strip("\n") for r in out.split("\x1e"))):
        sha, date, author, body = record.split("\x1f", 3)
        events.append(
            {
                "commit": sha,
                "date": date,
                "author": author,
                "subject": body.splitlines()[0] if body else "",
                "transition": _transition_for(body, exp_id),
            }
        )
    return events


def _transition_for(body: str, exp_id: str) -> str | None:
    """The commit's transitions of ``exp_id`` chained: ``draft->queued->active``."""
    current = None
    states: list[str] = []
    for key, value in messages.trailers(body):
        if key == "Maia-Experiment":
            current = value.strip()
        elif key == "Maia-Transition" and current == exp_id:
            before, _, after = value.strip().partition("->")
            states += [before, after] if not states else [after]
    return "->".join(states) or None


def similar_ids(ws: Workspace, wanted: str, limit: int = 3) -> list[str]:
    """Experiment ids close to ``wanted``: ``2`` means exp_002; otherwise by spelling."""
    import difflib

    known = set(state.queue_ids(ws.top))
    folder = ws.top / "experiments"
    if folder.is_dir():
        known.update(p.name for p in folder.iterdir() if p.is_dir())
    if wanted.isdigit():
        numbered = f"exp_{int(wanted):03d}"
        return [numbered] if numbered in known else []
    return difflib.get_close_matches(wanted, sorted(known), n=limit, cutoff=0.6)
