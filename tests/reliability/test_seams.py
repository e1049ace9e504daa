"""The installed product has no test switch: the crash points and the lock-off control are
reachable only through the test suite's launcher (tests/maia_seams.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from maia_git.storage.lock import WorkspaceLock

from conftest import git, new_exp

SEAMED = [sys.executable, str(Path(__file__).parent.parent / "maia_seams.py")]
PRODUCT = [sys.executable, "-m", "maia_git"]


def run(
    start: list[str], args: list[str], cwd: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    import os

    full = {**os.environ, **env}
    return subprocess.run([*start, *args], cwd=cwd, env=full, capture_output=True, text=True)


def test_a_crash_point_variable_does_nothing_to_the_product(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)

    done = run(PRODUCT, ["exp", "start", exp_id], ws, MAIA_CRASH_AT="after_write")

    assert done.returncode == 0, done.stderr
    assert "Maia-Transition: queued->active" in git(ws, "log", "-1", "--format=%B")


def test_the_launcher_does_crash_there(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)

    done = run(SEAMED, ["exp", "start", exp_id], ws, MAIA_CRASH_AT="after_write")

    assert done.returncode == -signal.SIGKILL
    assert "Maia-Transition: none->draft" in git(ws, "log", "-1", "--format=%B")


def test_the_lock_cannot_be_turned_off_in_the_product(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    with WorkspaceLock(ws / ".git", 5):
        product = run(
            PRODUCT, ["exp", "start", exp_id], ws, MAIA_UNSAFE_NO_LOCK="1", MAIA_LOCK_TIMEOUT="0.3"
        )
        seamed = run(
            SEAMED, ["exp", "pause", exp_id], ws, MAIA_UNSAFE_NO_LOCK="1", MAIA_LOCK_TIMEOUT="0.3"
        )
    assert product.returncode == 75, product.stderr
    assert seamed.returncode == 4 and "draft" in seamed.stderr  # it ran without waiting
