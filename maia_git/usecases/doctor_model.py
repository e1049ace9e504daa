"""What ``maia doctor`` works with: the ``Scan`` the checks read, the ``Problem``s they return,
the words of each kind of problem, and the ``Report`` doctor gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maia_git.core.escape import clip
from maia_git.core.models import Experiment, QueueEntry
from maia_git.core.settings import Settings

_DOCTOR_FIX = "`maia doctor --fix` "

# What is wrong and how to fix it, per kind of problem; {names} are filled in.
_TEXT = {
    "no_settings": ("maia.yaml is missing: this is not a maia workspace", "run `maia init`"),
    "settings": ("{error}", "correct it; the comments in maia.yaml say what each setting takes"),
    "bad_file": (
        "{error}",
        "correct the file, or bring back a good version (`git log -p -- {rel}`)",
    ),
    "retired": ("{key} is {why}", "delete the {key} line from maia.yaml"),
    "bad_name": ("{name} is not a valid experiment id", "rename it to a valid id, or remove it"),
    "no_entry": (
        "{id} has a definition but no queue entry ({entry})",
        "bring the entry back (`git log -- {entry}`), or remove experiments/{id}/ if abandoned",
    ),
    "no_prompt": (
        "the {role} prompt {rel} does not exist",
        "restore it (`git log -- {rel}`), or set {role} to a prompt file in the repository",
    ),
    "over_capacity": (
        "{n} experiments are active ({ids}) but max_concurrent is {limit}",
        "pause or complete some (`maia exp pause ID`), or raise max_concurrent in maia.yaml",
    ),
    "agent_twice": (
        "agent {agent} has {n} active experiments ({ids}); their results would confound",
        "pause all but one (`maia exp pause ID`), or set one_active_per_agent: false",
    ),
    "slot_free": ("{ids} could start now: a slot is free", _DOCTOR_FIX + "starts them"),
    "journal": (
        "a maia command was killed before it finished; its files may differ from HEAD",
        _DOCTOR_FIX + "(or any maia command that changes state) puts the committed state back",
    ),
    "git_lock_live": ("may be held by process {pids}", "wait for it to finish"),
    "git_lock_ours": (
        "left by a git that maia ran and that was killed; no process holds it",
        _DOCTOR_FIX + "removes it",
    ),
    "git_lock_other": ("left by a git command or git tool that no longer runs", "{by_hand}"),
    "git_lock_unknown": (
        "maia cannot tell on this system whether a process holds it, so it never deletes it",
        "{by_hand}",
    ),
    "temp_file": ("a temp file left by a write that was killed", _DOCTOR_FIX + "deletes it"),
    "attributes": (
        "missing {lines}",
        _DOCTOR_FIX + "adds them (without them, merging log shards conflicts)",
    ),
    "git_state": ("{what}: maia cannot commit", "{fix}"),
    "crashed": (
        "the {name} check stopped on {error}",
        "the other checks ran; please report this with the file that caused it",
    ),
    "schema": (
        "{error} (the {name} schema)",
        "correct it; .maia/schemas/{name}.schema.json says what each key takes",
    ),
}


@dataclass(frozen=True)
class Problem:
    check: str
    where: str  # a path, or path:line:column
    what: str
    fix: str
    fixable: bool = False


def problem(check: str, where: str, kind: str, fixable: bool = False, **names: Any) -> Problem:
    """The problem of ``kind``; every name is cut short, so a line stays readable."""
    what, fix = _TEXT[kind]
    where = clip(where, 120)
    shown = {key: clip(str(value), 120) for key, value in names.items()}
    shown.setdefault("where", where)
    return Problem(check, where, what.format(**shown), fix.format(**shown), fixable)


def crashed(name: str, err: BaseException) -> Problem:
    error = clip(f"{type(err).__name__}: {err}", 160)
    return problem("doctor", ".", "crashed", name=name, error=error)


@dataclass
class Scan:
    """Everything the checks look at, read once."""

    top: Path
    git_dir: Path
    settings: Settings | None = None
    entries: dict[str, QueueEntry] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    broken: list[Problem] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)  # ids with an experiment.yaml, even broken
    queued: set[str] = field(default_factory=set)  # ids with a queue file, even broken
    lock_free: bool = True  # False while another maia command holds the lock


Check = Callable[[Scan], list[Problem]]


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        problems = [asdict(p) for p in self.problems]
        return {
            "healthy": self.healthy,
            "problems": problems,
            "fixed": self.fixed,
            "notes": self.notes,
        }
