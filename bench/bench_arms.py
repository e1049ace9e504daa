"""Analysis time of a 5-arm experiment against a 2-arm one, over the same number of log lines.

Writes two seeded logs of ``--lines`` valid lines (users drawn from 100,000; each line's arm is
the user's assignment among the arms, equal shares; success, tokens and latency on every line),
then times, in this process, interleaved and ``--runs`` times each:

    aggregate  json.loads of every line and per-user totals per arm (``stats.users.UserTotals``,
               what the log reader fills), then each arm's sums
    analyze    ``stats.analyze_arms`` on those sums, sequential (Holm) and fixed (Dunnett; the
               first call of a run imports scipy, included), and for 2 arms ``stats.analyze``

The aggregation here is the library's own per-user fold over parsed lines, the same code path
for both arm counts: the ratio is what more arms cost the fold, not what ``maia exp analyze``
takes (``bench_arms_cli.py`` times the whole command, the git reader included).

    python bench/bench_arms.py [--lines 1000000] [--runs 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from maia_git.core.assign import arm_among
from maia_git.stats import ArmStats, analyze, analyze_arms
from maia_git.stats.users import UserTotals

EXPERIMENT = "exp_bench"


def names_for(k: int) -> list[str]:
    return ["control"] + (["treatment"] if k == 2 else [f"treatment_{i}" for i in range(1, k)])


def write_log(path: Path, k: int, lines: int, seed: int) -> None:
    rng = random.Random(seed)
    names, shares = names_for(k), [1.0 / k] * k
    arms: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            user = f"user_{rng.randrange(100_000)}"
            if user not in arms:
                arms[user] = arm_among(EXPERIMENT, user, names, shares)
            arm = arms[user]
            record = {
                "ts": "2026-01-01T00:00:00Z",
                "user_id": user,
                "arm": arm,
                "success": rng.random() < 0.5,
                "tokens": rng.randrange(400, 1400),
                "latency_ms": round(rng.uniform(500, 5000), 1),
                "interaction_id": f"i{i}",
            }
            f.write(json.dumps(record) + "\n")


def aggregate(path: Path, k: int) -> dict[str, ArmStats]:
    totals = {name: UserTotals() for name in names_for(k)}
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            totals[r["arm"]].add_record(
                r["user_id"], r["success"], None, r["tokens"], r["latency_ms"]
            )
    return {name: t.arm_stats() for name, t in totals.items()}


def one_run(path: Path, k: int) -> dict[str, float]:
    started = time.perf_counter()
    arms = aggregate(path, k)
    aggregated = time.perf_counter()
    sequential = analyze_arms(EXPERIMENT, arms)
    after_sequential = time.perf_counter()
    fixed = analyze_arms(EXPERIMENT, arms, method="fixed")
    after_fixed = time.perf_counter()
    if k == 2:
        two = analyze(EXPERIMENT, arms["control"], arms["treatment"])
        assert two.decision == sequential.decision
    assert sum(a.n for a in arms.values()) > 0 and fixed.decision
    return {
        "aggregate_s": aggregated - started,
        "analyze_sequential_s": after_sequential - aggregated,
        "analyze_fixed_s": after_fixed - after_sequential,
        "total_s": after_sequential - started,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="maia-bench-arms-") as folder:
        logs = {k: Path(folder) / f"arms{k}.jsonl" for k in (2, 5)}
        for k, path in logs.items():
            write_log(path, k, args.lines, args.seed)
        runs: dict[int, list[dict[str, float]]] = {2: [], 5: []}
        for _ in range(args.runs):
            for k, path in logs.items():  # interleaved: load from elsewhere falls on both
                runs[k].append(one_run(path, k))
    medians = {k: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
               for k, rs in runs.items()}  # fmt: skip
    result: dict[str, Any] = {
        "lines": args.lines,
        "runs": args.runs,
        "medians": {str(k): v for k, v in medians.items()},
        "ratio_total_5_to_2": medians[5]["total_s"] / medians[2]["total_s"],
    }
    print(f"{args.lines:,} lines, median of {args.runs} interleaved runs (seconds):")
    print(f"{'arms':>4} {'aggregate':>10} {'sequential':>11} {'fixed':>8} {'total':>8}")
    for k, m in medians.items():
        print(f"{k:>4} {m['aggregate_s']:>10.3f} {m['analyze_sequential_s']:>11.4f} "
              f"{m['analyze_fixed_s']:>8.3f} {m['total_s']:>8.3f}")  # fmt: skip
    print(f"5 arms / 2 arms (aggregate + sequential analysis): {result['ratio_total_5_to_2']:.2f}x")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
