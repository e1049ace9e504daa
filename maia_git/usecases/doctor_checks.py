"""Doctor's checks of the workspace's own files: each takes the Scan and returns Problems.

Checks of interaction logs and score files are in ``doctor_logs``; ``doctor.CHECKS`` lists them all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maia_git.core.models import Status
from maia_git.core.schedule import pick_next
from maia_git.core.settings import RETIRED
from maia_git.errors import MaiaError, UsageError
from maia_git.storage import git, journal, state, yamlio
from maia_git.usecases.doctor_model import Problem, Scan, problem
from maia_git.usecases.init import GITATTRIBUTES

_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def files_load(scan: Scan) -> list[Problem]:
    """maia.yaml, every queue entry and every experiment definition pass their schema."""
    return list(scan.broken)


def retired_settings(scan: Scan) -> list[Problem]:
    """maia.yaml holds no setting this version ignores (it would look as if it did something)."""
    if scan.settings is None:
        return []  # missing or broken: files_load reports it
    try:
        doc = yamlio.load(scan.top / state.SETTINGS_FILE, state.SETTINGS_FILE)
    except MaiaError:
        return []
    return [
        problem("settings", doc.where(key), "retired", key=key, why=RETIRED[key])
        for key in sorted(doc.data.keys() & RETIRED.keys())
    ]


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
        for role, rel in experiment.arm_paths().items():
            inside = not Path(rel).is_absolute() and ".." not in Path(rel).parts
            if not (inside and _is_file(scan.top / rel)):
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
    """Git lock files, under the one rule of ``journal``: who may hold them, and what to do."""
    if not scan.lock_free:
        return []
    repo = git.Repo(scan.top, scan.git_dir)
    locks = journal.git_lock_files(repo)
    if not locks:
        return []
    holders = journal.lock_holders(scan.top, locks)
    ours = (scan.git_dir / journal.NAME).exists()  # maia was committing when it was killed
    by_hand = journal.by_hand(locks, scan.top)
    where = [f".git/{lock.relative_to(scan.git_dir).as_posix()}" for lock in locks]
    if holders is None:
        return [problem("git", w, "git_lock_unknown", by_hand=by_hand) for w in where]
    if holders:
        pids = ", ".join(map(str, holders))
        return [problem("git", w, "git_lock_live", pids=pids) for w in where]
    kind = "git_lock_ours" if ours else "git_lock_other"
    return [problem("git", w, kind, ours, by_hand=by_hand) for w in where]


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


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


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
