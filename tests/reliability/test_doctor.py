"""Promise 6: ``maia doctor`` finds each kind of problem and says how to fix it; ``--fix`` makes
the safe repairs under the lock (as one commit where a commit is needed) and nothing else."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_harness import (
    check_repository,
    clone,
    field_of,
    git,
    history,
    maia_env,
    maia_here,
    new_args,
    replay,
    spawn_maia,
    template,
)

from maia_git.storage import git as maia_git
from maia_git.storage import journal
from maia_git.usecases import doctor

from helpers import snapshot

# exp_001 and exp_002 active (agents a1, a2), exp_003 queued behind exp_001 (agent a1),
# exp_004 a draft (agent a4).
SETUP = [
    new_args(None, "a1"),
    new_args(None, "a2"),
    new_args(None, "a1"),
    new_args(None, "a4"),
    *(("exp", "start", f"exp_00{i}") for i in (1, 2, 3)),
]
Setup = Callable[[Path], None]


@pytest.fixture
def top(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.getbasetemp() / "rel-templates"
    return clone(template(root, "doctor", SETUP), tmp_path / "ws")


def problems(top: Path, *flags: str) -> tuple[int, list[dict[str, object]]]:
    result = maia_here(top, "doctor", "--json", *flags)
    return result.code, json.loads(result.out)["problems"]


def edit(rel: str, old: str, new: str) -> Setup:
    def setup(top: Path) -> None:
        path = top / rel
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))

    return setup


def write(rel: str, text: str) -> Setup:
    def setup(top: Path) -> None:
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(text)

    return setup


def remove(rel: str) -> Setup:
    return lambda top: (top / rel).unlink()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def with_journal(top: Path) -> None:
    journal.begin(maia_git.find_repo(top), restore=["queue/exp_004.yaml"])


def detach(top: Path) -> None:
    git(top, "checkout", "-q", "--detach")


def stale_index_lock(top: Path) -> None:
    (top / ".git" / "index.lock").write_text("")


@dataclass(frozen=True)
class Finding:
    name: str
    setup: Setup
    check: str
    where: str
    fixable: bool


MISSING_PROMPT = "experiments/exp_002/experiment.yaml"
FINDINGS = [
    Finding(
        "settings-invalid",
        edit("maia.yaml", "max_concurrent: 3", "max_concurrent: 0"),
        "settings",
        "maia.yaml:",
        False,
    ),
    Finding("settings-missing", remove("maia.yaml"), "settings", "maia.yaml", False),
    Finding(
        "queue-entry-invalid",
        edit("queue/exp_004.yaml", "priority: medium", "priority: 3"),
        "queue",
        "queue/exp_004.yaml:",
        False,
    ),
    Finding(
        "queue-file-name",
        write("queue/Not_An_Id.yaml", "id: x\n"),
        "queue",
        "queue/Not_An_Id.yaml",
        False,
    ),
    Finding(
        "definition-invalid",
        edit("experiments/exp_004/experiment.yaml", "control_share: 0.5", "control_share: 2"),
        "experiments",
        "experiments/exp_004/experiment.yaml:",
        False,
    ),
    Finding(
        "definition-without-entry",
        remove("queue/exp_004.yaml"),
        "agreement",
        "experiments/exp_004/experiment.yaml",
        False,
    ),
    Finding(
        "prompt-missing",
        edit(MISSING_PROMPT, "control: agents/helper.md", "control: agents/gone.md"),
        "agreement",
        MISSING_PROMPT,
        False,
    ),
    Finding(
        "over-capacity",
        edit("maia.yaml", "max_concurrent: 3", "max_concurrent: 1"),
        "queue",
        "queue/",
        False,
    ),
    Finding(
        "two-active-on-one-agent",
        edit("queue/exp_003.yaml", "status: queued", "status: active"),
        "queue",
        "queue/",
        False,
    ),
    Finding(
        "slot-free-while-waiting",
        edit("maia.yaml", "one_active_per_agent: true", "one_active_per_agent: false"),
        "queue",
        "queue/",
        True,
    ),
    Finding("unfinished-journal", with_journal, "journal", ".git/maia-journal.json", True),
    Finding("stale-git-lock", stale_index_lock, "git", ".git/index.lock", False),
    Finding(
        "temp-file",
        lambda top: write(f"queue/.exp_001.yaml.{dead_pid()}.tmp", "id: ")(top),
        "files",
        "queue/.exp_001.yaml.",
        True,
    ),
    Finding(
        "gitattributes",
        write(".gitattributes", "*.png binary\n"),
        "gitattributes",
        ".gitattributes",
        True,
    ),
    Finding(
        "detached-head",
        detach,
        "git",
        ".git/HEAD",
        False,
    ),
]


def test_a_healthy_workspace(top: Path) -> None:
    result = maia_here(top, "doctor")
    assert (result.code, result.out.strip()) == (0, "the workspace is healthy")
    assert problems(top) == (0, [])


def test_a_queue_entry_without_a_definition_is_allowed(top: Path) -> None:
    (top / "experiments/exp_004/experiment.yaml").unlink()
    assert problems(top) == (0, [])


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.name for f in FINDINGS])
def test_each_check_finds_its_problem_and_says_how_to_fix_it(finding: Finding, top: Path) -> None:
    finding.setup(top)
    before = snapshot(top)
    code, found = problems(top)
    assert code == 1
    assert [(p["check"], p["fixable"]) for p in found] == [(finding.check, finding.fixable)]
    assert str(found[0]["where"]).startswith(finding.where)
    assert found[0]["what"] and found[0]["fix"]
    assert snapshot(top) == before  # checking changes nothing


def test_text_output_gives_each_problem_its_fix_and_a_summary(top: Path) -> None:
    remove("agents/helper_v2.md")(top)  # the treatment of all four experiments
    write(".gitattributes", "")(top)
    result = maia_here(top, "doctor")
    lines = result.out.splitlines()
    assert result.code == 1
    assert sum(ln.startswith("    fix: ") for ln in lines) == 5
    assert lines[-1] == "5 problem(s), 1 fixable with `maia doctor --fix`"


def test_a_command_in_flight_is_not_a_crash(top: Path) -> None:
    """While another maia holds the lock, its journal is work in progress, not a problem."""
    with_journal(top)
    hold = (
        "import sys, time; from pathlib import Path; from maia_git.storage.lock import "
        "WorkspaceLock\nwith WorkspaceLock(Path(sys.argv[1]), 5):\n    print('held', "
        "flush=True); time.sleep(3600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(top / ".git")], text=True, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = maia_here(top, "doctor", "--json")
        assert result.code == 0, result.out
        assert "another maia command is running" in json.loads(result.out)["notes"][0]
    finally:
        holder.kill()
        holder.wait()
    assert problems(top)[1][0]["check"] == "journal"


def wait_until_git(pid: int) -> None:
    """Until the child has exec'd git (before that it is a copy of this Python)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("git"):
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never became git")


