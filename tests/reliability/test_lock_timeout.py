"""Promise 4: the lock is bounded; a command that cannot get it in time exits 75 naming the holder.

The holder is a separate Python process that takes ``.git/maia.lock`` through maia's own
``WorkspaceLock`` and sleeps, as a long maia command would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rel_harness import check_repository, clone, maia_env, new_args, run_maia, template

from helpers import snapshot

HOLD = """
import sys, time
from pathlib import Path
from maia_git.storage.lock import WorkspaceLock
with WorkspaceLock(Path(sys.argv[1]), 5):
    print("held", flush=True)
    time.sleep(3600)  # until the test kills it
"""


@pytest.fixture
def top(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.getbasetemp() / "rel-templates"
    return clone(template(root, "one-draft", [new_args("target")]), tmp_path / "ws")


@pytest.fixture
def holder(top: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(top / ".git")], text=True, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    proc.kill()
    proc.wait()


def test_a_command_that_cannot_get_the_lock_exits_75_naming_the_holder(
    top: Path, holder: subprocess.Popen[str]
) -> None:
    before = snapshot(top)
    started = time.monotonic()
    result = run_maia(top, ("exp", "start", "target"), maia_env(MAIA_LOCK_TIMEOUT="0.5"))
    waited = time.monotonic() - started
    assert result.returncode == 75
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"process {holder.pid} " in result.stderr
    # It waited the 0.5 s it was given, not maia.yaml's 30 s: the message says so, and the
    # time is a lower bound only (a loaded machine makes any process slower, never faster).
    assert result.stderr.rstrip().endswith("waited 0.5 s")
    assert waited >= 0.5
    assert snapshot(top) == before


def test_the_timeout_comes_from_maia_yaml_too(top: Path, holder: subprocess.Popen[str]) -> None:
    settings = top / "maia.yaml"
    settings.write_text(settings.read_text().replace("lock_timeout: 30.0", "lock_timeout: 0.3"))
    assert "lock_timeout: 0.3" in settings.read_text()
    result = run_maia(top, ("exp", "start", "target"))
    assert result.returncode == 75 and f"process {holder.pid} " in result.stderr


def test_readers_do_not_wait_for_the_lock(top: Path, holder: subprocess.Popen[str]) -> None:
    result = run_maia(top, ("exp", "list", "--json"), maia_env(MAIA_LOCK_TIMEOUT="0"))
    assert result.returncode == 0, result.stderr


def test_a_killed_holder_frees_the_lock_at_once(top: Path, holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait()
    result = run_maia(top, ("exp", "start", "target"), maia_env(MAIA_LOCK_TIMEOUT="0.5"))
    assert result.returncode == 0, result.stderr
    assert (top / ".git" / "maia.lock").exists()  # the lock file stays: never deleted
    assert check_repository(top) == []
