"""Shared pieces of the benchmark suite: rows with their targets, timing real processes, machine.

Every timed command runs as a real process (fork, exec, interpreter start, imports, work, exit),
because that is what a user waits for. Commands that are compared run interleaved, round-robin,
after one warm-up each, so a burst of load on a shared machine falls on all of them alike; the
median of the runs is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PY = sys.executable
IDENTITY = {
    "GIT_AUTHOR_NAME": "Maia Bench",
    "GIT_AUTHOR_EMAIL": "maia-bench@example.com",
    "GIT_COMMITTER_NAME": "Maia Bench",
    "GIT_COMMITTER_EMAIL": "maia-bench@example.com",
}
# Variables that would point git (or maia) somewhere other than the benchmark's own repository.
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "MAIA_CRASH_AT",
    "MAIA_UNSAFE_NO_LOCK",
)
STATUSES = ("PASS", "MISS", "INFO", "N/A", "ERROR")


# --- rows -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the report: a measurement, its same-run baseline, the target and the verdict."""

    key: str
    what: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_what: str = ""
    ratio: float | None = None
    target: str = ""
    status: str = "INFO"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio_row(
    key: str,
    what: str,
    value: float,
    unit: str,
    baseline: float,
    baseline_what: str,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> Row:
    """A row whose verdict is ``value / baseline`` against ``at_most`` (times) or ``at_least``."""
    if not baseline:
        return error_row(key, what, f"the baseline ({baseline_what}) measured {baseline!r}")
    # Four significant digits, and the verdict taken on what is shown.
    ratio = float(f"{value / baseline:.4g}")
    if at_most is not None:
        target, ok = f"<= {at_most:g}x", ratio <= at_most
    elif at_least is not None:
        target, ok = f">= {at_least:g}x", ratio >= at_least
    else:
        target, ok = "", True
    status = ("PASS" if ok else "MISS") if target else "INFO"
    return Row(
        key, what, value, unit, baseline, baseline_what, ratio, target, status, note, extra or {}
    )


def error_row(key: str, what: str, err: BaseException | str) -> Row:
    text = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    return Row(
        key,
        what,
        None,
        "",
        status="ERROR",
        note=text.strip().splitlines()[-1][:300] if text.strip() else "failed",
    )


def run_parts(parts: Sequence[tuple[str, Callable[[], list[Row]]]]) -> list[Row]:
    """Run each part; one that fails becomes an ERROR row and does not hide the others."""
    rows: list[Row] = []
    for key, part in parts:
        try:
            rows += part()
        except Exception as err:
            rows.append(error_row(key, key, err))
    return rows


# --- running and timing processes ---------------------------------------------------------------


class CommandFailed(RuntimeError):
    """A benchmarked command exited non-zero: its numbers would time an error path."""


@dataclass(frozen=True)
class Cmd:
    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    stdin: bytes | None = None


@dataclass(frozen=True)
class Span:
    """Wall time, and CPU time (user + system, with the children waited for) of one run.

    The rows use wall time, what a user waits for; CPU time is reported beside it because on a
    shared machine it moves far less with the load than wall time does.
    """

    wall: float
    cpu: float

    def __add__(self, other: Span) -> Span:
        return Span(self.wall + other.wall, self.cpu + other.cpu)


NOTHING = Span(0.0, 0.0)


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu_seconds: float
    peak_rss_kb: int
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def span(self) -> Span:
        return Span(self.seconds, self.cpu_seconds)


def measure(cmd: Cmd, timeout: float = 600.0) -> Measured:
    """Run ``cmd`` once: wall time, its peak RSS (``wait4``), exit code and output.

    ``os.wait4`` gives the peak of this child and of the children it waited for (maia's git),
    where RUSAGE_CHILDREN would give the maximum over every child this process ever reaped.
    Output goes to temp files, not pipes, so a chatty command cannot block on a full pipe.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd.argv),
            cwd=cmd.cwd,
            env=dict(cmd.env or os.environ),
            stdin=subprocess.PIPE if cmd.stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        if cmd.stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(cmd.stdin)
            proc.stdin.close()
        status, usage = _wait(proc, timeout)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        return Measured(seconds, cpu, int(usage.ru_maxrss), code, out.read(), err.read())


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any]:
    # A blocking wait4 (polling would steal CPU from the child on a small machine); a timer
    # kills a child that overstays.
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        proc.kill()

    killer = threading.Timer(timeout, kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if fired.is_set():
        raise CommandFailed(f"{' '.join(cmd_name(proc.args))} timed out after {timeout:g} s")
    return status, usage


def cmd_name(argv: Any) -> list[str]:
    return [os.path.basename(str(a)) if i == 0 else str(a) for i, a in enumerate(argv)]


def run_ok(cmd: Cmd, timeout: float = 600.0) -> Measured:
    """``measure`` that raises CommandFailed (with the command's own complaint) on failure."""
    done = measure(cmd, timeout)
    if done.code != 0:
        complaint = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        last = complaint.splitlines()[-1] if complaint else "no output"
        raise CommandFailed(f"`{' '.join(cmd_name(cmd.argv))}` exited {done.code}: {last}")
    return done


def interleaved(
    cmds: Mapping[str, Cmd | Callable[[], Span]], repeat: int, warmup: int = 1
) -> dict[str, list[Span]]:
    """Each command's runs over ``repeat`` round-robin rounds, after ``warmup`` rounds.

    A value may be a function returning a Span, for a baseline made of several processes.
    """
    times: dict[str, list[Span]] = {name: [] for name in cmds}
    for round_ in range(warmup + repeat):
        for name, cmd in cmds.items():
            span = cmd() if callable(cmd) else run_ok(cmd).span
            if round_ >= warmup:
                times[name].append(span)
    return times


def walls(spans: Sequence[Span]) -> list[float]:
    return [s.wall for s in spans]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def cpu_note(spans: Sequence[Span], baseline: Sequence[Span]) -> str:
    """``CPU 61.0 ms vs 40.2 ms (1.52x)``: the same comparison in CPU time (medians)."""
    mine, base = median([s.cpu for s in spans]), median([s.cpu for s in baseline])
    ratio = f" ({mine / base:.2f}x)" if base else ""
    return f"CPU time {mine * 1000:.1f} ms vs {base * 1000:.1f} ms{ratio}"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def wall(spans: Sequence[Span]) -> float:
    """The median wall time of ``spans``."""
    return median(walls(spans))


def spread(spans: Sequence[Span]) -> str:
    """``n=7 min 41.2 max 55.0 ms``: enough to see how noisy the median is."""
    values = walls(spans)
    return f"n={len(values)} min {min(values) * 1000:.1f} max {max(values) * 1000:.1f} ms"


# --- environments and repositories -------------------------------------------------------------


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for every child: a private home and git config, a fixed identity."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    if not gitconfig.exists():
        gitconfig.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(IDENTITY)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        MAIA_WRITER="bench",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def git(cwd: Path, env: Mapping[str, str], *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=dict(env), input=stdin, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise CommandFailed(f"git {args[0]}: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8", "replace")


def maia_argv() -> list[str]:
    """The ``maia`` console script users run, or ``python -m maia_git`` if it is not installed."""
    script = Path(PY).parent / "maia"
    return [str(script)] if script.is_file() else [PY, "-m", "maia_git"]


def python_argv_for_maia() -> list[str]:
    """``maia`` run through this interpreter, so interpreter flags (``-X importtime``) apply."""
    script = Path(PY).parent / "maia"
    return [PY, str(script)] if script.is_file() else [PY, "-m", "maia_git"]


def imported_modules(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> set[str]:
    """Top-level names of every module ``python -X importtime ...`` reports importing."""
    done = run_ok(Cmd([PY, "-X", "importtime", *argv], cwd, env))
    names = set()
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return names


# --- running one benchmark file on its own ------------------------------------------------------


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def cli_main(run: Callable[[bool], list[Row]], doc: str | None) -> None:
    """``python bench/bench_X.py [--quick] [--out FILE]``: run, print the rows, write JSON."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes: seconds, not minutes.")
    parser.add_argument("--out", type=Path, help="Write the rows as JSON to this file.")
    args = parser.parse_args()
    rows = run(args.quick)
    for row in rows:
        print(
            f"{row.status:5}  {row.key}: {row.value} {row.unit} (baseline {row.baseline}, "
            f"ratio {row.ratio}, target {row.target or '-'}) {row.note}"
        )
    if args.out:
        write_json(args.out, {"rows": [r.to_dict() for r in rows]})
    sys.exit(1 if any(r.status == "ERROR" for r in rows) else 0)
