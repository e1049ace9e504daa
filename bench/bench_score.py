"""Speed of the quality scorer: scoring in the library, scoring with the score kept, averaging.

    python bench/bench_score.py                       # table on stdout
    python bench/bench_score.py --out score.json      # and the numbers as JSON

Target: scoring one response takes well under a millisecond in the library. Each case
is timed with timeit, best of --repeat runs of --number calls (the best run is the one least
disturbed by the rest of the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maia_git.core.scoring import band_for, format_ts, score_response  # noqa: E402
from maia_git.storage import scores as store  # noqa: E402
from maia_git.usecases.init import settings_text  # noqa: E402
from maia_git.usecases.scores import average, evaluate  # noqa: E402
from maia_git.workspace import Workspace  # noqa: E402

# The example response of docs/scoring.md: every field perfect.
GUIDE: dict[str, Any] = {
    "status": "completed",
    "requirements": ["req1", "req2", "req3"],
    "addressed_requirements": ["req1", "req2", "req3"],
    "validation_performed": True,
    "edge_cases_considered": True,
    "tools_used": ["correct_tool_1", "correct_tool_2"],
    "expected_tools": ["correct_tool_1", "correct_tool_2"],
    "systematic_planning": True,
    "logical_breakdown": True,
    "explanation_quality": "excellent",
    "token_count": 500,
    "execution_time_seconds": 5.0,
}
# Every criterion loses something, so every feedback sentence is built.
FLAWED: dict[str, Any] = {
    "status": "partial",
    "requirements": ["req1", "req2", "req3"],
    "addressed_requirements": ["req1"],
    "validation_performed": False,
    "tools_used": ["correct_tool_1", "other_tool", "other_tool"],
    "expected_tools": ["correct_tool_1", "correct_tool_2"],
    "systematic_planning": True,
    "logical_breakdown": False,
    "explanation_quality": "poor",
    "token_count": 3000,
}
NOW = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)


def best_seconds(run: Callable[[], object], number: int, repeat: int) -> float:
    """Seconds per call of the fastest of `repeat` runs of `number` calls."""
    return min(timeit.Timer(run).repeat(repeat=repeat, number=number)) / number


def make_workspace(folder: Path) -> Workspace:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / "maia.yaml").write_bytes(settings_text())
    return Workspace.find(folder)


def fill_history(top: Path, months: int, per_month: int) -> None:
    """`per_month` scores of one agent in each of the last `months` months before NOW."""
    for i in range(months * per_month):
        when = NOW - timedelta(days=30 * months * i / (months * per_month))
        overall = float(50 + i % 50)
        store.append(
            top / ".git",
            {
                "ts": format_ts(when),
                "agent": "history",
                "response_id": f"r-{i}",
                "overall": overall,
                "criteria": {"task_completion": overall},
                "band": band_for(overall),
            },
            "bench",
        )


def cases(ws: Workspace, number: int) -> list[tuple[str, Callable[[], object], int]]:
    """(name, call, calls per run): slow cases run fewer calls."""
    counter = iter(range(10**9))
    return [
        ("score_response, guide example", lambda: score_response(GUIDE), number),
        ("score_response, flawed response", lambda: score_response(FLAWED), number),
        (
            "evaluate(save=False): rubric looked up",
            lambda: evaluate(ws, FLAWED, "helper", "r", now=NOW, save=False),
            number,
        ),
        (
            "evaluate(save=True): + append to the shard",
            lambda: evaluate(ws, FLAWED, "helper", f"r-{next(counter)}", now=NOW),
            number,
        ),
        ("average, 7 days", lambda: average(ws, "history", 7, now=NOW), max(1, number // 100)),
        ("average, 365 days", lambda: average(ws, "history", 365, now=NOW), max(1, number // 1000)),
    ]


def run(number: int, repeat: int, months: int, per_month: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = make_workspace(Path(tmp))
        fill_history(ws.top, months, per_month)
        for name, call, calls in cases(ws, number):
            seconds = best_seconds(call, calls, repeat)
            rows.append({"case": name, "us_per_call": round(seconds * 1e6, 2), "calls": calls})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best is kept")
    parser.add_argument("--months", type=int, default=12, help="months of stored history")
    parser.add_argument("--per-month", type=int, default=1000, help="stored scores per month")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args()

    rows = run(args.number, args.repeat, args.months, args.per_month)
    header = f"Python {platform.python_version()}, {os.cpu_count()} CPUs, best of {args.repeat}"
    print(header)
    print(f"history for the averages: {args.months} months x {args.per_month:,} scores")
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  {'µs/call':>10}  {'calls/run':>9}")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['us_per_call']:>10,.1f}  {r['calls']:>9,}")
    if args.out:
        result = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "repeat": args.repeat,
            "history": {"months": args.months, "per_month": args.per_month},
            "results": rows,
        }
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
