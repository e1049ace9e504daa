"""Pinned prompts: the blob ids an experiment serves and compares, fixed when it starts.

``exp start`` records each arm's prompt path and git blob id in the experiment's definition
(``pins:``), so what a user was served is known whatever happens to the files later. A prompt that
is untracked or differs from HEAD is refused then, with the command that commits it. Experiments
started before pins existed get them from the commit that started them: in memory on first use,
and written by ``maia doctor --fix``.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

from maia_git.core.models import Experiment, Pin, Status
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import git, prompts

UNSTARTED = frozenset({Status.DRAFT})


def pins_for_start(repo: git.Repo, experiment: Experiment) -> dict[str, Pin]:
    """Each arm's path and blob at HEAD; refused when a prompt is not committed as it is."""
    paths = experiment.arm_paths()
    changed = prompts.changed_since_head(repo, paths.values())
    for arm, path in paths.items():
        what = changed.get(path)
        if what is not None:
            quoted = shlex.quote(path)
            raise UsageError(
                f"cannot start {experiment.id}: the {arm} prompt {path} is {what}; commit it "
                f"first (git add -- {quoted} && git commit -m 'Prompt for {experiment.id}')"
            )
    blobs = prompts.blobs_at(repo, "HEAD", paths.values())
    return _pins(experiment, blobs)


def _pins(experiment: Experiment, blobs: dict[str, str | None]) -> dict[str, Pin]:
    """One pin per arm: its path, its blob and its share in the definition."""
    if experiment.several:
        shares = dict(zip(experiment.arm_names(), experiment.arm_shares, strict=True))
    else:
        cut = experiment.control_share
        shares = {"control": cut, "treatment": round(1 - cut, 12)}
    paths = experiment.arm_paths()
    return {arm: Pin(path, str(blobs[path]), shares[arm]) for arm, path in paths.items()}


def backfilled(repo: git.Repo, experiment: Experiment) -> dict[str, Pin] | None:
    """The pins an experiment started before pins existed would have had: its prompts' blobs in
    the commit that started it (None when that commit or a prompt in it cannot be found)."""
    commit = prompts.start_commit(repo, experiment.id)
    if commit is None:
        return None
    started = _definition_at(repo, commit, experiment)
    paths = started.arm_paths()
    blobs = prompts.blobs_at(repo, commit, paths.values())
    if any(blobs[path] is None for path in paths.values()):
        return None
    return _pins(started, blobs)


def _definition_at(repo: git.Repo, commit: str, experiment: Experiment) -> Experiment:
    """The definition as the start commit held it (the current one if it cannot be read)."""
    from maia_git.storage import state

    rel = state.experiment_rel(experiment.id)
    code, text, _ = git.attempt(repo, "show", f"{commit}:{rel}")
    if code != 0:
        return experiment
    try:
        return state.experiment_from(text.encode("utf-8"), experiment.id)
    except MaiaError:
        return experiment


def effective(repo: git.Repo, experiment: Experiment, status: Status) -> Experiment:
    """The experiment with its pins; those of a started, unpinned one from its start commit."""
    if experiment.pins or status in UNSTARTED:
        return experiment
    found = backfilled(repo, experiment)
    return replace(experiment, pins=found) if found else experiment


def blob_ids(experiment: Experiment) -> dict[str, str]:
    """``{arm: blob id}`` of the pins (empty when there are none)."""
    return {arm: pin.blob for arm, pin in experiment.pins.items()}


def pinned_blobs(repo: git.Repo, exp_id: str) -> dict[str, str]:
    """``{arm: pinned blob id}`` of an experiment (backfilled for one started before pins)."""
    from maia_git.storage import state

    entry = state.load_entry(repo.top, exp_id)
    return blob_ids(effective(repo, state.load_experiment(repo.top, exp_id), entry.status))
