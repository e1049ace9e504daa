"""`maia ci analyze` on an experiment with three arms, as the workflow runs it: env files, a bare
remote, a fake GitHub. The summary, the outputs and the pull request show every arm; the winner
is promoted, once, and a rerun on the same commit changes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from maia_git.core.assign import arm_among
from maia_git.usecases.recording import Recorder

from conftest import git, run_cli
from fakegithub import FakeGitHub

NAMES = ("control", "short", "formal")
PROMPTS = {"short": "agents/helper_short.md", "formal": "agents/helper_formal.md"}
ARGS = ["ci", "analyze", "--auto-promote", "--open-pr"]


@pytest.fixture
def three(ws: Path, maia, tmp_path: Path) -> tuple[Path, Path, str]:
    """An active three-arm experiment whose logs were pushed: formal completes 90% of tasks,
    short and control 40%. Returns (workspace, bare remote, the commit before the logs)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(ws, "remote", "add", "origin", f"file://{bare}")
    (ws / PROMPTS["short"]).write_text("Be brief.\n", encoding="utf-8")
    (ws / PROMPTS["formal"]).write_text("Be formal and thorough.\n", encoding="utf-8")
    git(ws, "add", "agents")
    git(ws, "commit", "-q", "-m", "two candidate prompts")
    created = maia(
        "exp", "new", "Tone <!-- of voice", "--agent", "helper", "--control", "agents/helper.md",
        "--treatment", PROMPTS["short"], "--arm-name", "short",
        "--treatment", PROMPTS["formal"], "--arm-name", "formal", cwd=ws,
    )  # fmt: skip
    assert created.code == 0, created.err
    assert maia("exp", "start", "exp_001", cwd=ws).code == 0
    git(ws, "push", "-q", "origin", "main")
    base = git(ws, "rev-parse", "HEAD").strip()
    recorder = Recorder(ws, writer="runtime")
    for i in range(600):
        user = f"user-{i}"
        arm = arm_among("exp_001", user, NAMES, [1 / 3] * 3)
        success = i % 10 < (9 if arm == "formal" else 4)
        recorder.record("exp_001", user, success, quality_score=80.0 + i % 7)
    recorder.close()
    assert maia("sync", "--push", cwd=ws).code == 0
    return ws, bare, base


def actions_env(tmp_path: Path, api: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "GITHUB_REPOSITORY": "octo/agents",
        "GITHUB_TOKEN": "s3cret",
        "GITHUB_API_URL": api,
    }


def outputs(path: Path) -> dict[str, str]:
    found = {}
    for match in re.finditer(
        r"^([A-Za-z_][\w-]*)<<(\S+)\n(.*?)\n\2$", path.read_text(), re.M | re.S
    ):
        found[match.group(1)] = match.group(3)
    return found


def tables(markdown: str) -> list[list[str]]:
    """The first cell of each row of each table, as a renderer sees them."""
    html = MarkdownIt("commonmark").enable(["table"]).render(markdown)
    return [
        [re.sub(r"<.*?>", "", row) for row in re.findall(r"<tr>\s*<t[hd][^>]*>(.*?)</t[hd]>", t)]
        for t in re.findall(r"<table>(.*?)</table>", html, re.S)
    ]


def test_three_arms_summary_outputs_and_the_winners_pull_request(
    three: tuple[Path, Path, str], tmp_path: Path
) -> None:
    ws, bare, base = three
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=bare) as github:
        env = actions_env(tmp_path, github.url)

        proc = run_cli([*ARGS, "--base", base], ws, env)

        assert proc.returncode == 0, proc.stderr
        [post] = github.requests_to("POST")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    arms, comparisons = tables(summary)
    assert arms == ["arm", "control", "short", "formal (winner)"]
    assert comparisons == ["treatment", "short", "formal (winner)"]
    assert "Holm's step-down adjustment for 2 treatments" in summary
    assert "- **Decision**: `promote`, winner `formal`" in summary
    assert (
        "  - short: unmet:" in summary
        and "  - **formal** (winner): meets every condition" in summary
    )
    assert summary.count("  line [") == 3 and "_Lines in order: control, short, formal._" in summary
    assert "Tone \\<!-- of voice" in summary
    found = outputs(Path(env["GITHUB_OUTPUT"]))
    assert json.loads(found["promotable"]) == ["exp_001"]
    assert json.loads(found["decisions"]) == {"exp_001": "promote"}
    assert json.loads(found["winners"]) == {"exp_001": "formal"}
    [result] = json.loads(found["results"])
    assert [a["name"] for a in result["arms"]] == list(NAMES)
    assert sum(a["users"] for a in result["arms"]) == 600
    assert "::notice title=exp_001::decision promote (winner formal)" in proc.stdout
    # The pull request names the winner and shows every arm; the branch holds its prompt.
    body = post.body["body"]
    assert body.startswith("Promotes the `formal` prompt of **exp\\_001**")
    assert "`agents/helper.md` now holds the content of `agents/helper_formal.md`" in body
    arms_in_body, comparisons_in_body = tables(body)
    assert arms_in_body == arms and comparisons_in_body == comparisons
    promoted = git(bare, "show", "maia/promote/exp_001:agents/helper.md")
    assert promoted == "Be formal and thorough.\n"
    assert git(bare, "show", "maia/promote/exp_001:experiments/exp_001/analysis.json")


def test_a_rerun_in_a_fresh_checkout_builds_the_same_commits_and_one_pull_request(
    three: tuple[Path, Path, str], tmp_path: Path
) -> None:
    ws, bare, base = three
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(bare), str(fresh))  # the same commit, before any promotion
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=bare) as github:
        env = actions_env(tmp_path, github.url)
        assert run_cli([*ARGS, "--base", base], ws, env).returncode == 0
        heads = [git(bare, "rev-parse", "main"), git(bare, "rev-parse", "maia/promote/exp_001")]

        again = run_cli([*ARGS, "--base", base], fresh, env)

        assert again.returncode == 0, again.stderr
        assert len(github.requests_to("POST")) == 1  # the open pull request was reused
    # The same completion commit and the same branch commit (body included): nothing new.
    assert [git(bare, "rev-parse", "main"), git(bare, "rev-parse", "maia/promote/exp_001")] == heads
    assert git(fresh, "rev-parse", "HEAD") == heads[0]
    assert git(fresh, "rev-parse", "maia/promote/exp_001") == heads[1]
