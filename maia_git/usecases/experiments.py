"""Use cases that change experiments: create, lifecycle events, priority, queue entries."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from maia_git.core import lifecycle, messages
from maia_git.core.assign import ARM_NAME, MAX_ARMS, cuts
from maia_git.core.decide import Decision, decide
from maia_git.core.ids import check_id, check_text
from maia_git.core.lifecycle import Transition
from maia_git.core.models import Experiment, Priority, QueueEntry, Status
from maia_git.errors import TransitionError, UsageError
from maia_git.storage import state
from maia_git.usecases.pins import pins_for_start
from maia_git.workspace import Transaction, Workspace, utcnow

# The option each event records its free text in.
_TEXT_FIELD = {
    "pause": "reason",
    "cancel": "reason",
    "complete": "outcome",
    "resume": None,
    "start": None,
    "promote": "outcome",
}


@dataclass
class Change:
    """What a command did (or, with dry_run, would do): transitions and the commit message."""

    experiment_id: str
    transitions: list[Transition] = field(default_factory=list)
    message: str = ""
    dry_run: bool = False
    entries: list[QueueEntry] = field(default_factory=list)


def parse_priority(value: str | Priority) -> Priority:
    try:
        return Priority(str(value).lower())
    except ValueError:
        raise UsageError(f"unknown priority {value!r}: use high, medium or low") from None


def prompt_path(ws: Workspace, raw: str | os.PathLike[str], role: str) -> str:
    """The repository-relative POSIX path of an existing prompt file inside the workspace."""
    given = Path(raw)
    absolute = (given if given.is_absolute() else Path.cwd() / given).resolve()
    try:
        rel = absolute.relative_to(ws.top.resolve())
    except ValueError:
        raise UsageError(f"{role} prompt {str(raw)!r} is outside the repository") from None
    if rel.parts and rel.parts[0] == ".git":
        raise UsageError(f"{role} prompt {str(raw)!r} is inside .git")
    if not absolute.is_file():
        raise UsageError(f"{role} prompt {str(raw)!r} does not exist or is not a file")
    return rel.as_posix()


def next_id(top: Path) -> str:
    taken = set(state.queue_ids(top))
    folder = top / "experiments"
    if folder.is_dir():
        taken.update(p.name for p in folder.iterdir())
    numbers = [int(t[4:]) for t in taken if t.startswith("exp_") and t[4:].isdigit()]
    return f"exp_{max(numbers, default=0) + 1:03d}"


def new_experiment(
    ws: Workspace,
    *,
    name: str,
    agent: str,
    control: str | os.PathLike[str],
    treatment: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    hypothesis: str = "",
    exp_id: str | None = None,
    priority: str | Priority = Priority.MEDIUM,
    control_share: float = 0.5,
    notes: str = "",
    dry_run: bool = False,
    arm_names: Sequence[str] | None = None,
    shares: Sequence[float] | None = None,
) -> Change:
    """A draft experiment: ``treatment`` is one prompt file, or a list of two or more (then
    ``arm_names`` may name them, default treatment_1, ...; ``shares`` give each arm's share,
    control first, default equal; ``control_share`` is for one treatment only)."""
    # A str is a sequence of one-letter strs: "ab" would become the arms a and b.
    if isinstance(arm_names, str):
        raise UsageError("arm_names must be a list of names, not a string")
    if isinstance(shares, str):
        raise UsageError("shares must be a list of numbers, not a string")
    paths = [treatment] if isinstance(treatment, (str, os.PathLike)) else list(treatment)
    several = len(paths) > 1
    if not paths:
        raise UsageError("an experiment needs a treatment")
    check_id(agent, "agent name")
    if exp_id is not None:
        check_id(exp_id)
    check_text(hypothesis, "hypothesis")
    check_text(notes, "notes")
    level = parse_priority(priority)
    if not name.strip() or not name.isprintable() or len(name) > 200:
        raise UsageError("the experiment name must be non-empty printable text")
    if not 1 <= round(control_share * 10000) <= 9999:
        raise UsageError(
            f"control share must be from 0.0001 to 0.9999 (each arm gets at least "
            f"one of the 10,000 buckets), not {control_share}"
        )
    control_rel = prompt_path(ws, control, "control")
    if several:
        names, arm_shares = _arms(len(paths), arm_names, shares, control_share)
        treatments = {n: prompt_path(ws, p, n) for n, p in zip(names[1:], paths, strict=True)}
        treatment_rel = ""
        _distinct({"control": control_rel, **treatments})
    else:
        if arm_names is not None or shares is not None:
            raise UsageError(
                "arm names and shares are for two or more treatments; with one, the control "
                "share (--control-share) sets the split"
            )
        treatment_rel = prompt_path(ws, paths[0], "treatment")
        treatments, arm_shares = {}, ()
        if control_rel == treatment_rel:
            raise UsageError("control and treatment are the same file")
    with ws.transaction() as tx:
        new_id = exp_id or check_id(next_id(ws.top), "generated id (give --id)")
        if (ws.top / state.queue_rel(new_id)).exists() or state.has_experiment(ws.top, new_id):
            raise UsageError(f"experiment {new_id!r} already exists")
        now = utcnow()
        experiment = Experiment(
            new_id, name.strip(), control_rel, treatment_rel, hypothesis.strip(),
            0.5 if several else control_share, now, treatments=treatments, arm_shares=arm_shares,
        )  # fmt: skip
        entry = QueueEntry(new_id, agent, Status.DRAFT, level, created=now, notes=notes)
        transition = Transition(new_id, "new", Status.DRAFT, Status.DRAFT)
        message = messages.transition_message(
            f"new experiment {new_id}: {name}",
            [],
            details=[f"Agent: {agent}", hypothesis],
            extra=[("Maia-Experiment", new_id), ("Maia-Transition", "none->draft")],
        )
        change = Change(new_id, [transition], message, dry_run, [entry])
        if not dry_run:
            tx.write(state.experiment_rel(new_id), state.experiment_bytes(experiment))
            tx.write(state.queue_rel(new_id), state.entry_bytes(entry))
            tx.commit(message)
    return change


def _arms(
    count: int, names: Sequence[str] | None, shares: Sequence[float] | None, control_share: float
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The arm names (control first) and shares of an experiment with ``count`` treatments."""
    if not 2 <= count <= MAX_ARMS - 1:
        raise UsageError(f"an experiment has 1 to {MAX_ARMS - 1} treatments, not {count}")
    if control_share != 0.5:
        raise UsageError(
            "with several treatments give every arm's share (--share), not a control share"
        )
    given = list(names) if names is not None else [f"treatment_{i}" for i in range(1, count + 1)]
    if len(given) != count:
        raise UsageError(f"{count} treatments need {count} arm names, not {len(given)}")
    for name in given:
        if not isinstance(name, str) or not ARM_NAME.fullmatch(name) or name == "control":
            raise UsageError(
                f"invalid arm name {str(name)[:40]!r}: use [a-z][a-z0-9_]{{0,31}}, not control"
            )
    if len(set(given)) != len(given):
        repeated = next(n for n in given if given.count(n) > 1)
        raise UsageError(f"arm name {repeated!r} is given twice")
    all_names = ("control", *given)
    cut = [1 / len(all_names)] * len(all_names) if shares is None else list(shares)
    if len(cut) != len(all_names):
        raise UsageError(f"{len(all_names)} arms need {len(all_names)} shares, not {len(cut)}")
    bounds = cuts(cut)  # each share in (0, 1), adding up to 1
    if any(b <= a for a, b in zip([0, *bounds], bounds, strict=False)):
        raise UsageError("each arm's share must be at least one of the 10,000 buckets (0.0001)")
    return all_names, tuple(float(v) for v in cut)


