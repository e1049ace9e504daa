"""bench/bench_arms_cli.py runs at a tiny size: every command analysed every line of both
experiments (the script checks the counts), and the report has each median and ratio. No
timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "bench_arms_cli.py"


def test_the_five_against_two_arms_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "arms.json"

    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--lines", "3000", "--runs", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["lines"] == 3000
    for mode in ("cold", "warm"):
        assert {f"{mode}_2", f"{mode}_5"} <= set(report["median_s"])
        assert report[f"ratio_{mode}_5_to_2"] > 0 and report[f"ratio_{mode}_5_to_2_cpu"] > 0
    assert "5 / 2 wall" in proc.stdout
