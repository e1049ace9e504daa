"""Throughput of the recording fast path: assignment, appending and reading interaction logs.

    python bench/bench_append.py                 # everything
    python bench/bench_append.py --only append   # or: assign, read

Targets: batch assignment >= 80% of a bare hashlib.md5 loop over the same users;
appending >= 20,000 records/s from one process and >= 10,000/s in total from 16 processes;
reading a 1,000,000-line log in a few seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maia_git.core.assign import assign_many  # noqa: E402
from maia_git.core.interaction import check_line, make_record, to_line  # noqa: E402
from maia_git.storage.jsonl import Appender, read_lines  # noqa: E402

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _best_rate(run: Callable[[], None], count: int, repeat: int) -> float:
    best = min(_timed(run) for _ in range(repeat))
    return count / best


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench_assign(users_count: int, repeat: int) -> None:
    users = [f"user-{i}@example.com" for i in range(users_count)]
    experiment_id = "exp_001"

    def bare_hashlib() -> None:
        md5 = hashlib.md5
        for user in users:
            md5(f"{experiment_id}:{user}".encode()).digest()

    def bare_builtin() -> None:
        md5 = importlib.import_module("_md5").md5
        for user in users:
            md5(f"{experiment_id}:{user}".encode()).digest()

    def library() -> None:
        for _ in assign_many(experiment_id, users, 0.5):
            pass

    bare = _best_rate(bare_hashlib, users_count, repeat)
    lib = _best_rate(library, users_count, repeat)
    builtin = _best_rate(bare_builtin, users_count, repeat)
    print(f"assign: {users_count:,} users, best of {repeat}")
    print(f"  bare hashlib.md5 loop (digest only)  {bare / 1e6:6.2f} M/s")
    print(f"  assign_many (bucket + arm)           {lib / 1e6:6.2f} M/s  = {lib / bare:.0%} of it")
    print(
        f"  bare loop on the built-in _md5       {builtin / 1e6:6.2f} M/s  (what assign_many uses)"
    )


def _record_line(i: int) -> str:
    record = make_record(
        "exp_001",
        f"user-{i}@example.com",
        success=i % 2 == 0,
        now=NOW,
        quality_score=71.5,
        tokens=1234,
        latency_ms=812.5,
        interaction_id=f"w-{i}",
    )
    return to_line(record)


def bench_append_one(folder: Path, count: int) -> None:
    path = folder / "one" / "w.jsonl"
    with Appender() as appender:
        start = time.perf_counter()
        for i in range(count):
            appender.append(path, _record_line(i))
        recording = count / (time.perf_counter() - start)
    lines = [_record_line(i) for i in range(count)]
    with Appender() as appender:
        start = time.perf_counter()
        for line in lines:
            appender.append(path, line)
        appending = count / (time.perf_counter() - start)
    print(f"append, 1 process, {count:,} records")
    print(f"  make_record + to_line + append       {recording:9,.0f} records/s")
    print(f"  append of ready lines                {appending:9,.0f} records/s")


_WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[3])
    from bench_append import _record_line
    from maia_git.storage.jsonl import Appender
    path, count = sys.argv[1], int(sys.argv[2])
    appender = Appender()
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    for i in range(count):
        appender.append(path, _record_line(i))
    end = time.monotonic()
    appender.close()
    print(start, end, flush=True)
    """
)


def bench_append_many(folder: Path, processes: int, each: int, shared: bool) -> None:
    paths = [folder / "many" / ("all" if shared else f"w{i}") for i in range(processes)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, f"{p}.jsonl", str(each), str(ROOT / "bench")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for p in paths
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    spans = []
    for proc in procs:
        assert proc.stdout is not None
        spans.append([float(x) for x in proc.stdout.read().split()])
        assert proc.wait() == 0
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    total = processes * each
    lines = sum(1 for p in set(paths) for _, v in read_lines(f"{p}.jsonl") if isinstance(v, dict))
    layout = "one shared shard" if shared else "a shard each"
    print(f"append, {processes} processes x {each:,} records, {layout}")
    print(
        f"  total                                {total / wall:9,.0f} records/s"
        f"  ({lines:,} of {total:,} lines read back valid)"
    )


def bench_read(folder: Path, count: int) -> None:
    path = folder / "big.jsonl"
    block = "".join(_record_line(i) for i in range(10_000)).encode()
    with path.open("wb") as f:
        for _ in range(count // 10_000):
            f.write(block)
    size = path.stat().st_size
    count = count // 10_000 * 10_000

    start = time.perf_counter()
    parsed = sum(1 for _, v in read_lines(path) if isinstance(v, dict))
    reading = time.perf_counter() - start
    start = time.perf_counter()
    valid = sum(1 for _, v in read_lines(path) if isinstance(v, dict) and check_line(v) is None)
    checking = time.perf_counter() - start
    print(f"read: {count:,} lines, {size / 1e6:.0f} MB")
    print(
        f"  read_lines                           {parsed / reading:9,.0f} lines/s"
        f"  ({reading:.2f} s)"
    )
    print(
        f"  read_lines + check_line              {valid / checking:9,.0f} lines/s"
        f"  ({checking:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["assign", "append", "read"])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--each", type=int, default=5_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "assign"):
            bench_assign(args.users, repeat=5)
        if args.only in (None, "append"):
            bench_append_one(folder, args.records)
            for shared in (True, False):
                bench_append_many(folder, args.processes, args.each, shared)
        if args.only in (None, "read"):
            bench_read(folder, args.lines)


if __name__ == "__main__":
    main()
