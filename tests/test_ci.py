"""`maia ci analyze` run as the workflow runs it: env files, a bare remote, a fake GitHub."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from maia_git.cli.ci_render import write_outputs
from maia_git.core.assign import arm
from maia_git.usecases.recording import Recorder

from conftest import git, new_exp, run_cli
from fakegithub import FakeGitHub
from helpers import fill


def read_outputs(path: Path) -> dict[str, str]:
    text = path.read_text()
    found = {}
    for match in re.finditer(r"^([A-Za-z_][\w-]*)<<(\S+)\n(.*?)\n\2$", text, re.M | re.S):
        found[match.group(1)] = match.group(3)
    return found


@pytest.fixture
def pushed(ws: Path, maia, tmp_path: Path) -> tuple[Path, Path, str]:
    """Two active experiments (one a clear winner), logs pushed; returns (ws, remote, base)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(ws, "remote", "add", "origin", f"file://{bare}")
    # beta has prompt files of its own: a promotion never rewrites another running experiment's
    for name in ("beta.md", "beta_v2.md"):
        (ws / "agents" / name).write_text(f"{name}\n", encoding="utf-8")
    git(ws, "add", "agents")
    git(ws, "commit", "-qm", "beta prompts")
    exp_id = new_exp(maia, ws, agent="alpha")
    maia("exp", "start", exp_id, cwd=ws)
    beta = maia(
        "exp", "new", "Beta", "--agent", "beta", "--control", "agents/beta.md",
        "--treatment", "agents/beta_v2.md", cwd=ws,
    )  # fmt: skip
    maia("exp", "start", beta.out.split()[1], cwd=ws)
    git(ws, "push", "-q", "origin", "main")
    base = git(ws, "rev-parse", "HEAD").strip()
    fill(ws, "exp_001", 0.45, 0.85, 400)
    fill(ws, "exp_002", 0.5, 0.5, 60)
    assert maia("sync", "--push", cwd=ws).code == 0
    return ws, bare, base


@pytest.fixture
def actions_env(tmp_path: Path, pushed) -> dict[str, str]:
    summary = tmp_path / "summary.md"
    output = tmp_path / "output.txt"
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_REPOSITORY": "octo/agents",
        "GITHUB_TOKEN": "s3cret",
    }


def test_ci_analyze_writes_summary_outputs_and_opens_the_pr(pushed, actions_env) -> None:
    ws, bare, base = pushed
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=bare) as github:
        env = {**actions_env, "GITHUB_API_URL": github.url}
        proc = run_cli(["ci", "analyze", "--base", base, "--auto-promote", "--open-pr"], ws, env)
        assert proc.returncode == 0, proc.stderr
        summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
        assert "### exp_001" in summary and "### exp_002" in summary
        assert "| control |" in summary and "```mermaid" in summary and "xychart-beta" in summary
        assert "`promote`" in summary and "`keep_running`" in summary
        outputs = read_outputs(Path(env["GITHUB_OUTPUT"]))
        assert json.loads(outputs["promotable"]) == ["exp_001"]
        assert json.loads(outputs["analyzed"]) == ["exp_001", "exp_002"]
        results = {r["experiment_id"]: r for r in json.loads(outputs["results"])}
        assert results["exp_001"]["decision"] == "promote"
        assert "::notice title=Promoted exp_001::" in proc.stdout
        [post] = github.requests_to("POST")
        assert post.body["head"] == "maia/promote/exp_001" and post.body["base"] == "main"
        assert post.headers["authorization"] == "Bearer s3cret"
    # The completion commit went back to the remote's main; the branch was pushed.
    assert git(bare, "rev-parse", "main") == git(ws, "rev-parse", "HEAD")
    assert git(bare, "rev-parse", "maia/promote/exp_001").strip()
    assert "status: completed" in git(bare, "show", "main:queue/exp_001.yaml")


