"""Every command has help with an example, and the start-up path stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from maia_git.cli.main import cli

from conftest import new_exp


def walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from walk(command, click.Context(command, parent=ctx), (*prefix, name))


COMMANDS = list(walk(cli, click.Context(cli)))


def test_the_command_tree_is_complete() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "init",
        "exp new",
        "exp start",
        "exp pause",
        "exp resume",
        "exp complete",
        "exp cancel",
        "exp show",
        "exp list",
        "exp log",
        "exp assign",
        "exp record",
        "exp analyze",
        "exp plan",
        "exp promote",
        "queue status",
        "queue list",
        "queue history",
        "queue priority",
        "score eval",
        "score avg",
        "score report",
        "sync",
        "ci analyze",
        "doctor",
        "demo",
    ):
        assert expected in names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"maia {' '.join(path)} --help has no example"
    assert len(result.output.splitlines()) >= 4


HOT_PATHS = {
    "help": ["--help"],
    "assign": ["exp", "assign", "exp_001", "alice"],
    "record": ["exp", "record", "exp_001", "alice", "--success", "--quality", "80"],
    "analyze": ["exp", "analyze", "exp_001"],
}


@pytest.mark.parametrize("name", list(HOT_PATHS))
def test_hot_paths_import_neither_scipy_nor_numpy(ws: Path, maia: Any, name: str) -> None:
    """scipy and numpy stay a dependency for the features that simulate, but are imported only
    there: `--help`, assign, record and analyze are on every runtime's and CI's path."""
    new_exp(maia, ws)
    assert maia("exp", "start", "exp_001", cwd=ws).code == 0
    probe = (
        "import sys, runpy; sys.argv = ['maia', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('maia_git', run_name='__main__')\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "heavy = sorted(m for m in ('scipy', 'numpy', 'git', 'ruamel.yaml') "
        "if m in sys.modules)\nprint('CODE', code, 'HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *HOT_PATHS[name]], cwd=ws, capture_output=True, text=True
    )
    assert "CODE 0 " in proc.stderr, proc.stderr
    heavy = proc.stderr.split("HEAVY ", 1)[1]
    for module in ("scipy", "numpy", "git"):  # git: GitPython, which is not even installed
        assert f"'{module}'" not in heavy, proc.stderr
    if name == "help":  # --help reads no YAML either
        assert heavy.strip() == "[]", proc.stderr


def test_gitpython_is_not_a_dependency() -> None:
    """maia drives the git binary; GitPython's index lost acknowledged concurrent commits."""
    from importlib.metadata import requires

    names = [
        r.split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for r in requires("maia-git") or []
    ]
    assert "gitpython" not in names
