"""Analysis of a 1,000,000-line log: cold and warm, against DuckDB on the same file, same run.

    python bench/bench_analyze.py [--quick] [--lines N] [--seed S] [--out FILE] [--orjson DIR]

Builds a workspace in a temporary git repository with a committed, seeded log, then times real
processes, interleaved round-robin so that load on a shared machine falls on all alike:

- ``maia exp analyze --json`` cold (``.git/maia-cache`` removed before each run) and warm;
- DuckDB doing the same aggregation in one SQL query, per user then per arm (``read_json``, then
  the users, interactions and the per-user sums x, y, x^2, y^2, x*y of completion and quality),
  in its own process, the reference; DuckDB is the benchmark's extra;
- ``python -c pass``, so that "beyond process start" can be reported.

Peak memory (``ru_maxrss`` of the child, from ``os.wait4``) is taken for a log a tenth the size,
the full log, the full log with an ``interaction_id`` on every line (the dedupe set), and the full
log with every line from a user of its own: the difference from the full log (ten lines a user)
over the difference in users is the memory per user.
``--orjson DIR`` (a folder made by ``pip install --target DIR orjson``) adds cold runs with
orjson importable. Targets: cold within 3x of DuckDB; warm under 0.2 s beyond process start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maia_git.core.assign import assign_many  # noqa: E402

PY = sys.executable
DUCKDB_QUERY = (
    "WITH u AS (SELECT arm, user_id, count(*) AS y, sum(success::INT) AS x, "
    "count(quality_score) AS qy, coalesce(sum(quality_score), 0) AS qx "
    "FROM read_json('{path}', format='newline_delimited') GROUP BY arm, user_id) "
    "SELECT arm, count(*), sum(y), sum(x), sum(x * x), sum(y * y), sum(x * y), "
    "sum(qx), sum(qx * qx), sum(qy * qy), sum(qx * qy) FROM u GROUP BY arm ORDER BY arm"
)
DUCKDB_SCRIPT = (
    "import json, sys, time; import duckdb; duckdb.sql('SET enable_progress_bar = false'); "
    "start = time.perf_counter(); "
    "rows = duckdb.sql(sys.argv[1]).fetchall(); "
    "print(json.dumps({'rows': rows, 'query_s': time.perf_counter() - start}))"
)


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds: steadier than wall time on a loaded machine
    maxrss_mb: float
    stdout: str


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``cmd`` as a child; wall time, its own peak RSS (``wait4``) and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:6])} failed: {err.read().decode()[-2000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return Run(seconds, cpu, usage.ru_maxrss / 1024, out.read().decode())


# ---- the workspace and its logs ----


def environment(home: Path, extra_path: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MAIA_"))}
    paths = [str(ROOT), *([extra_path] if extra_path else [])]
    env.update({
        "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Maia Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Maia Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(paths),
    })  # fmt: skip
    return env


def write_log(
    path: Path, exp_id: str, lines: int, seed: int, ids: bool, per_user: int = 10
) -> None:
    """``lines`` valid interactions of ``lines // per_user`` users over May 2024 (every day, so
    the calendar check runs too), control at 50% completion and treatment at 55%."""
    rng = random.Random(seed)
    users = [f"user-{i:07d}" for i in range(max(lines // per_user, 1))]
    arm_of = dict(assign_many(exp_id, users))
    start, step = datetime(2024, 5, 1, tzinfo=UTC), timedelta(days=31) / lines
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        for i in range(lines):
            user = users[rng.randrange(len(users))]
            arm = arm_of[user]
            success = "true" if rng.random() < (0.5 if arm == "control" else 0.55) else "false"
            ts = (start + step * i).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            extra = f',"interaction_id":"{exp_id}-{i}"' if ids else ""
            quality, tokens = rng.randrange(400, 1001) / 10, rng.randrange(50, 3000)
            file.write(
                f'{{"ts":"{ts}","user_id":"{user}","arm":"{arm}","success":{success},'
                f'"quality_score":{quality},"tokens":{tokens},'
                f'"latency_ms":{rng.randrange(1000, 90000) / 10}{extra}}}\n'
            )  # fmt: skip


def make_workspace(top: Path, env: dict[str, str], logs: dict[str, tuple[int, bool, int]],
                   seed: int) -> dict[str, Path]:  # fmt: skip
    """A committed workspace with one experiment per log; returns each log's path."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(top)], check=True, env=env)
    (top / "agents").mkdir()
    for name in ("helper.md", "helper_v2.md"):
        (top / "agents" / name).write_text(f"You are {name}.\n", encoding="utf-8")
    maia = [PY, "-m", "maia_git"]
    run([*maia, "init"], top, env)
    paths: dict[str, Path] = {}
    for offset, (name, (lines, ids, per_user)) in enumerate(logs.items()):
        run([*maia, "exp", "new", name, "--agent", f"a{offset}", "--control", "agents/helper.md",
             "--treatment", "agents/helper_v2.md"], top, env)  # fmt: skip
        exp_id = f"exp_{offset + 1:03d}"
        paths[name] = top / "experiments" / exp_id / "interactions" / "bench.jsonl"
        write_log(paths[name], exp_id, lines, seed + offset, ids, per_user)
    # No compression: a benchmark repository, and committing 150 MB takes a second, not ten.
    subprocess.run(["git", "-c", "core.looseCompression=0", "add", "-A"], cwd=top, env=env,
                   check=True)  # fmt: skip
    subprocess.run(["git", "commit", "-q", "-m", "bench logs"], cwd=top, env=env, check=True)
    return paths


