"""Reading a workspace once into doctor's ``Scan``; a file that does not load is a Problem."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from maia_git.core.ids import is_valid_id
from maia_git.errors import MaiaError
from maia_git.storage import state
from maia_git.usecases.doctor_model import Problem, Scan, problem
from maia_git.workspace import Workspace, load_settings

_LOCATED = re.compile(r"^(.*?:\d+:\d+): (.*)$")


def scan(ws: Workspace, lock_free: bool = True) -> Scan:
    found = Scan(ws.top, ws.repo.git_dir, lock_free=lock_free)
    _read_settings(found)
    _read_entries(found)
    _read_experiments(found)
    return found


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
