"""Assignment and recording through the CLI and the library, and `maia sync [--push]`."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maia_git.core.assign import arm
from maia_git.core.interaction import check_line
from maia_git.usecases.recording import RECHECK_SECONDS, Recorder, writer_name

from conftest import git, new_exp, run_cli
from helpers import record_many, snapshot


@pytest.fixture
def active(ws: Path, maia) -> str:
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    return exp_id


def shard(ws: Path, exp_id: str, writer: str = "test-writer") -> Path:
    """Where the writer's unsynced records of the experiment are appended."""
    return ws / ".git/maia/pending/experiments" / exp_id / "interactions" / f"{writer}.jsonl"


def committed_lines(top: Path, exp_id: str, rev: str = "HEAD") -> list[str]:
    folder = f"experiments/{exp_id}/interactions"
    names = git(top, "ls-tree", "-r", "--name-only", rev, "--", folder).split()
    return [ln for n in names for ln in git(top, "show", f"{rev}:{n}").splitlines()]


def test_assign_prints_user_tab_arm(ws: Path, active: str, maia) -> None:
    users = ["alice@example.com", "bob", "José", "用户"]
    result = maia("exp", "assign", active, *users, cwd=ws)
    assert result.code == 0, result.err
    lines = [line.split("\t") for line in result.out.splitlines()]
    assert lines == [[u, arm(active, u)] for u in users]


