"""`maia report` without a browser: the lift over time is the analysis at each cut-off, the quality
trend is `maia score avg` at the end of each day, hostile text is escaped, the output folder is
replaced only when it holds a report, and charts are the same bytes on every build.
(tests/test_report_browser.py opens the pages in Chromium.)"""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from maia_git.usecases import scores
from maia_git.usecases.analysis import analyze_experiment
from maia_git.usecases.report import gather, queue_with_reasons
from maia_git.usecases.timeline import lift_over_time
from maia_git.usecases.trend import WINDOWS, quality_trend
from maia_git.workspace import Workspace

from conftest import IDENTITY, Result, git, new_exp
from reportspace import HOSTILE_HYPOTHESIS, HOSTILE_NAME, make_workspace

pytest.importorskip("jinja2", reason="the report extra is not installed: pip install -e '.[test]'")
pytest.importorskip("matplotlib", reason="the report extra is not installed")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated workspace, made once for this module (read-only in the tests)."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    env = {**IDENTITY, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1", "MAIA_WRITER": "test-writer"}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        top = tmp_path_factory.mktemp("gen") / "workspace"
        make_workspace(top)
    yield top


def copy_of(top: Path, where: Path) -> Path:
    target = where / "copy"
    shutil.copytree(top, target, symlinks=True)
    return target


# ---- the lift over time ----


def test_last_point_is_the_analysis(generated: Path) -> None:
    ws = Workspace.find(generated)
    timeline = lift_over_time(ws, "exp_001")
    analysis = analyze_experiment(ws, "exp_001").to_dict()
    last = timeline.points[-1].to_dict()
    for arm in ("control", "treatment"):
        assert last[arm]["n"] == analysis[arm]["n"]
        assert last[arm]["successes"] == analysis[arm]["successes"]
        assert last[arm]["quality_mean"] == pytest.approx(analysis[arm]["quality_mean"], 1e-12)
    assert last["lift"] == pytest.approx(analysis["lift"], rel=1e-12)
    assert last["lift_ci"] == pytest.approx(analysis["lift_ci"], rel=1e-9)
    assert last["decision"] == analysis["decision"]


def test_points_grow_in_time_and_in_lines(generated: Path) -> None:
    points = [p.to_dict() for p in lift_over_time(Workspace.find(generated), "exp_001").points]
    assert 10 <= len(points) <= 24
    times = [p["until"] for p in points]
    assert times == sorted(times) and len(set(times)) == len(times)
    sizes = [p["control"]["n"] + p["treatment"]["n"] for p in points]
    assert all(a < b for a, b in itertools.pairwise(sizes))


