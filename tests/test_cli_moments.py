"""The moments a newcomer hits: why a queued experiment waits, an ended experiment's analysis,
scoring a file anywhere, the report's threshold column, waiting for the lock, git's own locks."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from conftest import git, new_exp
from helpers import snapshot

RESPONSE = {"status": "completed", "requirements": ["a"], "addressed_requirements": ["a"]}


def test_queue_says_a_queued_experiment_waits_for_its_agents_active_one(ws: Path, maia) -> None:
    new_exp(maia, ws)
    new_exp(maia, ws)
    maia("exp", "start", "exp_001", cwd=ws)
    maia("exp", "start", "exp_002", cwd=ws)
    status = json.loads(maia("queue", "status", "--json", cwd=ws).out)
    assert status["capacity"]["available_slots"] == 2  # free slots, and still it waits:
    waiting = status["queued_experiments"][0]["waiting_for"]
    assert waiting == "waits for exp_001, the active experiment on agent helper"
    assert waiting in maia("queue", "status", cwd=ws).out
    assert waiting in maia("queue", "list", cwd=ws).out


def test_queue_says_a_queued_experiment_waits_for_a_free_slot(ws: Path, maia) -> None:
    text = (ws / "maia.yaml").read_text(encoding="utf-8")
    (ws / "maia.yaml").write_text(
        text.replace("max_concurrent: 3", "max_concurrent: 1"), encoding="utf-8"
    )
    new_exp(maia, ws, agent="one")
    new_exp(maia, ws, agent="two")
    maia("exp", "start", "exp_001", cwd=ws)
    maia("exp", "start", "exp_002", cwd=ws)
    items = json.loads(maia("queue", "list", "--json", cwd=ws).out)
    assert [i.get("waiting_for") for i in items] == [None, "waits for a free slot (1/1 active)"]


def test_analysing_an_ended_experiment_says_it_has_ended(ws: Path, maia) -> None:
    new_exp(maia, ws)
    maia("exp", "start", "exp_001", cwd=ws)
    running = maia("exp", "analyze", "exp_001", cwd=ws).out
    assert "records nothing more" not in running
    maia("exp", "complete", "exp_001", "--note", "stopped early", cwd=ws)
    ended = maia("exp", "analyze", "exp_001", cwd=ws)
    assert ended.code == 0
    assert "(but exp_001 is completed: it records nothing more)" in ended.out


def test_score_eval_scores_a_file_outside_any_repository(tmp_path: Path, maia) -> None:
    (tmp_path / "r.json").write_text(json.dumps(RESPONSE), encoding="utf-8")
    result = maia("score", "eval", "r.json", "--json", cwd=tmp_path)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["response_id"] == "r.json" and data["saved_to"] is None
    assert data["not_saved"] == "not in a maia workspace"
    assert 0 < data["overall"] < 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_score_eval_in_a_workspace_keeps_the_score_only_for_an_agent(ws: Path, maia) -> None:
    (ws / "r.json").write_text(json.dumps(RESPONSE), encoding="utf-8")
    anonymous = json.loads(maia("score", "eval", "r.json", "--json", cwd=ws).out)
    assert anonymous["not_saved"] == "no --agent to file it under"
    kept = json.loads(maia("score", "eval", "r.json", "--agent", "helper", "--json", cwd=ws).out)
    assert kept["saved_to"].startswith("scores/helper/") and kept["response_id"] == "r.json"


def test_the_report_column_follows_the_threshold(ws: Path, maia) -> None:
    scores = []
    for status in ("completed", "partial", "completed"):
        data = {**RESPONSE, "status": status, "validation_performed": True, "token_count": 100}
        (ws / "r.json").write_text(json.dumps(data), encoding="utf-8")
        result = maia("score", "eval", "r.json", "--agent", "helper", "--json", cwd=ws)
        assert result.code == 0, result.err
        scores.append(json.loads(result.out)["overall"])
    threshold = sorted(scores)[-1]  # the best score: the others are below it
    report = maia("score", "report", "--fail-under", f"{threshold:g}", cwd=ws)
    header, row = report.out.splitlines()[1:3]
    assert header.split()[-2:] == ["BELOW", f"{threshold:g}"]
    assert row.split()[-1] == str(sum(s < threshold for s in scores))
    plain = maia("score", "report", cwd=ws).out.splitlines()[1]
    assert plain.split()[-2:] == ["BELOW", "60"]
    data = json.loads(maia("score", "report", "--fail-under", "99", "--json", cwd=ws).out)
    assert data["agents"][0]["below"] == sum(s < 99 for s in scores)


# --- the lock ---------------------------------------------------------------------------------


HOLD = """
import os, sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1], thread_local=False)
lock.acquire()
print("held", flush=True)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline and not os.path.exists(sys.argv[1] + ".release"):
    time.sleep(0.05)
