"""Quality scores wired in: `maia score eval | avg | report`, the shards on disk, the workspace's
rubric, bad input that changes nothing, and concurrent writers."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import maia_git
from maia_git.core.scoring import band_for, format_ts
from maia_git.storage import scores as store
from maia_git.usecases import scores
from maia_git.workspace import Workspace

from conftest import git
from helpers import snapshot

ROOT = str(Path(maia_git.__file__).parent.parent)

# The example response of the reference guide's scoring section: every field perfect, scores 100.
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
# Worked by hand from docs/scoring.md: task completion 100 - 10 (partial) - 15 - 15 = 60; tool
# accuracy 2/3 (one redundant call); response quality 50 (adequate); the rest 100. Overall
# 0.4 * 60 + 0.2 * 66.667 + 0.2 * 100 + 0.15 * 50 + 0.05 * 100 = 69.833.
FLAWED = {
    **GUIDE,
    "status": "partial",
    "validation_performed": False,
    "edge_cases_considered": False,
    "tools_used": ["correct_tool_1", "correct_tool_2", "extra_tool"],
    "explanation_quality": "adequate",
}
FLAWED_CRITERIA = {
    "task_completion": 60.0,
    "tool_accuracy": 66.67,
    "decomposition": 100.0,
    "response_quality": 50.0,
    "efficiency": 100.0,
}
NOW = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)
RECORD_KEYS = {"ts", "agent", "response_id", "overall", "criteria", "band"}
Maia = Callable[..., Any]


def _json_file(folder: Path, data: object, name: str = "response.json") -> str:
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _lines(path: Path) -> list[dict[str, Any]]:
    # An empty line can appear when two writers both end a line they judged torn; readers skip it.
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _put(top: Path, agent: str, response_id: str, when: datetime, overall: float) -> None:
    """A score line with a chosen time and overall, as `maia score eval` would have written it."""
    record = {
        "ts": format_ts(when),
        "agent": agent,
        "response_id": response_id,
        "overall": overall,
        "criteria": {"task_completion": overall},
        "band": band_for(overall),
    }
    store.append(top / ".git", record, "test-writer")


def _pending(top: Path, agent: str, month: str, writer: str = "test-writer") -> Path:
    """Where a writer's unsynced scores of one agent and month are appended."""
    return top / ".git/maia/pending/scores" / agent / month / f"{writer}.jsonl"


def _pending_months(top: Path) -> list[str]:
    root = top / ".git/maia/pending"
    return sorted(p.parent.relative_to(root).as_posix() for p in root.glob("scores/*/*/*.jsonl"))


