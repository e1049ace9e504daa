"""The layering contract in pyproject.toml (cli/api -> usecases -> storage -> core/stats), checked
by import-linter on the installed package's source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).parent.parent


def test_the_layers_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=TOP, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_a_broken_layer_is_caught(tmp_path: Path) -> None:
    """The control: the same contract on a copy whose storage imports a use case fails."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(TOP / "maia_git", copy / "maia_git")
    shutil.copy(TOP / "pyproject.toml", copy / "pyproject.toml")
    bad = copy / "maia_git" / "storage" / "git.py"
    bad.write_text(bad.read_text() + "\nfrom maia_git.usecases import views  # noqa\n")
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode != 0
    assert "maia_git.storage.git -> maia_git.usecases.views" in proc.stdout
