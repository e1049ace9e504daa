"""Promise 2 at random times, and the orphaned git child that still holds ``index.lock``.

Random kills: a real maia command is SIGKILLed (alone, or with its whole process group) after a
seeded random delay, again and again on one workspace, while readers loop. A command killed alone
may leave its git child running; the next command must cope. Every commit must belong to exactly
one command and say what that command did; at the end the repository passes every check.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rel_harness import (
    KINDS,
    OPS_BY_EVENT,
    READERS,
    RawReader,
    check_repository,
    clone,
    field_of,
    git,
    history,
    maia_env,
    new_args,
    queue_files,
    recorded_ids,
    replay,
    run_maia,
    spawn_maia,
    template,
)

from maia_git.storage import git as maia_git
from maia_git.storage import journal

from helpers import snapshot

LEGAL = {
    "draft": ("start", "cancel"),
    "queued": ("pause", "cancel", "priority"),
    "active": ("pause", "complete", "cancel", "record", "record"),
    "paused": ("resume", "complete", "cancel"),
}
AGENTS = ("agent1", "agent2", "agent3", "agent4")


@dataclass
class Run:
    token: str
    event: str
    target: str | None
    code: int = 0
    committed: bool = False


@dataclass
class Readers:
    """Loops the READERS table against ``top`` until stopped; collects every failure."""

    top: Path
    failures: list[str] = field(default_factory=list)
    count: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def loop(self) -> None:
        while not self.stop.is_set():
            ids = sorted(queue_files(self.top)) or ["none"]
            for args in READERS:
                argv = [a.replace("{id}", ids[self.count % len(ids)]) for a in args]
                result = run_maia(self.top, argv)
                self.count += 1
                if result.returncode != 0:
                    self.failures.append(f"{argv}: exit {result.returncode}: {result.stderr}")
                    continue
                try:
                    json.loads(result.stdout)
                except ValueError:
                    self.failures.append(f"{argv}: output is not JSON: {result.stdout[:200]!r}")


def choose(rng: random.Random, top: Path, token: str) -> tuple[str, str | None, tuple[str, ...]]:
    """A command that is legal in HEAD's state, so that most kills land inside a transaction."""
    live = [(i, field_of(t, "status") or "") for i, t in queue_files(top).items()]
    live = [(i, s) for i, s in live if s in LEGAL]
    if len(live) < 4 or rng.random() < 0.15:
        return "new", None, new_args(None, rng.choice(AGENTS), f"Kill {token}")
    if rng.random() < 0.1:
        return "sync", None, ("sync",)
    exp_id, status = rng.choice(live)
    event = rng.choice(LEGAL[status])
    return event, exp_id, OPS_BY_EVENT[event].argv(exp_id, token)


def kill_after(proc: subprocess.Popen[str], delay: float, group: bool) -> None:
    time.sleep(delay)
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass  # it finished first: a normal run, also fine
    proc.communicate(timeout=600)


def check_new_commits(top: Path, seen: int, runs: dict[str, Run]) -> tuple[int, list[str]]:
    """Each commit since ``seen`` must be by a command of this test that has no other commit."""
    commits = history(top)
    problems = []
    for commit in commits[seen:]:
        run = runs.get(commit.author)
        if run is None or run.committed:
            problems.append(f"{commit.sha[:10]} by {commit.author}: not exactly one per command")
            continue
        run.committed = True
        pairs = dict(commit.trailers[:2])
        if run.target is not None and pairs.get("Maia-Experiment") != run.target:
            problems.append(f"{commit.sha[:10]}: {run.event} of {run.target} made {pairs}")
    return len(commits), problems