def _maia_process(top: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run(
        [sys.executable, "-m", "maia_git", *args],
        cwd=top,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


# --- eval -----------------------------------------------------------------------------------


def test_eval_from_a_file_prints_the_score_and_appends_one_line(
    ws: Path, maia: Maia, tmp_path: Path
) -> None:
    source = _json_file(tmp_path, FLAWED)
    before = datetime.now(UTC)

    result = maia("score", "eval", source, "--agent", "helper", "--response-id", "r-001", cwd=ws)

    after = datetime.now(UTC)
    assert result.code == 0, result.err
    assert "helper r-001: 69.83 (acceptable)" in result.out
    assert "tool_accuracy     66.67" in result.out
    assert "Task completion lost 4 points: status is 'partial', not 'completed'." in result.out
    assert "Tool accuracy lost 6.67 points: redundant tool calls (extra_tool)." in result.out
    shards = list((ws / ".git/maia/pending/scores/helper").glob("*/*.jsonl"))
    assert len(shards) == 1
    [line] = _lines(shards[0])
    assert set(line) == RECORD_KEYS
    assert (line["agent"], line["response_id"], line["band"]) == ("helper", "r-001", "acceptable")
    assert line["overall"] == 69.83
    assert line["criteria"] == FLAWED_CRITERIA
    when = datetime.fromisoformat(line["ts"])
    assert before - timedelta(milliseconds=1) <= when <= after
    assert shards[0] == _pending(ws, "helper", line["ts"][:7])
    assert f"saved for scores/helper/{line['ts'][:7]}/test-writer" in result.out
    assert not (ws / "scores" / "helper").exists()  # nothing in the tree until a sync


def test_eval_from_stdin_prints_json(ws: Path) -> None:
    done = _maia_process(
        ws,
        *("score", "eval", "-", "--agent", "helper", "--response-id", "guide example", "--json"),
        stdin=json.dumps(GUIDE),
    )

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["overall"] == 100.0 and data["band"] == "exceptional"
    assert data["criteria"] == dict.fromkeys(FLAWED_CRITERIA, 100.0)
    assert data["feedback"] == []
    assert data["saved_to"] == f"scores/helper/{data['ts'][:7]}/test-writer"
    [line] = _lines(_pending(ws, "helper", data["ts"][:7]))
    assert line["response_id"] == "guide example" and line["ts"] == data["ts"]


def test_eval_without_a_file_reads_stdin_and_no_save_changes_nothing(ws: Path) -> None:
    before = snapshot(ws)

    done = _maia_process(
        ws,
        *("score", "eval", "--agent", "helper", "--response-id", "r-1", "--no-save", "--json"),
        stdin=json.dumps(FLAWED),
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overall"] == 69.83
    assert json.loads(done.stdout)["saved_to"] is None
    assert snapshot(ws) == before


def test_quality_from_file_saves_the_score_and_returns_the_overall(
    ws: Path, tmp_path: Path
) -> None:
    source = _json_file(tmp_path, FLAWED)

    quality = scores.quality_from_file(Workspace.find(ws), source, "helper", "exp_001_u1", NOW)

    assert quality == 69.83
    [line] = _lines(_pending(ws, "helper", "2025-10"))
    assert (line["response_id"], line["ts"]) == ("exp_001_u1", "2025-10-03T12:00:00.000Z")


# --- the shards -----------------------------------------------------------------------------


def test_scores_are_sharded_by_the_utc_month_of_their_time(ws: Path) -> None:
    workspace = Workspace.find(ws)
    times = {
        "last-ms-of-october": datetime(2025, 10, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "first-of-november": datetime(2025, 11, 1, tzinfo=UTC),
        # 01:30 on 1 November at UTC+2 is still October in UTC.
        "east-of-utc": datetime(2025, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
    }
    for response_id, when in times.items():
        scores.evaluate(workspace, GUIDE, "helper", response_id, now=when)
    scores.evaluate(workspace, GUIDE, "writer", "w", now=datetime(2025, 12, 5, tzinfo=UTC))
    # Files that are not score shards.
    (ws / "scores" / "helper").mkdir(parents=True)
    (ws / "scores" / "helper" / "notes.txt").write_text("x\n", encoding="utf-8")
    (ws / "scores" / "helper" / "2025-13.jsonl").write_text("", encoding="utf-8")
    (ws / "scores" / "Not An Agent").mkdir()
    (ws / "scores" / "Not An Agent" / "2025-10.jsonl").write_text("", encoding="utf-8")

    october = _lines(_pending(ws, "helper", "2025-10"))
    november = _lines(_pending(ws, "helper", "2025-11"))
    assert [r["response_id"] for r in october] == ["last-ms-of-october", "east-of-utc"]
    assert [r["ts"] for r in october] == ["2025-10-31T23:59:59.999Z", "2025-10-31T23:30:00.000Z"]
    assert [r["response_id"] for r in november] == ["first-of-november"]
    assert _pending_months(ws) == [
        "scores/helper/2025-10",
        "scores/helper/2025-11",
        "scores/writer/2025-12",
    ]
    # After a sync the same scores are read from sealed segments in the tree.
    everything = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    before = store.read_scores(workspace.repo, *everything)
    from maia_git.usecases.sync import sync

    assert sync(workspace).lines == 4
    assert _pending_months(ws) == []
    after = store.read_scores(workspace.repo, *everything)
    assert after.records == before.records and len(after.records) == 4
    listed = git(ws, "ls-tree", "-r", "--name-only", "HEAD", "scores").split()
    committed = [f for f in listed if f.endswith(".jsonl")]
    assert len(committed) == 3
    assert all(f.startswith(("scores/helper/2025-1", "scores/writer/2025-12/")) for f in committed)


def test_appending_never_writes_through_the_working_tree(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / "scores" / "helper").symlink_to(outside)

    scores.evaluate(Workspace.find(ws), GUIDE, "helper", "r", now=NOW)

    assert list(outside.iterdir()) == []
    assert len(_lines(_pending(ws, "helper", "2025-10"))) == 1


# --- averages over a window -------------------------------------------------------------------


def test_average_counts_only_scores_inside_the_window(ws: Path) -> None:
    # Window (NOW - 7 days, NOW]: it starts in September and ends in October.
    _put(ws, "helper", "inside-1h-ago", NOW - timedelta(hours=1), 80)
    _put(ws, "helper", "inside-september", NOW - timedelta(days=6, hours=23), 60)
    _put(ws, "helper", "exactly-now", NOW, 100)
    _put(ws, "helper", "exactly-7-days-ago", NOW - timedelta(days=7), 0)
    _put(ws, "helper", "after-now", NOW + timedelta(seconds=1), 0)
    _put(ws, "helper", "8-days-ago", NOW - timedelta(days=8), 10)
    _put(ws, "writer", "other-agent", NOW - timedelta(hours=1), 0)

    result = scores.average(Workspace.find(ws), "helper", 7, now=NOW)

    assert (result.mean, result.count, result.problems) == ((80 + 60 + 100) / 3, 3, ())
    assert _pending(ws, "helper", "2025-09").is_file()
    wide = scores.average(Workspace.find(ws), "helper", 8.5, now=NOW)
    assert (wide.mean, wide.count) == (round((80 + 60 + 100 + 0 + 10) / 5, 2), 5)


def test_average_reads_only_the_months_its_window_touches(ws: Path) -> None:
    _put(ws, "helper", "now", NOW - timedelta(hours=1), 90)
    _put(ws, "helper", "january", datetime(2025, 1, 15, tzinfo=UTC), 50)
    with _pending(ws, "helper", "2025-01").open("a", encoding="utf-8") as file:
        file.write("{not json\n")
    with _pending(ws, "helper", "2025-10").open("a", encoding="utf-8") as file:
        file.write('{"ts": "yesterday"}\n')

    week = scores.average(Workspace.find(ws), "helper", 7, now=NOW)
    year = scores.average(Workspace.find(ws), "helper", 365, now=NOW)

    # The January shard's broken line is not even seen by a 7-day window.
    assert (week.mean, week.count) == (90, 1)
    assert week.problems == (
        ".git/maia/pending/scores/helper/2025-10/test-writer.jsonl:2: score record field 'ts' "
        "must be an RFC 3339 time with an "
        'offset, got "yesterday"; not counted',
    )
    assert (year.mean, year.count) == (70, 2)
    assert year.problems[0].startswith(
        ".git/maia/pending/scores/helper/2025-01/test-writer.jsonl:2: invalid JSON"
    )


def test_avg_command_prints_mean_and_count_or_says_there_are_none(ws: Path, maia: Maia) -> None:
    now = datetime.now(UTC)
    empty = maia("score", "avg", "--agent", "helper", cwd=ws)
    _put(ws, "helper", "a", now - timedelta(hours=2), 70)
    _put(ws, "helper", "b", now - timedelta(days=2), 85)
    _put(ws, "helper", "old", now - timedelta(days=20), 10)

    week = maia("score", "avg", "--agent", "helper", cwd=ws)
    month = maia("score", "avg", "--agent", "helper", "--days", "30", "--json", cwd=ws)

    assert (empty.code, empty.out) == (0, "helper: no scores in the last 7 days\n")
    assert (week.code, week.out) == (0, "helper: mean 77.5 over 2 scores in the last 7 days\n")
    data = json.loads(month.out)
    assert (data["mean"], data["count"], data["days"], data["problems"]) == (55, 3, 30, [])


def test_avg_warns_about_bad_lines_with_file_and_line(ws: Path, maia: Maia) -> None:
    now = datetime.now(UTC)
    _put(ws, "helper", "a", now - timedelta(minutes=1), 70)
    shard = _pending(ws, "helper", store.month_of(now - timedelta(minutes=1)))
    with shard.open("a", encoding="utf-8") as file:
        file.write('{"agent": "helper"}\n[1, 2]\n')

    result = maia("score", "avg", "--agent", "helper", cwd=ws)

    assert result.code == 0
    assert result.out == "helper: mean 70 over 1 score in the last 7 days\n"
    rel = shard.relative_to(ws).as_posix()
    assert f"maia: warning: {rel}:2: score record field 'ts'" in result.err
    assert f"maia: warning: {rel}:3: not a JSON object but list" in result.err


# --- report -----------------------------------------------------------------------------------


def _report_history(top: Path, now: datetime) -> None:
    day = timedelta(days=1)
    _put(top, "helper", "h-prev", now - 10 * day, 90)
    _put(top, "helper", "h-good", now - 3 * day, 70)
    _put(top, "helper", "h-poor", now - 2 * day, 50)
    _put(top, "writer", "w-prev", now - 8 * day, 85)
    _put(top, "writer", "w-now", now - day, 95)
    _put(top, "retired", "r-prev", now - 13 * day, 40)
    _put(top, "retired", "r-too-old", now - 15 * day, 40)


def test_report_gives_counts_means_trends_and_poor_scores(ws: Path) -> None:
    _report_history(ws, NOW)

    result = scores.report(Workspace.find(ws), 7, fail_under=65, now=NOW)

    rows = {a.agent: a for a in result.report.agents}
    assert list(rows) == ["helper", "retired", "writer"]
    helper, retired, writer = rows["helper"], rows["retired"], rows["writer"]
    assert (helper.count, helper.mean, helper.previous_mean) == (2, 60, 90)
    assert (helper.change, helper.trend, helper.failing) == (-30, "down", True)
    assert [r["response_id"] for r in helper.poor] == ["h-poor"]
    assert (writer.count, writer.mean, writer.change, writer.trend) == (1, 95, 10, "up")
    assert writer.failing is False
    assert (retired.count, retired.mean, retired.previous_count, retired.trend) == (
        0,
        None,
        1,
        "n/a",
    )
    assert retired.failing is False  # no scores in the window: nothing to fail
    assert result.report.failing == ("helper",)


def test_report_command_exits_1_under_fail_under_and_names_the_agent(ws: Path, maia: Maia) -> None:
    _report_history(ws, datetime.now(UTC))

    failing = maia("score", "report", "--fail-under", "65", cwd=ws)
    passing = maia("score", "report", "--fail-under", "60", cwd=ws)
    as_json = maia("score", "report", "--json", "--fail-under", "65", cwd=ws)

    assert failing.code == 1
    assert failing.err == "maia: mean below --fail-under 65: helper (mean 60)\n"
    assert "helper   2      60    90        -30     down   1" in failing.out
    assert "writer   1      95    85        +10     up     0" in failing.out
    assert "h-poor" in failing.out and "scores below 60 (poor), the latest 1 of 1:" in failing.out
    assert (passing.code, passing.err) == (0, "")
    assert as_json.code == 1
    data = json.loads(as_json.out)
    assert data["failing"] == ["helper"]
    assert [(a["agent"], a["mean"], a["trend"]) for a in data["agents"]] == [
        ("helper", 60, "down"),
        ("retired", None, "n/a"),
        ("writer", 95, "up"),
    ]
    assert data["agents"][0]["poor"][0]["overall"] == 50


def test_report_with_no_scores_and_bad_window_arguments(ws: Path, maia: Maia) -> None:
    empty = maia("score", "report", "--fail-under", "90", cwd=ws)
    zero_days = maia("score", "report", "--days", "0", cwd=ws)
    over_100 = maia("score", "report", "--fail-under", "150", cwd=ws)

    assert (empty.code, empty.out) == (0, "no scores in the last 14 days\n")
    assert zero_days.code == 2 and "days must be a number above 0" in zero_days.err
    assert over_100.code == 2 and "--fail-under must be a number 0-100" in over_100.err


# --- the rubric in maia.yaml ----------------------------------------------------------------


def _eval_json(maia: Maia, top: Path, source: str) -> dict[str, Any]:
    args = ("score", "eval", source, "--agent", "helper", "--response-id", "r", "--json")
    result = maia(*args, "--no-save", cwd=top)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def test_an_inline_rubric_in_maia_yaml_changes_the_score(
    ws: Path, maia: Maia, tmp_path: Path
) -> None:
    source = _json_file(tmp_path, FLAWED)
    default = _eval_json(maia, ws, source)
    with (ws / "maia.yaml").open("a", encoding="utf-8") as file:
        file.write("rubric:\n  weights:\n    task_completion: 50\n    response_quality: 50\n")

    custom = _eval_json(maia, ws, source)

    assert (default["overall"], default["band"]) == (69.83, "acceptable")
    # 0.5 * 60 + 0.5 * 50
    assert (custom["overall"], custom["band"]) == (55, "poor")
    assert custom["criteria"] == {"task_completion": 60, "response_quality": 50}


def test_a_rubric_file_named_in_maia_yaml_changes_the_score(
    ws: Path, maia: Maia, tmp_path: Path
) -> None:
    source = _json_file(tmp_path, GUIDE)
    (ws / "rubrics").mkdir()
    (ws / "rubrics" / "strict.yaml").write_text(
        "weights:\n  task_completion: 0.6\n  efficiency: 0.4\nbudgets:\n  token_count: 250\n",
        encoding="utf-8",
    )
    with (ws / "maia.yaml").open("a", encoding="utf-8") as file:
        file.write("rubric: rubrics/strict.yaml\n")

    custom = _eval_json(maia, ws, source)

    # 500 tokens is twice the 250 budget: the token half of efficiency earns 0, the time half 50.
    assert custom["criteria"] == {"task_completion": 100, "efficiency": 50}
    assert (custom["overall"], custom["band"]) == (0.6 * 100 + 0.4 * 50, "good")
    assert custom["feedback"] == [
        "Efficiency lost 20 points: used 500 tokens, over the budget of 250."
    ]


# --- bad input: a clear error, an exit code, nothing written ---------------------------------


def _settings_rubric(top: Path, text: str) -> str:
    """Append a rubric section to maia.yaml; return `maia.yaml:line:col` of where its value
    starts: the second line of `text`, at its first non-blank character after any `key: `."""
    settings = top / "maia.yaml"
    lines = settings.read_text(encoding="utf-8").splitlines()
    settings.write_text("\n".join([*lines, *text.splitlines()]) + "\n", encoding="utf-8")
    second = text.splitlines()[1]
    value = second.partition(": ")[2] or second.lstrip()
    return f"maia.yaml:{len(lines) + 2}:{len(second) - len(value) + 1}"


def _rubric_file(top: Path, text: str) -> str:
    (top / "rubrics").mkdir()
    (top / "rubrics" / "bad.yaml").write_text(text, encoding="utf-8")
    with (top / "maia.yaml").open("a", encoding="utf-8") as file:
        file.write("rubric: rubrics/bad.yaml\n")
    return "rubrics/bad.yaml"


BAD_RESPONSES = [
    ("invalid JSON", '{"status": "completed",', 2, ":1:24: invalid JSON: Expecting"),
    ("not an object", "[1, 2]", 2, "must be a JSON object, got [1, 2]"),
    ("wrong type", json.dumps({**GUIDE, "validation_performed": "yes"}), 2,
     "response field 'validation_performed' must be true or false, got \"yes\""),
    ("negative tokens", json.dumps({**GUIDE, "token_count": -5}), 2,
     "response field 'token_count' must be a whole number >= 0, got -5"),
    ("unknown explanation quality", json.dumps({**GUIDE, "explanation_quality": "superb"}), 2,
     "response field 'explanation_quality' must be one of excellent, good, adequate, poor"),
    ("NaN", '{"token_count": NaN}', 2, "invalid JSON: NaN is not a JSON number"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "code", "message"), BAD_RESPONSES)
def test_a_bad_response_description_is_refused_and_changes_nothing(
    ws: Path, maia: Maia, tmp_path: Path, case: str, text: str, code: int, message: str
) -> None:
    source = tmp_path / "response.json"
    source.write_text(text, encoding="utf-8")
    before = snapshot(ws)

    result = maia("score", "eval", str(source), "--agent", "helper", "--response-id", "r", cwd=ws)

    assert result.code == code, case
    assert message in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("maia: error: ")
    assert snapshot(ws) == before


BAD_RUBRICS: list[tuple[str, Callable[[Path], str], int, str]] = [
    ("weights off", lambda t: _settings_rubric(
        t, "rubric:\n  weights:\n    task_completion: 50\n    tool_accuracy: 30\n"),
     3, "rubric weights must add up to 100 (or to 1), got 80"),
    ("unknown criterion inline", lambda t: _settings_rubric(
        t, "rubric:\n  weights:\n    task_completion: 50\n    speed: 50\n"),
     3, "unknown criterion 'speed' in rubric weights"),
    ("zero weight inline", lambda t: _settings_rubric(
        t, "rubric:\n  weights:\n    task_completion: 100\n    efficiency: 0\n"),
     3, "rubric weight for 'efficiency' must be positive, got 0"),
    ("weights off in a file", lambda t: _rubric_file(
        t, "weights:\n  task_completion: 50\n  tool_accuracy: 30\n") + ":2:3",
     2, "rubric weights must add up to 100 (or to 1), got 80"),
    ("unknown criterion in a file", lambda t: _rubric_file(
        t, "budgets:\n  token_count: 10\nweights:\n  clarity: 100\n") + ":4:3",
     2, "unknown criterion 'clarity' in rubric weights"),
    ("broken YAML in a file", lambda t: _rubric_file(t, "weights: [1,\n") + ":2:1",
     2, ""),
]  # fmt: skip


@pytest.mark.parametrize(("case", "setup", "code", "message"), BAD_RUBRICS)
def test_a_bad_rubric_is_refused_with_its_place_and_changes_nothing(
    ws: Path,
    maia: Maia,
    tmp_path: Path,
    case: str,
    setup: Callable[[Path], str],
    code: int,
    message: str,
) -> None:
    source = _json_file(tmp_path, GUIDE)
    place = setup(ws)
    before = snapshot(ws)

    result = maia("score", "eval", source, "--agent", "helper", "--response-id", "r", cwd=ws)

    assert result.code == code, case
    assert result.err.startswith(f"maia: error: {place}: {message}"), result.err
    assert result.err.count("\n") == 1
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../outside.yaml", "rubric file '../outside.yaml' is outside the repository"),
        ("rubrics/missing.yaml", "rubric file 'rubrics/missing.yaml' does not exist"),
        (".git/config", "rubric must name a rubric file in the repository"),
    ],
)
def test_a_rubric_file_outside_the_repository_or_missing_is_the_settings_fault(
    ws: Path, maia: Maia, tmp_path: Path, name: str, message: str
) -> None:
    source = _json_file(tmp_path, GUIDE)
    (ws.parent / "outside.yaml").write_text("weights:\n  task_completion: 100\n", "utf-8")
    place = _settings_rubric(ws, f"# rubric\nrubric: {name}\n")
    before = snapshot(ws)

    result = maia("score", "eval", source, "--agent", "helper", "--response-id", "r", cwd=ws)

    assert result.code == 3
    assert result.err.startswith(f"maia: error: {place}: {message}"), result.err
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agent", "Helper!", "--response-id", "r"), "invalid agent name 'Helper!'"),
        (("--agent", "helper", "--response-id", "x" * 201), "use 1-200 printable characters"),
        (("--agent", "helper", "--response-id", "a\nb"), 'invalid response id "a\\nb"'),
        (("--agent", "helper", "--response-id", ""), 'invalid response id ""'),
    ],
)
def test_bad_agent_names_and_response_ids_are_refused_before_reading(
    ws: Path, maia: Maia, args: tuple[str, ...], message: str
) -> None:
    before = snapshot(ws)

    # The file does not exist: the names are checked first.
    result = maia("score", "eval", str(ws / "missing.json"), *args, cwd=ws)

    assert result.code == 2
    assert message in result.err
    assert snapshot(ws) == before


def test_a_missing_response_file_is_refused(ws: Path, maia: Maia) -> None:
    result = maia("score", "eval", "nope.json", "--agent", "helper", "--response-id", "r", cwd=ws)

    assert (result.code, result.err) == (
        2,
        "maia: error: response file 'nope.json' does not exist\n",
    )


def test_eval_refuses_to_wait_for_json_typed_on_a_terminal(ws: Path) -> None:
    main, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "maia_git",
                "score",
                "eval",
                "--agent",
                "a",
                "--response-id",
                "r",
            ],
            cwd=ws,
            env={**os.environ, "PYTHONPATH": ROOT},
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        os.close(main)
        os.close(terminal)

    assert done.returncode == 2
    assert "give a FILE, or pipe the JSON to stdin" in done.stderr