# ---- measuring ----


class Bench:
    def __init__(self, top: Path, env: dict[str, str]) -> None:
        self.top, self.env = top, env

    def analyze(self, exp_id: str, cold: bool, env: dict[str, str] | None = None) -> Run:
        if cold:
            shutil.rmtree(self.top / ".git" / "maia-cache", ignore_errors=True)
        return run([PY, "-m", "maia_git", "exp", "analyze", exp_id, "--json"], self.top,
                   env or self.env)  # fmt: skip

    def duckdb(self, path: Path) -> Run:
        query = DUCKDB_QUERY.format(path=path)
        return run([PY, "-c", DUCKDB_SCRIPT, query], self.top, self.env)

    def start(self) -> Run:
        return run([PY, "-c", "pass"], self.top, self.env)


def interleaved(runs: int, **commands: Any) -> dict[str, list[Run]]:
    """Each command once as a warm-up, then ``runs`` rounds, round-robin."""
    for command in commands.values():
        command()
    results: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            results[name].append(command())
    return results


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def median_cpu(runs: list[Run]) -> float:
    return statistics.median(r.cpu for r in runs)


def check_counts(analysis: Run, duck: Run) -> None:
    """The same file, the same numbers: maia's per-user sums against DuckDB's."""
    data = json.loads(analysis.stdout)
    rows = {row[0]: row for row in json.loads(duck.stdout)["rows"]}
    for arm in ("control", "treatment"):
        got, want = data[arm], rows[arm]
        c, q = got["sums"]["completion"], got["sums"]["quality"]
        exact = (got["users"], got["n"], c["num"], c["num2"], c["den2"], c["numden"])
        close = (q["num"], q["num2"], q["den2"], q["numden"])
        if exact != tuple(want[1:7]) or any(
            abs(a - b) > 1e-9 * max(1.0, abs(b)) for a, b in zip(close, want[7:], strict=True)
        ):
            raise SystemExit(f"maia and DuckDB disagree on {arm}: {got} against {want}")
    if data["invalid_lines"]:
        raise SystemExit(f"the generated log has invalid lines: {data['problems'][:3]}")


def row(key: str, what: str, value: float, unit: str, **more: Any) -> dict[str, Any]:
    return {"key": key, "what": what, "value": round(value, 4), "unit": unit, **more}


