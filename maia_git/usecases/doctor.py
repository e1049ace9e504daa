"""``maia doctor``: check a workspace, say what is wrong and how to fix it; repair what is safe.

The workspace is read once into a ``Scan``; each check is a function from the scan to a list of
``Problem``s, and ``CHECKS`` is the list doctor runs. Checks of interaction logs and score files
join that list: a function that takes a Scan and returns Problems is all a check needs.

``--fix`` makes only the repairs that cannot lose anything, under the workspace lock: it
finishes a killed transaction (the journal, which also clears the git locks its git left),
deletes temp files of killed writes, adds the missing union-merge lines to ``.gitattributes``
and starts what the queue would start now, the last two as one commit. Everything else needs a
person, and is reported with the way to fix it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from maia_git.core import messages
from maia_git.core.decide import decide
from maia_git.core.ids import is_valid_id
from maia_git.core.models import Experiment, QueueEntry, Status
from maia_git.core.schedule import pick_next
from maia_git.core.settings import Settings
from maia_git.errors import LockTimeout, MaiaError, UsageError
from maia_git.storage import git, journal, state
from maia_git.storage.lock import WorkspaceLock
from maia_git.usecases.init import GITATTRIBUTES
from maia_git.workspace import Transaction, Workspace, load_settings, utcnow

_LOCATED = re.compile(r"^(.*?:\d+:\d+): (.*)$")
_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")
_GIT_LOCKS = ("index.lock", "HEAD.lock", "packed-refs.lock")
_DOCTOR_FIX = "`maia doctor --fix` "

# What is wrong and how to fix it, per kind of problem; {names} are filled in.
_TEXT = {
    "no_settings": ("maia.yaml is missing: this is not a maia workspace", "run `maia init`"),
    "settings": ("{error}", "correct it; the comments in maia.yaml say what each setting takes"),
    "bad_file": (
        "{error}",
        "correct the file, or bring back a good version (`git log -p -- {rel}`)",
    ),
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
    "git_lock_live": ("held by a running git (process {pids})", "wait for it to finish"),
    "git_lock_ours": (
        "left by a git that maia ran and that was killed",
        _DOCTOR_FIX + "removes it",
    ),
    "git_lock_other": (
        "left by a git command that no longer runs",
        "make sure no git runs on this repository, then delete {where}",
    ),
    "temp_file": ("a temp file left by a write that was killed", _DOCTOR_FIX + "deletes it"),
    "attributes": (
        "missing {lines}",
        _DOCTOR_FIX + "adds them (without them, merging log shards conflicts)",
    ),
    "git_state": ("{what}: maia cannot commit", "{fix}"),
}


@dataclass(frozen=True)
class Problem:
    check: str
    where: str  # a path, or path:line:column
    what: str
    fix: str
    fixable: bool = False


def problem(check: str, where: str, kind: str, fixable: bool = False, **names: Any) -> Problem:
    what, fix = _TEXT[kind]
    names.setdefault("where", where)
    return Problem(check, where, what.format(**names), fix.format(**names), fixable)


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


# --- reading ---------------------------------------------------------------------------------


def _unreadable(check: str, rel: str, err: Exception) -> Problem:
    located = _LOCATED.match(str(err))
    where, error = (located[1], located[2]) if located else (rel, str(err))
    return problem(
        check, where, "settings" if check == "settings" else "bad_file", error=error, rel=rel
    )


def _load(scan: Scan, check: str, rel: str, load: Callable[..., Any], *args: Any) -> Any:
    try:
        return load(*args)
    except (MaiaError, OSError) as err:
        scan.broken.append(_unreadable(check, rel, err))
        return None


def _read_settings(scan: Scan) -> None:
    if not (scan.top / state.SETTINGS_FILE).is_file():
        scan.broken.append(problem("settings", state.SETTINGS_FILE, "no_settings"))
        return
    scan.settings = _load(scan, "settings", state.SETTINGS_FILE, load_settings, scan.top)


def _read_entries(scan: Scan) -> None:
    for path in sorted(scan.top.glob("queue/*.yaml")):
        exp_id, rel = path.stem, f"queue/{path.name}"
        if path.name.startswith("."):
            continue
        scan.queued.add(exp_id)
        if not is_valid_id(exp_id):
            scan.broken.append(problem("queue", rel, "bad_name", name=repr(exp_id)))
        elif entry := _load(scan, "queue", rel, state.load_entry, scan.top, exp_id):
            scan.entries[exp_id] = entry


def _read_experiments(scan: Scan) -> None:
    for path in sorted(scan.top.glob("experiments/*/experiment.yaml")):
        exp_id, rel = path.parent.name, state.experiment_rel(path.parent.name)
        scan.defined.add(exp_id)
        if not is_valid_id(exp_id):
            scan.broken.append(problem("experiments", rel, "bad_name", name=repr(exp_id)))
        elif found := _load(scan, "experiments", rel, state.load_experiment, scan.top, exp_id):
            scan.experiments[exp_id] = found


def scan(ws: Workspace, lock_free: bool = True) -> Scan:
    found = Scan(ws.top, ws.repo.git_dir, lock_free=lock_free)
    _read_settings(found)
    _read_entries(found)
    _read_experiments(found)
    return found


# --- the checks --------------------------------------------------------------------------------


def files_load(scan: Scan) -> list[Problem]:
    """maia.yaml, every queue entry and every experiment definition pass their schema."""
    return list(scan.broken)


def definitions_have_entries(scan: Scan) -> list[Problem]:
    """A definition needs a queue entry (an entry without a definition is allowed)."""
    return [
        problem("agreement", state.experiment_rel(i), "no_entry", id=i, entry=state.queue_rel(i))
        for i in sorted(scan.defined - scan.queued)
    ]


def prompts_exist(scan: Scan) -> list[Problem]:
    """The prompts of experiments that may still run or be promoted are files in the repo."""
    problems = []
    for exp_id, experiment in sorted(scan.experiments.items()):
        entry = scan.entries.get(exp_id)
        if entry is not None and entry.status in (Status.PROMOTED, Status.CANCELLED):
            continue
        for role, rel in (("control", experiment.control), ("treatment", experiment.treatment)):
            inside = not Path(rel).is_absolute() and ".." not in Path(rel).parts
            if not (inside and (scan.top / rel).is_file()):
                problems.append(
                    problem(
                        "agreement", state.experiment_rel(exp_id), "no_prompt", role=role, rel=rel
                    )
                )
    return problems


def capacity(scan: Scan) -> list[Problem]:
    """No more active experiments than max_concurrent, and one per agent if so configured."""
    if scan.settings is None:
        return []
    active = sorted(i for i, e in scan.entries.items() if e.status is Status.ACTIVE)
    problems = []
    if len(active) > scan.settings.max_concurrent:
        problems.append(
            problem(
                "queue",
                "queue/",
                "over_capacity",
                n=len(active),
                ids=", ".join(active),
                limit=scan.settings.max_concurrent,
            )
        )
    by_agent: dict[str, list[str]] = {}
    for exp_id in active:
        by_agent.setdefault(scan.entries[exp_id].agent, []).append(exp_id)
    for agent, ids in sorted(by_agent.items()):
        if scan.settings.one_active_per_agent and len(ids) > 1:
            problems.append(
                problem(
                    "queue", "queue/", "agent_twice", agent=agent, n=len(ids), ids=", ".join(ids)
                )
            )
    return problems


def queue_is_moving(scan: Scan) -> list[Problem]:
    """No eligible experiment waits while a slot is free (a hand edit can leave that)."""
    if scan.settings is None or any(p.check == "queue" for p in scan.broken):
        return []  # with an entry unreadable, starting others could overfill the slots
    ready = pick_next(
        scan.entries.values(), scan.settings.max_concurrent, scan.settings.one_active_per_agent
    )
    return [problem("queue", "queue/", "slot_free", True, ids=", ".join(ready))] if ready else []


def journal_finished(scan: Scan) -> list[Problem]:
    """No transaction was left half done by a killed maia."""
    if not scan.lock_free or not (scan.git_dir / journal.NAME).exists():
        return []
    return [problem("journal", f".git/{journal.NAME}", "journal", True)]


def git_locks(scan: Scan) -> list[Problem]:
    """No lock file of git is left by a git that no longer runs."""
    if not scan.lock_free:
        return []
    names = [*_GIT_LOCKS, *(p.name for p in sorted(scan.git_dir.glob("next-index-*.lock")))]
    held = [f".git/{n}" for n in names if (scan.git_dir / n).exists()]
    live = journal.live_git_processes(scan.top) if held else []
    if live:
        pids = ", ".join(map(str, live))
        return [problem("git", where, "git_lock_live", pids=pids) for where in held]
    ours = (scan.git_dir / journal.NAME).exists()  # maia was committing when it was killed
    kind = "git_lock_ours" if ours else "git_lock_other"
    return [problem("git", where, kind, ours) for where in held]


def temp_files(scan: Scan) -> list[Problem]:
    """No temp file of an atomic write whose writer is dead."""
    if not scan.lock_free:
        return []
    return [
        problem("files", p.relative_to(scan.top).as_posix(), "temp_file", True)
        for p in stale_temp_files(scan.top)
    ]


def gitattributes(scan: Scan) -> list[Problem]:
    """The union-merge lines that keep log shards from conflicting are in .gitattributes."""
    missing = missing_attributes(scan.top)
    if not missing or not (scan.top / state.SETTINGS_FILE).is_file():
        return []
    return [
        problem("gitattributes", ".gitattributes", "attributes", True, lines="; ".join(missing))
    ]


def git_state(scan: Scan) -> list[Problem]:
    """HEAD is on a branch and no rebase or merge is in progress, so maia can commit."""
    try:
        git.check_committable(git.Repo(scan.top, scan.git_dir))
    except UsageError as err:
        what, _, fix = str(err).partition("; ")
        return [problem("git", ".git/HEAD", "git_state", what=what, fix=fix)]
    return []


Check = Callable[[Scan], list[Problem]]
CHECKS: list[Check] = [
    files_load,
    definitions_have_entries,
    prompts_exist,
    capacity,
    queue_is_moving,
    journal_finished,
    git_locks,
    temp_files,
    gitattributes,
    git_state,
]


def check(found: Scan, checks: list[Check] | None = None) -> list[Problem]:
    return [p for one in (CHECKS if checks is None else checks) for p in one(found)]


def missing_attributes(top: Path) -> list[str]:
    path = top / ".gitattributes"
    current = path.read_bytes().decode("utf-8", "replace").splitlines() if path.exists() else []
    wanted = [ln for ln in GITATTRIBUTES.splitlines() if ln and not ln.startswith("#")]
    return [ln for ln in wanted if ln not in current]


def stale_temp_files(top: Path) -> list[Path]:
    found = [*top.glob(".*.tmp"), *top.glob("queue/.*.tmp"), *top.glob("experiments/*/.*.tmp")]
    return sorted(p for p in found if (m := _TEMP.match(p.name)) and not _alive(int(m[1])))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and belongs to someone else
    return True


# --- running -----------------------------------------------------------------------------------


def run(ws: Workspace, fix: bool = False) -> Report:
    """Check the workspace (after the safe repairs, with ``fix``)."""
    report = Report()
    if fix:
        timeout = lock_timeout(ws)
        with WorkspaceLock(ws.repo.git_dir, timeout):
            repair(ws, report, timeout)
            report.problems = check(scan(ws))
        return report
    lock = _try_lock(ws, report)
    try:
        report.problems = check(scan(ws, lock_free=lock is not None))
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)
    return report


def lock_timeout(ws: Workspace) -> float:
    configured = Settings().lock_timeout
    with suppress(MaiaError):  # a broken maia.yaml is reported; the default wait will do
        configured = load_settings(ws.top).lock_timeout
    return float(os.environ.get("MAIA_LOCK_TIMEOUT", configured))


def _try_lock(ws: Workspace, report: Report) -> WorkspaceLock | None:
    """The lock if it is free at once: a journal then means a crash, not a command at work."""
    lock = WorkspaceLock(ws.repo.git_dir, 0)
    try:
        lock.__enter__()
    except LockTimeout:
        report.notes.append(
            "another maia command is running: the files it has in flight "
            "(journal, git locks, temp files) were not checked"
        )
        return None
    except MaiaError as err:  # a read-only repository: check what can be read
        report.notes.append(f"checked without the lock: {err}")
        return None
    return lock


def repair(ws: Workspace, report: Report, timeout: float) -> None:
    """Make the safe repairs (the caller holds the lock); the committed ones as one commit."""
    if journal.recover(ws.repo, wait=timeout):
        report.fixed.append("put back the committed state that a killed maia command left")
    for path in stale_temp_files(ws.top):
        path.unlink(missing_ok=True)
        report.fixed.append(f"deleted {path.relative_to(ws.top).as_posix()}")
    found = scan(ws)
    if not git_state(found):  # else nothing can be committed; that check says why
        _commit_repairs(ws, found, report)


def _commit_repairs(ws: Workspace, found: Scan, report: Report) -> None:
    tx, done, transitions = Transaction(ws), [], []
    if gitattributes(found):
        tx.write(".gitattributes", _with_attributes(ws.top))
        done.append(f"added to .gitattributes: {'; '.join(missing_attributes(ws.top))}")
    if queue_is_moving(found) and found.settings is not None:
        decision = decide(found.entries, None, None, found.settings, utcnow())
        for entry in decision.changed:
            tx.write(state.queue_rel(entry.id), state.entry_bytes(entry))
        transitions = list(decision.transitions)
        done.append(f"started {', '.join(t.id for t in transitions)} from the queue")
    if done:
        subject = "doctor: repair the workspace"
        tx.commit(
            messages.transition_message(subject, transitions, done, [("Maia-Doctor", "repair")])
        )
        report.fixed += done


def _with_attributes(top: Path) -> bytes:
    path = top / ".gitattributes"
    current = path.read_bytes() if path.exists() else b""
    sep = b"" if not current or current.endswith(b"\n") else b"\n"
    return current + sep + GITATTRIBUTES.encode("utf-8")


# Checks of the append-only files live in their own module, which builds on the types above.
from maia_git.usecases import doctor_logs  # noqa: E402

CHECKS += [doctor_logs.interaction_logs, doctor_logs.score_files]