def random_kills(top: Path, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    env = {"MAIA_LOCK_TIMEOUT": "600"}
    start = time.monotonic()
    assert run_maia(top, new_args(None, "agent1", "Calibration")).returncode == 0
    duration = time.monotonic() - start
    runs: dict[str, Run] = {}
    seen, problems, killed = len(history(top)), [], 0
    scale = 1.0  # adapts, so that about half the commands die while running whatever the load
    # n commands, and more while fewer than a third were killed running (the machine's load may
    # change after the calibration): the delay shrinks after each miss, so kills come.
    i = 0
    while i < n or (killed < n // 3 and i < 6 * n):
        token = f"kill{i:04d}"
        i += 1
        event, target, argv = choose(rng, top, token)
        run = runs[token] = Run(token, event, target)
        proc = spawn_maia(
            top, argv, maia_env(GIT_AUTHOR_NAME=token, GIT_COMMITTER_NAME=token, **env)
        )
        kill_after(proc, rng.uniform(0.3, 1.1) * duration * scale, group=rng.random() < 0.5)
        run.code = proc.returncode
        killed += proc.returncode == -signal.SIGKILL
        scale *= 1.1 if proc.returncode == -signal.SIGKILL else 0.8
        seen, found = check_new_commits(top, seen, runs)
        problems += found
    # The next commands recover whatever the last kill left (waiting for a live git child),
    # and commit the recorded lines.
    for token, event, argv in (
        ("final-sync", "sync", ("sync",)),
        ("final-new", "new", new_args("final", "agent2")),
    ):
        run = runs[token] = Run(token, event, "final" if event == "new" else None)
        result = run_maia(top, argv, maia_env(GIT_AUTHOR_NAME=token, GIT_COMMITTER_NAME=token))
        run.code = result.returncode
        problems += [] if result.returncode == 0 else [f"{token} failed: {result.stderr}"]
    problems += check_new_commits(top, seen, runs)[1]
    problems += [
        f"{r.token} exited 0 without a commit"
        for r in runs.values()
        if r.code == 0 and not r.committed and OPS_BY_EVENT[r.event].commits == "one"
    ]
    problems += check_records(top, runs)
    assert killed >= n // 3, f"only {killed} of {i} commands were killed while running"
    return problems + check_repository(top) + replay(top)[1]


def check_records(top: Path, runs: dict[str, Run]) -> list[str]:
    """A record that exited 0 is committed once; a killed one at most once."""
    found = recorded_ids(top)
    problems = []
    for run in (r for r in runs.values() if r.event == "record"):
        count = len(found.get(run.token, []))
        if count > 1 or (run.code == 0 and count != 1) or (run.code > 0 and count):
            problems.append(f"{run.token} (exit {run.code}) is committed {count} times")
    return problems


def run_with_readers(top: Path, n: int, seed: int) -> None:
    readers, raw = Readers(top), RawReader(top)
    threads = [
        threading.Thread(target=readers.loop),
        threading.Thread(target=raw.loop, args=(readers.stop.is_set,)),
    ]
    for thread in threads:
        thread.start()
    try:
        problems = random_kills(top, n, seed)
        # Each reader has run a whole pass, started while the kills went on (a loaded machine may
        # not have finished one when the kills end).
        deadline = time.monotonic() + 600
        while (readers.count == 0 or raw.reads == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        readers.stop.set()
        for thread in threads:
            thread.join()
    assert problems == []
    assert readers.failures == []
    assert raw.torn == []
    assert readers.count > 0 and raw.reads > 0


def kill_workspace(tmp_path: Path, root: Path) -> Path:
    prepare = [new_args(f"e{i}", AGENTS[i % 4]) for i in range(6)]
    prepare += [("exp", "start", f"e{i}") for i in range(5)]
    return clone(template(root, "random-kills", prepare), tmp_path / "ws")


def test_random_kills(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    top = kill_workspace(tmp_path, tmp_path_factory.getbasetemp() / "rel-templates")
    run_with_readers(top, n=14, seed=20240601)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_kills_soak(
    seed: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    top = kill_workspace(tmp_path, tmp_path_factory.getbasetemp() / "rel-templates")
    run_with_readers(top, n=150, seed=seed)


# --- an orphaned git child holding index.lock ---------------------------------------------------


def orphaned_git(top: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """What a maia killed alone mid-commit leaves: its journal, and a live git holding the lock.

    ``git hash-object --stdin`` stands in for the orphaned git: a real git process working in the
    repository, alive until its input closes.
    """
    journal.begin(maia_git.find_repo(top), restore=["queue/target.yaml"])
    holder = subprocess.Popen(
        ["git", "hash-object", "--stdin"], cwd=top, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    deadline = time.monotonic() + 600  # until the child has exec'd git
    comm = Path(f"/proc/{holder.pid}/comm")
    while time.monotonic() < deadline and not comm.read_text().startswith("git"):
        time.sleep(0.01)
    assert comm.read_text().startswith("git"), "the stand-in git never started"
    lock = top / ".git" / "index.lock"
    lock.write_bytes(b"held by a live git\n")
    return holder, lock


def start_workspace(tmp_path: Path, root: Path) -> Path:
    kind = next(k for k in KINDS if k.name == "start")
    return clone(template(root, "kind-start", kind.prepare), tmp_path / "ws")


@pytest.mark.parametrize("leaves_lock", [True, False], ids=["killed-git", "finished-git"])
def test_recovery_waits_for_a_live_git_and_never_deletes_its_lock(
    leaves_lock: bool, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Setup
    top = start_workspace(tmp_path, tmp_path_factory.getbasetemp() / "rel-templates")
    holder, lock = orphaned_git(top)
    # Act: a command starts while that git lives
    proc = spawn_maia(top, ("exp", "start", "target"), maia_env(MAIA_LOCK_TIMEOUT="600"))
    time.sleep(1.5)
    # Check: it waits, and the lock is untouched
    assert proc.poll() is None, proc.communicate()
    assert lock.read_bytes() == b"held by a live git\n"
    # Act: the git finishes (a finished git removes its own lock; a killed one leaves it)
    if not leaves_lock:
        lock.unlink()
    holder.communicate(b"content\n", timeout=600)
    _, err = proc.communicate(timeout=600)
    # Check: the command went on by itself and the repository is whole
    assert proc.returncode == 0, err
    assert not lock.exists()
    assert field_of(queue_files(top)["target"], "status") == "active"
    assert check_repository(top) == []


def test_a_git_that_outlives_the_wait_fails_the_command_and_keeps_its_lock(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Setup
    top = start_workspace(tmp_path, tmp_path_factory.getbasetemp() / "rel-templates")
    holder, lock = orphaned_git(top)
    before = snapshot(top)
    try:
        # Act
        result = run_maia(top, ("exp", "start", "target"), maia_env(MAIA_LOCK_TIMEOUT="0.5"))
        # Check: a clear one-line failure; nothing deleted, nothing changed
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1 and "index.lock" in result.stderr
        assert lock.exists() and snapshot(top) == before
    finally:
        holder.communicate(b"content\n", timeout=600)
    # Once the git is gone, the next command needs no manual step.
    assert run_maia(top, ("exp", "start", "target")).returncode == 0
    assert check_repository(top) == []
    assert git(top, "log", "-1", "--format=%s").startswith("maia: start target")