lock.release()
"""


def _hold_lock(ws: Path, seconds: float) -> subprocess.Popen[str]:
    """Hold the workspace lock for ``seconds``, or until ``_release`` is called."""
    (ws / ".git" / "maia.lock.release").unlink(missing_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws / ".git" / "maia.lock"), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def _release(ws: Path, holder: subprocess.Popen[str]) -> None:
    (ws / ".git" / "maia.lock.release").touch()
    holder.wait(timeout=600)
    (ws / ".git" / "maia.lock.release").unlink(missing_ok=True)


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_the_lock_message_does_not_name_a_dead_process(ws: Path) -> None:
    new_exp_cli(ws)
    owner = ws / ".git" / "maia.lock.owner"
    holder = _hold_lock(ws, 3600)  # killed below
    try:
        import socket

        dead = _dead_pid()
        owner.write_text(f"{dead} {socket.gethostname()} 2026-01-01T00:00:00Z maia exp x\n")
        proc = run(ws, ["exp", "start", "exp_001"], {"MAIA_LOCK_TIMEOUT": "0.3"})
        assert proc.returncode == 75
        assert str(dead) not in proc.stderr
        assert "held by another process" in proc.stderr
        owner.write_text(f"{holder.pid} {socket.gethostname()} 2026-01-01T00:00:00Z maia exp y\n")
        named = run(ws, ["exp", "start", "exp_001"], {"MAIA_LOCK_TIMEOUT": "0.3"})
        assert named.returncode == 75 and f"process {holder.pid}" in named.stderr
    finally:
        holder.kill()
        holder.wait()


def test_waiting_for_the_lock_shows_a_progress_line_on_a_terminal_only(ws: Path) -> None:
    new_exp_cli(ws)
    holder = _hold_lock(ws, 3600)  # released once the progress line has been seen
    waiting = {**os.environ, "MAIA_LOCK_TIMEOUT": "3600"}  # however long the test takes to look
    master, slave = pty.openpty()
    seen = b""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "maia_git", "exp", "start", "exp_001"],
            cwd=ws,
            env=waiting,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        deadline = time.monotonic() + 600
        while b"waiting for the workspace lock" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        _release(ws, holder)
        assert proc.wait(timeout=600) == 0
    finally:
        os.close(master)
        if holder.poll() is None:
            _release(ws, holder)
    assert b"waiting for the workspace lock" in seen
    # Not on a terminal: no progress line, only the outcome.
    git(ws, "reset", "-q", "--hard", "HEAD~1")
    holder = _hold_lock(ws, 3600)
    quiet_proc = subprocess.Popen(
        [sys.executable, "-m", "maia_git", "exp", "start", "exp_001"],
        cwd=ws,
        env=waiting,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)  # long enough for a progress line, were there one
    _release(ws, holder)
    _out, err = quiet_proc.communicate(timeout=600)
    assert quiet_proc.returncode == 0 and "waiting" not in err


def test_a_stale_git_index_lock_is_explained_not_quoted(ws: Path, maia) -> None:
    new_exp(maia, ws)
    (ws / ".git" / "index.lock").write_bytes(b"")
    before = snapshot(ws)
    result = maia("exp", "start", "exp_001", cwd=ws)
    assert result.code == 1
    assert "fatal:" not in result.err and "Another git process" not in result.err
    assert "git's lock file" in result.err and "index.lock exists" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert snapshot(ws) == before


def new_exp_cli(ws: Path) -> None:
    proc = run(ws, ["exp", "new", "x", "--agent", "helper", "--control", "agents/helper.md",
                    "--treatment", "agents/helper_v2.md"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def run(
    ws: Path, args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maia_git", *args],
        cwd=ws,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