def test_running_twice_on_the_same_commit_does_the_work_once(pushed, actions_env) -> None:
    ws, bare, base = pushed
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=bare) as github:
        env = {**actions_env, "GITHUB_API_URL": github.url}
        args = ["ci", "analyze", "--base", base, "--auto-promote", "--open-pr"]
        assert run_cli(args, ws, env).returncode == 0
        heads = (
            git(ws, "rev-parse", "HEAD"),
            git(bare, "rev-parse", "main"),
            git(ws, "rev-parse", "maia/promote/exp_001"),
        )
        second = run_cli(args, ws, env)
        assert second.returncode == 0, second.stderr
        assert len(github.requests_to("POST")) == 1
        assert (
            git(ws, "rev-parse", "HEAD"),
            git(bare, "rev-parse", "main"),
            git(ws, "rev-parse", "maia/promote/exp_001"),
        ) == heads
        outputs = Path(env["GITHUB_OUTPUT"]).read_text()
        assert outputs.count("promotable<<") == 2 and "[]" in outputs


def test_completion_push_retries_after_another_push_won(
    pushed, actions_env, tmp_path: Path
) -> None:
    ws, bare, base = pushed
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(bare), str(other)], check=True)
    fill(other, "exp_002", 0.5, 0.5, 20, writer="elsewhere")
    assert run_cli(["sync", "--push"], other, {"MAIA_WRITER": "elsewhere"}).returncode == 0
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=bare) as github:
        env = {**actions_env, "GITHUB_API_URL": github.url}
        proc = run_cli(["ci", "analyze", "--base", base, "--auto-promote", "--open-pr"], ws, env)
        assert proc.returncode == 0, proc.stderr
    tree = git(bare, "ls-tree", "-r", "--name-only", "main")
    assert "experiments/exp_002/interactions/elsewhere/" in tree
    assert "status: completed" in git(bare, "show", "main:queue/exp_001.yaml")


def test_without_base_every_active_experiment_and_terminal_output(pushed) -> None:
    ws, _, _ = pushed
    proc = run_cli(["ci", "analyze"], ws)
    assert proc.returncode == 0, proc.stderr
    assert "Every active experiment." in proc.stdout
    assert "### exp_001" in proc.stdout and "### exp_002" in proc.stdout
    assert "::notice" not in proc.stdout


def test_bad_base_falls_back_and_option_injection_is_refused(pushed) -> None:
    ws, _, _ = pushed
    zeros = run_cli(["ci", "analyze", "--base", "0" * 40], ws)
    assert zeros.returncode == 0 and "Every active experiment." in zeros.stdout
    assert zeros.stderr == ""  # all zeros is what a first push sends: no warning
    typo = run_cli(["ci", "analyze", "--base", "no-such-rev"], ws)
    assert typo.returncode == 0 and "Every active experiment." in typo.stdout
    assert "warning: --base no-such-rev is not a commit here" in typo.stderr
    injected = run_cli(["ci", "analyze", "--base", "--output=/tmp/x"], ws)
    assert injected.returncode == 2


def test_sample_ratio_mismatch_is_a_warning(ws: Path, maia, tmp_path: Path) -> None:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    recorder = Recorder(ws, writer="skewed")
    users = [f"u{i}" for i in range(2000)]
    for user in [u for u in users if arm(exp_id, u) == "control"][:300]:
        recorder.record(exp_id, user, True)
    for user in [u for u in users if arm(exp_id, u) == "treatment"][:100]:
        recorder.record(exp_id, user, True)
    recorder.close()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
        "GITHUB_OUTPUT": str(tmp_path / "o.txt"),
    }
    proc = run_cli(["ci", "analyze"], ws, env)
    assert proc.returncode == 0, proc.stderr
    assert "::warning title=Sample ratio mismatch::exp_001" in proc.stdout


def test_outputs_are_multiline_safe(tmp_path: Path) -> None:
    path = tmp_path / "out"
    write_outputs(path, {"results": '[\n  {"a": "x\\ny"}\n]', "analyzed": "[]"})
    parsed = read_outputs(path)
    assert json.loads(parsed["results"]) == [{"a": "x\ny"}]
    with pytest.raises(Exception, match="invalid output name"):
        write_outputs(path, {"bad name": "1"})
