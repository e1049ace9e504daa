"""Doctor's checks of what an experiment fixed when it started: its pinned prompts and its split.

A running experiment serves and compares the pinned text; when the prompt file no longer holds it,
the file and the experiment disagree about what "the control" is (a promotion may have rewritten
it). A split changed after start re-buckets users, so earlier lines no longer match their arm.
An experiment started before pins existed gets them from the commit that started it
(``maia doctor --fix``).
"""

from __future__ import annotations

from maia_git.core.models import Experiment, Pin, Status
from maia_git.errors import MaiaError
from maia_git.storage import git, prompts, state
from maia_git.usecases import pins
from maia_git.usecases.doctor_model import Problem, Scan

RUNNING = (Status.QUEUED, Status.ACTIVE, Status.PAUSED)


def _running(scan: Scan) -> list[tuple[str, Experiment, Status]]:
    return [
        (exp_id, experiment, scan.entries[exp_id].status)
        for exp_id, experiment in sorted(scan.experiments.items())
        if exp_id in scan.entries and scan.entries[exp_id].status in RUNNING
    ]


def pinned_prompts(scan: Scan) -> list[Problem]:
    """Each running experiment has pins, and each pinned file still holds its pinned text."""
    repo = git.Repo(scan.top, scan.git_dir)
    found: list[Problem] = []
    for exp_id, experiment, _ in _running(scan):
        rel = state.experiment_rel(exp_id)
        if not experiment.pins:
            fixable = pins.backfilled(repo, experiment) is not None
            fix = (
                "`maia doctor --fix` pins the prompts of the commit that started it"
                if fixable
                else "its start commit is not in this history: complete it and start anew"
            )
            found.append(Problem("pins", rel, f"{exp_id} has no pinned prompts", fix, fixable))
            continue
        head = prompts.blobs_at(repo, "HEAD", [p.path for p in experiment.pins.values()])
        found += [
            _drifted(exp_id, rel, arm, pin, head[pin.path])
            for arm, pin in experiment.pins.items()
            if head[pin.path] != pin.blob
        ]
        found += [
            Problem(
                "pins",
                rel,
                f"the {arm} prompt of {exp_id} is now {path}, but {pin.path} was pinned at start",
                f"put {arm} back to {pin.path}; a new prompt is a new experiment",
            )
            for arm, path in experiment.arm_paths().items()
            # (a path to no file is reported by prompts_exist: one problem, one report)
            if (pin := experiment.pins.get(arm)) is not None
            and pin.path != path
            and (scan.top / path).is_file()
        ]
    return found


def _drifted(exp_id: str, rel: str, arm: str, pin: Pin, now: str | None) -> Problem:
    held = "is gone" if now is None else f"holds {now[:12]}"
    return Problem(
        "pins",
        rel,
        f"{pin.path} no longer matches the {arm} prompt pinned by {exp_id} ({pin.blob[:12]}; "
        f"HEAD {held}): {exp_id} still serves and compares the pinned text",
        f"if the file was meant to change, finish {exp_id} first (`maia exp complete "
        f"{exp_id}`) and test the new text in a new experiment; else restore it "
        f"(`git show {pin.blob}` prints the pinned text)",
    )


def split_unchanged(scan: Scan) -> list[Problem]:
    """The control share of a running experiment is the one it started with (pinned with its
    prompts; for older pins, the one in the commit that started it)."""
    repo = git.Repo(scan.top, scan.git_dir)
    found: list[Problem] = []
    for exp_id, experiment, _ in _running(scan):
        if experiment.several:
            found += _shares_unchanged(exp_id, experiment)
            continue
        started = _started_share(repo, experiment)
        if started is None or started == experiment.control_share:
            continue
        found.append(
            Problem(
                "split",
                state.experiment_rel(exp_id),
                f"control_share of {exp_id} is {experiment.control_share:g} but it started with "
                f"{started:g}: the edit is not applied (users keep their arms; the analysis "
                "uses the split it started with)",
                f"put control_share back to {started:g}; a new split is a new experiment",
            )
        )
    return found


def _shares_unchanged(exp_id: str, experiment: Experiment) -> list[Problem]:
    """Several treatments: the shares in the definition are those pinned at start."""
    started = experiment.shares()
    if not experiment.pins or started == experiment.arm_shares:
        return []
    shown = ", ".join(f"{a}={v:g}" for a, v in zip(experiment.arm_names(), started, strict=True))
    return [
        Problem(
            "split",
            state.experiment_rel(exp_id),
            f"the shares of {exp_id} differ from those it started with ({shown}): the edit is "
            "not applied (users keep their arms; the analysis uses the shares it started with)",
            f"put shares back to {shown}; a new split is a new experiment",
        )
    ]


def _started_share(repo: git.Repo, experiment: Experiment) -> float | None:
    pinned = experiment.pins.get("control")
    if pinned is not None and pinned.share is not None:
        return pinned.share
    start = prompts.start_commit(repo, experiment.id)
    rel = state.experiment_rel(experiment.id)
    code, text, _ = git.attempt(repo, "show", f"{start}:{rel}") if start else (1, "", "")
    if code != 0:
        return None
    try:
        return state.experiment_from(text.encode("utf-8"), experiment.id).control_share
    except MaiaError:
        return None


def backfill(repo: git.Repo, scan: Scan) -> dict[str, bytes]:
    """The definitions of running, unpinned experiments with the pins of their start commit."""
    out: dict[str, bytes] = {}
    for exp_id, experiment, status in _running(scan):
        if experiment.pins:
            continue
        pinned = pins.effective(repo, experiment, status)
        if pinned.pins:
            out[state.experiment_rel(exp_id)] = state.experiment_bytes(pinned)
    return out
