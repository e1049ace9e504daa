"""`maia doctor` and `maia exp analyze` report log and score lines that break the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.core.assign import arm

from conftest import new_exp
from helpers import snapshot

GOOD = '{{"ts":"2026-01-01T00:00:00Z","user_id":"{u}","arm":"{a}","success":true}}\n'


@pytest.fixture
def logged(ws: Path, maia) -> Path:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    shard = ws / "experiments" / exp_id / "interactions" / "other-runtime.jsonl"
    shard.parent.mkdir(parents=True)
    good = [GOOD.format(u=f"u{i}", a=arm(exp_id, f"u{i}")) for i in range(3)]
    shard.write_bytes(
        "".join(good).encode()
        + b"".join(
            [
                b'{"ts":"2026-01-01T00:00:00Z","user_id":"x","arm":"control","success":NaN}\n',
                b"\xff\xfe not utf-8\n",
                b'{"ts":"2026-01-01T00:00:00Z","user_id":"y","arm":"control","success":true,'
                b'"quality_score":150}\n',
                b'{"ts":"2026-01-01T00:00:00Z","user_id":"z","ar',  # a torn last line
            ]
        )
    )
    return ws


def test_doctor_names_each_bad_line_by_file_and_line(logged: Path, maia) -> None:
    snap = snapshot(logged)
    result = maia("doctor", "--json", cwd=logged)
    assert result.code == 1
    wheres = [p["where"] for p in json.loads(result.out)["problems"] if p["check"] == "logs"]
    shard = "experiments/exp_001/interactions/other-runtime.jsonl"
    assert wheres == [f"{shard}:4", f"{shard}:5", f"{shard}:6", f"{shard}:7"]
    assert snapshot(logged) == snap


def test_analysis_counts_the_good_lines_and_reports_the_bad(logged: Path, maia) -> None:
    data = json.loads(maia("exp", "analyze", "exp_001", "--json", cwd=logged).out)
    assert data["control"]["n"] + data["treatment"]["n"] == 3
    assert data["invalid_lines"] == 4
    errors = {p["line"]: p["error"] for p in data["problems"]}
    assert "NaN" in errors[4] and "UTF-8" in errors[5] and "quality_score" in errors[6]
    assert 7 in errors


def test_doctor_reports_stray_files_and_bad_score_lines(ws: Path, maia) -> None:
    (ws / "experiments/ghost/interactions").mkdir(parents=True)
    (ws / "experiments/ghost/interactions/w.jsonl").write_text("{}\n")
    (ws / "scores/helper").mkdir(parents=True)
    (ws / "scores/helper/2026-01.jsonl").write_text('{"overall": "high"}\n')
    result = maia("doctor", "--json", cwd=ws)
    problems = json.loads(result.out)["problems"]
    assert result.code == 1
    assert any(p["where"] == "experiments/ghost/interactions" for p in problems)
    assert any(
        p["check"] == "scores" and p["where"] == "scores/helper/2026-01.jsonl:1" for p in problems
    )
