"""The benchmark suite runs end to end in its small mode and reports every row with numbers.

These tests check structure and bookkeeping, never timings: a loaded machine must not fail them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from _common import ratio_row  # noqa: E402
from run import external_rows  # noqa: E402

# Every row the suite's own parts produce in --quick mode (growth runs 10 and 100 experiments,
# recording races 4 processes).
OWN_ROWS = {
    "cli.help": "ms",
    "cli.assign": "ms",
    "cli.help.imports": "modules",
    "cli.assign.imports": "modules",
    "transition": "ms",
    "growth.10": "ms",
    "growth.100": "ms",
    "growth.summary": "x",
    "assign": "users/s",
    "record.1": "records/s",
    "record.4": "records/s",
    "record.4.lost": "records",
    "runtime.get_prompt": "calls/s",
    "runtime.assign": "users/s",
    "runtime.assign_json": "users/s",
    "sync": "ms",
}
RATIO_ROWS = (
    "cli.help",
    "cli.assign",
    "transition",
    "assign",
    "record.1",
    "record.4",
    "runtime.get_prompt",
    "sync",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real ``python bench/run.py --quick`` run, shared by the checks below."""
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "latest.json"
    # Module-scoped, so set up before the per-test isolation: isolate this run by hand.
    env = {
        **os.environ,
        "HOME": str(folder),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(folder / ".gitconfig"),
        "XDG_CONFIG_HOME": str(folder),
    }
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.is_file(), proc.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    data["_stdout"], data["_code"] = proc.stdout, proc.returncode
    return data


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in report["rows"]}


def test_every_own_row_is_there_with_a_number(report: dict[str, Any]) -> None:
    rows = _rows(report)
    errors = {k: r["note"] for k, r in rows.items() if r["status"] == "ERROR"}
    assert not errors
    assert report["_code"] == 0
    for key, unit in OWN_ROWS.items():
        row = rows[key]
        assert row["unit"] == unit, key
        assert isinstance(row["value"], int | float), key
        assert row["status"] in ("PASS", "MISS", "INFO"), key


def test_ratio_rows_carry_baseline_ratio_and_a_consistent_verdict(report: dict[str, Any]) -> None:
    rows = _rows(report)
    for key in RATIO_ROWS:
        row = rows[key]
        assert row["baseline"] > 0, key
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=1e-2), key
        limit = float(row["target"].split()[1].rstrip("x"))
        within = row["ratio"] <= limit if row["target"].startswith("<=") else row["ratio"] >= limit
        assert row["status"] == ("PASS" if within else "MISS"), key


def test_correctness_rows_hold(report: dict[str, Any]) -> None:
    rows = _rows(report)
    assert rows["record.4.lost"]["value"] == 0  # 4 processes into one shard, nothing lost
    for key in ("cli.help.imports", "cli.assign.imports"):
        modules = rows[key]["extra"]["modules"]
        assert "click" in modules and "maia_git" in modules  # the check saw the real imports
        assert "scipy" not in modules and "git" not in modules
        assert rows[key]["value"] == 0


def test_machine_and_table(report: dict[str, Any]) -> None:
    machine = report["machine"]
    for key in ("nproc", "cpu", "python", "git", "loadavg_start", "loadavg_end"):
        assert machine[key], key
    assert report["quick"] is True
    assert report["command"].startswith("python bench/run.py --quick")
    for row in report["rows"]:  # the printed table holds the same rows as the JSON
        assert row["what"] in report["_stdout"]


def test_other_scripts_are_merged_or_named_as_absent(report: dict[str, Any]) -> None:
    rows = _rows(report)
    for name, script in (("analyze", "bench_analyze.py"), ("score", "bench_score.py")):
        mine = [r for k, r in rows.items() if k == name or k.startswith(f"{name}.")]
        assert mine, name
        if not (BENCH / script).is_file():
            assert [r["status"] for r in mine] == ["N/A"]
            assert "not available" in mine[0]["note"]
        else:
            assert all(r["status"] != "ERROR" for r in mine), mine


# --- the helpers, against values worked out by hand ------------------------------------------


def test_ratio_row_verdicts() -> None:
    assert ratio_row("a", "a", 30.0, "ms", 20.0, "b", at_most=1.5).status == "PASS"
    missed = ratio_row("a", "a", 31.0, "ms", 20.0, "b", at_most=1.5)
    assert (missed.status, missed.ratio, missed.target) == ("MISS", 1.55, "<= 1.5x")
    assert ratio_row("a", "a", 79.0, "users/s", 100.0, "b", at_least=0.8).status == "MISS"
    assert ratio_row("a", "a", 80.0, "users/s", 100.0, "b", at_least=0.8).status == "PASS"


def test_external_rows_accept_both_forms() -> None:
    (scored,) = external_rows("score", {"results": [{"case": "Score one", "us_per_call": 28.5}]})
    assert (scored.key, scored.value, scored.unit, scored.status) == (
        "score.score_one",
        28.5,
        "us_per_call",
        "INFO",
    )
    given = {
        "key": "cold",
        "what": "cold",
        "value": 900.0,
        "unit": "ms",
        "baseline": 300.0,
        "ratio": 3.0,
        "target": "<= 3x",
        "status": "pass",
        "peak_mb": 80,
    }
    (row,) = external_rows("analyze", {"rows": [given]})
    assert (row.key, row.status, row.ratio, row.extra) == (
        "analyze.cold",
        "PASS",
        3.0,
        {"peak_mb": 80},
    )
    (empty,) = external_rows("analyze", {"something": 1})
    assert empty.value is None and "no rows" in empty.note


def test_measure_reports_the_childs_own_peak_memory_and_exit_code() -> None:
    # Measured from a fresh, small interpreter: a forked child's peak can include its parent's
    # pages before exec, and a test worker is a large parent.
    probe = (
        "import sys; sys.path.insert(0, 'bench'); from _common import Cmd, measure\n"
        "grow = Cmd([sys.executable, '-c', "
        "\"b = bytearray(64 << 20); b[::4096] = b'x' * (16 << 10)\"])\n"
        "small = Cmd([sys.executable, '-c', 'raise SystemExit(3)'])\n"
        "big, done = measure(grow), measure(small)\n"
        "print(big.code, big.peak_rss_kb, done.code, done.peak_rss_kb)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    big_code, big_peak, small_code, small_peak = map(int, out)
    assert big_code == 0 and big_peak >= 64 * 1024
    assert small_code == 3 and small_peak < 64 * 1024