def measure(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    small = max(args.lines // 10, 1)
    env = environment(folder / "home")
    (folder / "home").mkdir()
    (folder / "home" / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    top = folder / "ws"
    paths = make_workspace(top, env, {"full": (args.lines, False, 10), "tenth": (small, False, 10),
                                      "ids": (args.lines, True, 10),
                                      "users": (args.lines, False, 1)}, args.seed)  # fmt: skip
    bench = Bench(top, env)
    rounds = 2 if args.quick else 3
    timed = interleaved(
        rounds,
        cold=lambda: bench.analyze("exp_001", cold=True),
        duckdb=lambda: bench.duckdb(paths["full"]),
        start=bench.start,
    )
    check_counts(timed["cold"][-1], timed["duckdb"][-1])
    bench.analyze("exp_001", cold=False)  # fills the cache
    warm = interleaved(rounds + 2, warm=lambda: bench.analyze("exp_001", cold=False),
                       start=bench.start)  # fmt: skip
    if json.loads(warm["warm"][-1].stdout)["shards_read"] != 0:
        raise SystemExit("the warm analysis read a shard: the cache did not work")
    cold, duck, start = median(timed["cold"]), median(timed["duckdb"]), median(warm["start"])
    warm_s = median(warm["warm"])
    query = statistics.median(json.loads(r.stdout)["query_s"] for r in timed["duckdb"])
    memory = {
        name: bench.analyze(exp, cold=True)
        for name, exp in (
            ("tenth", "exp_002"),
            ("full", "exp_001"),
            ("ids", "exp_003"),
            ("users", "exp_004"),
        )
    }
    lines = f"{args.lines:,}"
    rows = [
        row("cold", f"maia exp analyze, {lines} lines, cache empty (process)", cold, "s",
            baseline=round(duck, 4),
            baseline_what="DuckDB read_json, per user then per arm, one query (process)",
            ratio=round(cold / duck, 2), target="<= 3x DuckDB",
            status="PASS" if cold <= 3 * duck else "MISS",
            note=f"per line {1e6 * (cold - start) / args.lines:.2f} us beyond process start; "
                 f"CPU time {median_cpu(timed['cold']):.2f} s against DuckDB's "
                 f"{median_cpu(timed['duckdb']):.2f} s; DuckDB's query alone {query:.3f} s; "
                 f"JSON parser: {parser(env)}"),
        row("warm", f"maia exp analyze, {lines} lines, nothing changed, beyond process start",
            warm_s - start, "s", baseline=round(start, 4), baseline_what="python -c pass",
            target="< 0.2 s beyond process start",
            status="PASS" if warm_s - start < 0.2 else "MISS",
            note=f"whole process {warm_s:.3f} s"),
        row("python_start", "python -c pass", start, "s"),
        row("duckdb", f"DuckDB on the same {lines} lines (process; query alone: note)", duck,
            "s", note=f"query alone {query:.3f} s"),
    ]  # fmt: skip
    rows += memory_rows(memory, small, args.lines)
    if args.orjson:
        rows.append(orjson_row(bench, folder, args, cold, rounds))
    return rows


def memory_rows(memory: dict[str, Run], small: int, lines: int) -> list[dict[str, Any]]:
    tenth, full, ids, users = (memory[k].maxrss_mb for k in ("tenth", "full", "ids", "users"))
    per_user = (users - full) * 2**20 / (lines - lines // 10)
    return [
        row("memory.tenth", f"peak RSS, cold analysis of {small:,} lines", tenth, "MB"),
        row("memory.full", f"peak RSS, cold analysis of {lines:,} lines, {lines // 10:,} users",
            full, "MB", baseline=round(tenth, 1), baseline_what=f"{small:,} lines",
            ratio=round(full / tenth, 2), note="grows with the users, not the lines"),
        row("memory.per_user", f"bytes per user: {lines:,} lines from {lines:,} users against "
            f"{lines // 10:,} users", per_user, "B", target="<= 200 B per user",
            status="PASS" if per_user <= 200 else "MISS",
            note=f"peak RSS {users:.1f} MB with a user per line"),
        row("memory.ids", f"peak RSS, {lines:,} lines each with an interaction_id", ids, "MB",
            baseline=round(full, 1), baseline_what="the same without ids",
            note=f"{(ids - full) * 2**20 / lines:.0f} bytes per id: 60-bit hashes in a set"),
    ]  # fmt: skip


def orjson_row(bench: Bench, folder: Path, args: argparse.Namespace, cold: float,
               rounds: int) -> dict[str, Any]:  # fmt: skip
    env = environment(folder / "home", args.orjson)
    runs = [bench.analyze("exp_001", cold=True, env=env) for _ in range(rounds)]
    value = median(runs)
    return row("cold.orjson", "maia exp analyze cold, orjson importable", value, "s",
               baseline=round(cold, 4), baseline_what="the same without orjson",
               ratio=round(value / cold, 2), note=f"JSON parser: {parser(env)}")  # fmt: skip


def parser(env: dict[str, str]) -> str:
    found = subprocess.run([PY, "-c", "import orjson"], env=env, capture_output=True).returncode
    return "orjson" if found == 0 else "json (stdlib)"


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "load": os.getloadavg()}  # fmt: skip


def main() -> int:
    parser_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_.add_argument(
        "--quick", action="store_true", help="100,000 lines: seconds, not minutes."
    )
    parser_.add_argument("--lines", type=int, default=None, help="Log size (default 1,000,000).")
    parser_.add_argument("--seed", type=int, default=5)
    parser_.add_argument("--out", type=Path, default=None, help="Write the rows as JSON here.")
    parser_.add_argument(
        "--orjson",
        default=None,
        metavar="DIR",
        help="A folder holding orjson, to time the cold analysis with it too.",
    )
    args = parser_.parse_args()
    args.lines = args.lines or (100_000 if args.quick else 1_000_000)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="maia-bench-analyze-") as tmp:
        rows = measure(args, Path(tmp))
    print(f"{'key':<14} {'value':>10}  {'unit':<4} {'baseline':>9} {'ratio':>6}  status  what")
    for r in rows:
        print(f"{r['key']:<14} {r['value']:>10.3f}  {r['unit']:<4} {r.get('baseline', ''):>9} "
              f"{r.get('ratio', ''):>6}  {r.get('status', 'INFO'):<6}  {r['what']}"
              + (f"\n{'':>16}{r['note']}" if r.get("note") else ""))  # fmt: skip
    result = {"machine": machine(), "lines": args.lines, "seed": args.seed,
              "seconds": round(time.perf_counter() - began, 1), "rows": rows}  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
