"""`maia sync --push` against a bare remote that keeps moving: nothing lost, nothing doubled, no
repository left inside a git operation.

- The race (Jepsen-style): two clones, each with a runtime recording without pause and a loop of
  `maia sync --push`, and a third clone pushing unrelated commits with plain git, for 20 s (10
  minutes with --soak). Every acknowledged record must be on the remote exactly once at the end.
- A SIGKILL at every step of `maia sync --push`, each followed by the next `maia sync --push`.
- The conflict case: both clones change the same experiment's state.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from rel_harness import MAIA, git, maia_env, maia_here, run_maia

from maia_git import crash

from conftest import IDENTITY

RACE_SECONDS = 20
SOAK_SECONDS = 600
PUSH_POINTS = (
    "after_fetch",
    "after_replay",
    "after_push",
    "after_advance_journal",
    "after_read_tree",
    "after_update_ref",
)
IN_PROGRESS = ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD")

RECORDER = """
import sys, time
from pathlib import Path
from maia_git.usecases.recording import Recorder

top, tag, acks, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
recorder = Recorder(top, writer="runtime")
with open(acks, "a", encoding="utf-8") as out:
    i = 0
    while not stop.exists():
        recorder.record("exp_001", f"user-{i % 97}", i % 3 == 0, interaction_id=f"{tag}-{i}")
        out.write(f"{tag}-{i}\\n")  # acknowledged: record() returned
        out.flush()
        i += 1
        if i % 20 == 0:
            time.sleep(0.01)  # leave the loops some of a shared machine
