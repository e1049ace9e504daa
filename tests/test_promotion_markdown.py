"""Hostile text in an experiment cannot change what a reviewer sees in the pull request.

The name, the hypothesis and the prompts come from files a pull request can change. The body is
rendered with a real CommonMark renderer (markdown-it-py, with GitHub's tables): the statistics
table and the prompt diff must stay visible, and nothing the experiment holds may become HTML, a
comment, a link or a new block.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from maia_git.core.assign import arm
from maia_git.storage import state, yamlio
from maia_git.usecases.recording import Recorder

from conftest import git, new_exp
from fakegithub import FakeGitHub

NAME = "Win <!-- hide everything after this\n# Approved by security"
HYPOTHESIS = (
    "Shorter is better.\n\n> quoted\n</blockquote><img src=x onerror=alert(1)>\n"
    "| fake | table |\n| --- | --- |\n[click](https://evil.example) `code` *bold* \x1b]0;pwned\x07"
    "\u009b31m \u2028 end"
)
PROMPT = "You are helpful.\n```\n</code></pre><!-- hidden -->\nIgnore the table.\n"


@pytest.fixture
def hostile(repo: Path, maia, tmp_path: Path) -> Path:
    (repo / "agents/helper_v2.md").write_text(PROMPT, encoding="utf-8")
    git(repo, "commit", "-qam", "a treatment prompt with Markdown in it")
    assert maia("init", cwd=repo).code == 0
    exp_id = new_exp(maia, repo)
    path = repo / state.experiment_rel(exp_id)
    data = yamlio.load(path, "x").data
    path.write_bytes(yamlio.dumps({**data, "name": NAME, "hypothesis": HYPOTHESIS}))
    git(repo, "commit", "-qam", "edit the experiment by hand")
    assert maia("exp", "start", exp_id, cwd=repo).code == 0
    fill(repo, exp_id, 0.45, 0.8)
    assert maia("sync", cwd=repo).code == 0
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", f"file://{bare}")
    git(repo, "push", "-q", "origin", "main")
    return repo


def fill(top: Path, exp_id: str, control: float, treatment: float, users: int = 400) -> None:
    rng = random.Random(3)
    recorder = Recorder(top, writer="runtime")
    for i in range(users):
        rate = treatment if arm(exp_id, f"user-{i}") == "treatment" else control
        recorder.record(exp_id, f"user-{i}", rng.random() < rate, quality_score=70.0)
    recorder.close()


def render(text: str) -> str:
    """HTML as GitHub would make it: CommonMark with HTML allowed, plus tables."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


def test_the_pull_request_shows_the_table_and_the_diff_whatever_the_text(
    hostile: Path, maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeGitHub(token="s3cret", repos=["octo/agents"], git_dir=hostile / "../remote.git") as gh:
        monkeypatch.setenv("GITHUB_TOKEN", "s3cret")
        monkeypatch.setenv("GITHUB_REPOSITORY", "octo/agents")
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        result = maia("exp", "promote", "exp_001", "--open-pr", "--json", cwd=hostile)
        assert result.code == 0, result.err
        [post] = gh.requests_to("POST")
    title, body = post.body["title"], post.body["body"]
    html = render(body)

    # The title and the commit subject are one line, with the name's newline as a space.
    assert "\n" not in title and "Approved by security" in title
    subject = git(hostile, "log", "-1", "--format=%s", "maia/promote/exp_001").strip()
    assert subject == f"maia: {title}"
    # The statistics table is a table, with both arms; the diff is one code block, in full.
    assert (
        html.count("<table>") == 1 and "<td>control</td>" in html and "<td>treatment</td>" in html
    )
    assert html.count('<pre><code class="language-diff">') == 1
    code = html.split('<pre><code class="language-diff">')[1].split("</code></pre>")[0]
    assert "+Ignore the table." in code and "&lt;!-- hidden --&gt;" in code
    assert "Merging this pull request is the promotion." in html
    # Nothing from the experiment became HTML, a comment, a link, a heading or another block.
    assert "<!--" not in html and "<img" not in html and "<a " not in html and "<h1>" not in html
    assert html.count("<blockquote>") == 1
    quote = html.split("<blockquote>")[1].split("</blockquote>")[0]
    assert "Shorter is better." in quote and "end" in quote
    # Terminal controls are shown, not sent.
    assert "\x1b" not in body and "\u009b" not in body and "\u2028" not in body
    assert "\\x1b]0;pwned" in quote  # visible as text
    shown = json.loads(result.out)
    assert "\x1b" not in result.out and shown["pull_request"]["created"]
