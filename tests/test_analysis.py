"""``maia exp analyze`` / ``maia exp plan`` and the analysis use case, on real git repositories."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from maia_git import stats
from maia_git.core.assign import assign_many
from maia_git.core.interaction import make_record, to_line
from maia_git.core.settings import Settings
from maia_git.stats import ArmStats
from maia_git.stats.users import UserTotals
from maia_git.storage import statcache
from maia_git.storage.jsonl import Appender
from maia_git.usecases import analysis
from maia_git.workspace import Workspace

from conftest import git, new_exp, run_cli
from helpers import snapshot

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Maia = Callable[..., Any]


def users(exp_id: str, side: str, count: int, start: int = 0) -> list[str]:
    """``count`` user ids that the assignment puts in ``side``."""
    names = (f"user-{i}" for i in range(start, start + 10 * count + 100))
    return [u for u, a in assign_many(exp_id, names) if a == side][:count]


def record(top: Path, exp_id: str, rows: list[dict[str, Any]], writer: str = "w1") -> Path:
    """Append one log line per row (keyword arguments of make_record) to a writer's shard."""
    path = top / "experiments" / exp_id / "interactions" / f"{writer}.jsonl"
    with Appender() as appender:
        for row in rows:
            appender.append(path, to_line(make_record(exp_id, now=NOW, **row)))
    return path


def arm_rows(exp_id: str, side: str, count: int, rate: float, start: int = 0,
             **extra: Any) -> list[dict[str, Any]]:  # fmt: skip
    """``count`` interactions of distinct users in ``side``, the first ``rate`` share succeeding,
    with quality scores 60..79 (so that the quality test has spread)."""
    wins = round(count * rate)
    return [{"user_id": u, "success": i < wins, "quality_score": 60 + i % 20, "tokens": 100 + i,
             "latency_ms": 250.5, **extra}
            for i, u in enumerate(users(exp_id, side, count, start))]  # fmt: skip


def commit_logs(top: Path) -> None:
    git(top, "add", "-A", "--", "experiments")
    git(top, "commit", "-q", "-m", "logs")


def analyze_json(maia: Maia, top: Path, exp_id: str, *extra: str) -> dict[str, Any]:
    result = maia("exp", "analyze", exp_id, "--json", *extra, cwd=top)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def expected(rows: list[dict[str, Any]]) -> ArmStats:
    return ArmStats.from_records([{**r, "success": r["success"]} for r in rows])


# ---- the numbers ----


def test_json_has_every_field_and_the_arms_match_the_lines(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    control, treatment = (
        arm_rows(exp_id, "control", 60, 0.4),
        arm_rows(exp_id, "treatment", 50, 0.5),
    )
    record(ws, exp_id, control + treatment)

    data = analyze_json(maia, ws, exp_id)

    for name in ("experiment_id", "method", "control", "treatment", "lift", "lift_ci", "p_value",
                 "quality_p_value", "srm_p_value", "decision", "reasons", "invalid_lines",
                 "problems", "duplicate_lines", "status", "name"):  # fmt: skip
        assert name in data
    assert data["experiment_id"] == exp_id and data["method"] == "sequential"
    for side, rows in (("control", control), ("treatment", treatment)):
        arm = data[side]
        assert (arm["n"], arm["successes"]) == (len(rows), sum(r["success"] for r in rows))
        assert arm["users"] == len({r["user_id"] for r in rows})
        assert arm["sums"] == expected(rows).to_dict()["sums"]
        assert arm["rate"] == pytest.approx(arm["successes"] / arm["n"])
        qualities = [r["quality_score"] for r in rows]
        assert arm["quality_mean"] == pytest.approx(statistics.fmean(qualities), rel=1e-12)
        assert arm["tokens_mean"] == pytest.approx(statistics.fmean(r["tokens"] for r in rows))
        assert arm["latency_mean"] == pytest.approx(250.5)
    assert data["lift"] == pytest.approx(0.5 / 0.4 - 1)
    settings = Workspace.find(ws).settings.analysis(0.5)  # maia.yaml's
    want = stats.analyze(exp_id, expected(control), expected(treatment), settings).to_dict()
    for name in ("p_value", "quality_p_value", "srm_p_value", "lift_ci", "decision"):
        assert data[name] == pytest.approx(want[name])
    assert data["reasons"] == want["reasons"]
    assert (data["invalid_lines"], data["problems"], data["status"]) == (0, [], "draft")


def _decision(maia: Maia, ws: Path, control: float, treatment: float, n: int) -> dict[str, Any]:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", n, control)
           + arm_rows(exp_id, "treatment", n, treatment))  # fmt: skip
    return analyze_json(maia, ws, exp_id)


