"""Edge inputs found by hunting: each gets its exit code, one line, and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maia_git.core.assign import arm

from conftest import git, new_exp, run_cli
from helpers import snapshot

GOOD_RESPONSE = {
    "status": "completed", "requirements": ["a"], "addressed_requirements": ["a"],
    "validation_performed": True, "edge_cases_considered": True, "tools_used": ["t"],
    "expected_tools": ["t"], "systematic_planning": True, "logical_breakdown": True,
    "explanation_quality": "good", "token_count": 100, "execution_time_seconds": 1.0,
}  # fmt: skip


@pytest.fixture
def active(ws: Path, maia) -> Path:
    new_exp(maia, ws)
    assert maia("exp", "start", "exp_001", cwd=ws).code == 0
    return ws


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_quality_from_scores_nothing_when_the_record_is_refused(active: Path, maia) -> None:
    (active / "r.json").write_text(json.dumps(GOOD_RESPONSE))
    wrong = "treatment" if arm("exp_001", "alice") == "control" else "control"
    snap = snapshot(active)
    result = maia(
        "exp",
        "record",
        "exp_001",
        "alice",
        "--success",
        "--arm",
        wrong,
        "--quality-from",
        "r.json",
        cwd=active,
    )
    assert result.code == 2 and "disagrees" in result.err
    assert snapshot(active) == snap


def test_users_file_that_is_not_utf8_and_one_with_a_bom(active: Path) -> None:
    (active / "bad.txt").write_bytes(b"alice\na\xffb\n")
    proc = run_cli(["exp", "assign", "exp_001", "--users-file", "bad.txt"], active)
    assert proc.returncode == 2 and "--users-file is not valid UTF-8" in one_line_error(proc)
    (active / "bom.txt").write_bytes("\ufeffalice\n".encode())
    proc = run_cli(["exp", "assign", "exp_001", "--users-file", "bom.txt"], active)
    assert proc.stdout == f"alice\t{arm('exp_001', 'alice')}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--baseline", "1e-300", "--mde", "0.2"],
        ["--baseline", "0.5", "--mde", "0.2", "--alpha", "1e-300"],
    ],
)
def test_plan_with_extreme_numbers_is_a_usage_error(active: Path, args: list[str]) -> None:
    proc = run_cli(["exp", "plan", *args], active)
    assert proc.returncode == 2
    one_line_error(proc)


@pytest.mark.parametrize("value", ["abc", "", "nan", "-1", "1e308"])
def test_a_bad_lock_timeout_variable_is_refused(active: Path, value: str) -> None:
    snap = snapshot(active)
    proc = run_cli(["exp", "pause", "exp_001"], active, {"MAIA_LOCK_TIMEOUT": value})
    assert proc.returncode == 2 and "MAIA_LOCK_TIMEOUT" in one_line_error(proc)
    assert snapshot(active) == snap


def test_closed_stdin_and_unwritable_stdout(active: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "maia_git", "score", "eval", "--agent", "a", "--response-id", "r"],
        cwd=active,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        close_fds=True,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 2
    one_line_error(proc)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "maia_git", "exp", "list"],
            cwd=active,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert proc.returncode == 1 and "cannot write the output" in one_line_error(proc)


def test_extreme_control_share_is_refused(ws: Path, maia) -> None:
    snap = snapshot(ws)
    result = maia(
        "exp",
        "new",
        "x",
        "--agent",
        "a",
        "--control",
        "agents/helper.md",
        "--treatment",
        "agents/helper_v2.md",
        "--control-share",
        "0.00001",
        cwd=ws,
    )
    assert result.code == 2 and "0.0001 to 0.9999" in result.err
    assert snapshot(ws) == snap


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("queued", "garbage", "RFC 3339"),
        ("created", "2026-02-30T00:00:00Z", "RFC 3339"),
    ],
)
def test_bad_times_in_a_queue_entry_are_state_errors(
    active: Path, maia, field: str, value: str, needle: str
) -> None:
    path = active / "queue/exp_001.yaml"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(f"{field}:")]
    path.write_text("\n".join([*lines, f"{field}: {json.dumps(value)}"]) + "\n")
    result = maia("exp", "pause", "exp_001", cwd=active)
    assert result.code == 3 and needle in result.err and "queue/exp_001.yaml:" in result.err


def test_hand_written_times_keep_first_in_first_out(ws: Path, maia) -> None:
    settings = ws / "maia.yaml"
    settings.write_text(settings.read_text().replace("max_concurrent: 3", "max_concurrent: 1"))
    git(ws, "commit", "-qam", "one slot")
    for agent in ("a", "b", "c"):
        new_exp(maia, ws, agent=agent)
    for exp_id in ("exp_001", "exp_002", "exp_003"):
        maia("exp", "start", exp_id, cwd=ws)
    entry = ws / "queue/exp_002.yaml"  # queued first, at a whole second, written by hand
    text = entry.read_text()
    queued = next(ln for ln in text.splitlines() if ln.startswith("queued:"))
    whole = queued.split(": ")[1].strip('"')[:19] + "Z"
    entry.write_text(text.replace(queued, f'queued: "{whole}"'))
    git(ws, "commit", "-qam", "edit by hand")
    maia("exp", "complete", "exp_001", cwd=ws)
    status = json.loads(maia("queue", "status", "--json", cwd=ws).out)
    assert [e["experiment_id"] for e in status["active_experiments"]] == ["exp_002"]


@pytest.mark.parametrize("path", ["/etc/passwd", "./agents/helper.md", "../x.md", ".git/config"])
def test_prompt_paths_in_experiment_yaml_must_stay_inside(active: Path, maia, path: str) -> None:
    exp_file = active / "experiments/exp_001/experiment.yaml"
    exp_file.write_text(
        exp_file.read_text().replace("control: agents/helper.md", f"control: {json.dumps(path)}")
    )
    result = maia("exp", "show", "exp_001", cwd=active)
    assert result.code == 3 and "relative path inside the repository" in result.err


def test_recording_never_writes_through_a_symlink(active: Path, maia, tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    pending = active / ".git/maia/pending/experiments/exp_001/interactions"
    pending.mkdir(parents=True)
    (pending / "evil.jsonl").symlink_to(outside)
    in_tree = active / "experiments/exp_001/interactions"
    in_tree.mkdir(parents=True)
    (in_tree / "other.jsonl").symlink_to(outside)
    proc = run_cli(["exp", "record", "exp_001", "u", "--success"], active, {"MAIA_WRITER": "evil"})
    assert proc.returncode == 1 and "cannot open" in one_line_error(proc)
    assert outside.read_text() == "keep me\n"
    # A link in the tree is neither read nor committed by a sync.
    assert maia("sync", cwd=active).code == 0
    assert "other.jsonl" not in git(active, "ls-tree", "-r", "--name-only", "HEAD")


def test_bare_commands_print_their_help(active: Path) -> None:
    for args in ([], ["exp"], ["queue"]):
        proc = run_cli(args, active)
        assert proc.returncode == 0 and "Usage:" in proc.stdout and proc.stderr == ""


def test_unwritable_step_summary_is_one_line(active: Path, tmp_path: Path) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
    }
    proc = run_cli(["ci", "analyze"], active, env)
    assert proc.returncode == 1 and "cannot write" in one_line_error(proc)
