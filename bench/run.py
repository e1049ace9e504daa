"""The benchmark suite: every measurement against a baseline taken in the same run, one table.

    python bench/run.py [--quick] [--out bench/results/latest.json] [--only cli,sync,...]

Prints the machine, then one row per measurement (value, baseline, ratio, target, PASS/MISS), and
writes the same numbers as JSON. ``bench_analyze.py`` and ``bench_score.py`` run as their own
processes (``--out FILE``) and their rows are merged in; a script that is absent gets a row that
says so. Exit code 1 if a part could not run (an ERROR row), else 0: a missed target is a
finding for the report, not a failure of the suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_cli
import bench_record
import bench_runtime
import bench_sync
import bench_transition
from _common import (
    PY,
    STATUSES,
    Cmd,
    CommandFailed,
    Row,
    bench_env,
    error_row,
    measure,
    write_json,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "latest.json"
OWN: dict[str, Callable[[bool], list[Row]]] = {
    "cli": bench_cli.run,
    "transition": bench_transition.run,
    "record": bench_record.run,
    "runtime": bench_runtime.run,
    "sync": bench_sync.run,
}
EXTERNAL = {"analyze": "bench_analyze.py", "score": "bench_score.py"}
# Smaller still than a script's own --quick (the smoke test runs them all), or small sizes for a
# script that has no --quick; used only if the script accepts every flag.
QUICK_ARGS = {
    "bench_analyze.py": ["--quick", "--lines", "20000"],
    "bench_score.py": ["--number", "100", "--repeat", "2", "--months", "2", "--per-month", "100"],
}
# Only a guard against a hang: the smoke test runs --quick on loaded machines, where
# bench_analyze.py's small mode took over 25 s (load average 12 on 2 cores).
TIMEOUT = {False: 240.0, True: 240.0}


# --- other engineers' scripts -------------------------------------------------------------------


# Modules a script's baseline needs: extras of the benchmark, not dependencies of maia.
REQUIRES = {"bench_analyze.py": "duckdb"}


def run_external(name: str, script: str, quick: bool) -> tuple[list[Row], Any]:
    """Run ``bench/<script> --out FILE`` and turn its JSON into rows (and keep the JSON)."""
    path = HERE / script
    if not path.is_file():
        return [
            Row(
                name,
                f"bench/{script}",
                None,
                "",
                status="N/A",
                note=f"not available: bench/{script} is not in this checkout",
            )
        ], None
    missing = REQUIRES.get(script)
    if missing and importlib.util.find_spec(missing) is None:
        return [
            Row(
                name,
                f"bench/{script}",
                None,
                "",
                status="N/A",
                note=f"not available: {missing} is not installed (pip install -e '.[bench]')",
            )
        ], None
    args = _external_args(path, quick)
    if args is None:
        return [
            Row(
                name,
                f"bench/{script}",
                None,
                "",
                status="N/A",
                note=f"not run with --quick: bench/{script} has no small mode",
            )
        ], None
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        out = Path(tmp) / "out.json"
        env = bench_env(Path(tmp) / "home")
        try:
            done = measure(
                Cmd([PY, str(path), *args, "--out", str(out)], HERE.parent, env), TIMEOUT[quick]
            )
        except CommandFailed as err:
            return [error_row(name, f"bench/{script}", err)], None
        if done.code != 0 or not out.is_file():
            text = (done.stderr or done.stdout).decode("utf-8", "replace")
            return [error_row(name, f"bench/{script}", f"exit {done.code}: {text}")], None
        data = json.loads(out.read_text(encoding="utf-8"))
    rows = external_rows(name, data)
    for row in rows:
        row.extra.setdefault("script_seconds", round(done.seconds, 2))
    return rows, data


def _external_args(path: Path, quick: bool) -> list[str] | None:
    """No arguments for a full run; for --quick, the smallest sizes the script accepts."""
    if not quick:
        return []
    usage = subprocess.run(
        [PY, str(path), "--help"], capture_output=True, text=True, check=False
    ).stdout
    wanted = QUICK_ARGS.get(path.name)
    if wanted and all(flag in usage for flag in wanted if flag.startswith("--")):
        return wanted
    return ["--quick"] if "--quick" in usage else None


def external_rows(name: str, data: Any) -> list[Row]:
    """Rows from another script's JSON: ``{"rows": [...]}`` (this suite's own form, preferred),
    ``{"results": [...]}`` or a bare list; each item a flat object."""
    items = data.get("rows", data.get("results")) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        return [
            Row(
                name,
                name,
                None,
                "",
                status="INFO",
                note="no rows in its JSON (expected a list under 'rows'); kept as-is",
            )
        ]
    return [_external_row(name, n, item) for n, item in enumerate(items) if isinstance(item, dict)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _external_row(name: str, n: int, item: dict[str, Any]) -> Row:
    label = str(item.get("key") or item.get("id") or item.get("name") or item.get("case") or n)
    key = label if label.startswith(f"{name}.") else f"{name}.{_slug(label)}"
    value_field = (
        "value"
        if _number(item.get("value"))
        else next(
            (k for k, v in item.items() if _number(v) and k not in ("baseline", "ratio")), None
        )
    )
    value = item.get(value_field) if value_field else None
    status = str(item.get("status", "")).upper()
    if status not in STATUSES:
        passed = item.get("pass")
        status = "INFO" if not isinstance(passed, bool) else "PASS" if passed else "MISS"
    known = {
        "key",
        "id",
        "name",
        "case",
        "what",
        "unit",
        "baseline",
        "baseline_what",
        "ratio",
        "target",
        "status",
        "note",
        value_field,
    }
    return Row(
        key,
        str(item.get("what") or item.get("case") or item.get("name") or label),
        value,
        str(item.get("unit") or (value_field if value_field != "value" else "") or ""),
        item.get("baseline") if _number(item.get("baseline")) else None,
        str(item.get("baseline_what") or ""),
        item.get("ratio") if _number(item.get("ratio")) else None,
        str(item.get("target") or ""),
        status,
        str(item.get("note") or ""),
        {k: v for k, v in item.items() if k not in known},
    )


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() or c == "." else "_" for c in text)
    return "_".join(filter(None, out.split("_")))[:60]


# --- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers came from; recorded in the JSON and printed above the table."""
    import maia_git

    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "python_executable": PY,
        "git": _version(["git", "--version"]).removeprefix("git version "),
        "os": f"{platform.system()} {platform.release()}",
        "loadavg_start": list(os.getloadavg()),
        "maia_git": getattr(maia_git, "__version__", "?"),
        "maia_git_path": str(Path(maia_git.__file__).parent),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.stdout.strip() or proc.stderr.strip()


