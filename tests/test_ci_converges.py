"""CI promotion converges: rerun after a failure at any step, `maia ci analyze --auto-promote
--open-pr` ends with one promotion branch, one pull request and the experiment promoted once.

Real processes against a bare remote and the fake GitHub: a refused pull request (403) followed
by a rerun in a fresh checkout and in the same one, a SIGKILL at every step of the promotion path
followed by the next run, and a protected main whose own message is shown.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maia_git import crash

from conftest import git, new_exp, run_cli
from fakegithub import FakeGitHub
from helpers import fill

ARGS = ["ci", "analyze", "--auto-promote", "--open-pr"]
KILL_POINTS = (
    *crash.POINTS,
    "after_promote_local",
    "after_branch_push",
    "after_pull_requests",
    "after_replay",
    "after_push",
    "after_advance_journal",
    "after_read_tree",
    "after_update_ref",
)


@pytest.fixture
def remote(ws: Path, maia, tmp_path: Path) -> Path:
    """A bare remote whose main has exp_001 active with a clear winner in its pushed logs."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(ws, "remote", "add", "origin", f"file://{bare}")
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    fill(ws, exp_id, 0.45, 0.85, 400)
    assert maia("sync", "--push", cwd=ws).code == 0
    return bare


def checkout(bare: Path, where: Path) -> Path:
    """What actions/checkout gives the workflow: a fresh clone of main."""
    subprocess.run(["git", "clone", "-q", f"file://{bare}", str(where)], check=True)
    return where


def actions_env(tmp_path: Path, github: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "GITHUB_REPOSITORY": "octo/agents",
        "GITHUB_TOKEN": "s3cret",
        "GITHUB_API_URL": github.url,
    }


def converged(bare: Path, github: FakeGitHub) -> list[str]:
    """What must hold after the last run: one branch, one pull request, promoted once."""
    problems = []
    branches = git(bare, "for-each-ref", "--format=%(refname)", "refs/heads/maia/").split()
    if branches != ["refs/heads/maia/promote/exp_001"]:
        return [f"branches: {branches}"]
    pulls = github.pulls["octo/agents"]
    if [p["head"]["ref"] for p in pulls] != ["maia/promote/exp_001"]:
        problems.append(f"pull requests: {[p['head']['ref'] for p in pulls]}")
    main_log = git(bare, "log", "--format=%B", "main")
    if main_log.count("Maia-Transition: active->completed") != 1:
        problems.append("main does not complete exp_001 exactly once")
    if "status: completed" not in git(bare, "show", "main:queue/exp_001.yaml"):
        problems.append("exp_001 is not completed on main")
    branch_log = git(bare, "log", "--format=%B", "main..maia/promote/exp_001")
    if branch_log.count("Maia-Transition: completed->promoted") != 1:
        problems.append("the branch does not promote exp_001 exactly once")
    fsck = subprocess.run(["git", "fsck"], cwd=bare, capture_output=True, text=True)
    if fsck.returncode != 0:
        problems.append(f"git fsck: {fsck.stderr}")
    return problems


def test_a_refused_pull_request_then_reruns_converge(remote: Path, tmp_path: Path) -> None:
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=remote) as github:
        env = actions_env(tmp_path, github)
        first = checkout(remote, tmp_path / "run1")
        github.fail_next(403)
        refused = run_cli(ARGS, first, env)
        assert refused.returncode == 1
        assert "Resource not accessible by integration" in refused.stdout + refused.stderr
        # The branch went out, the pull request and main did not.
        assert git(remote, "rev-parse", "maia/promote/exp_001").strip()
        assert "status: active" in git(remote, "show", "main:queue/exp_001.yaml")

        # The workflow is rerun: a fresh checkout of the same commit rebuilds the same commits.
        second = checkout(remote, tmp_path / "run2")
        done = run_cli(ARGS, second, env)
        assert done.returncode == 0, done.stderr
        assert git(second, "rev-parse", "maia/promote/exp_001") == git(
            first, "rev-parse", "maia/promote/exp_001"
        )
        # And once more, in the first checkout: nothing left to do, nothing done twice.
        again = run_cli(ARGS, first, env)
        assert again.returncode == 0, again.stderr
        assert converged(remote, github) == []


def test_a_rerun_in_the_same_checkout_finishes_what_the_first_left(
    remote: Path, tmp_path: Path
) -> None:
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=remote) as github:
        env = actions_env(tmp_path, github)
        first = checkout(remote, tmp_path / "run1")
        github.fail_next(403)
        assert run_cli(ARGS, first, env).returncode == 1
        done = run_cli(ARGS, first, env)
        assert done.returncode == 0, done.stderr
        assert converged(remote, github) == []
        assert git(first, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_every_step_of_the_promotion_then_the_next_run(
    remote: Path, tmp_path: Path, point: str
) -> None:
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=remote) as github:
        env = actions_env(tmp_path, github)
        top = checkout(remote, tmp_path / "run")
        # The remote moves on after the checkout, so the completion push has to be rebuilt.
        late = checkout(remote, tmp_path / "late")
        fill(late, "exp_001", 0.45, 0.85, 20, writer="late")
        assert run_cli(["sync", "--push"], late).returncode == 0
        killed = run_cli(ARGS, top, {**env, "MAIA_CRASH_AT": point})
        assert killed.returncode == -9, killed.stderr
        done = run_cli(ARGS, top, env)
        assert done.returncode == 0, done.stderr
        assert converged(remote, github) == [], (killed.stdout, done.stdout)
        for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD"):
            assert not (top / ".git" / name).exists()
        assert git(top, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_a_protected_main_shows_the_remotes_own_reason(remote: Path, tmp_path: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "while read old new ref; do\n"
        '  if [ "$ref" = refs/heads/main ]; then\n'
        '    echo "error: GH006: Protected branch update failed for refs/heads/main." >&2\n'
        "    exit 1\n"
        "  fi\n"
        "done\n"
    )
    hook.chmod(0o755)
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=remote) as github:
        env = actions_env(tmp_path, github)
        top = checkout(remote, tmp_path / "run")
        done = run_cli(ARGS, top, env)
    assert done.returncode == 1
    assert "GH006: Protected branch update failed for refs/heads/main." in done.stdout
    assert "pre-receive hook declined" in done.stdout
