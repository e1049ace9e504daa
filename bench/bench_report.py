"""Build time of `maia report` for 10 experiments with 1,000,000 interactions in all.

    python bench/bench_report.py [--lines N] [--experiments K] [--seed S] [--out FILE]

Builds a workspace in a temporary git repository: K experiments (each on its own agent, all
active), N seeded log lines spread evenly over them and over 14 days (users with about five
interactions each), 2,000 quality scores per agent, all committed. Then times real processes,
interleaved: `maia report` cold (the analysis cache removed first) and warm, against the same
run's baseline, the analysis of every experiment (`analyze_experiment` on each, in one process,
cold and warm): the report's extra cost is the lift over time (two more passes over the logs),
the charts and the pages. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maia_git.core.assign import assign_many  # noqa: E402
from maia_git.core.scoring import band_for, format_ts  # noqa: E402

PY = sys.executable
IDENTITY = {"GIT_AUTHOR_NAME": "Maia Bench", "GIT_AUTHOR_EMAIL": "maia-bench@example.com",
            "GIT_COMMITTER_NAME": "Maia Bench", "GIT_COMMITTER_EMAIL": "maia-bench@example.com",
            "MAIA_WRITER": "bench"}  # fmt: skip
START = datetime(2026, 10, 1, tzinfo=UTC)
ANALYZE_ALL = (
    "import sys; from maia_git.workspace import Workspace; "
    "from maia_git.usecases.analysis import analyze_experiment; ws = Workspace.find(); "
    "[analyze_experiment(ws, i) for i in sys.argv[1:]]"
)


def env() -> dict[str, str]:
    drop = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")
    return {k: v for k, v in os.environ.items() if k not in drop} | IDENTITY


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build(top: Path, lines: int, experiments: int, seed: int) -> list[str]:
    run(["git", "init", "-q", "-b", "main", str(top)], top.parent)
    (top / "agents").mkdir()
    ids = [f"exp_{k:03d}" for k in range(1, experiments + 1)]
    for k in range(1, experiments + 1):
        (top / "agents" / f"agent{k}.md").write_text(f"Agent {k}.\n")
        (top / "agents" / f"agent{k}_v2.md").write_text(f"Agent {k}.\nPlan, then check.\n")
    run(["git", "add", "-A"], top)
    run(["git", "commit", "-q", "-m", "prompts"], top)
    run([PY, "-m", "maia_git", "init"], top)
    settings = (top / "maia.yaml").read_text().replace("max_concurrent: 3", "max_concurrent: 50")
    (top / "maia.yaml").write_text(settings)
    run(["git", "commit", "-q", "-am", "room for every experiment"], top)
    for k, exp_id in enumerate(ids, 1):
        run(
            [
                PY,
                "-m",
                "maia_git",
                "exp",
                "new",
                f"Experiment {k}",
                "--agent",
                f"agent{k}",
                "--control",
                f"agents/agent{k}.md",
                "--treatment",
                f"agents/agent{k}_v2.md",
            ],
            top,
        )
        run([PY, "-m", "maia_git", "exp", "start", exp_id], top)  # fmt: skip
    rng = random.Random(seed)
    per = lines // experiments
    for k, exp_id in enumerate(ids, 1):
        write_log(top, exp_id, per, rng)
        write_scores(top, f"agent{k}", 2000, rng)
    run([PY, "-m", "maia_git", "sync"], top)
    return ids


def write_log(top: Path, exp_id: str, count: int, rng: random.Random) -> None:
    users = [f"u{n:07d}" for n in range(max(1, count // 5))]
    arms = dict(assign_many(exp_id, users, 0.5))
    span = 14 * 86400
    folder = top / "experiments" / exp_id / "interactions"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "bench.jsonl", "w", encoding="utf-8") as out:
        for n in range(count):
            user = users[rng.randrange(len(users))]
            arm = arms[user]
            when = START + timedelta(seconds=span * n / count)
            out.write(json.dumps({
                "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "user_id": user, "arm": arm,
                "success": rng.random() < (0.5 if arm == "control" else 0.56),
                "quality_score": round(rng.uniform(40, 100), 2), "tokens": rng.randint(100, 2000),
                "latency_ms": round(rng.uniform(200, 9000), 1),
            }, separators=(",", ":")) + "\n")  # fmt: skip


def write_scores(top: Path, agent: str, count: int, rng: random.Random) -> None:
    folder = top / "scores" / agent
    folder.mkdir(parents=True, exist_ok=True)
    by_month: dict[str, list[str]] = {}
    for n in range(count):
        when = START + timedelta(seconds=14 * 86400 * n / count)
        overall = round(rng.uniform(30, 100), 2)
        record = {"ts": format_ts(when), "agent": agent, "response_id": f"r{n}",
                  "overall": overall, "criteria": {"task_completion": overall},
                  "band": band_for(overall)}  # fmt: skip
        by_month.setdefault(when.strftime("%Y-%m"), []).append(json.dumps(record))
    for month, rows in by_month.items():
        (folder / f"{month}.jsonl").write_text("\n".join(rows) + "\n")


def timed(args: list[str], cwd: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(args, cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def clear_cache(top: Path) -> None:
    shutil.rmtree(top / ".git" / "maia-cache", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--experiments", type=int, default=10)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maia-bench-report-") as tmp:
        top = Path(tmp) / "ws"
        top.mkdir()
        started = time.perf_counter()
        ids = build(top, opts.lines, opts.experiments, opts.seed)
        made = time.perf_counter() - started
        site = Path(tmp) / "site"
        report = [PY, "-m", "maia_git", "report", "--out", str(site)]
        analyze = [PY, "-c", ANALYZE_ALL, *ids]
        results: dict[str, list[dict[str, float]]] = {k: [] for k in
                                                      ("analyze_cold", "report_cold",
                                                       "analyze_warm", "report_warm")}  # fmt: skip
        for _ in range(opts.rounds):
            clear_cache(top)
            results["analyze_cold"].append(timed(analyze, top))
            clear_cache(top)
            results["report_cold"].append(timed(report, top))
            results["analyze_warm"].append(timed(analyze, top))
            results["report_warm"].append(timed(report, top))
        median = {k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "cpu_s")}
                  for k, v in results.items()}  # fmt: skip
        log_mb = sum(p.stat().st_size for p in top.glob("experiments/*/interactions/*.jsonl"))
        out = {
            "lines": opts.lines, "experiments": opts.experiments, "log_mb": round(log_mb / 1e6, 1),
            "workspace_built_s": round(made, 1), "rounds": opts.rounds, **median,
            "report_cold_over_analyze_cold": round(median["report_cold"]["wall_s"]
                                                   / median["analyze_cold"]["wall_s"], 2),
            "report_warm_over_analyze_warm": round(median["report_warm"]["wall_s"]
                                                   / median["analyze_warm"]["wall_s"], 2),
            "pages": len(list(site.glob("*.html"))),
            "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        }  # fmt: skip
    text = json.dumps(out, indent=2)
    print(text)
    if opts.out:
        Path(opts.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
