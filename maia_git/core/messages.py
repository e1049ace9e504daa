"""Commit messages: a subject, optional detail lines, and trailers that name what happened.

Trailers come in pairs, ``Maia-Experiment`` then ``Maia-Transition``, one pair per experiment
whose state changed, so ``maia exp log`` can read an experiment's history back from git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from maia_git.core.escape import subject as one_line
from maia_git.core.lifecycle import Transition

__all__ = ["one_line", "transition_message"]


def transition_message(
    subject: str,
    transitions: Sequence[Transition],
    details: Iterable[str] = (),
    extra: Iterable[tuple[str, str]] = (),
) -> str:
    lines = [f"maia: {one_line(subject, 120)}", ""]
    body = [one_line(d, 500) for d in details if d]
    for t in transitions[1:]:
        if t.event == "activate":
            body.append(f"Started {t.id} from the queue ({t.before} -> {t.after}).")
    if body:
        lines += [*body, ""]
    for t in transitions:
        lines += [f"Maia-Experiment: {t.id}", f"Maia-Transition: {t.arrow}"]
    lines += [f"{key}: {one_line(value)}" for key, value in extra]
    return "\n".join(lines) + "\n"