# --- the table ----------------------------------------------------------------------------------


def fmt(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if not _number(value):
        return str(value)
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit.endswith("/s") or (abs(value) >= 1000 and float(value).is_integer()):
        return f"{value:,.0f} {unit}".rstrip()
    return f"{value:.4g} {unit}".rstrip()


def header(info: dict[str, Any], quick: bool) -> str:
    load = " ".join(f"{x:.2f}" for x in info["loadavg_start"])
    return (
        f"maia-git {info['maia_git']} benchmarks{' (--quick)' if quick else ''}, "
        f"{info['started']}\n{info['nproc']} CPUs: {info['cpu']}; {info['os']}\n"
        f"Python {info['python']}, git {info['git']}, load average at start {load}"
    )


def table(rows: list[Row]) -> str:
    cells = [["", "what", "value", "baseline (same run)", "ratio", "target"]]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if _number(row.ratio) else "-"
        cells.append(
            [
                row.status,
                row.what,
                fmt(row.value, row.unit),
                fmt(row.baseline, row.unit),
                ratio,
                row.target or "-",
            ]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(
            c.rjust(w) if i in (2, 3, 4) else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    notes = [f"  {row.key}: {row.note}" for row in rows if row.note]
    return "\n".join([*lines, "", "notes:", *notes])


# --- the command --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Small sizes, for a smoke test (seconds, and the numbers mean little).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="Where to write the JSON (default: bench/results/latest.json).",
    )
    parts = [*OWN, *EXTERNAL]
    parser.add_argument(
        "--only",
        default=",".join(parts),
        help=f"Comma-separated parts to run (default: all of {','.join(parts)}).",
    )
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(parts)}")

    info = machine()
    print(header(info, args.quick), file=sys.stderr, flush=True)  # the table repeats it
    started = time.perf_counter()
    rows, external = run_chosen([p for p in parts if p in chosen], args.quick)
    info["loadavg_end"] = list(os.getloadavg())
    seconds = round(time.perf_counter() - started, 1)
    command = ["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]
    report = {
        "command": " ".join(command),
        "quick": args.quick,
        "machine": info,
        "seconds": seconds,
        "rows": [r.to_dict() for r in rows],
        "external": external,
    }
    write_json(args.out, report)  # before printing, so a closed pipe cannot lose it
    print(header(info, args.quick) + "\n")
    print(table(rows))
    load = " ".join(f"{x:.2f}" for x in info["loadavg_end"])
    print(f"\n{len(rows)} rows in {seconds} s; load average at the end {load}\nwrote {args.out}")
    return 1 if any(r.status == "ERROR" for r in rows) else 0


def run_chosen(parts: list[str], quick: bool) -> tuple[list[Row], dict[str, Any]]:
    """Run the parts in order, printing each one's duration; other scripts' JSON is kept."""
    rows: list[Row] = []
    external: dict[str, Any] = {}
    for part in parts:
        print(f"  {part} ...", end="", file=sys.stderr, flush=True)
        began = time.perf_counter()
        if part in OWN:
            try:
                rows += OWN[part](quick)
            except Exception as err:  # one broken part must not hide the others' numbers
                rows.append(error_row(part, part, err))
        else:
            got, external[part] = run_external(part, EXTERNAL[part], quick)
            rows += got
        print(f" {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return rows, external


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `python bench/run.py | head`: the JSON is already written
        sys.stderr.close()
        sys.exit(0)
