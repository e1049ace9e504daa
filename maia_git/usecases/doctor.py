"""``maia doctor``: check a workspace, say what is wrong and how to fix it; repair what is safe.

The workspace is read once into a ``Scan`` (``doctor_scan``); each check is a function from the
scan to a list of ``Problem``s (``doctor_model``), and ``CHECKS`` is the list doctor runs: the
workspace's own files (``doctor_checks``), then interaction logs and score files
(``doctor_logs``). A function that takes a Scan and returns Problems is all a check needs.

``--fix`` makes only the repairs that cannot lose anything, under the workspace lock
(``doctor_fix``): it finishes a killed transaction (the journal, which also clears the git locks
its git left), deletes temp files of killed writes, adds the missing union-merge lines to
``.gitattributes``, pins the prompts of experiments started before pins existed (from the commit
that started them), brings ``maia.yaml`` to the current settings version (the promotions made
under the old analysis re-checked in the commit message) and starts what the queue would start
now, the last four as one commit.
Everything else needs a person, and is reported with the way to fix it.
"""

from __future__ import annotations

from maia_git.errors import LockTimeout, MaiaError
from maia_git.storage.lock import WorkspaceLock
from maia_git.usecases import (
    doctor_analysis,
    doctor_checks,
    doctor_logs,
    doctor_pins,
    doctor_schemas,
)
from maia_git.usecases.doctor_fix import lock_timeout, repair
from maia_git.usecases.doctor_model import Check, Problem, Report, Scan, crashed
from maia_git.usecases.doctor_scan import scan
from maia_git.workspace import Workspace

__all__ = ["CHECKS", "Check", "Problem", "Report", "Scan", "check", "run", "scan"]

CHECKS: list[Check] = [
    doctor_checks.files_load,
    doctor_schemas.files_match_schemas,
    doctor_checks.retired_settings,
    doctor_checks.definitions_have_entries,
    doctor_checks.prompts_exist,
    doctor_pins.pinned_prompts,
    doctor_pins.split_unchanged,
    doctor_checks.capacity,
    doctor_checks.queue_is_moving,
    doctor_checks.journal_finished,
    doctor_checks.git_locks,
    doctor_checks.temp_files,
    doctor_checks.gitattributes,
    doctor_checks.git_state,
    doctor_logs.interaction_logs,
    doctor_logs.user_ids_pseudonymous,
    doctor_logs.score_files,
    doctor_logs.changed_segments,
    doctor_analysis.settings_version,
    doctor_analysis.promoted_before,
]


def check(found: Scan, checks: list[Check] | None = None) -> list[Problem]:
    return [p for one in (CHECKS if checks is None else checks) for p in _run_check(one, found)]


def _run_check(one: Check, found: Scan) -> list[Problem]:
    """A check that fails is itself a problem: doctor still reports everything else."""
    try:
        return one(found)
    except Exception as err:  # doctor must diagnose whatever it is given, and go on
        return [crashed(one.__name__, err)]


def run(ws: Workspace, fix: bool = False) -> Report:
    """Check the workspace (after the safe repairs, with ``fix``)."""
    report = Report()
    if fix:
        timeout = lock_timeout(ws)
        with WorkspaceLock(ws.repo.git_dir, timeout):
            repair(ws, report, timeout)
            found = scan(ws)
            report.problems = check(found)
        report.notes += doctor_schemas.schema_copies(found)
        return report
    lock = _try_lock(ws, report)
    try:
        found = scan(ws, lock_free=lock is not None)
        report.problems = check(found)
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)
    report.notes += doctor_schemas.schema_copies(found)
    return report


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
