"""The token goes only to the API host the environment names, over https; never elsewhere.

``OtherHost`` stands for a server an attacker controls. Each test first shows that it is up and
would record a request, then that maia sent it nothing.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from maia_git.errors import MaiaError
from maia_git.github import GitHubClient, GitHubError

from fakegithub import FakeGitHub, OtherHost

TOKEN = "ghs_secret_0123456789"
HEAD = "maia/promote/exp_001"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, repos=["octo/demo"]) as server:
        yield server


@pytest.fixture
def other() -> Iterator[OtherHost]:
    with OtherHost() as server:
        # The control: it is reachable over https and records what reaches it.
        with urllib.request.urlopen(f"{server.url}/probe", timeout=120) as answer:
            assert json.loads(answer.read()) == {}
        assert [r.path for r in server.requests] == ["/probe"]
        server.requests.clear()
        yield server


def client(gh: FakeGitHub) -> GitHubClient:
    return GitHubClient(gh.url, TOKEN, "octo/demo", timeout=120.0)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_to_another_host_is_refused(
    gh: FakeGitHub, other: OtherHost, status: int, method: str
) -> None:
    gh.respond_next(status, {}, {"Location": f"{other.url}/repos/octo/demo/pulls"})
    github = client(gh)

    with pytest.raises(GitHubError) as caught:
        if method == "GET":
            github.find_open_pull(HEAD, "main")
        else:
            github.create_pull(HEAD, "main", "t", "b")

    assert other.requests == []
    message = str(caught.value)
    assert f"redirected ({status}) to another host ({other.url}/repos/octo/demo/pulls)" in message
    assert TOKEN not in message and "\n" not in message


def test_a_redirect_from_https_to_http_on_the_same_host_is_refused(gh: FakeGitHub) -> None:
    plain = gh.url.replace("https://", "http://")
    gh.respond_next(302, {}, {"Location": f"{plain}/repos/octo/demo/pulls"})

    with pytest.raises(GitHubError, match="to another host"):
        client(gh).find_open_pull(HEAD, "main")

    assert len(gh.requests) == 1  # nothing reached the plain-http port either


def test_a_relative_or_same_origin_redirect_is_followed_with_the_token(gh: FakeGitHub) -> None:
    # GitHub answers 301 with the new location when a repository was renamed.
    gh.respond_next(301, {}, {"Location": "/repos/octo/demo/pulls?state=open"})

    assert client(gh).find_open_pull(HEAD, "main") is None

    _, second = gh.requests
    assert second.path == "/repos/octo/demo/pulls"
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_other_host_proves_it_can_be_reached_with_a_token(other: OtherHost) -> None:
    # If maia did send the token there, these tests would see it: the recorder works.
    request = urllib.request.Request(
        f"{other.url}/repos/octo/demo/pulls", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    urllib.request.urlopen(request, timeout=120).close()
    assert other.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_plain_http_is_refused_before_a_connection() -> None:
    with pytest.raises(MaiaError, match="never sent over plain http"):
        GitHubClient("http://127.0.0.1:9", TOKEN, "octo/demo")