def test_each_point_is_the_analysis_of_the_lines_up_to_its_time(
    generated: Path, tmp_path: Path
) -> None:
    # Independently: keep only the lines stamped up to a point's time, and analyse that.
    points = lift_over_time(Workspace.find(generated), "exp_002").points
    copy = copy_of(generated, tmp_path)
    log = copy / "experiments/exp_002/interactions/generated.jsonl"
    lines = log.read_text().splitlines()
    for point in (points[2], points[len(points) // 2]):
        cut = datetime.fromisoformat(point.until)
        kept = [line for line in lines if _stamp(line) is not None and _stamp(line) <= cut]
        log.write_text("\n".join(kept) + "\n")
        expected = analyze_experiment(Workspace.find(copy), "exp_002").to_dict()
        got = point.to_dict()
        assert got["control"]["n"] == expected["control"]["n"]
        assert got["treatment"]["successes"] == expected["treatment"]["successes"]
        assert got["lift"] == pytest.approx(expected["lift"], rel=1e-12)
        assert got["lift_ci"] == pytest.approx(expected["lift_ci"], rel=1e-9)


def _stamp(line: str) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(line)["ts"])
    except ValueError:
        return None  # the invalid line: never counted


def test_the_last_point_counts_a_line_stamped_after_every_other(
    generated: Path, tmp_path: Path
) -> None:
    copy = copy_of(generated, tmp_path)
    log = copy / "experiments/exp_001/interactions/generated.jsonl"
    first = json.loads(log.read_text().splitlines()[0])
    late = first | {"ts": "2030-01-01T00:00:00Z", "interaction_id": "late-one"}
    with log.open("a") as out:
        out.write(json.dumps(late) + "\n")
    ws = Workspace.find(copy)
    last = lift_over_time(ws, "exp_001").points[-1].to_dict()
    assert last["until"] == "2030-01-01T00:00:00.000Z"
    assert last[first["arm"]]["n"] == analyze_experiment(ws, "exp_001").to_dict()[first["arm"]]["n"]


def test_a_line_served_another_prompt_is_left_out_as_the_analysis_leaves_it_out(
    generated: Path, tmp_path: Path
) -> None:
    copy = copy_of(generated, tmp_path)
    log = copy / "experiments/exp_001/interactions/generated.jsonl"
    first = json.loads(log.read_text().splitlines()[0])
    other = "0" * 40  # a well-formed blob id that is no arm's pin
    stray = first | {"prompt_blob": other, "interaction_id": "served-elsewhere"}
    with log.open("a") as out:
        out.write(json.dumps(stray) + "\n")
    ws = Workspace.find(copy)
    analysis = analyze_experiment(ws, "exp_001").to_dict()
    assert any("prompt_blob 000000000000 is not the" in p["error"] for p in analysis["problems"])
    last = lift_over_time(ws, "exp_001").points[-1].to_dict()
    for arm in ("control", "treatment"):
        assert last[arm]["n"] == analysis[arm]["n"]
        assert last[arm]["successes"] == analysis[arm]["successes"]


def test_no_logs_no_points(generated: Path) -> None:
    assert lift_over_time(Workspace.find(generated), "exp_003").points == ()


def test_progress_counts_every_byte_twice(generated: Path) -> None:
    told: list[int] = []
    lift_over_time(Workspace.find(generated), "exp_001", progress=told.append)
    size = (generated / "experiments/exp_001/interactions/generated.jsonl").stat().st_size
    assert sum(told) == 2 * size


# ---- the quality trend and the queue ----


def test_trend_is_score_avg_at_the_end_of_each_day(generated: Path) -> None:
    ws = Workspace.find(generated)
    trend = quality_trend(ws, "alpha")
    assert [d.day for d in trend.days][:2] == ["2026-11-01", "2026-11-02"]
    assert sum(d.count for d in trend.days) == trend.count == sum(n for _, n in trend.bands)
    for day in trend.days:
        end = datetime.fromisoformat(day.day).replace(tzinfo=UTC) + timedelta(days=1)
        assert day.mean == scores.average(ws, "alpha", 1, end).mean
        for window, value in zip(WINDOWS, day.averages, strict=True):
            assert value == scores.average(ws, "alpha", window, end).mean


def test_queue_says_why_an_experiment_waits(generated: Path) -> None:
    data = queue_with_reasons(Workspace.find(generated))
    (waiting,) = data["queued_experiments"]
    assert waiting["experiment_id"] == "exp_003"
    assert waiting["waiting"] == "agent alpha already has an active experiment (exp_001)"


# ---- the command ----


def run_report(maia: Callable[..., Result], cwd: Path, *args: str) -> Result:
    return maia("report", *args, cwd=cwd)


def test_report_writes_every_page_and_escapes_hostile_text(
    generated: Path, tmp_path: Path, maia: Callable[..., Result]
) -> None:
    out = tmp_path / "site"
    result = run_report(maia, generated, "--out", str(out), "--json")
    assert result.code == 0, result.err
    pages = json.loads(result.out)["pages"]
    assert pages == ["index.html", "experiment-exp_001.html", "experiment-exp_002.html",
                     "experiment-exp_003.html", "agent-alpha.html", "agent-beta.html"]  # fmt: skip
    html = "".join((out / p).read_text() for p in pages)
    assert HOSTILE_NAME not in html and HOSTILE_HYPOTHESIS not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; {{ 7*7 }} &lt;!--" in html
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert sorted(p.name for p in (out / "charts").iterdir()) == [
        "agent-alpha-bands.svg", "agent-alpha-trend.svg", "agent-beta-bands.svg",
        "agent-beta-trend.svg", "experiment-exp_001-lift.svg", "experiment-exp_002-lift.svg",
        "overview-lifts.svg",
    ]  # fmt: skip


def test_charts_are_the_same_bytes_on_every_build(
    generated: Path, tmp_path: Path, maia: Callable[..., Result]
) -> None:
    for name in ("a", "b"):
        assert run_report(maia, generated, "--out", str(tmp_path / name)).code == 0
    for svg in (tmp_path / "a" / "charts").iterdir():
        assert svg.read_bytes() == (tmp_path / "b" / "charts" / svg.name).read_bytes(), svg.name
        assert b"<script" not in svg.read_bytes() and b"http://www.w3.org" in svg.read_bytes()


def test_choosing_experiments_and_agents(
    generated: Path, tmp_path: Path, maia: Callable[..., Result]
) -> None:
    result = run_report(maia, generated, "--out", str(tmp_path / "o"), "--experiment", "exp_002",
                        "--json")  # fmt: skip
    assert json.loads(result.out)["pages"] == [
        "index.html",
        "experiment-exp_002.html",
        "agent-alpha.html",
        "agent-beta.html",
    ]
    result = run_report(maia, generated, "--out", str(tmp_path / "o"), "--agent", "beta", "--json")
    assert json.loads(result.out)["pages"] == ["index.html", "experiment-exp_002.html",
                                               "agent-beta.html"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--experiment", "exp_404"], "unknown experiment 'exp_404'"),
        (["--experiment", "../x"], "invalid"),
        (["--agent", "nobody"], "unknown agent 'nobody'"),
    ],
)
def test_bad_choices_exit_2_and_write_nothing(
    generated: Path, tmp_path: Path, maia: Callable[..., Result], args: list[str], message: str
) -> None:
    result = run_report(maia, generated, "--out", str(tmp_path / "o"), *args)
    assert result.code == 2 and message in result.err
    assert not (tmp_path / "o").exists()


