"""``maia doctor --fix``: the repairs that cannot lose anything, made under the workspace lock."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from maia_git.core import messages
from maia_git.core.decide import decide
from maia_git.core.settings import Settings
from maia_git.errors import MaiaError
from maia_git.storage import journal, state
from maia_git.usecases import doctor_pins
from maia_git.usecases.doctor_analysis import recheck_line, rechecked_ids, settings_version
from maia_git.usecases.doctor_checks import (
    git_state,
    gitattributes,
    missing_attributes,
    queue_is_moving,
    stale_temp_files,
)
from maia_git.usecases.doctor_model import Report, Scan
from maia_git.usecases.doctor_scan import scan
from maia_git.usecases.init import GITATTRIBUTES
from maia_git.usecases.settings_migration import migrate
from maia_git.workspace import Transaction, Workspace, env_lock_timeout, load_settings, utcnow


def lock_timeout(ws: Workspace) -> float:
    configured = Settings().lock_timeout
    with suppress(MaiaError):  # a broken maia.yaml is reported; the default wait will do
        configured = load_settings(ws.top).lock_timeout
    return env_lock_timeout(configured)


def repair(ws: Workspace, report: Report, timeout: float) -> None:
    """Make the safe repairs (the caller holds the lock); the committed ones as one commit."""
    if journal.recover(ws.repo, wait=timeout):
        report.fixed.append("put back the committed state that a killed maia command left")
    for path in stale_temp_files(ws.top):
        path.unlink(missing_ok=True)
        report.fixed.append(f"deleted {path.relative_to(ws.top).as_posix()}")
    _migrate_logs(ws, report)
    found = scan(ws)
    if not git_state(found):  # else nothing can be committed; that check says why
        _commit_repairs(ws, found, report)


def _migrate_logs(ws: Workspace, report: Report) -> None:
    """Lines appended to log files from before segments wait for the next sync, like new ones."""
    from maia_git.storage import sealing
    from maia_git.usecases.recording import writer_name
    from maia_git.usecases.sync import migrate_shards

    if sealing.recover(ws.repo):
        report.fixed.append("finished or undid a sync that was killed while sealing")
    for rel in migrate_shards(ws, writer_name()):
        report.fixed.append(
            f"moved the lines appended to {rel} to the records `maia sync` commits next"
        )


def _commit_repairs(ws: Workspace, found: Scan, report: Report) -> None:
    tx, done, transitions = Transaction(ws), [], []
    if gitattributes(found):
        tx.write(".gitattributes", _with_attributes(ws.top))
        done.append(f"added to .gitattributes: {'; '.join(missing_attributes(ws.top))}")
    backfilled = doctor_pins.backfill(ws.repo, found)
    for rel, data in backfilled.items():
        tx.write(rel, data)
        done.append(f"pinned the prompts of {rel.split('/')[1]} from the commit that started it")
    if settings_version(found):
        raw = (ws.top / state.SETTINGS_FILE).read_bytes()
        text, changes = migrate(raw)
        tx.write(state.SETTINGS_FILE, text)
        done.append("; ".join(changes))
        done += [f"re-checked {recheck_line(found, i)}" for i in rechecked_ids(found)]
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
