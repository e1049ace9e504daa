"""A commit hook that adds trailers cannot hide transitions from ``maia exp log``.

``--no-verify`` skips the pre-commit and commit-msg hooks but not ``prepare-commit-msg``, which
teams use to add ``Signed-off-by:`` or ``Change-Id:`` lines, as a paragraph of their own or in
maia's trailer block.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from conftest import git, new_exp

HOOKS = {
    "own-paragraph": 'printf "\\nSigned-off-by: Hook <hook@example.com>\\n" >> "$1"\n',
    "in-maia-block": 'git interpret-trailers --in-place --trailer "Change-Id: I0123" "$1"\n',
}


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_exp_log_reads_transitions_whatever_the_hook_adds(ws: Path, maia, hook: str) -> None:
    path = ws / ".git" / "hooks" / "prepare-commit-msg"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + HOOKS[hook], encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    exp_id = new_exp(maia, ws)
    for event in ("start", "pause", "resume"):
        assert maia("exp", event, exp_id, cwd=ws).code == 0
    last = git(ws, "log", "-1", "--format=%B")
    assert ("Signed-off-by" in last) or ("Change-Id" in last)  # the hook ran

    result = maia("exp", "log", exp_id, "--json", cwd=ws)

    assert result.code == 0, result.err
    transitions = [e["transition"] for e in json.loads(result.out)]
    assert transitions == [
        "none->draft",
        "draft->queued->active",
        "active->paused",
        "paused->queued->active",
    ]