def test_a_folder_that_is_not_a_report_is_never_replaced(
    generated: Path, tmp_path: Path, maia: Callable[..., Result]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = run_report(maia, generated, "--out", str(out))
    assert result.code == 2 and "holds no maia report" in result.err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no build folder left


def test_an_earlier_report_is_replaced_whole(
    generated: Path, tmp_path: Path, maia: Callable[..., Result]
) -> None:
    out = tmp_path / "site"
    assert run_report(maia, generated, "--out", str(out)).code == 0
    (out / "experiment-exp_009.html").write_text("stale")
    assert run_report(maia, generated, "--out", str(out), "--agent", "beta").code == 0
    assert not (out / "experiment-exp_009.html").exists()
    assert not (out / "experiment-exp_001.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_report_outside_a_workspace(tmp_path: Path, maia: Callable[..., Result]) -> None:
    git(tmp_path, "init", "-q")
    result = run_report(maia, tmp_path)
    assert result.code == 2 and "not a maia workspace" in result.err


def test_without_the_extra_it_says_how_to_install_it(generated: Path, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['jinja2'] = None; from maia_git.cli.main import main; "
            f"sys.exit(main(['report', '--out', {str(tmp_path / 'o')!r}]))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=generated, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr == "maia: error: maia report needs its optional extra: "
        "pip install 'maia-git[report]'\n"
    )
    assert not (tmp_path / "o").exists()


def test_progress_on_a_terminal_and_none_in_a_pipe(generated: Path, tmp_path: Path) -> None:
    # stderr on a pseudo-terminal: the progress line is drawn, then wiped before the summary.
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "maia_git", "report", "--out",
                             str(tmp_path / "a")], cwd=generated, stdout=subprocess.PIPE,
                            stderr=child, stdin=subprocess.DEVNULL)  # fmt: skip
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=600) == 0
    text = seen.decode()
    assert "reading logs:" in text and "100%" in text and "exp_002" in text
    assert text.endswith("\r")  # the line is wiped, the summary goes to stdout alone
    piped = run_cli_report(generated, tmp_path / "b")
    assert piped.returncode == 0 and piped.stderr == ""


def run_cli_report(top: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maia_git", "report", "--out", str(out)],
                          cwd=top, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_experiment_page_data_prompt_diff_and_history(generated: Path) -> None:
    report = gather(Workspace.find(generated), experiments=["exp_001"], agents=["alpha"])
    (page,) = report.experiments
    assert page.prompts is not None
    assert page.prompts.source == "pinned when it started"
    assert "+Plan first, then answer." in page.prompts.diff.splitlines()
    assert "-Answer the question." in page.prompts.diff.splitlines()
    transitions = [h["transition"] for h in page.history if h["transition"]]
    assert transitions[:2] == ["none->draft", "draft->queued->active"]
    again = analyze_experiment(Workspace.find(generated), "exp_001").to_dict()
    assert page.analysis | {"shards_read": 0} == again | {"shards_read": 0}  # cached or not


@pytest.mark.parametrize(
    ("intervals", "since"),
    [
        ([(-1, 1), (0.1, 0.5), (0.2, 0.4)], "t1"),  # significant from the second on
        ([(0.1, 0.5), (-0.1, 0.5), (0.1, 0.3)], "t2"),  # lost, then significant again
        ([(-0.5, -0.1), (-0.4, -0.2)], "t0"),  # significantly worse counts too
        ([(0.1, 0.5), (-0.1, 0.5)], None),  # no longer significant
        ([None, (0.0, 0.5)], None),  # no interval; one that touches zero
    ],
)
def test_significant_since(intervals: list[Any], since: str | None) -> None:
    from maia_git.report.site import _significant_since

    points = [{"until": f"t{k}", "lift_ci": ci} for k, ci in enumerate(intervals)]
    assert _significant_since(points) == since


def test_a_new_workspace_has_an_overview_only(ws: Path, maia: Callable[..., Result]) -> None:
    result = run_report(maia, ws, "--out", str(ws / "maia-report"), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["pages"] == ["index.html"]
    page = (ws / "maia-report" / "index.html").read_text()
    assert "No experiments yet" in page and "No agents yet" in page


def test_prompt_diff_is_of_the_pinned_texts(ws: Path, maia: Callable[..., Result]) -> None:
    exp_id = new_exp(maia, ws)
    (draft,) = gather(Workspace.find(ws)).experiments
    assert draft.prompts is not None and draft.prompts.source == "as committed at HEAD"
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    (ws / "agents/helper_v2.md").write_text("Edited after the start.\n")
    git(ws, "commit", "-qam", "edit the treatment prompt")
    (started,) = gather(Workspace.find(ws)).experiments
    assert started.prompts is not None and started.prompts.source == "pinned when it started"
    assert "+You are a helpful agent. Think step by step." in started.prompts.diff.splitlines()
    assert "Edited after the start." not in started.prompts.diff
