"""Start-up cost: ``maia --help`` and ``maia exp assign ID U`` against importing click alone.

    python bench/bench_cli.py [--quick] [--out FILE]

Target: each at most 2x ``python -c "import click"``, and neither imports scipy or
GitPython (checked with ``python -X importtime``, which lists every module a process imports).
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

from _common import (
    PY,
    Cmd,
    CommandFailed,
    Row,
    cli_main,
    cpu_note,
    error_row,
    imported_modules,
    interleaved,
    maia_argv,
    ms,
    python_argv_for_maia,
    ratio_row,
    run_ok,
    run_parts,
    spread,
    wall,
)
from bench_transition import Workspace, build_workspace

TARGET = 2.0
# Top-level module names that must never be imported by these commands.
FORBIDDEN = {"scipy": "scipy", "git": "GitPython"}
# Imported only when used: reported, not a failure.
LAZY = ("ruamel", "filelock", "numpy")
USER = "alice@example.com"


def _commands(ws: Workspace) -> dict[str, list[str]]:
    return {"help": ["--help"], "assign": ["exp", "assign", ws.active, USER]}


def bench_times(ws: Workspace, repeat: int, warmup: int) -> list[Row]:
    maia = maia_argv()
    cmds = {"baseline": Cmd([PY, "-c", "import click"], ws.top, ws.env)}
    rows = []
    for name, args in _commands(ws).items():
        cmd = Cmd([*maia, *args], ws.top, ws.env)
        try:
            run_ok(cmd)  # a command that fails would time its error path: report it instead
            cmds[name] = cmd
        except CommandFailed as err:
            rows.append(error_row(f"cli.{name}", f"maia {' '.join(args)}", err))
    times = interleaved(cmds, repeat, warmup)
    base = wall(times["baseline"])
    for name, args in _commands(ws).items():
        if name in times:
            rows.append(
                ratio_row(
                    f"cli.{name}",
                    f"maia {' '.join(args)}",
                    ms(wall(times[name])),
                    "ms",
                    ms(base),
                    '`python -c "import click"`',
                    at_most=TARGET,
                    note=f"maia {spread(times[name])}; baseline {spread(times['baseline'])}; "
                    + cpu_note(times[name], times["baseline"]),
                )
            )
    return sorted(rows, key=lambda r: list(_commands(ws)).index(r.key.split(".")[1]))


def bench_imports(ws: Workspace) -> list[Row]:
    """One row per command: how many forbidden packages it imported (must be 0)."""
    return run_parts(
        [
            (f"cli.{name}.imports", partial(_imports, ws, name, args))
            for name, args in _commands(ws).items()
        ]
    )


def _imports(ws: Workspace, name: str, args: list[str]) -> list[Row]:
    found = imported_modules([*python_argv_for_maia()[1:], *args], ws.top, ws.env)
    heavy = sorted(label for mod, label in FORBIDDEN.items() if mod in found)
    lazy = [mod for mod in LAZY if mod in found]
    note = f"imported: {', '.join(heavy)}" if heavy else "neither scipy nor git imported"
    note += f"; also imports {', '.join(lazy)}" if lazy else "; no ruamel/filelock either"
    return [
        Row(
            f"cli.{name}.imports",
            f"maia {' '.join(args)}: heavy imports",
            len(heavy),
            "modules",
            0,
            "none of scipy, git (GitPython)",
            None,
            "0 imported",
            "MISS" if heavy else "PASS",
            note,
            {"modules": sorted(found)},
        )
    ]


def run(quick: bool) -> list[Row]:
    repeat, warmup = (2, 0) if quick else (21, 1)
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        try:
            ws = build_workspace(Path(tmp) / "cli", experiments=10, files=0)
        except Exception as err:
            return [error_row("cli", "maia start-up", err)]
        return run_parts(
            [
                ("cli.times", lambda: bench_times(ws, repeat, warmup)),
                ("cli.imports", lambda: bench_imports(ws)),
            ]
        )


if __name__ == "__main__":
    cli_main(run, __doc__)
