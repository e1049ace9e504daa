"""Promotion as a pull request: the branch, the current branch, the push and the API."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from maia_git.core.assign import arm
from maia_git.usecases.recording import Recorder

from conftest import git, new_exp
from fakegithub import FakeGitHub, OtherHost
from helpers import snapshot

BRANCH = "maia/promote/exp_001"


def fill(top: Path, exp_id: str, control: float, treatment: float, users: int = 400) -> None:
    rng = random.Random(3)
    recorder = Recorder(top, writer="runtime")
    for i in range(users):
        user = f"user-{i}"
        rate = treatment if arm(exp_id, user) == "treatment" else control
        recorder.record(exp_id, user, rng.random() < rate, quality_score=rng.uniform(60, 90))
    recorder.close()


@pytest.fixture
def winner(ws: Path, maia) -> Path:
    """An active experiment whose treatment clearly wins, logs committed."""
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    fill(ws, exp_id, 0.45, 0.8)
    assert maia("sync", cwd=ws).code == 0
    return ws


@pytest.fixture
def remote(winner: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(winner, "remote", "add", "origin", f"file://{bare}")
    git(winner, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def github(remote: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=remote) as fake:
        monkeypatch.setenv("GITHUB_TOKEN", "s3cret")
        monkeypatch.setenv("GITHUB_REPOSITORY", "octo/agents")
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        yield fake


def user_view(top: Path) -> tuple[str, str, str, str]:
    """What the user sees of their checkout: branch, status, index entries, a file's bytes."""
    return (
        git(top, "symbolic-ref", "HEAD"),
        git(top, "status", "--porcelain"),
        git(top, "ls-files", "-s", "--", "agents", "README.md"),
        (top / "agents/helper.md").read_text(),
    )


def test_promote_builds_the_branch_without_touching_the_checkout(winner: Path, maia) -> None:
    (winner / "agents/helper.md").write_text("local, uncommitted edit\n")
    (winner / "notes.txt").write_text("untracked\n")
    (winner / "README.md").write_text("staged edit\n")
    git(winner, "add", "README.md")
    before = user_view(winner)
    result = maia("exp", "promote", "exp_001", cwd=winner)
    assert result.code == 0, result.err
    assert user_view(winner) == before
    # On the branch: the prompt holds the treatment, the experiment is promoted, the analysis.
    treatment = git(winner, "show", "HEAD:agents/helper_v2.md")
    assert git(winner, "show", f"{BRANCH}:agents/helper.md") == treatment
    assert "status: promoted" in git(winner, "show", f"{BRANCH}:queue/exp_001.yaml")
    analysis = json.loads(git(winner, "show", f"{BRANCH}:experiments/exp_001/analysis.json"))
    assert analysis["decision"] == "promote" and analysis["method"] == "sequential"
    assert git(winner, "rev-parse", f"{BRANCH}~1") == git(winner, "rev-parse", "HEAD")
    message = git(winner, "log", "-1", "--format=%B", BRANCH)
    assert "| control |" in message and "Lift" in message and "```diff" in message
    assert "Maia-Transition: completed->promoted" in message
    # On the current branch: completed with the winner and the branch name.
    shown = json.loads(maia("exp", "show", "exp_001", "--json", cwd=winner).out)
    assert shown["status"] == "completed"
    assert shown["winner"] == "treatment" and shown["promotion_branch"] == BRANCH
    assert "Maia-Transition: active->completed" in git(winner, "log", "-1", "--format=%B")
    assert git(winner, "show", "HEAD:agents/helper.md") == "You are a helpful agent.\n"


def test_promotion_starts_the_next_queued_experiment(winner: Path, maia) -> None:
    waiting = new_exp(maia, winner)  # same agent: waits while exp_001 is active
    maia("exp", "start", waiting, cwd=winner)
    assert maia("exp", "promote", "exp_001", cwd=winner).code == 0
    body = git(winner, "log", "-1", "--format=%B")
    assert f"Maia-Experiment: {waiting}" in body and "queued->active" in body


