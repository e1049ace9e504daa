"""The pure transition: an event on one entry, then the queue filling any free slots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maia_git.core import lifecycle
from maia_git.core.lifecycle import Transition
from maia_git.core.models import QueueEntry
from maia_git.core.schedule import pick_next
from maia_git.core.settings import Settings


@dataclass(frozen=True)
class Decision:
    changed: tuple[QueueEntry, ...]
    transitions: tuple[Transition, ...]


def decide(
    entries: Mapping[str, QueueEntry],
    target: str | None,
    event: str | None,
    settings: Settings,
    now: str,
    **fields: Any,
) -> Decision:
    """Apply ``event`` to ``entries[target]`` (if given), then start what the queue allows."""
    current = dict(entries)
    transitions: list[Transition] = []
    if target is not None and event is not None:
        updated, transition = lifecycle.apply(current[target], event, now, **fields)
        current[target] = updated
        transitions.append(transition)
    for exp_id in pick_next(
        current.values(), settings.max_concurrent, settings.one_active_per_agent
    ):
        updated, transition = lifecycle.apply(current[exp_id], "activate", now)
        current[exp_id] = updated
        transitions.append(transition)
    changed = {t.id: current[t.id] for t in transitions}
    return Decision(tuple(changed.values()), tuple(transitions))