def test_a_clear_winner_is_promoted(ws: Path, maia: Maia) -> None:
    data = _decision(maia, ws, 0.3, 0.7, 300)

    assert (data["decision"], data["reasons"]) == ("promote", [])
    assert data["p_value"] < 0.001 and data["lift_ci"][0] > 0.15


def test_too_few_interactions_keep_it_running_and_say_why(ws: Path, maia: Maia) -> None:
    data = _decision(maia, ws, 0.3, 0.7, 12)

    assert data["decision"] == "keep_running"
    assert [r["code"] for r in data["reasons"]][:2] == ["min_samples", "min_samples"]
    assert "12 of 30" in data["reasons"][0]["message"]


def test_a_clearly_worse_treatment_stops_with_no_winner(ws: Path, maia: Maia) -> None:
    data = _decision(maia, ws, 0.7, 0.3, 300)

    assert data["decision"] == "stop_no_winner"
    assert "no_winner" in [r["code"] for r in data["reasons"]]


def test_fixed_trusts_one_look_that_sequential_does_not(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", 200, 0.40)
           + arm_rows(exp_id, "treatment", 200, 0.55))  # fmt: skip

    fixed = analyze_json(maia, ws, exp_id, "--method", "fixed")
    sequential = analyze_json(maia, ws, exp_id)

    assert (fixed["method"], sequential["method"]) == ("fixed", "sequential")
    assert fixed["lift"] == sequential["lift"]
    assert fixed["p_value"] < 0.05 <= sequential["p_value"]
    assert sequential["lift_ci"][0] < fixed["lift_ci"][0] < fixed["lift_ci"][1] < sequential[
        "lift_ci"][1]  # fmt: skip
    assert (fixed["decision"], sequential["decision"]) == ("promote", "keep_running")
    assert [r["code"] for r in sequential["reasons"]] == ["not_significant"]


