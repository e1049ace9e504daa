"""Test helpers: a byte-level snapshot of a repository, to prove a command changed nothing, and
simulated traffic for an experiment."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def snapshot(top: Path) -> dict[str, str]:
    """HEAD, every ref, the index's entries and every working-tree file's content hash."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=top, capture_output=True, text=True).stdout

    snap = {
        "HEAD": git("rev-parse", "HEAD").strip(),
        "head-ref": git("symbolic-ref", "-q", "HEAD").strip(),
        "refs": git("for-each-ref", "--format=%(refname) %(objectname)"),
        "index": git("ls-files", "-s"),
    }
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            snap[rel] = "symlink:" + str(path.readlink())
        elif path.is_file():
            snap[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            snap[rel] = "dir"
    return snap


def fill(
    top: Path, exp_id: str, control: float, treatment: float, users: int, writer: str = "runtime"
) -> None:
    import random

    from maia_git.core.assign import arm
    from maia_git.usecases.recording import Recorder

    rng = random.Random(exp_id)  # a str seed is stable across processes; hash() is not
    recorder = Recorder(top, writer=writer)
    for i in range(users):
        user = f"{exp_id}-user-{i}"
        rate = treatment if arm(exp_id, user) == "treatment" else control
        recorder.record(exp_id, user, rng.random() < rate, quality_score=rng.uniform(60, 90))
    recorder.close()


def record_many(top: str, exp_id: str, writer: str, tag: str, count: int) -> None:
    """Record ``count`` interactions as one runtime process would (a multiprocessing target).

    It lives here, not in a test module: a spawned process imports the module of its target,
    and this one imports nothing of the test suite (no conftest, whose name a process started
    from another folder could resolve to another file)."""
    from maia_git.usecases.recording import Recorder

    recorder = Recorder(Path(top), writer=writer)
    for i in range(count):
        recorder.record(
            exp_id,
            f"{tag}-user-{i}",
            i % 3 == 0,
            quality_score=float(i % 101),
            interaction_id=f"{tag}-{i}",
        )
    recorder.close()