def _distinct(paths: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for arm, path in paths.items():
        if path in seen:
            raise UsageError(f"arms {seen[path]} and {arm} are the same file ({path})")
        seen[path] = arm


def apply_event(
    ws: Workspace,
    exp_id: str,
    event: str,
    text: str | None = None,
    dry_run: bool = False,
    **fields: str | None,
) -> Change:
    """Run a lifecycle event (start, pause, resume, complete, cancel) as one commit."""
    check_id(exp_id)
    if text is not None:
        check_text(text, _TEXT_FIELD.get(event) or "text")
    with ws.transaction() as tx:
        entries = state.load_entries(ws.top, finished=False)
        if exp_id not in entries:  # unknown (NotFound) or finished (refused by the table)
            entries[exp_id] = state.load_entry(ws.top, exp_id)
        if event == "complete" and _promoted(ws, entries[exp_id]):
            return _complete_again(tx, entries[exp_id], text, dry_run)
        text_field = _TEXT_FIELD.get(event)
        if text and text_field:
            fields[text_field] = text
        decision = decide(entries, exp_id, event, ws.settings, utcnow(), **fields)
        if event == "start":
            _pin(tx, ws, exp_id)
        return _commit_decision(tx, exp_id, event, decision, text, dry_run)


def _promoted(ws: Workspace, entry: QueueEntry) -> bool:
    """Whether a promotion has completed the experiment already."""
    if entry.status not in (Status.COMPLETED, Status.PROMOTED):
        return False
    if not state.has_experiment(ws.top, entry.id):
        return False
    return state.load_experiment(ws.top, entry.id).promotion_branch is not None


def _complete_again(
    tx: Transaction, entry: QueueEntry, outcome: str | None, dry_run: bool
) -> Change:
    """Completing a promoted experiment succeeds: the promotion completed it already, and the
    guide's workflow then completes it in the queue. A new outcome is recorded; nothing else."""
    if not outcome or outcome == entry.outcome:
        return Change(entry.id, [], f"nothing to change: {entry.id} is already completed\n")
    updated = entry.with_(outcome=outcome)
    message = messages.transition_message(
        f"outcome of {entry.id}", [], [f"Outcome: {outcome}"], [("Maia-Experiment", entry.id)]
    )
    if not dry_run:
        tx.write(state.queue_rel(entry.id), state.entry_bytes(updated))
        tx.commit(message)
    return Change(entry.id, [], message, dry_run, [updated])


def _pin(tx: Transaction, ws: Workspace, exp_id: str) -> None:
    """Stage the definition with its prompts pinned (refused if a prompt is not committed).

    An entry with no definition (the guide's queue takes bare ids) has no prompts to pin.
    """
    if not state.has_experiment(ws.top, exp_id):
        return
    experiment = state.load_experiment(ws.top, exp_id)
    if experiment.pins:
        return
    pinned = replace(experiment, pins=pins_for_start(ws.repo, experiment))
    tx.write(state.experiment_rel(exp_id), state.experiment_bytes(pinned))


def reschedule(
    tx: Transaction,
    ws: Workspace,
    entries: dict[str, QueueEntry],
    subject: str,
    exp_id: str,
    dry_run: bool,
    extra_entries: tuple[QueueEntry, ...] = (),
    transitions: tuple[Transition, ...] = (),
) -> Change:
    """Commit ``extra_entries`` plus whatever the queue starts because of them."""
    decision = decide(entries, None, None, ws.settings, utcnow())
    merged = {e.id: e for e in (*extra_entries, *decision.changed)}
    combined = Decision(tuple(merged.values()), (*transitions, *decision.transitions))
    return _commit_decision(tx, exp_id, subject, combined, None, dry_run)


def _commit_decision(
    tx: Transaction, exp_id: str, event: str, decision: Decision, text: str | None, dry_run: bool
) -> Change:
    label = (_TEXT_FIELD.get(event) or "note").capitalize()
    details = [f"{label}: {text}"] if text else []
    message = messages.transition_message(f"{event} {exp_id}", decision.transitions, details)
    change = Change(exp_id, list(decision.transitions), message, dry_run, list(decision.changed))
    if not dry_run:
        for entry in decision.changed:
            tx.write(state.queue_rel(entry.id), state.entry_bytes(entry))
        tx.commit(message)
    return change


def set_priority(
    ws: Workspace, exp_id: str, priority: str | Priority, dry_run: bool = False
) -> Change:
    check_id(exp_id)
    level = parse_priority(priority)
    with ws.transaction() as tx:
        entry = state.load_entry(ws.top, exp_id)
        if entry.status is not Status.QUEUED:
            raise TransitionError(
                f"cannot change the priority of {exp_id}: it is {entry.status}, "
                "and only queued experiments can be reprioritised"
            )
        updated = entry.with_(priority=level)
        subject = f"priority {exp_id} {entry.priority}->{level}"
        message = messages.transition_message(
            subject,
            [],
            extra=[("Maia-Experiment", exp_id), ("Maia-Priority", f"{entry.priority}->{level}")],
        )
        if level is entry.priority:
            message = f"nothing to change: {exp_id} is already {level} priority\n"
        change = Change(exp_id, [], message, dry_run, [updated])
        if not dry_run and level is not entry.priority:
            tx.write(state.queue_rel(exp_id), state.entry_bytes(updated))
            tx.commit(message)
    return change


def add_to_queue(
    ws: Workspace,
    exp_id: str,
    agent: str,
    priority: str | Priority,
    notes: str = "",
    dry_run: bool = False,
) -> Change:
    """Queue an experiment by id (the guide's ``ExperimentQueue.add_experiment``).

    A draft experiment is started; an id with no entry at all gets a queued entry of its own
    (the guide's queue accepts ids that have no experiment definition).
    """
    check_id(exp_id)
    check_id(agent, "agent name")
    check_text(notes, "notes")
    level = parse_priority(priority)
    with ws.transaction() as tx:
        entries = state.load_entries(ws.top, finished=False)
        path = ws.top / state.queue_rel(exp_id)
        now = utcnow()
        if path.exists() or path.is_symlink():
            existing = state.load_entry(ws.top, exp_id)
            if existing.status is not Status.DRAFT:
                raise TransitionError(f"cannot queue {exp_id}: it is already {existing.status}")
            entry = existing.with_(priority=level, notes=notes or existing.notes)
        else:
            entry = QueueEntry(exp_id, agent, Status.DRAFT, level, created=now, notes=notes)
        queued, first = lifecycle.apply(entry, "start", now)
        _pin(tx, ws, exp_id)
        entries[exp_id] = queued
        return reschedule(tx, ws, entries, "start", exp_id, dry_run, (queued,), (first,))