def test_the_default_method_comes_from_maia_yaml(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    settings = (ws / "maia.yaml").read_text(encoding="utf-8")
    (ws / "maia.yaml").write_text(settings.replace("method: sequential", "method: fixed"),
                                  encoding="utf-8")  # fmt: skip

    assert analyze_json(maia, ws, exp_id)["method"] == "fixed"


def test_no_logs_yet_is_a_result_not_an_error(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)

    data = analyze_json(maia, ws, exp_id)
    text = maia("exp", "analyze", exp_id, cwd=ws)

    assert (data["control"]["n"], data["treatment"]["n"], data["shards"]) == (0, 0, 0)
    assert data["decision"] == "keep_running"
    assert {r["code"] for r in data["reasons"]} >= {"min_samples", "empty_arm"}
    assert text.code == 0 and "no interaction logs yet" in text.out


def test_a_completed_experiment_is_analysed_and_nothing_changes(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    for command in ("start", "complete"):
        assert maia("exp", command, exp_id, cwd=ws).code == 0
    record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    commit_logs(ws)
    before = snapshot(ws)

    data = analyze_json(maia, ws, exp_id)

    assert (data["status"], data["control"]["n"]) == ("completed", 40)
    assert snapshot(ws) == before  # the cache lives in .git, outside the snapshot


@pytest.mark.parametrize("exp_id", ["exp_999", "Bad Id", "../x"])
def test_an_unknown_or_invalid_id_exits_2_with_one_line(ws: Path, maia: Maia, exp_id: str) -> None:
    result = maia("exp", "analyze", exp_id, cwd=ws)

    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


# ---- bad and repeated lines ----


def test_bad_lines_are_reported_with_file_and_line_and_never_counted(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    good = arm_rows(exp_id, "control", 30, 0.5) + arm_rows(exp_id, "treatment", 30, 0.5)
    path = record(ws, exp_id, good[:20])
    c_user, t_user = good[0]["user_id"], good[30]["user_id"]
    ok = to_line(make_record(exp_id, c_user, success=True, now=NOW)).strip()
    bad = [
        b'{"ts": "2024-05-01T12:00:00Z", "user_id": "x", "arm"',  # invalid JSON
        ok[:-1].encode() + b',"quality_score":NaN}',
        ok.replace(c_user, "caf\xe9").encode("latin-1"),  # invalid UTF-8
        ok.replace('"arm":"control"', '"arm":"treatment"').encode(),  # wrong arm
        ok[:-1].encode() + b',"quality_score":150}',
        ok.replace(f'"user_id":"{c_user}",', "").encode(),  # no user_id
    ]
    with path.open("ab") as file:
        file.write(b"\n".join(bad) + b"\n")
    record(ws, exp_id, good[20:])
    with path.open("ab") as file:
        file.write(to_line(make_record(exp_id, t_user, success=True, now=NOW))[:40].encode())

    data = analyze_json(maia, ws, exp_id)
    text = maia("exp", "analyze", exp_id, cwd=ws).out

    rel = f"experiments/{exp_id}/interactions/w1.jsonl"
    assert data["invalid_lines"] == 7
    assert [(p["file"], p["line"]) for p in data["problems"]] == [
        (rel, n) for n in (*range(21, 27), 67)
    ]
    errors = [p["error"] for p in data["problems"]]
    for word, error in zip(("invalid JSON", "NaN", "UTF-8", "assignment", "0 to 100",
                            "user_id", "torn"), errors, strict=True):  # fmt: skip
        assert word in error
    assert (data["control"]["n"], data["treatment"]["n"]) == (30, 30)
    assert f"{rel}:21: invalid JSON" in text and f"{rel}:25:" in text
    assert "7 invalid line(s), not counted" in text


def test_a_repeated_interaction_id_counts_once_across_shards(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    rows = arm_rows(exp_id, "control", 10, 1.0)
    record(ws, exp_id, [{**r, "interaction_id": f"i{i}"} for i, r in enumerate(rows)], "a")
    record(ws, exp_id, [{**r, "interaction_id": f"i{i % 4}", "success": False}
                        for i, r in enumerate(rows)], "a")  # fmt: skip
    record(ws, exp_id, [{**r, "interaction_id": f"i{i + 5}", "success": False}
                        for i, r in enumerate(rows)], "b")  # fmt: skip
    commit_logs(ws)

    for _ in range(2):  # read, then from the cache
        data = analyze_json(maia, ws, exp_id)
        # Every copy has the same ts, so the copy that counts is a failure (false sorts first,
        # core/repeats.py): of i0..i14 only i4, never repeated, is a success.
        assert (data["control"]["n"], data["control"]["successes"]) == (15, 1)
        assert data["duplicate_lines"] == 15


# ---- the cache ----


def _forge_results(top: Path, control_n: int) -> int:
    """Rewrite every cached result of a set of shards to claim ``control_n`` control users."""
    count = 0
    for path in (top / ".git" / statcache.FOLDER).glob("*.json"):
        data = json.loads(path.read_bytes())
        if "report" in data:
            arm = ArmStats.from_records({"user_id": f"f{i}", "success": False}
                                        for i in range(control_n))  # fmt: skip
            data["arms"]["control"] = {"sums": arm.to_dict()["sums"]}
            path.write_text(json.dumps(data), encoding="utf-8")
            count += 1
    return count


def _forge_shards(top: Path, control_n: int) -> int:
    """Rewrite every cached shard's per-user totals to hold ``control_n`` control users, and
    drop the results of sets of shards (so that the shards' entries are used)."""
    count = 0
    folder = top / ".git" / statcache.FOLDER
    for path in folder.glob("*.json"):
        if "report" in json.loads(path.read_bytes()):
            path.unlink()
    for path in folder.glob("*.users"):
        forged = UserTotals()
        for i in range(control_n):
            forged.add_record(f"f{i}", False)
        path.write_bytes(statcache._pack([forged, statcache._unpack(path.read_bytes(), 2)[1]]))
        count += 1
    return count


def test_an_unchanged_committed_shard_is_not_read_again(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    record(ws, exp_id, arm_rows(exp_id, "treatment", 30, 0.5), "w2")
    commit_logs(ws)

    first = analyze_json(maia, ws, exp_id)
    second = analyze_json(maia, ws, exp_id)
    assert (first["shards_read"], second["shards_read"]) == (2, 0)
    assert {k: v for k, v in first.items() if k != "shards_read"} == {
        k: v for k, v in second.items() if k != "shards_read"
    }

    # Proof that the files are not read: a forged entry is believed while they stay unchanged,
    # first the result of the whole set of shards, then (without it) each shard's totals.
    assert _forge_results(ws, 7) == 1
    assert analyze_json(maia, ws, exp_id)["control"]["users"] == 7
    assert _forge_shards(ws, 7) == 2
    forged = analyze_json(maia, ws, exp_id)
    # the same 7 forged users in both shards: merged per user, not counted twice
    control = forged["control"]
    assert (control["users"], control["n"], forged["shards_read"]) == (7, 14, 0)


def test_a_changed_shard_is_read_again_and_only_it(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    record(ws, exp_id, arm_rows(exp_id, "treatment", 30, 0.5), "w2")
    commit_logs(ws)
    analyze_json(maia, ws, exp_id)
    _forge_shards(ws, 7)

    record(ws, exp_id, arm_rows(exp_id, "treatment", 5, 0.5, start=5000), "w2")
    dirty = analyze_json(maia, ws, exp_id)
    commit_logs(ws)
    pushed = analyze_json(maia, ws, exp_id)

    assert dirty["shards_read"] == 1 and pushed["shards_read"] == 1
    assert (pushed["control"]["n"], pushed["treatment"]["n"]) == (7, 35)  # w1 still forged


def test_a_corrupt_cache_is_ignored(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    commit_logs(ws)
    first = analyze_json(maia, ws, exp_id)
    entries = list((ws / ".git" / statcache.FOLDER).glob("*.json"))
    assert entries

    for garbage in (b"\x00\xff garbage", b'{"format": 1}', b"[]"):
        for path in entries:
            path.write_bytes(garbage)
        again = analyze_json(maia, ws, exp_id)
        assert (again["control"], again["shards_read"]) == (first["control"], 1)


def test_an_uncommitted_shard_is_analysed_and_read_each_time(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    shard = record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    # Just written, however slow this machine is: its modification time stays in the future of
    # both analyses, where a write in the same clock tick could still change the file unseen.
    # (Written "now", a loaded machine can take the two seconds of that window to analyse.)
    later = time.time_ns() + 3_600 * 10**9
    os.utime(shard, ns=(later, later))

    reads = [analyze_json(maia, ws, exp_id)["shards_read"] for _ in range(2)]

    assert reads == [1, 1]


def test_analysis_needs_no_lock_and_reads_no_scipy(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(ws, exp_id, arm_rows(exp_id, "control", 40, 0.5))
    code = ("import sys; from maia_git.cli.main import main; rc = main(['exp', 'analyze', "
            f"'{exp_id}', '--json']); print('scipy' in sys.modules, rc)")  # fmt: skip
    lock = ws / ".git" / "maia.lock"
    hold = ("import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
            "lock.acquire(); print('held', flush=True); time.sleep(3600)")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        env = {**os.environ, "MAIA_LOCK_TIMEOUT": "0"}
        proc = subprocess.run([sys.executable, "-c", code], cwd=ws, capture_output=True,
                              text=True, timeout=600, env=env)  # fmt: skip
        writer = run_cli(["exp", "start", exp_id], ws, env=env)
    finally:
        holder.kill()
        holder.wait()

    assert proc.stdout.strip().splitlines()[-1] == "False 0", proc.stderr
    assert writer.returncode == 75  # the lock was really held


# ---- the library ----


def test_arm_stats_and_analyze_experiment_for_other_code(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    control, treatment = (
        arm_rows(exp_id, "control", 35, 0.4),
        arm_rows(exp_id, "treatment", 35, 0.6),
    )
    record(ws, exp_id, control + treatment)
    workspace = Workspace.find(ws)

    got_c, got_t, logs = analysis.arm_stats(workspace, exp_id)
    result = analysis.analyze_experiment(workspace, exp_id, "fixed")

    assert (got_c.n, got_c.successes, got_t.n, got_t.successes) == (35, 14, 35, 21)
    assert (got_c.users, got_t.users) == (35, 35)
    assert got_c.quality.num == pytest.approx(expected(control).quality.num)
    assert (logs.invalid_lines, logs.problems, logs.shards) == (0, (), 1)
    assert result.analysis.control == got_c and result.decision == result.to_dict()["decision"]
    assert result.analysis.settings.method == "fixed"
    json.dumps(result.to_dict(), allow_nan=False)


# ---- plan ----


def test_plan_gives_both_methods_numbers(tmp_path: Path, maia: Maia) -> None:
    result = maia("exp", "plan", "--baseline", "0.4", "--mde", "0.2", "--json", cwd=tmp_path)
    text = maia("exp", "plan", "--baseline", "0.4", "--mde", "0.2", cwd=tmp_path)

    assert result.code == 0, result.err
    data = json.loads(result.out)
    want = stats.plan(0.4, 0.2, 0.05, 0.8, Settings().sequential_tuning)
    assert (data["fixed_per_arm"], data["sequential_per_arm"]) == (
        want.fixed_per_arm,
        want.sequential_per_arm,
    )
    assert data["sequential_per_arm"] > data["fixed_per_arm"] > 0
    assert f"fixed horizon (one planned look):     {want.fixed_per_arm:,} per arm" in text.out
    assert f"{want.sequential_per_arm:,} per arm" in text.out
    rule = data["rule"]
    assert rule["method"] == "sequential" and rule["users_per_arm"] > 0
    assert "under the whole rule" in text.out and "(simulated)" in text.out


def test_plan_takes_alpha_and_power(ws: Path, maia: Maia) -> None:
    result = maia("exp", "plan", "--baseline", "0.5", "--mde", "-0.1", "--alpha", "0.01",
                  "--power", "0.9", "--json", cwd=ws)  # fmt: skip

    data = json.loads(result.out)
    assert data["fixed_per_arm"] == stats.plan(0.5, -0.1, 0.01, 0.9).fixed_per_arm
    assert (data["alpha"], data["power"]) == (0.01, 0.9)


@pytest.mark.parametrize("args", [
    ["--baseline", "abc", "--mde", "0.2"],
    ["--baseline", "0.4"],
    ["--mde", "0.2"],
    ["--baseline", "1.5", "--mde", "0.2"],
    ["--baseline", "0.4", "--mde", "0"],
    ["--baseline", "0.6", "--mde", "1"],
    ["--baseline", "nan", "--mde", "0.2"],
    ["--baseline", "0.4", "--mde", "0.2", "--power", "1"],
    ["--baseline", "0.4", "--mde", "0.2", "--alpha", "-0.05"],
])  # fmt: skip
def test_plan_refuses_bad_input_in_one_line(tmp_path: Path, maia: Maia, args: list[str]) -> None:
    result = maia("exp", "plan", *args, cwd=tmp_path)

    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_analyze_runs_as_a_real_process(ws: Path, maia: Maia) -> None:
    exp_id = new_exp(maia, ws)
    record(
        ws, exp_id, arm_rows(exp_id, "control", 40, 0.5) + arm_rows(exp_id, "treatment", 40, 0.6)
    )

    proc = run_cli(["exp", "analyze", exp_id], ws, env={"NO_COLOR": "1"})

    assert proc.returncode == 0, proc.stderr
    for text in ("ARM", "control", "treatment", "lift:", "p-value:", "decision: keep_running",
                 "sample ratio:", "method:       sequential"):  # fmt: skip
        assert text in proc.stdout
    assert "\x1b[" not in proc.stdout
