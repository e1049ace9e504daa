"""Every command has help with an example, and the start-up path stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from maia_git.cli.main import cli


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


@pytest.mark.parametrize("args", [["--help"], ["exp", "assign", "exp_001", "alice"]])
def test_start_up_imports_neither_scipy_nor_gitpython(ws: Path, args: list[str]) -> None:
    if args[0] == "exp":
        subprocess.run(
            [
                sys.executable,
                "-m",
                "maia_git",
                "exp",
                "new",
                "x",
                "--agent",
                "a",
                "--control",
                "agents/helper.md",
                "--treatment",
                "agents/helper_v2.md",
            ],
            cwd=ws,
            check=True,
            capture_output=True,
        )
    probe = (
        "import sys, runpy; sys.argv = ['maia', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('maia_git', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('scipy', 'git', 'numpy', 'ruamel.yaml') "
        "if m in sys.modules)\nprint('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=ws, capture_output=True, text=True
    )
    assert "HEAVY []" in proc.stderr, proc.stderr
