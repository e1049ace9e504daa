"""Promise 2, at every named crash point: SIGKILL of maia alone or of its whole process group.

For each kind of state change (``rel_harness.KINDS``) and each point in ``crash.POINTS``, a real
``maia`` process kills itself there. Afterwards the committed state is exactly the old one (killed
before the commit) or the new one (after it), the next command works with no manual step, a retry
of the killed command works, ``git fsck`` passes and maia's paths in the working tree equal HEAD's.
"""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_harness import (
    KINDS,
    Kind,
    check_repository,
    clone,
    git,
    log_lines,
    maia_env,
    maia_here,
    new_args,
    normalised_tree,
    replay,
    spawn_maia,
    template,
    trailers_of,
)

from maia_git import crash

# Points after which the commit exists: a kill there must leave the new state.
AFTER_COMMIT = {"after_commit", "before_unlock"}


@dataclass(frozen=True)
class Expected:
    old_head: str
    new_tree: dict[str, bytes]
    new_trailers: list[tuple[str, str]]
    logged: set[str]  # log lines before the command, committed or not: never rolled back


@dataclass(frozen=True)
class Killed:
    point: str
    group: bool
    top: Path
    code: int
    err: str


def expected(source: Path, dest: Path, kind: Kind) -> Expected:
    """The old HEAD, and the new state as an uninterrupted run of the same command leaves it."""
    old_head = git(source, "rev-parse", "HEAD").strip()
    top = clone(source, dest)
    result = maia_here(top, *kind.argv)
    assert result.code == 0, result.err
    return Expected(
        old_head,
        normalised_tree(top),
        trailers_of(git(top, "log", "-1", "--format=%B")),
        log_lines(source, None) | log_lines(source),
    )


def kill_at(source: Path, dest: Path, kind: Kind, point: str, group: bool) -> Killed:
    top = clone(source, dest)
    env = maia_env(MAIA_CRASH_AT=point, **({"MAIA_CRASH_GROUP": "1"} if group else {}))
    proc = spawn_maia(top, kind.argv, env)
    _, err = proc.communicate(timeout=600)
    return Killed(point, group, top, proc.returncode, err)


def committed_state(killed: Killed, exp: Expected) -> tuple[str, list[str]]:
    head = git(killed.top, "rev-parse", "HEAD").strip()
    if head == exp.old_head:
        return "old", []
    parent = git(killed.top, "rev-parse", "HEAD^").strip()
    trailers = trailers_of(git(killed.top, "log", "-1", "--format=%B"))
    if (
        parent == exp.old_head
        and normalised_tree(killed.top) == exp.new_tree
        and trailers == exp.new_trailers
    ):
        return "new", []
    return "neither", ["the committed state is neither the old nor the new one"]


def follow_up(top: Path, kind: Kind, state: str) -> list[str]:
    """The next commands a user would type, with no manual repair in between."""
    problems = []
    if not kind.initialised and state == "old":
        head = git(top, "rev-parse", "HEAD")
        refused = maia_here(top, *new_args("after", "other"))
        if (
            refused.code != 2
            or "maia init" not in refused.err
            or git(top, "rev-parse", "HEAD") != head
        ):
            problems.append(f"a command before init did not refuse cleanly: {refused}")
    if state == "old":
        retry = maia_here(top, *kind.argv)
        if retry.code != 0:
            problems.append(f"retrying the killed command failed: {retry.err.strip()}")
    after = maia_here(top, *new_args("after", "other"))
    if after.code != 0:
        problems.append(f"the next command failed: {after.err.strip()}")
    listed = maia_here(top, "exp", "list", "--json")
    if listed.code != 0:
        problems.append(f"exp list failed: {listed.err.strip()}")
    return problems


def check_killed(killed: Killed, kind: Kind, exp: Expected) -> list[str]:
    problems = []
    if killed.code != -signal.SIGKILL:
        problems.append(f"not killed at the point (exit {killed.code}): {killed.err.strip()}")
    state, wrong = committed_state(killed, exp)
    problems += wrong
    want = "new" if killed.point in AFTER_COMMIT else "old"
    if state != want:
        problems.append(f"expected the {want} state, found the {state} one")
    problems += follow_up(killed.top, kind, state)
    if not exp.logged <= log_lines(killed.top):
        problems.append("recorded log lines were lost")
    problems += check_repository(killed.top)
    problems += replay(killed.top)[1]
    label = f"{killed.point}{' (group)' if killed.group else ''}"
    return [f"{label}: {p}" for p in problems]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_kill_at_every_crash_point(
    kind: Kind, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Setup: the state before the change, and the state an uninterrupted run leaves.
    root = tmp_path_factory.getbasetemp() / "rel-templates"
    source = template(root, f"kind-{kind.name}", kind.prepare, kind.initialised)
    exp = expected(source, tmp_path / "reference", kind)
    cases = [(point, group) for point in crash.POINTS for group in (False, True)]
    # Act: every point, killing maia alone and its whole process group (in parallel copies).
    with ThreadPoolExecutor(max_workers=4) as pool:
        killed = list(
            pool.map(lambda c: kill_at(source, tmp_path / f"{c[0]}-{int(c[1])}", kind, *c), cases)
        )
    # Check
    problems = [p for k in killed for p in check_killed(k, kind, exp)]
    assert problems == []


def test_recovery_removes_temp_files_of_any_killed_writer(tmp_path: Path) -> None:
    """A recovery can itself be killed inside an atomic write: the temp file it leaves carries
    its own process id, not the journal's, and the next recovery removes it too."""
    top = clone(template(tmp_path / "t", "temp", [new_args("target")]), tmp_path / "ws")
    crashed = spawn_maia(top, ("exp", "start", "target"), maia_env(MAIA_CRASH_AT="after_write"))
    crashed.communicate(timeout=600)
    left = [top / "queue" / f".target.yaml.{pid}.tmp" for pid in (crashed.pid, crashed.pid + 1)]
    for temp in left:
        temp.write_text("id: tar")
    assert maia_here(top, *new_args("after", "other")).code == 0
    assert not any(temp.exists() for temp in left)
    assert check_repository(top) == []
