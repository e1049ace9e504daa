"""The Python API's hot paths: batch assignment, and recording interactions from 1 and 16 processes.

    python bench/bench_record.py [--quick] [--out FILE]

Targets: ``maia_git.core.assign.assign_many`` at least 0.8x a bare ``hashlib.md5`` loop
over the same users; ``Recorder.record`` at least 0.3x raw ``os.write`` of the same lines with
``O_APPEND``, from one process and from 16 at once, with no line lost.

The 16 processes all write as the same writer, so they share one shard: that is what 16 workers
on one host get by default (the writer name is the host name), and the case where lost or torn
lines would show.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from _common import PY, Row, cli_main, median, ratio_row, run_parts
from bench_transition import Workspace, build_workspace

from maia_git.core.assign import assign_many
from maia_git.usecases.recording import Recorder

ASSIGN_TARGET = 0.8
RECORD_TARGET = 0.3
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


# --- assignment ---------------------------------------------------------------------------------


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_assign(count: int, repeat: int) -> list[Row]:
    users = [f"user-{i}@example.com" for i in range(count)]
    exp_id = "exp_001"

    def bare() -> None:
        md5 = hashlib.md5
        for user in users:
            md5(f"{exp_id}:{user}".encode()).digest()

    def library() -> None:
        for _ in assign_many(exp_id, users, 0.5):
            pass

    times: dict[str, list[float]] = {"bare": [], "library": []}
    for _ in range(repeat):
        times["bare"].append(_seconds(bare))
        times["library"].append(_seconds(library))
    lib, base = count / median(times["library"]), count / median(times["bare"])
    return [
        ratio_row(
            "assign",
            f"assign_many, {count:,} users",
            round(lib),
            "users/s",
            round(base),
            "bare hashlib.md5 loop (digest only)",
            at_least=ASSIGN_TARGET,
            note=f"median of {repeat}; the library also buckets, picks the arm and yields a tuple",
        )
    ]


# --- recording ----------------------------------------------------------------------------------


def _raw_write(path: Path, lines: list[bytes]) -> float:
    fd = os.open(path, _FLAGS, 0o644)
    try:
        start = time.perf_counter()
        for line in lines:
            os.write(fd, line)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def _record(recorder: Recorder, exp_id: str, tag: str, count: int) -> float:
    record = recorder.record
    start = time.perf_counter()
    for i in range(count):
        record(
            exp_id,
            f"user-{i}@example.com",
            i % 3 != 0,
            quality_score=71.5,
            tokens=1234,
            latency_ms=812.5,
            interaction_id=f"{tag}-{i}",
        )
    return time.perf_counter() - start


def _shard(ws: Workspace, writer: str) -> Path:
    """The writer's file of unsynced records (where ``Recorder.record`` appends)."""
    return ws.top / ".git/maia/pending/experiments" / ws.active / "interactions" / f"{writer}.jsonl"


def _least_recorder(path: Path, count: int) -> float:
    """The least any recorder does per record: build the dict, JSON-encode it, write it."""
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    fd = os.open(path, _FLAGS, 0o644)
    try:
        start = time.perf_counter()
        for i in range(count):
            record = {
                "ts": datetime.now(UTC).isoformat(),
                "user_id": f"user-{i}@example.com",
                "arm": "control",
                "success": i % 3 != 0,
                "quality_score": 71.5,
                "tokens": 1234,
                "latency_ms": 812.5,
                "interaction_id": f"least-{i}",
            }
            os.write(fd, (encode(record) + "\n").encode())
        return time.perf_counter() - start
    finally:
        os.close(fd)


def bench_record_one(ws: Workspace, count: int, repeat: int) -> list[Row]:
    """In-process: ``Recorder.record`` calls against raw writes of the lines it wrote."""
    times: dict[str, list[float]] = {"maia": [], "raw": [], "least": []}
    for r in range(repeat):
        recorder = Recorder(ws.top, writer=f"one-{r}")
        recorder.experiment(ws.active)  # loaded before the clock starts, as a runtime has it
        try:
            times["maia"].append(_record(recorder, ws.active, f"one-{r}", count))
        finally:
            recorder.close()
        lines = _shard(ws, f"one-{r}").read_bytes().splitlines(keepends=True)
        times["raw"].append(_raw_write(ws.top / f"raw-{r}.jsonl", lines))
        times["least"].append(_least_recorder(ws.top / f"least-{r}.jsonl", count))
    lost = sum(_count_lost(_shard(ws, f"one-{r}"), f"one-{r}", 1, count) for r in range(repeat))
    rate, base = count / median(times["maia"]), count / median(times["raw"])
    least = count / median(times["least"])
    return [
        ratio_row(
            "record.1",
            f"Recorder.record, 1 process, {count:,} records",
            round(rate),
            "records/s",
            round(base),
            "raw os.write of the same lines, O_APPEND",
            at_least=RECORD_TARGET,
            note=f"median of {repeat}; {lost} lost",
            extra={"lost": lost},
        ),
        Row(
            "record.1.least",
            "least a recorder does: dict -> JSON -> os.write",
            round(least),
            "records/s",
            round(base),
            "raw os.write of the same lines, O_APPEND",
            round(least / base, 3),
            "report",
            "INFO",
            f"Recorder.record runs at {rate / least:.2f}x of this minimal Python line "
            f"builder, which itself reaches {least / base:.2f}x of raw writes",
        ),
    ]


