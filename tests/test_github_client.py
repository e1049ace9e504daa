"""The GitHub client against FakeGitHub: what we send, what we reuse, how each failure reads."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maia_git.errors import MaiaError, UsageError
from maia_git.github import (
    GitHubClient,
    api_url_from,
    parse_repo_slug,
    repo_from,
    timeout_from,
    token_from_env,
)

from fakegithub import FakeGitHub

TOKEN = "ghs_test_0123456789"
HEAD = "maia/promote/exp_001"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Maia Test",
    "GIT_AUTHOR_EMAIL": "maia@example.invalid",
    "GIT_COMMITTER_NAME": "Maia Test",
    "GIT_COMMITTER_EMAIL": "maia@example.invalid",
}


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, repos=["octo/demo"]) as server:
        yield server


# The fake answers in milliseconds; the limit only guards against a hang, and on a loaded
# machine a TLS handshake with an in-process server can take seconds.
TIMEOUT = 120.0


def client(server: FakeGitHub, token: str = TOKEN, repo: str = "octo/demo") -> GitHubClient:
    return GitHubClient(server.url, token, repo, timeout=TIMEOUT)


def failure(call: Any) -> MaiaError:
    with pytest.raises(MaiaError) as caught:
        call()
    err = caught.value
    assert err.exit_code == 1
    assert "\n" not in str(err) and TOKEN not in str(err)
    return err


# -- what we send ---------------------------------------------------------------------------


def test_create_pull_sends_method_path_headers_and_body(gh: FakeGitHub) -> None:
    pull = client(gh).create_pull(HEAD, "main", "Promote exp_001", "| arm | rate |\n| --- | --- |")

    (sent,) = gh.requests
    assert sent.method == "POST"
    assert sent.path == "/repos/octo/demo/pulls"
    assert sent.query == {}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert sent.headers["user-agent"].startswith("maia-git/")
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "head": HEAD,
        "base": "main",
        "title": "Promote exp_001",
        "body": "| arm | rate |\n| --- | --- |",
    }
    assert json.loads(sent.raw_body) == sent.body
    assert (pull["number"], pull["state"]) == (1, "open")
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (HEAD, "main")
    assert pull["html_url"].endswith("/octo/demo/pull/1")


def test_find_open_pull_lists_by_owner_qualified_head_base_and_state(gh: FakeGitHub) -> None:
    assert client(gh).find_open_pull(HEAD, "main") is None

    (sent,) = gh.requests
    assert (sent.method, sent.path) == ("GET", "/repos/octo/demo/pulls")
    assert sent.query == {"head": f"octo:{HEAD}", "base": "main", "state": "open"}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.body is None


def test_open_or_reuse_is_idempotent(gh: FakeGitHub) -> None:
    github = client(gh)

    first, created_first = github.open_or_reuse_pull(HEAD, "main", "Promote", "body")
    again, created_again = github.open_or_reuse_pull(HEAD, "main", "Promote", "body")

    assert (created_first, created_again) == (True, False)
    assert again["number"] == first["number"]
    assert len(gh.requests_to("POST")) == 1
    assert len(gh.pulls["octo/demo"]) == 1


def test_a_closed_pull_or_another_base_is_not_reused(gh: FakeGitHub) -> None:
    github = client(gh)
    first, _ = github.open_or_reuse_pull(HEAD, "main", "Promote", "body")
    gh.close_pull("octo/demo", first["number"])

    reopened, created = github.open_or_reuse_pull(HEAD, "main", "Promote", "body")
    other_base, created_other = github.open_or_reuse_pull(HEAD, "release", "Promote", "body")

    assert created and created_other
    assert len({first["number"], reopened["number"], other_base["number"]}) == 3


def test_reuse_survives_a_pull_opened_between_our_look_and_our_post(gh: FakeGitHub) -> None:
    github = client(gh)
    theirs = github.create_pull(HEAD, "main", "Opened by a racing run", "")
    gh.respond_next(200, [])  # our look happened before theirs landed

    pull, created = github.open_or_reuse_pull(HEAD, "main", "Promote", "body")

    assert not created and pull["number"] == theirs["number"]
    assert [r.method for r in gh.requests] == ["POST", "GET", "POST", "GET"]


# -- how each failure reads -----------------------------------------------------------------


def test_wrong_token_is_401(gh: FakeGitHub) -> None:
    err = failure(lambda: client(gh, token="wrong").find_open_pull(HEAD, "main"))
    assert str(err) == (
        "GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN or GH_TOKEN"
    )


def test_unknown_repository_is_404(gh: FakeGitHub) -> None:
    err = failure(lambda: client(gh, repo="octo/missing").create_pull(HEAD, "main", "t", "b"))
    assert str(err) == (
        f"repository octo/missing not found at {gh.url}, or the token cannot see it (404)"
    )


def test_duplicate_pull_is_422_with_githubs_message(gh: FakeGitHub) -> None:
    client(gh).create_pull(HEAD, "main", "t", "b")
    err = failure(lambda: client(gh).create_pull(HEAD, "main", "t", "b"))
    assert str(err) == (
        f"GitHub refused the pull request (422): A pull request already exists for octo:{HEAD}."
    )


@pytest.mark.parametrize(
    ("status", "message", "headers", "expected"),
    [
        (403, None, {}, "the token lacks permission on octo/demo (403 Resource not accessible"),
        (
            403,
            "API rate limit exceeded for installation ID 1.",
            {"x-ratelimit-remaining": "0"},
            "GitHub rate limit reached (403 API rate limit exceeded",
        ),
        (429, "You have exceeded a secondary rate limit.", {}, "GitHub rate limit reached (429"),
        (
            403,
            "GitHub Actions is not permitted to create or approve pull requests.",
            {},
            "enable 'Allow GitHub Actions to create and approve pull requests'",
        ),
        (502, None, {}, "GitHub answered 502 Server Error for https://127.0.0.1:"),
    ],
)
def test_injected_statuses_give_one_clear_line(
    gh: FakeGitHub, status: int, message: str | None, headers: dict[str, str], expected: str
) -> None:
    gh.fail_next(status, message=message, headers=headers)
    err = failure(lambda: client(gh).create_pull(HEAD, "main", "t", "b"))
    assert expected in str(err)


def test_422_field_errors_name_field_and_code(gh: FakeGitHub) -> None:
    gh.fail_next(422, errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}])
    err = failure(lambda: client(gh).create_pull(HEAD, "nope", "t", "b"))
    assert str(err) == "GitHub refused the pull request (422): base invalid"


def test_timeout_names_the_url_and_the_limit(gh: FakeGitHub) -> None:
    # The fake holds the answer far longer than any load could delay it (it lets go when it
    # stops): a client that did not give up after 0.5 s would get an answer, not this error.
    gh.stall_next(3600)
    github = GitHubClient(gh.url, TOKEN, "octo/demo", timeout=0.5)

    err = failure(lambda: github.find_open_pull(HEAD, "main"))

    assert str(err).startswith(f"GitHub at {gh.url}/repos/octo/demo/pulls?")
    assert str(err).endswith("did not answer within 0.5 s (GET)")


def test_connection_refused_names_the_url() -> None:
    server = FakeGitHub(token=TOKEN).start()
    url = server.url
    server.stop()  # nothing listens on that port any more

    err = failure(lambda: GitHubClient(url, TOKEN, "octo/demo").create_pull(HEAD, "main", "t", ""))

    assert str(err).startswith(f"could not reach GitHub at {url}/repos/octo/demo/pulls: ")


def test_an_answer_that_is_not_json_is_a_clear_error(gh: FakeGitHub) -> None:
    gh.respond_next(200, "not a list")
    err = failure(lambda: client(gh).find_open_pull(HEAD, "main"))
    assert str(err) == "GitHub sent an unexpected answer listing pull requests of octo/demo"


# -- the fake checks branches like GitHub when it has the remote ----------------------------


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **IDENTITY}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare, work = tmp_path / "remote.git", tmp_path / "work"
    git("init", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    git("clone", "--quiet", str(bare), str(work), cwd=tmp_path)
    (work / "agent.md").write_text("v1\n")
    git("add", "agent.md", cwd=work)
    git("commit", "--quiet", "-m", "v1", cwd=work)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", f"HEAD:refs/heads/{HEAD}", cwd=work)
    return bare


def test_422_when_the_head_branch_was_not_pushed(remote: Path) -> None:
    with FakeGitHub(token=TOKEN, git_dir=remote) as server:
        err = failure(lambda: client(server).create_pull("maia/promote/exp_404", "main", "t", ""))
    assert str(err) == "GitHub refused the pull request (422): head invalid"


def test_422_when_head_has_no_commits_beyond_base(remote: Path) -> None:
    with FakeGitHub(token=TOKEN, git_dir=remote) as server:
        err = failure(lambda: client(server).create_pull(HEAD, "main", "t", ""))
    assert str(err) == f"GitHub refused the pull request (422): No commits between main and {HEAD}"


def test_a_pushed_branch_with_new_commits_opens_with_its_sha(remote: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "agent.md").write_text("v2\n")
    git("commit", "--quiet", "-am", "v2", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{HEAD}", cwd=work)

    with FakeGitHub(token=TOKEN, git_dir=remote) as server:
        pull = client(server).create_pull(HEAD, "main", "t", "")

    assert pull["head"]["sha"] == git("rev-parse", "HEAD", cwd=work)


# -- the fake itself answers as GitHub does -------------------------------------------------


def raw_request(url: str, headers: dict[str, str], data: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_fake_requires_a_token_and_rejects_bad_json(gh: FakeGitHub) -> None:
    url = f"{gh.url}/repos/octo/demo/pulls"
    auth = {"Authorization": f"token {TOKEN}"}

    assert raw_request(url, {})[1]["message"] == "Requires authentication"
    assert raw_request(url, auth, b"{not json")[0] == 400
    status, body = raw_request(url, auth, b'{"head": "x"}')
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"title", "base"}


def test_fake_ignores_a_head_filter_without_owner(gh: FakeGitHub) -> None:
    client(gh).create_pull(HEAD, "main", "t", "")
    client(gh).create_pull("other", "main", "t", "")
    auth = {"Authorization": f"Bearer {TOKEN}"}

    _, unqualified = raw_request(f"{gh.url}/repos/octo/demo/pulls?head={HEAD}", auth)
    _, qualified = raw_request(f"{gh.url}/repos/octo/demo/pulls?head=octo:{HEAD}", auth)

    assert len(unqualified) == 2 and [p["head"]["ref"] for p in qualified] == [HEAD]


# -- where the token, the API and the repository come from ----------------------------------


def test_token_prefers_github_token_then_gh_token() -> None:
    assert token_from_env({"GITHUB_TOKEN": "a", "GH_TOKEN": "b"}) == "a"
    assert token_from_env({"GITHUB_TOKEN": " ", "GH_TOKEN": "b"}) == "b"
    with pytest.raises(MaiaError, match=r"^no token: set GITHUB_TOKEN or GH_TOKEN$"):
        token_from_env({"GITHUB_TOKEN": ""})


def test_api_url_comes_from_the_environment_else_github_com() -> None:
    env = {"GITHUB_API_URL": "https://ghe.example.com/api/v3/"}
    assert api_url_from(env) == "https://ghe.example.com/api/v3"
    assert api_url_from({"GITHUB_API_URL": " "}) == "https://api.github.com"
    assert api_url_from({}) == "https://api.github.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://ghe.example.com/api/v3",
        "HTTP://api.github.com",
        "ghe.example.com",
        "https://",
        "https://user:pass@ghe.example.com/api",
        "https://ghe.example.com/api?x=1",
        "ftp://ghe.example.com",
        "http://ghe.example.com/" + "a" * 5000,
    ],
)
def test_api_url_must_be_https_with_a_host(url: str) -> None:
    with pytest.raises(UsageError, match="GitHub API URL") as caught:
        api_url_from({"GITHUB_API_URL": url})
    assert caught.value.exit_code == 2 and len(str(caught.value)) <= 300
    with pytest.raises(UsageError):
        GitHubClient(url, TOKEN, "octo/demo")  # the client refuses it too, before any request


@pytest.mark.parametrize(
    "raw", ["abc", "-1", "0", "nan", "inf", "-inf", "601", "1e999", "9" * 5000]
)
def test_github_timeout_must_be_a_sensible_number_of_seconds(raw: str) -> None:
    with pytest.raises(UsageError, match=r"^MAIA_GITHUB_TIMEOUT must be a number") as caught:
        timeout_from({"MAIA_GITHUB_TIMEOUT": raw})
    assert len(str(caught.value)) <= 300


def test_github_timeout_default_and_value() -> None:
    assert timeout_from({}) == 10.0
    assert timeout_from({"MAIA_GITHUB_TIMEOUT": " 2.5 "}) == 2.5


def test_repository_from_environment_then_remote() -> None:
    assert repo_from({"GITHUB_REPOSITORY": "octo/demo"}, "git@github.com:x/y.git") == "octo/demo"
    assert repo_from({}, "git@github.com:x/y.git") == "x/y"
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY"):
        repo_from({}, None)
    with pytest.raises(UsageError, match="not of the form owner/name"):
        repo_from({"GITHUB_REPOSITORY": "octo"}, None)


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://github.com/octo/demo.git", "octo/demo"),
        ("https://github.com/octo/demo", "octo/demo"),
        ("https://github.com/octo/demo/", "octo/demo"),
        ("http://ghe.example.com/team-a/prompts.git", "team-a/prompts"),
        ("https://x-access-token:abc@github.com/octo/demo.git", "octo/demo"),
        ("git@github.com:octo/demo.git", "octo/demo"),
        ("git@github.com:octo/demo", "octo/demo"),
        ("github.com:octo/my.repo.git", "octo/my.repo"),
        ("ssh://git@github.com/octo/demo.git", "octo/demo"),
        ("ssh://git@ghe.example.com:2222/octo/demo", "octo/demo"),
        ("git://github.com/octo/demo_2.git", "octo/demo_2"),
        ("  https://github.com/Octo-Org/Demo.js  ", "Octo-Org/Demo.js"),
    ],
)
def test_slug_from_remote_url(url: str, slug: str) -> None:
    assert parse_repo_slug(url) == slug


def test_slug_error_hides_credentials_in_the_url() -> None:
    with pytest.raises(UsageError) as caught:
        parse_repo_slug(f"https://x-access-token:{TOKEN}@github.com/octo")
    assert TOKEN not in str(caught.value) and "https://***@github.com/octo" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "/srv/git/remote.git",
        "file:///srv/git/octo/demo.git",
        "../remote.git",
        "https://github.com/octo",
        "https://github.com/octo/demo/tree/main",
        "git@github.com:octo",
        "https://github.com/octo/..",
        "",
    ],
)
def test_slug_refuses_urls_without_owner_and_name(url: str) -> None:
    with pytest.raises(UsageError, match="set GITHUB_REPOSITORY=owner/name") as caught:
        parse_repo_slug(url)
    assert caught.value.exit_code == 2