def test_assign_streams_a_users_file_from_stdin(ws: Path, active: str) -> None:
    users = [f"user-{i}" for i in range(100_000)]
    proc = subprocess.run(
        [sys.executable, "-m", "maia_git", "exp", "assign", active, "--users-file", "-"],
        cwd=ws,
        input="\n".join(users) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    arms = [line.split("\t")[1] for line in proc.stdout.splitlines()]
    assert len(arms) == len(users)
    share = arms.count("control") / len(arms)
    assert abs(share - 0.5) < 0.01
    assert arms[:50] == [arm(active, u) for u in users[:50]]


def test_assign_uses_the_control_share(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws, "--control-share", "0.2")
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    result = maia("exp", "assign", exp_id, *[f"u{i}" for i in range(5000)], cwd=ws)
    share = result.out.count("\tcontrol") / 5000
    assert 0.18 < share < 0.22


def test_record_appends_one_valid_line_to_the_writer_shard(ws: Path, active: str, maia) -> None:
    result = maia(
        "exp",
        "record",
        active,
        "alice",
        "--success",
        "--quality",
        "87.5",
        "--tokens",
        "750",
        "--latency-ms",
        "3200",
        "--interaction-id",
        "req-1",
        cwd=ws,
    )
    assert result.code == 0, result.err
    [line] = shard(ws, active).read_text().splitlines()
    data = json.loads(line)
    assert check_line(data, active, 0.5) is None
    assert data["arm"] == arm(active, "alice")
    assert (data["success"], data["quality_score"], data["tokens"], data["latency_ms"]) == (
        True,
        87.5,
        750,
        3200.0,
    )
    assert data["interaction_id"] == "req-1"
    assert git(ws, "status", "--porcelain", "--", "experiments") == ""  # nothing git sees


@pytest.mark.parametrize(
    "args,needle",
    [
        (["", "--success"], "must not be empty"),
        (["a\nb", "--success"], "control character"),
        (["a", "--success", "--quality", "101"], "0 to 100"),
        (["a", "--success", "--quality", "nan"], "0 to 100"),
        (["a", "--success", "--tokens", "-1"], "from 0 to"),
        (["a", "--success", "--latency-ms", "-5"], "from 0 to"),
        (["a", "--success", "--tokens", "1" + "0" * 400], "from 0 to"),
        (["a", "--success", "--latency-ms", "1e308"], "from 0 to"),
        (["a"], "--success or --failure"),
        (["alice", "--success", "--arm", "ARM"], "must be control or treatment"),
    ],
)
def test_bad_records_write_nothing(
    ws: Path, active: str, maia, args: list[str], needle: str
) -> None:
    snap = snapshot(ws)
    result = maia("exp", "record", active, *args, cwd=ws)
    assert result.code == 2
    assert needle in result.err
    assert snapshot(ws) == snap


def test_arm_that_disagrees_with_assignment_is_refused(ws: Path, active: str, maia) -> None:
    wrong = "treatment" if arm(active, "alice") == "control" else "control"
    snap = snapshot(ws)
    result = maia("exp", "record", active, "alice", "--success", "--arm", wrong, cwd=ws)
    assert result.code == 2 and "disagrees with the assignment" in result.err
    assert snapshot(ws) == snap


def test_record_not_recorded_unless_active_and_refused_for_unknown(ws: Path, maia) -> None:
    draft = new_exp(maia, ws)
    snap = snapshot(ws)
    result = maia("exp", "record", draft, "a", "--success", cwd=ws)
    assert result.code == 0 and result.out == f"recorded: false ({draft} is draft, not active)\n"
    as_json = maia("exp", "record", draft, "a", "--success", "--json", cwd=ws)
    assert json.loads(as_json.out) == {
        "recorded": False,
        "experiment_id": draft,
        "status": "draft",
        "reason": f"{draft} is draft, not active",
        "record": None,
    }
    unknown = maia("exp", "record", "exp_999", "a", "--success", cwd=ws)
    assert unknown.code == 2 and "unknown experiment" in unknown.err
    assert snapshot(ws) == snap


def test_writer_name_from_env_or_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIA_WRITER", "runtime-7")
    assert writer_name() == "runtime-7"
    monkeypatch.setenv("MAIA_WRITER", "../evil")
    with pytest.raises(Exception, match="writer name"):
        writer_name()
    monkeypatch.delenv("MAIA_WRITER")
    import re

    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", writer_name())


def test_recorder_notices_when_the_experiment_is_paused(ws: Path, active: str, maia) -> None:
    recorder = Recorder(ws)
    recorder.record(active, "u1", True)
    assert maia("exp", "pause", active, cwd=ws).code == 0
    time.sleep(RECHECK_SECONDS + 0.05)  # a recorder looks at the files again this often
    with pytest.raises(Exception, match="paused"):
        recorder.record(active, "u2", True)
    recorder.close()
    assert len(shard(ws, active).read_text().splitlines()) == 1


def test_sixteen_processes_recording_lose_nothing(ws: Path, active: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    # Half the processes share one shard, half write their own.
    procs = [
        ctx.Process(
            target=record_many,
            args=(str(ws), active, "shared" if i % 2 else f"w{i}", f"p{i}", 500),
        )
        for i in range(16)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(900)  # only against a hang: 16 interpreters start and write on a loaded machine
        assert p.exitcode == 0
    seen: list[str] = []
    for path in shard(ws, active).parent.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            assert check_line(data, active, 0.5) is None
            seen.append(data["interaction_id"])
    assert len(seen) == 16 * 500
    assert len(set(seen)) == len(seen)


def test_sync_commits_only_logs_in_one_commit(ws: Path, active: str, maia) -> None:
    (ws / "staged.txt").write_text("mine\n")
    git(ws, "add", "staged.txt")
    for user in ("a", "b", "c"):
        maia("exp", "record", active, user, "--success", cwd=ws)
    before = int(git(ws, "rev-list", "--count", "HEAD"))
    result = maia("sync", "--json", cwd=ws)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    [segment] = data["files"]
    assert segment.startswith(f"experiments/{active}/interactions/test-writer/")
    assert data["lines"] == 3
    assert len(committed_lines(ws, active)) == 3
    assert not shard(ws, active).exists()
    assert int(git(ws, "rev-list", "--count", "HEAD")) == before + 1
    message = git(ws, "log", "-1", "--format=%B")
    assert "Maia-Sync: 1 file(s)" in message and f"Maia-Experiment: {active}" in message
    assert git(ws, "show", "--name-only", "--format=", "HEAD").split() == data["files"]
    assert "A  staged.txt" in git(ws, "status", "--porcelain")
    again = maia("sync", cwd=ws)
    assert again.code == 0 and "no new log lines" in again.out


def test_sync_ends_a_torn_line_so_the_next_record_survives(ws: Path, active: str, maia) -> None:
    path = shard(ws, active)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"ts":"2026-01-01T00:00:00Z","user_id":"x","ar')
    assert maia("sync", cwd=ws).code == 0
    [torn] = committed_lines(ws, active)
    assert torn.endswith('"ar')
    maia("exp", "record", active, "alice", "--success", cwd=ws)
    assert maia("sync", cwd=ws).code == 0
    last = committed_lines(ws, active)[-1]
    assert json.loads(last)["user_id"] == "alice"


def clone(remote: Path, where: Path, writer: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(where)], check=True)
    return where


def test_sync_push_retries_after_rebase_when_rejected(
    ws: Path, active: str, maia, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(ws, "remote", "add", "origin", str(remote))
    git(ws, "push", "-q", "origin", "main")
    other = clone(remote, tmp_path / "other", "other")
    # The other machine records and pushes first.
    env = {"MAIA_WRITER": "other-host"}
    assert run_cli(["exp", "record", active, "zed", "--failure"], other, env).returncode == 0
    pushed = run_cli(["sync", "--push"], other, env)
    assert pushed.returncode == 0, pushed.stderr
    # This machine's push is rejected (non-fast-forward), then rebased and retried.
    maia("exp", "record", active, "amy", "--success", cwd=ws)
    result = maia("sync", "--push", "--json", cwd=ws)
    assert result.code == 0, result.err
    assert json.loads(result.out)["push_attempts"] == 1  # fetched first: no rejected push
    tree = git(remote, "ls-tree", "-r", "--name-only", "main")
    assert f"experiments/{active}/interactions/other-host/" in tree
    assert f"experiments/{active}/interactions/test-writer/" in tree
    assert len(committed_lines(remote, active, "main")) == 2
    assert git(ws, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    merges = git(remote, "rev-list", "--merges", "main").strip()
    assert merges == ""


def test_sync_push_to_a_missing_remote_fails_clearly(ws: Path, active: str, maia) -> None:
    maia("exp", "record", active, "amy", "--success", cwd=ws)
    snap = snapshot(ws)
    result = maia("sync", "--push", cwd=ws)
    promote = maia("exp", "promote", active, "--push", "--force", "--note", "n", cwd=ws)
    assert result.code == promote.code == 2
    assert (
        result.err
        == promote.err
        == (
            "maia: error: no remote 'origin' to push to: add one (`git remote add origin URL`) "
            "or name another in maia.yaml (remote:)\n"
        )
    )
    assert snapshot(ws) == snap  # refused before anything was committed


def test_record_dry_run_checks_and_appends_nothing(ws: Path, active: str, maia) -> None:
    snap = snapshot(ws)
    result = maia("exp", "record", active, "alice", "--success", "--dry-run", cwd=ws)
    assert result.code == 0, result.err
    pending = ".git/maia/pending/experiments/exp_001/interactions/test-writer.jsonl"
    assert f"would append to {pending}" in result.out
    assert '"user_id":"alice"' in result.out
    assert snapshot(ws) == snap
    bad = maia("exp", "record", active, "", "--success", "--dry-run", cwd=ws)
    assert bad.code == 2


def test_sync_push_failure_says_the_commit_was_made(ws: Path, active: str, maia) -> None:
    maia("exp", "record", active, "amy", "--success", cwd=ws)
    git(ws, "remote", "add", "origin", str(ws.parent / "no-such-remote.git"))
    result = maia("sync", "--push", cwd=ws)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("maia: error: push to origin failed"), lines
    assert lines[1:] == [
        "maia: done before the failure: committed 1 new line(s) in 1 file(s)",
        "maia: to finish, fix the cause and run again: maia sync --push",
    ]
    assert "Maia-Sync" in git(ws, "log", "-1", "--format=%B")