def bench_record_many(ws: Workspace, processes: int, each: int) -> list[Row]:
    """``processes`` workers at once into one shared shard, for maia and for raw writes."""
    maia_wall = _race(ws, "maia", processes, each)
    raw_wall = _race(ws, "raw", processes, each)
    total = processes * each
    lost = _count_lost(_shard(ws, "many"), "many", processes, each)
    raw_lost = _count_lost(ws.top / "raw-many.jsonl", "many", processes, each)
    rate, base = total / maia_wall, total / raw_wall
    row = ratio_row(
        f"record.{processes}",
        f"Recorder.record, {processes} processes x {each:,}",
        round(rate),
        "records/s",
        round(base),
        "raw os.write, same lines, same processes",
        at_least=RECORD_TARGET,
        note="one shared shard; first start to last end",
    )
    check = Row(
        f"record.{processes}.lost",
        f"records lost, {processes} processes",
        lost,
        "records",
        raw_lost,
        "lost by raw os.write",
        None,
        "0 lost",
        "PASS" if lost == 0 else "MISS",
        f"{total:,} written, each line read back as JSON with its interaction id",
    )
    return [row, check]


def _race(ws: Workspace, mode: str, processes: int, each: int) -> float:
    """Start the workers, let them all load, release them at once; wall time of the writing."""
    procs = [
        subprocess.Popen(
            [
                PY,
                str(Path(__file__).resolve()),
                "--worker",
                mode,
                str(ws.top),
                ws.active,
                str(n),
                str(each),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=ws.env,
        )
        for n in range(processes)
    ]
    for proc in procs:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        if ready != "ready\n":
            proc.wait()
            raise RuntimeError(f"a {mode} worker failed to start (exit {proc.returncode})")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    spans = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a {mode} worker exited {proc.returncode}")
        start, end = out.split()
        spans.append((float(start), float(end)))
    return max(e for _, e in spans) - min(s for s, _ in spans)


def _worker(mode: str, top: str, exp_id: str, n: int, each: int) -> None:
    """One racing process; prints its start and end on the system-wide monotonic clock."""
    tag = f"many-{n}"
    if mode == "maia":
        recorder = Recorder(Path(top), writer="many")
        recorder.experiment(exp_id)  # loaded before the start, as a long-running runtime has it
    else:
        lines = _lines(top, exp_id, tag, each)
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    if mode == "maia":
        _record(recorder, exp_id, tag, each)
        recorder.close()
    else:
        _raw_write(Path(top) / "raw-many.jsonl", lines)
    print(start, time.monotonic(), flush=True)


def _lines(top: str, exp_id: str, tag: str, count: int) -> list[bytes]:
    """The lines a recorder makes, made by a recorder into a scratch shard."""
    recorder = Recorder(Path(top), writer=f"scratch-{os.getpid()}")
    try:
        _record(recorder, exp_id, tag, count)
    finally:
        recorder.close()
    scratch = recorder.shard(exp_id)
    lines = scratch.read_bytes().splitlines(keepends=True)
    scratch.unlink()
    return lines


def _count_lost(path: Path, tag: str, processes: int, each: int) -> int:
    """Records missing from ``path``: every line must parse and carry a distinct expected id."""
    expected = {
        f"{tag}-{n}-{i}" if processes > 1 else f"{tag}-{i}"
        for n in range(processes)
        for i in range(each)
    }
    seen = set()
    for line in path.read_bytes().splitlines():
        try:
            seen.add(json.loads(line)["interaction_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return len(expected - seen)


def run(quick: bool) -> list[Row]:
    users, repeat = (20_000, 3) if quick else (1_000_000, 5)
    count, processes, each = (2_000, 4, 500) if quick else (50_000, 16, 5_000)
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        # Built on first use, so a failure to build shows up in the rows that needed it.
        workspace = cache(lambda: build_workspace(Path(tmp) / "record", experiments=10, files=0))
        return run_parts(
            [
                ("assign", lambda: bench_assign(users, repeat)),
                ("record.1", lambda: bench_record_one(workspace(), count, 3)),
                ("record.many", lambda: bench_record_many(workspace(), processes, each)),
            ]
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        cli_main(run, __doc__)