def test_a_live_git_holding_a_lock_is_reported_as_such(top: Path) -> None:
    stale_index_lock(top)
    live = subprocess.Popen(
        ["git", "hash-object", "--stdin"], cwd=top, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        wait_until_git(live.pid)
        found = problems(top)[1]
        assert [p["what"] for p in found] == [f"may be held by process {live.pid}"]
        assert maia_here(top, "doctor", "--fix").code == 1
        assert (top / ".git" / "index.lock").exists()  # never deleted while a git lives
    finally:
        live.communicate(b"", timeout=600)


def test_a_lock_open_in_any_process_is_never_deleted(top: Path) -> None:
    # A libgit2 or JGit tool is not called git: what counts is that it has the lock file open.
    stale_index_lock(top)
    with_journal(top)  # as if maia had been killed while committing
    hold = (
        "import sys, time; f = open(sys.argv[1], 'a'); print('open', flush=True); time.sleep(3600)"
    )
    tool = subprocess.Popen(
        [sys.executable, "-c", hold, str(top / ".git" / "index.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert tool.stdout is not None and tool.stdout.readline() == "open\n"
        found = problems(top)[1]
        assert f"may be held by process {tool.pid}" in [p["what"] for p in found]
        fix = maia_here(top, "doctor", "--fix")
        assert fix.code != 0 and f"process {tool.pid} may still hold index.lock" in fix.err
        assert (top / ".git" / "index.lock").exists()
    finally:
        tool.kill()
        tool.wait()


def test_where_processes_cannot_be_seen_no_lock_is_deleted(
    top: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "lock_holders", lambda top, locks: None)  # as on macOS
    stale_index_lock(top)
    found = problems(top)[1]
    assert [p["fix"] for p in found] == [
        "make sure no git command or git tool works on this repository, then `rm .git/index.lock`"
    ]
    with_journal(top)
    fix = maia_here(top, "doctor", "--fix")
    assert fix.code == 1 and "cannot tell whether another process holds them" in fix.err
    assert "`rm .git/index.lock`" in fix.err and (top / ".git" / "index.lock").exists()


def test_new_checks_slot_into_the_list(top: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def logs(scan: doctor.Scan) -> list[doctor.Problem]:
        return [
            doctor.Problem(
                "logs", "experiments/exp_001/interactions/a.jsonl", "torn line", "run `maia sync`"
            )
        ]

    monkeypatch.setattr(doctor, "CHECKS", [*doctor.CHECKS, logs])
    assert [p["check"] for p in problems(top)[1]] == ["logs"]


# --- the repairs -------------------------------------------------------------------------------


def fixed(top: Path) -> list[str]:
    result = maia_here(top, "doctor", "--fix", "--json")
    report = json.loads(result.out)
    assert result.code == (0 if report["healthy"] else 1)
    return list(report["fixed"])


def test_fix_finishes_a_transaction_a_killed_maia_left(top: Path) -> None:
    proc = spawn_maia(top, ("exp", "pause", "exp_001"), maia_env(MAIA_CRASH_AT="after_write"))
    proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    head = git(top, "rev-parse", "HEAD")
    assert [p["check"] for p in problems(top)[1]] == ["journal"]
    assert fixed(top) == ["put back the committed state that a killed maia command left"]
    assert git(top, "rev-parse", "HEAD") == head
    assert check_repository(top) == [] and problems(top) == (0, [])


def test_fix_removes_git_locks_maia_owned_and_leaves_others(top: Path) -> None:
    stale_index_lock(top)
    assert fixed(top) == []  # no journal: not maia's lock, so it stays
    assert (top / ".git" / "index.lock").exists()
    with_journal(top)
    assert fixed(top) == ["put back the committed state that a killed maia command left"]
    assert check_repository(top) == []


def test_fix_deletes_temp_files_of_dead_writers_only(top: Path) -> None:
    dead = top / f"queue/.exp_001.yaml.{dead_pid()}.tmp"
    alive = top / f"queue/.exp_001.yaml.{os.getpid()}.tmp"
    dead.write_text("id: ")
    alive.write_text("id: ")
    assert fixed(top) == [f"deleted queue/{dead.name}"]
    assert not dead.exists() and alive.exists()


def test_fix_adds_gitattributes_lines_and_starts_waiting_experiments_in_one_commit(
    top: Path,
) -> None:
    write(".gitattributes", "*.png binary\n")(top)
    git(top, "commit", "-q", "-am", "user: attributes")
    edit("maia.yaml", "one_active_per_agent: true", "one_active_per_agent: false")(top)
    git(top, "commit", "-q", "-am", "user: settings")
    commits = len(history(top))
    done = fixed(top)
    assert done[0].startswith("added to .gitattributes") and done[1] == (
        "started exp_003 from the queue"
    )
    assert len(history(top)) == commits + 1
    last = history(top)[-1]
    assert ("Maia-Transition", "queued->active") in last.trailers
    assert (top / ".gitattributes").read_text().startswith("*.png binary\n")
    assert field_of((top / "queue/exp_003.yaml").read_text(), "status") == "active"
    assert check_repository(top) == [] and replay(top)[1] == []
    assert problems(top) == (0, [])
    assert fixed(top) == []  # nothing left to do: no second commit
    assert len(history(top)) == commits + 1


def test_fix_leaves_what_needs_a_person(top: Path) -> None:
    edit("queue/exp_004.yaml", "priority: medium", "priority: 3")(top)
    before = snapshot(top)
    assert fixed(top) == []
    assert snapshot(top) == before
    assert [p["check"] for p in problems(top)[1]] == ["queue"]


def test_fix_commits_nothing_on_a_detached_head(top: Path) -> None:
    write(".gitattributes", "")(top)
    detach(top)
    before = snapshot(top)
    assert fixed(top) == []
    assert snapshot(top) == before


def test_fix_waits_for_the_lock_and_gives_up_with_75(top: Path) -> None:
    hold = (
        "import sys, time; from pathlib import Path; from maia_git.storage.lock import "
        "WorkspaceLock\nwith WorkspaceLock(Path(sys.argv[1]), 5):\n    print('held', "
        "flush=True); time.sleep(3600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(top / ".git")], text=True, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = subprocess.run(
            [sys.executable, "-m", "maia_git", "doctor", "--fix"],
            cwd=top,
            env=maia_env(MAIA_LOCK_TIMEOUT="0.3"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 75 and f"process {holder.pid} " in result.stderr
    finally:
        holder.kill()
        holder.wait()
