"""The pre-commit hook the repository ships runs `maia doctor`: a healthy workspace passes, a
broken state file stops the commit."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

HOOKS = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"


def test_the_hook_runs_maia_doctor_and_fails_on_a_broken_workspace(ws: Path) -> None:
    [hook] = YAML(typ="safe").load(HOOKS.read_text(encoding="utf-8"))
    assert hook["id"] == "maia-doctor" and hook["pass_filenames"] is False
    # pre-commit installs this package and runs the entry on the PATH of that environment.
    command = [str(Path(sys.executable).parent / "maia"), *shlex.split(hook["entry"])[1:]]
    healthy = subprocess.run(command, cwd=ws, capture_output=True, text=True)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    (ws / "maia.yaml").write_text("max_concurrent: lots\n", encoding="utf-8")
    broken = subprocess.run(command, cwd=ws, capture_output=True, text=True)
    assert broken.returncode == 1 and "maia.yaml" in broken.stdout