# --- many writers at once -----------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime, timedelta
    from maia_git.usecases.scores import evaluate
    from maia_git.workspace import Workspace

    top, name, count, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    import json
    data = json.loads(data)
    ws = Workspace.find(top)
    open(os.path.join(sys.argv[5], name), "w").close()
    while not os.path.exists(os.path.join(sys.argv[5], "go")):
        time.sleep(0.002)
    base = datetime(2025, 10, 31, 23, 0, tzinfo=UTC)
    for i in range(count):
        # Alternate between two months, so both shards take concurrent appends.
        evaluate(ws, data, "helper", f"{name}-{i}", now=base + timedelta(hours=i % 2 * 2))
    """
)


def test_16_concurrent_writers_keep_every_score_exactly_once(ws: Path, tmp_path: Path) -> None:
    writers, count = 16, 25
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ws), f"w{n}", str(count), json.dumps(FLAWED),
             str(gate)],
            env=env,
        )
        for n in range(writers)
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < writers and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    assert [p.wait(timeout=600) for p in procs] == [0] * writers

    loaded = store.read_scores(
        Workspace.find(ws).repo, NOW - timedelta(days=365), NOW + timedelta(days=365)
    )
    seen = Counter(r["response_id"] for r in loaded.records)
    assert loaded.problems == []
    assert seen == Counter(f"w{n}-{i}" for n in range(writers) for i in range(count))
    assert all(r["overall"] == 69.83 for r in loaded.records)
    october = _lines(_pending(ws, "helper", "2025-10"))
    assert len(october) == writers * ((count + 1) // 2)
    assert _pending_months(ws) == ["scores/helper/2025-10", "scores/helper/2025-11"]


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [(), ("eval",), ("avg",), ("report",)])
def test_every_score_command_has_help_with_an_example(
    ws: Path, maia: Maia, command: tuple[str, ...]
) -> None:
    result = maia("score", *command, "--help", cwd=ws)

    assert result.code == 0
    example = result.out.split("Example:")[1]
    assert f"maia score {command[0] if command else 'eval'}" in example
