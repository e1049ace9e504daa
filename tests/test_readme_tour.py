"""The README's tour, run exactly as written: every code block of the section, in order, in one
shell, in a fresh folder. The tour makes its own local bare remote; GitHub, which the text says
`--open-pr` needs, is the fake one from fakegithub.py, reached through the variables a user on
GitHub would have set. When maia's behaviour changes, this test fails until the README does too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git
from fakegithub import FakeGitHub

README = Path(__file__).parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
PY_END = "MAIA_TOUR_PY"


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def tour_blocks() -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in FENCE.finditer(section(README.read_text("utf-8"), "A tour"))]


def tour_script() -> str:
    """One bash script: shell blocks as they are, Python blocks fed to `python3` on stdin."""
    parts = ["set -eo pipefail", "trap 'echo \"TOUR STEP FAILED: $BASH_COMMAND\" >&2' ERR"]
    for lang, body in tour_blocks():
        if lang == "sh":
            parts.append(body)
        elif lang == "python":
            assert PY_END not in body
            parts.append(f"python3 - <<'{PY_END}'\n{body}{PY_END}")
        else:
            pytest.fail(f"a tour block of an unknown kind: ```{lang}")
    return "\n".join(parts) + "\n"


def test_the_tour_has_the_steps_this_test_relies_on() -> None:
    kinds = [lang for lang, _ in tour_blocks()]
    assert kinds.count("python") >= 1 and kinds.count("sh") >= 4
    text = "".join(body for _, body in tour_blocks())
    for step in ("maia init", "maia exp promote exp_001 --push", "--open-pr", "maia sync --push"):
        assert step in text


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    remote = tmp_path / "myagents-remote.git"  # made by the tour itself
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    with FakeGitHub(token="tour-t0ken", repos=["you/myagents"], git_dir=remote) as github:
        env.update(
            GITHUB_TOKEN="tour-t0ken",
            GITHUB_REPOSITORY="you/myagents",
            GITHUB_API_URL=github.url,
        )
        proc = subprocess.run(
            ["bash", "-c", tour_script()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,  # only against a hang: the tour runs a few dozen commands
        )
        pulls = github.pulls["you/myagents"]
    assert proc.returncode == 0, f"{proc.stderr[-3000:]}\n--- stdout ---\n{proc.stdout[-3000:]}"
    top = tmp_path / "myagents"
    # What the tour says happened did happen.
    assert "decision: promote" in proc.stdout
    assert [p["head"]["ref"] for p in pulls] == ["maia/promote/exp_001"]
    assert git(remote, "rev-parse", "--verify", "refs/heads/maia/promote/exp_001")
    statuses = {
        e["id"]: e["status"]
        for e in json.loads(
            subprocess.run(
                ["maia", "exp", "list", "--json"], cwd=top, env=env, capture_output=True, text=True
            ).stdout
        )
    }
    assert statuses == {
        "exp_001": "completed", "exp_002": "cancelled", "exp_003": "completed", "exp_004": "active"
    }  # fmt: skip
    several = (top / "experiments/exp_004/experiment.yaml").read_text(encoding="utf-8")
    assert "pins:\n  control:" in several and "\n  plan:\n" in several and "\n  short:\n" in several
    assert (top / ".github/workflows/maia-analyze.yml").is_file()
    assert git(top, "status", "--porcelain", "--untracked-files=no") == ""