"""


# --- setup -------------------------------------------------------------------------------------


def remote_with_workspace(tmp: Path) -> Path:
    """A bare remote whose main holds a workspace with one active experiment (exp_001)."""
    seed = tmp / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "agents").mkdir()
    (seed / "agents/helper.md").write_text("You are a helpful agent.\n")
    (seed / "agents/helper_v2.md").write_text("You are helpful. Think step by step.\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    for args in (
        ("init",),
        ("exp", "new", "race", "--agent", "helper", "--control", "agents/helper.md",
         "--treatment", "agents/helper_v2.md"),
        ("exp", "start", "exp_001"),
    ):  # fmt: skip
        done = maia_here(seed, *args)
        assert done.code == 0, done.err
    remote = tmp / "remote.git"
    git(tmp, "clone", "-q", "--bare", str(seed), str(remote))
    return remote


def clone(remote: Path, where: Path) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(where))
    return where


def remote_ids(remote: Path) -> Counter[str]:
    names = git(remote, "ls-tree", "-r", "--name-only", "main", "--", "experiments").split()
    found: Counter[str] = Counter()
    for name in names:
        if "/interactions/" in name and name.endswith(".jsonl"):
            for line in git(remote, "show", f"main:{name}").splitlines():
                found[json.loads(line)["interaction_id"]] += 1
    return found


def repository_problems(top: Path, bare: bool = False) -> list[str]:
    problems = []
    git_dir = top if bare else top / ".git"
    for name in IN_PROGRESS:
        if (git_dir / name).exists():
            problems.append(f"{top.name}: {name} left behind")
    if not bare:
        if not git(top, "symbolic-ref", "-q", "HEAD", check=False).strip():
            problems.append(f"{top.name}: HEAD is detached")
        status = git(top, "status", "--porcelain")
        if status:
            problems.append(f"{top.name}: working tree not clean: {status!r}")
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling"], cwd=top, capture_output=True, text=True, check=False
    )
    if fsck.returncode != 0:
        problems.append(f"{top.name}: git fsck: {fsck.stdout}{fsck.stderr}")
    return problems


def sync_until_pushed(top: Path, tries: int = 10) -> None:
    for _ in range(tries):
        done = run_maia(top, ["sync", "--push"])
        if done.returncode == 0:
            return
    raise AssertionError(f"sync --push kept failing in {top.name}: {done.stderr}")


# --- the race ----------------------------------------------------------------------------------


def sync_loop(top: Path, stop: Path) -> subprocess.Popen[str]:
    """A shell loop of `maia sync --push`, as a cron job would run it; failures are tolerated."""
    script = (
        f'while [ ! -e "{stop}" ]; do "{MAIA[0]}" -m maia_git sync --push >/dev/null 2>>"{top}.err"'
        "; sleep 0.1; done"
    )
    return subprocess.Popen(["sh", "-c", script], cwd=top, env=maia_env(MAIA_LOCK_TIMEOUT="30"))


def mover(top: Path, stop: Path) -> subprocess.Popen[str]:
    """Someone else pushing unrelated commits with plain git."""
    script = (
        f'n=0; while [ ! -e "{stop}" ]; do n=$((n+1)); echo $n > notes.txt; git add notes.txt; '
        'git commit -q -m "note $n"; git push -q origin main 2>/dev/null || '
        "{ git fetch -q origin && git rebase -q origin/main; }; sleep 0.3; done"
    )
    return subprocess.Popen(["sh", "-c", script], cwd=top, env=maia_env())


def race(tmp: Path, seconds: float) -> None:
    remote = remote_with_workspace(tmp)
    clones = [clone(remote, tmp / name) for name in ("a", "b")]
    other = clone(remote, tmp / "c")
    stop_recording, stop_syncing = tmp / "stop-recording", tmp / "stop-syncing"
    env = maia_env()
    recorders = [
        subprocess.Popen(
            [sys.executable, "-c", RECORDER, str(top), top.name, str(tmp / f"{top.name}.acks"),
             str(stop_recording)],
            env=env,
        )
        for top in clones
    ]  # fmt: skip
    loops = [sync_loop(top, stop_syncing) for top in clones] + [mover(other, stop_syncing)]
    time.sleep(seconds)
    # A loaded machine records less in that time: go on until the race has enough records.
    deadline = time.monotonic() + 600
    while _acknowledged(tmp, clones) <= 1000 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop_recording.touch()
    assert [r.wait(timeout=600) for r in recorders] == [0, 0]
    time.sleep(1)  # a few more rounds of the loops with nothing new to record
    stop_syncing.touch()
    for loop in loops:
        loop.wait(timeout=600)
    for top in [*clones, *clones]:  # each pushes, then each takes in the other's
        sync_until_pushed(top)

    acked = Counter(
        line for top in clones for line in (tmp / f"{top.name}.acks").read_text().splitlines()
    )
    found = remote_ids(remote)
    lost = sorted(set(acked) - set(found))
    doubled = sorted(i for i, n in found.items() if n > 1)
    assert len(acked) > 1000, "the runtimes recorded too little for a meaningful race"
    assert lost == [] and doubled == [], (len(lost), lost[:5], doubled[:5])
    assert set(found) == set(acked)
    problems = [p for top in clones for p in repository_problems(top)]
    problems += repository_problems(remote, bare=True)
    assert problems == []
    for top in clones:
        assert git(top, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
        assert not list((top / ".git/maia/pending").rglob("*.*"))
    assert git(remote, "rev-list", "--merges", "main").strip() == ""


def _acknowledged(tmp: Path, clones: list[Path]) -> int:
    """Records acknowledged so far (whole lines only: the runtimes are appending)."""
    files = [tmp / f"{top.name}.acks" for top in clones]
    return sum(f.read_bytes().count(b"\n") for f in files if f.exists())


def test_two_recording_clones_and_a_mover_lose_and_double_nothing(tmp_path: Path) -> None:
    race(tmp_path, RACE_SECONDS)


@pytest.mark.soak
def test_race_soak(tmp_path: Path) -> None:
    race(tmp_path, SOAK_SECONDS)


# --- a kill at every step ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Remote, clone `a` with records waiting and a state commit of its own, clone `b` ahead."""
    tmp = tmp_path_factory.mktemp("kill-template")
    home = tmp_path_factory.mktemp("kill-home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    # Module-scoped, so set up before the per-test isolation: isolate it by hand.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**IDENTITY, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
                           "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}.items():  # fmt: skip
            patch.setenv(key, value)
        for key in ("MAIA_WRITER", "MAIA_CRASH_AT", "MAIA_CRASH_GROUP", "MAIA_LOCK_TIMEOUT"):
            patch.delenv(key, raising=False)
        remote = remote_with_workspace(tmp)
        a, b = clone(remote, tmp / "a"), clone(remote, tmp / "b")
        record(b, "b", 5)
        sync_until_pushed(b)
        record(a, "a", 7)
        done = maia_here(a, "exp", "new", "second", "--agent", "helper", "--control",
                         "agents/helper.md", "--treatment", "agents/helper_v2.md")  # fmt: skip
        assert done.code == 0, done.err
        record(b, "b2", 3)
        sync_until_pushed(b)  # the remote moved on twice since a cloned it
    return tmp


def record(top: Path, tag: str, count: int) -> None:
    from maia_git.usecases.recording import Recorder

    recorder = Recorder(top, writer=f"runtime-{top.name}")
    for i in range(count):
        recorder.record("exp_001", f"user-{i}", True, interaction_id=f"{tag}-{i}")
    recorder.close()


@pytest.mark.parametrize("point", [*crash.SYNC_POINTS[1:], *PUSH_POINTS])
def test_a_kill_at_every_step_of_sync_push_then_the_next_sync(
    template: Path, tmp_path: Path, point: str
) -> None:
    work = tmp_path / "w"
    shutil.copytree(template, work, symlinks=True)
    a, remote = work / "a", work / "remote.git"
    # The clone's origin points into the template: point it at the copy.
    git(a, "remote", "set-url", "origin", str(remote))

    killed = run_maia(a, ["sync", "--push"], maia_env(MAIA_CRASH_AT=point))
    assert killed.returncode == -9, killed.stderr
    record(a, "after", 2)
    again = run_maia(a, ["sync", "--push"])

    assert again.returncode == 0, again.stderr
    want = Counter([f"a-{i}" for i in range(7)] + [f"b-{i}" for i in range(5)])
    want.update([f"b2-{i}" for i in range(3)] + ["after-0", "after-1"])
    assert remote_ids(remote) == want
    assert "queue/exp_002.yaml" in git(remote, "ls-tree", "-r", "--name-only", "main")
    assert git(a, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert repository_problems(a) + repository_problems(remote, bare=True) == []
    assert not (a / ".git/maia/advance.json").exists()


# --- the conflict case -------------------------------------------------------------------------


def _snapshot(top: Path) -> dict[str, str]:
    from helpers import snapshot

    snap = snapshot(top)
    snap["refs"] = "\n".join(
        ln for ln in snap["refs"].splitlines() if " refs/remotes/" not in f" {ln.split()[0]}"
    )
    pending = top / ".git/maia/pending"
    snap["pending"] = "\n".join(
        f"{p.relative_to(pending)}:{p.read_bytes()!r}" for p in sorted(pending.rglob("*.*"))
    )
    return snap


def test_both_clones_change_one_experiment_nothing_changes_and_one_line_says_why(
    tmp_path: Path,
) -> None:
    remote = remote_with_workspace(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    assert maia_here(b, "exp", "cancel", "exp_001", "--note", "wrong idea").code == 0
    sync_until_pushed(b)
    record(a, "a", 3)
    assert maia_here(a, "exp", "pause", "exp_001", "--note", "tool outage").code == 0
    before = _snapshot(a)

    refused = run_maia(a, ["sync", "--push"])

    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("maia: error: exp_001: queue/exp_001.yaml changed differently")
    assert "active->paused" in line and "nothing was pushed or changed" in line
    assert _snapshot(a) == before
    assert repository_problems(a) == []


def test_a_pause_here_and_records_there_are_both_replayed(tmp_path: Path) -> None:
    remote = remote_with_workspace(tmp_path)
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    record(b, "b", 4)
    sync_until_pushed(b)
    record(a, "a", 3)
    assert maia_here(a, "exp", "pause", "exp_001", "--note", "tool outage").code == 0

    done = run_maia(a, ["sync", "--push"])

    assert done.returncode == 0, done.stderr
    assert remote_ids(remote) == Counter(
        [f"b-{i}" for i in range(4)] + [f"a-{i}" for i in range(3)]
    )
    assert "status: paused" in git(remote, "show", "main:queue/exp_001.yaml")
    log = git(remote, "log", "--format=%B", "main")
    assert "Maia-Transition: active->paused" in log
    assert git(a, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert repository_problems(a) == []


def test_a_cancel_here_and_a_priority_there_merge_field_by_field(tmp_path: Path) -> None:
    remote = remote_with_workspace(tmp_path)
    setup = clone(remote, tmp_path / "setup")
    settings = (setup / "maia.yaml").read_text()
    (setup / "maia.yaml").write_text(re.sub(r"max_concurrent: \d+", "max_concurrent: 1", settings))
    git(setup, "commit", "-q", "-am", "one experiment at a time")
    for args in (
        ("exp", "new", "second", "--agent", "helper", "--control", "agents/helper.md",
         "--treatment", "agents/helper_v2.md"),
        ("exp", "start", "exp_002"),
    ):  # fmt: skip
        done = maia_here(setup, *args)
        assert done.code == 0, done.err
    assert "status: queued" in (setup / "queue/exp_002.yaml").read_text()
    git(setup, "push", "-q", "origin", "main")
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    changed = maia_here(b, "queue", "priority", "exp_002", "--priority", "high")
    assert changed.code == 0, changed.err
    sync_until_pushed(b)
    assert maia_here(a, "exp", "cancel", "exp_002", "--reason", "not needed").code == 0

    done = run_maia(a, ["sync", "--push"])

    assert done.returncode == 0, done.stderr
    entry = git(remote, "show", "main:queue/exp_002.yaml")
    assert "status: cancelled" in entry and "priority: high" in entry and "not needed" in entry
    assert git(a, "show", "HEAD:queue/exp_002.yaml") == entry
    assert (a / "queue/exp_002.yaml").read_text() == entry
    assert repository_problems(a) == []
    listed = maia_here(a, "exp", "list", "--json")
    assert listed.code == 0, listed.err
