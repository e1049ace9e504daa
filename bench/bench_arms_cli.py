"""`maia exp analyze` of a 5-arm experiment against a 2-arm one, 1,000,000 lines each: cold, warm.

    python bench/bench_arms_cli.py [--lines 1000000] [--runs 3] [--seed S] [--out FILE]

Builds one workspace in a temporary git repository with two experiments, a control and one
treatment, and a control and four treatments (equal shares), each with a committed, seeded log
of ``--lines`` valid lines from ``--lines / 10`` users (every line's arm the user's assignment;
success, quality, tokens and latency on every line). Then times the whole command,
``maia exp analyze ID --json`` as a process, interleaved round-robin after a warm-up round:

- cold: ``.git/maia-cache`` removed before each run (every shard read and folded);
- warm: the cache as that experiment's cold run left it (the stored result of these shards);
- ``python -c pass``, so that "beyond process start" can be reported.

It checks that both analyses counted every line, and prints each median and the 5-arm / 2-arm
ratio, cold and warm. (``bench_arms.py`` times the library's fold alone, in one process.)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_analyze import PY, Run, environment, interleaved, median, median_cpu, run  # noqa: E402

from maia_git.core.assign import assign_many  # noqa: E402

TREATMENTS = {2: ["treatment"], 5: [f"treatment_{i}" for i in range(1, 5)]}


def write_log(path: Path, exp_id: str, k: int, lines: int, seed: int) -> None:
    """``lines`` valid interactions of ``lines // 10`` users over May 2024, every arm at 50%
    completion but the last treatment at 55%."""
    from maia_git.core.assign import Arms

    rng = random.Random(seed)
    users = [f"user-{i:07d}" for i in range(max(lines // 10, 1))]
    names = ("control", *TREATMENTS[k])
    split = 0.5 if k == 2 else Arms(names, tuple([1 / k] * k))
    arm_of = dict(assign_many(exp_id, users, split))
    start, step = datetime(2024, 5, 1, tzinfo=UTC), timedelta(days=31) / lines
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        for i in range(lines):
            user = users[rng.randrange(len(users))]
            arm = arm_of[user]
            rate = 0.55 if arm == names[-1] else 0.5
            success = "true" if rng.random() < rate else "false"
            ts = (start + step * i).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            quality, tokens = rng.randrange(400, 1001) / 10, rng.randrange(50, 3000)
            file.write(
                f'{{"ts":"{ts}","user_id":"{user}","arm":"{arm}","success":{success},'
                f'"quality_score":{quality},"tokens":{tokens},'
                f'"latency_ms":{rng.randrange(1000, 90000) / 10}}}\n'
            )  # fmt: skip


def make_workspace(top: Path, env: dict[str, str], lines: int, seed: int) -> dict[int, str]:
    """The workspace; returns each arm count's experiment id."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(top)], check=True, env=env)
    (top / "agents").mkdir()
    prompts = ["helper.md", *(f"helper_v{i}.md" for i in range(2, 6))]
    for name in prompts:
        (top / "agents" / name).write_text(f"You are {name}.\n", encoding="utf-8")
    maia = [PY, "-m", "maia_git"]
    run([*maia, "init"], top, env)
    ids = {}
    for offset, k in enumerate((2, 5)):
        treatments = [a for p in prompts[1:k] for a in ("--treatment", f"agents/{p}")]
        run([*maia, "exp", "new", f"{k} arms", "--agent", f"a{k}", "--control",
             "agents/helper.md", *treatments], top, env)  # fmt: skip
        ids[k] = f"exp_{offset + 1:03d}"
        log = top / "experiments" / ids[k] / "interactions" / "bench.jsonl"
        write_log(log, ids[k], k, lines, seed + k)
    subprocess.run(["git", "-c", "core.looseCompression=0", "add", "-A"], cwd=top, env=env,
                   check=True)  # fmt: skip
    subprocess.run(["git", "commit", "-q", "-m", "bench logs"], cwd=top, env=env, check=True)
    return ids


def analyze(top: Path, env: dict[str, str], exp_id: str, cold: bool) -> Callable[[], Run]:
    def command() -> Run:
        if cold:
            shutil.rmtree(top / ".git" / "maia-cache", ignore_errors=True)
        return run([PY, "-m", "maia_git", "exp", "analyze", exp_id, "--json"], top, env)

    return command


def counted(result: Run) -> int:
    data = json.loads(result.stdout)
    arms = data["arms"] if "arms" in data else [data["control"], data["treatment"]]
    return sum(a["n"] for a in arms)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="maia-bench-arms-cli-") as folder:
        home, top = Path(folder) / "home", Path(folder) / "ws"
        home.mkdir()
        env = environment(home)
        ids = make_workspace(top, env, args.lines, args.seed)
        # The cache folder is shared, so each warm run follows its own experiment's cold one.
        commands: dict[str, Callable[[], Run]] = {
            f"{mode}_{k}": analyze(top, env, ids[k], mode == "cold")
            for k in (2, 5)
            for mode in ("cold", "warm")
        }
        commands["start"] = lambda: run([PY, "-c", "pass"], top, env)
        runs = interleaved(args.runs, **commands)
    for k in (2, 5):
        for mode in ("cold", "warm"):
            got = counted(runs[f"{mode}_{k}"][-1])
            if got != args.lines:
                raise SystemExit(f"{k} arms, {mode}: counted {got} of {args.lines} lines")
    medians = {name: median(rs) for name, rs in runs.items()}
    cpu = {name: median_cpu(rs) for name, rs in runs.items()}
    result: dict[str, Any] = {
        "lines": args.lines,
        "runs": args.runs,
        "median_s": medians,
        "median_cpu_s": cpu,
        "ratio_cold_5_to_2": medians["cold_5"] / medians["cold_2"],
        "ratio_warm_5_to_2": medians["warm_5"] / medians["warm_2"],
        "ratio_cold_5_to_2_cpu": cpu["cold_5"] / cpu["cold_2"],
        "ratio_warm_5_to_2_cpu": cpu["warm_5"] / cpu["warm_2"],
    }
    print(f"maia exp analyze --json, {args.lines:,} lines, median of {args.runs} interleaved "
          "runs (wall seconds; cpu seconds):")  # fmt: skip
    print(f"{'':>6} {'2 arms':>14} {'5 arms':>14} {'5 / 2 wall':>11} {'cpu':>6}")
    for mode in ("cold", "warm"):
        two, five = f"{mode}_2", f"{mode}_5"
        print(f"{mode:>6} {medians[two]:>7.3f} ({cpu[two]:.3f}) {medians[five]:>7.3f} "
              f"({cpu[five]:.3f}) {medians[five] / medians[two]:>10.2f}x "
              f"{cpu[five] / cpu[two]:>5.2f}x")  # fmt: skip
    print(f"process start (python -c pass): {medians['start']:.3f} s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