def test_refuses_without_a_promote_decision_and_changes_nothing(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    fill(ws, exp_id, 0.5, 0.5, users=40)
    snap = snapshot(ws)
    result = maia("exp", "promote", exp_id, cwd=ws)
    assert result.code == 1
    assert "not promoting exp_001" in result.err and "users" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert snapshot(ws) == snap


def test_force_needs_a_reason_and_is_recorded(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    assert maia("exp", "promote", exp_id, "--force", cwd=ws).code == 2
    result = maia("exp", "promote", exp_id, "--force", "--note", "reviewed by hand", cwd=ws)
    assert result.code == 0, result.err
    for rev in ("HEAD", BRANCH):
        body = git(ws, "log", "-1", "--format=%B", rev)
        assert "reviewed by hand" in body and "Maia Test" in body
    assert "Maia-Forced-By: Maia Test <maia-test@example.com>" in git(
        ws, "log", "-1", "--format=%B", "HEAD"
    )


@pytest.mark.parametrize(
    "setup,code,needle",
    [
        ([], 4, "only active or completed"),
        (["start", "cancel"], 4, "it is cancelled"),
    ],
)
def test_refuses_experiments_that_cannot_be_promoted(
    ws: Path, maia, setup: list[str], code: int, needle: str
) -> None:
    exp_id = new_exp(maia, ws)
    for event in setup:
        maia("exp", event, exp_id, cwd=ws)
    snap = snapshot(ws)
    result = maia("exp", "promote", exp_id, "--force", "--note", "x", cwd=ws)
    assert result.code == code and needle in result.err
    assert snapshot(ws) == snap


def test_promotion_writes_the_pinned_treatment_whatever_the_file_holds_now(
    winner: Path, maia
) -> None:
    tested = (winner / "agents/helper_v2.md").read_bytes()
    git(winner, "rm", "-q", "agents/helper_v2.md")
    git(winner, "commit", "-qm", "drop the treatment")
    result = maia("exp", "promote", "exp_001", cwd=winner)
    assert result.code == 0, result.err
    promoted = subprocess.run(
        ["git", "show", f"{BRANCH}:agents/helper.md"], cwd=winner, capture_output=True, check=True
    ).stdout
    assert promoted == tested


def test_existing_branch_with_other_content_is_refused(winner: Path, maia) -> None:
    git(winner, "branch", BRANCH)
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", cwd=winner)
    assert result.code == 1 and "already exists with other content" in result.err
    assert snapshot(winner) == snap


def test_dry_run_changes_nothing(winner: Path, maia) -> None:
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--dry-run", cwd=winner)
    assert result.code == 0, result.err
    assert "Maia-Transition: active->completed" in result.out and BRANCH in result.out
    assert snapshot(winner) == snap


def test_open_pr_pushes_and_sends_the_request_we_expect(
    winner: Path, remote: Path, github, maia
) -> None:
    result = maia("exp", "promote", "exp_001", "--open-pr", "--json", cwd=winner)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["pushed"] and data["pull_request"]["created"]
    assert git(remote, "rev-parse", BRANCH) == git(winner, "rev-parse", BRANCH)
    [post] = github.requests_to("POST")
    assert post.path == "/repos/octo/agents/pulls"
    assert post.headers["authorization"] == "Bearer s3cret"
    assert post.headers["accept"] == "application/vnd.github+json"
    assert post.body["head"] == BRANCH and post.body["base"] == "main"
    assert post.body["title"].startswith("promote exp_001")
    for needle in (
        "| arm |",
        "| control |",
        "| treatment |",
        "Lift",
        "p-value",
        "sequential",
        "```diff",
        "+You are a helpful agent. Think step by step.",
    ):
        assert needle in post.body["body"], needle
    assert "Maia-" not in post.body["body"]


def test_promoting_again_reuses_branch_and_pull_request(winner: Path, github, maia) -> None:
    assert maia("exp", "promote", "exp_001", "--open-pr", cwd=winner).code == 0
    head = git(winner, "rev-parse", "HEAD")
    branch = git(winner, "rev-parse", BRANCH)
    again = maia("exp", "promote", "exp_001", "--open-pr", "--json", cwd=winner)
    assert again.code == 0, again.err
    data = json.loads(again.out)
    assert data["reused"] and not data["pull_request"]["created"]
    assert len(github.requests_to("POST")) == 1
    assert git(winner, "rev-parse", "HEAD") == head
    assert git(winner, "rev-parse", BRANCH) == branch


@pytest.mark.parametrize(
    "status,needle",
    [
        (401, "rejected the token"),
        (403, "lacks permission"),
        (404, "not found"),
        (422, "refused the pull request"),
        (0, "did not answer"),
    ],
)
def test_api_failures_keep_the_branch_and_can_be_retried(
    winner: Path, github, maia, status: int, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if status:
        github.fail_next(status)
    else:  # held far longer than the limit (the fake lets go when it stops)
        github.stall_next(3600)
        monkeypatch.setenv("MAIA_GITHUB_TIMEOUT", "0.5")
    result = maia("exp", "promote", "exp_001", "--open-pr", cwd=winner)
    monkeypatch.setenv("MAIA_GITHUB_TIMEOUT", "120")  # the retry: no hurry
    assert result.code == 1
    first, *rest = result.err.strip().splitlines()
    assert first.startswith("maia: error: ") and needle in first
    sha = git(winner, "rev-parse", "--short=10", BRANCH).strip()
    assert rest == [  # what was done before the failure, and how to finish
        "maia: done before the failure: completed exp_001 on the current branch, "
        "treatment the winner",
        f"maia: done before the failure: built branch {BRANCH} ({sha})",
        f"maia: done before the failure: pushed {BRANCH}",
        "maia: to finish, fix the cause and run again: maia exp promote exp_001 --open-pr",
    ]
    assert (
        json.loads(maia("exp", "show", "exp_001", "--json", cwd=winner).out)["status"]
        == "completed"
    )
    retry = maia("exp", "promote", "exp_001", "--open-pr", "--json", cwd=winner)
    assert retry.code == 0, retry.err
    assert json.loads(retry.out)["pull_request"]["number"] == 1


def test_maia_yaml_cannot_send_the_token_to_another_host(winner: Path, github, maia) -> None:
    # A pull request can change maia.yaml; CI then runs maia with a token that can push.
    with OtherHost() as other:
        settings = winner / "maia.yaml"
        settings.write_text(settings.read_text() + f'github_api_url: "{other.url}"\n')
        git(winner, "commit", "-qam", "point the API elsewhere")
        result = maia("exp", "promote", "exp_001", "--open-pr", "--json", cwd=winner)
        assert result.code == 0, result.err
        assert json.loads(result.out)["pull_request"]["created"]
        assert other.requests == []
    [post] = github.requests_to("POST")
    assert post.headers["authorization"] == "Bearer s3cret"
    doctor = maia("doctor", cwd=winner)
    assert "maia.yaml:" in doctor.out and "github_api_url is ignored" in doctor.out
    assert "delete the github_api_url line" in doctor.out


def test_a_redirect_to_another_host_sends_nothing_there(winner: Path, github, maia) -> None:
    with OtherHost() as other:
        elsewhere = f"{other.url}/repos/octo/agents/pulls"
        github.respond_next(302, {}, {"Location": elsewhere})
        result = maia("exp", "promote", "exp_001", "--open-pr", cwd=winner)
        assert other.requests == []
    first, *rest = result.err.strip().splitlines()  # then what was done, and how to finish
    assert result.code == 1 and rest[-1].startswith("maia: to finish")
    assert f"redirected (302) to another host ({elsewhere})" in first
    assert "s3cret" not in result.err


@pytest.mark.parametrize("raw", ["abc", "-1", "nan", "inf"])
def test_a_bad_github_timeout_is_refused_before_anything_changes(
    winner: Path, github, maia, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("MAIA_GITHUB_TIMEOUT", raw)
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--open-pr", cwd=winner)
    assert result.code == 2 and result.err.startswith("maia: error: MAIA_GITHUB_TIMEOUT must")
    assert snapshot(winner) == snap and github.requests == []


def test_plain_http_api_url_is_refused_before_anything_changes(
    winner: Path, github, maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", github.url.replace("https://", "http://"))
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--open-pr", cwd=winner)
    assert result.code == 2 and "never sent over plain http" in result.err
    assert snapshot(winner) == snap and github.requests == []


def test_no_token_is_refused_before_anything_changes(
    winner: Path, remote: Path, maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/agents")
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--open-pr", cwd=winner)
    assert result.code == 1 and "no token" in result.err
    assert snapshot(winner) == snap


def test_no_remote_is_refused_before_anything_changes(winner: Path, maia) -> None:
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--push", cwd=winner)
    assert result.code == 2 and "no remote 'origin'" in result.err
    assert snapshot(winner) == snap


def test_rejected_push_keeps_the_local_branch(
    winner: Path, remote: Path, maia, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    (other / "x.txt").write_text("someone else's branch\n")
    git(other, "add", "x.txt")
    git(other, "commit", "-qm", "other")
    git(other, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    result = maia("exp", "promote", "exp_001", "--push", cwd=winner)
    assert result.code == 1
    assert f"git push origin {BRANCH}" in result.err
    assert git(winner, "rev-parse", "--verify", BRANCH)


def test_python_api_auto_promote_winner(winner: Path, ws: Path, monkeypatch) -> None:
    from maia_git import ABTestingFramework

    monkeypatch.chdir(winner)
    framework = ABTestingFramework()
    result = framework.analyze_experiment("exp_001")
    assert result is not None and result.winner == "treatment" and result.is_significant
    promoted = framework.auto_promote_winner("exp_001")
    assert promoted is not None and promoted.winner == "treatment"
    assert promoted.branch == BRANCH
    again = framework.auto_promote_winner("exp_001")  # idempotent: the same branch, reused
    assert again is not None and again.reused and again.commit == promoted.commit


def test_python_api_returns_none_before_enough_data(ws: Path, maia, monkeypatch) -> None:
    from maia_git import ABTestingFramework

    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    fill(ws, exp_id, 0.5, 0.9, users=30)
    monkeypatch.chdir(ws)
    framework = ABTestingFramework()
    assert framework.analyze_experiment(exp_id) is None
    assert framework.auto_promote_winner(exp_id) is None
    assert git(ws, "branch", "--list", "maia/*") == ""


@pytest.mark.parametrize(
    "setup,needle",
    [
        (lambda top: git(top, "branch", "maia"), "a branch named 'maia' exists"),
        (
            lambda top: (
                git(top, "rm", "-q", "agents/helper.md"),
                (top / "agents/helper.md").mkdir(),
                (top / "agents/helper.md/f").write_text("x"),
                git(top, "add", "-A"),
                git(top, "commit", "-qm", "dir"),
            ),
            "not a committed file",
        ),
    ],
)
def test_promotion_checks_the_branch_can_be_built_before_completing(
    winner: Path, maia, setup, needle: str
) -> None:
    setup(winner)
    snap = snapshot(winner)
    result = maia("exp", "promote", "exp_001", "--force", "--note", "t", cwd=winner)
    assert result.code == 1 and needle in result.err
    assert snapshot(winner) == snap


def test_python_api_reads_the_bayesian_method_by_its_chance(winner: Path, monkeypatch) -> None:
    from maia_git import ABTestingFramework

    monkeypatch.chdir(winner)
    result = ABTestingFramework().analyze_experiment("exp_001", method="bayesian")

    assert result is not None and result.analysis["p_value"] is None
    assert result.analysis["chance_to_win"] > 0.95 and result.is_significant
    assert result.winner == "treatment"
