"""Commit messages: a subject, optional detail lines, and trailers that name what happened.

Trailers come in pairs, ``Maia-Experiment`` then ``Maia-Transition``, one pair per experiment
whose state changed, so ``maia exp log`` can read an experiment's history back from git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from maia_git.core.escape import subject as one_line
from maia_git.core.lifecycle import Transition

__all__ = ["one_line", "trailers", "transition_message"]


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


def trailers(body: str) -> list[tuple[str, str]]:
    """maia's trailers in a commit message: the last paragraph that holds a ``Maia-`` line.

    Not simply the last paragraph: a ``prepare-commit-msg`` hook may append one of its own
    (``Signed-off-by:``, ``Change-Id:``) after maia's, or add its lines to maia's block.
    """
    for paragraph in reversed(body.strip().split("\n\n")):
        lines = paragraph.splitlines()
        if any(line.startswith("Maia-") for line in lines):
            pairs = [line.partition(": ") for line in lines]
            return [(key, value.strip()) for key, _, value in pairs if key.startswith("Maia-")]
    return []
