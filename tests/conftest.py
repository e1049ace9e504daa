"""Shared fixtures: an isolated environment, real temporary git repositories, and ``maia``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

from pgserver import postgres_url  # noqa: F401 - the throwaway PostgreSQL server fixture
from s3server import s3, s3_endpoint  # noqa: F401 - the throwaway S3 server fixtures

from fakegithub import default_certificate

# Property tests check what holds, not how fast: a per-example wall-clock deadline, or the
# health check that fails a test whose examples are slow to generate, is a timed assertion, and
# on a shared machine it fails tests that are right. The examples are derived from each test
# (derandomize), so a run on a clean clone tries the same inputs as the last one. A test that
# sets suppress_health_check replaces this list: it must name too_slow again.
settings.register_profile(
    "maia", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("maia")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Maia Test",
    "GIT_AUTHOR_EMAIL": "maia-test@example.com",
    "GIT_COMMITTER_NAME": "Maia Test",
    "GIT_COMMITTER_EMAIL": "maia-test@example.com",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long reliability soak tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real home, git config or GitHub settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    # Whatever the machine running the tests sets for git, GitHub Actions or maia (a CI runner
    # sets many GITHUB_* and may set GIT_* variables) stays out; then what the tests need.
    for key in list(os.environ):
        if key.startswith(("GIT_", "GITHUB_", "GH_", "MAIA_", "RUNNER_")) or key == "NO_COLOR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    # Help text wraps to the terminal: the same width whether the tests run in a terminal of
    # any size or into a CI log.
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("LINES", raising=False)
    monkeypatch.setenv("MAIA_WRITER", "test-writer")
    # The fake GitHub answers in milliseconds, but a TLS handshake with a server in the test's
    # own process can take seconds on a loaded machine: the limit only guards against a hang.
    # Tests of the timeout itself set their own.
    monkeypatch.setenv("MAIA_GITHUB_TIMEOUT", "120")
    # The fake GitHub serves https with a self-signed certificate: trust it, as a client would.
    monkeypatch.setenv("SSL_CERT_FILE", str(default_certificate().cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def maia(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run the maia CLI in-process in a directory; returns exit code, stdout and stderr."""
    from maia_git.cli.main import main

    def run(*args: str, cwd: Path) -> Result:
        capsys.readouterr()
        monkeypatch.chdir(cwd)
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit and two prompt files, not yet a workspace."""
    top = tmp_path / "repo"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    (top / "agents").mkdir()
    (top / "agents" / "helper.md").write_text("You are a helpful agent.\n", encoding="utf-8")
    (top / "agents" / "helper_v2.md").write_text(
        "You are a helpful agent. Think step by step.\n", encoding="utf-8"
    )
    (top / "README.md").write_text("project\n", encoding="utf-8")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "initial")
    return top


@pytest.fixture
def ws(repo: Path, maia: Callable[..., Result]) -> Iterator[Path]:
    """A maia workspace (``maia init`` done) in a real git repository."""
    result = maia("init", cwd=repo)
    assert result.code == 0, result.err
    yield repo


def new_exp(maia: Callable[..., Result], top: Path, *extra: str, agent: str = "helper") -> str:
    result = maia(
        "exp",
        "new",
        "An experiment",
        "--agent",
        agent,
        "--control",
        "agents/helper.md",
        "--treatment",
        "agents/helper_v2.md",
        *extra,
        cwd=top,
    )
    assert result.code == 0, result.err
    return result.out.split()[1]


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run maia as a real process (``python -m maia_git``)."""
    full = {**os.environ, **(env or {})}
    # A test that sets a crash point goes through the launcher that installs the seams.
    seams = any(key.startswith(("MAIA_CRASH", "MAIA_UNSAFE")) for key in env or {})
    start = [str(Path(__file__).parent / "maia_seams.py")] if seams else ["-m", "maia_git"]
    return subprocess.run(
        [sys.executable, *start, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
