"""`maia report`'s pages for an experiment with several treatments: every arm, each treatment
against control, a lift line per treatment, a diff per treatment, one overview row per
treatment; every number carries its path into the analysis JSON and equals it there."""

from __future__ import annotations

import html
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from maia_git import stats
from maia_git.stats import ArmStats, RatioSums
from maia_git.usecases.analysis import analyze_experiment
from maia_git.usecases.report import ExperimentReport, Prompts, Report, gather
from maia_git.usecases.timeline import Point, Timeline, lift_over_time
from maia_git.workspace import Workspace

from reportspace import ARMS, make_arms_workspace

pytest.importorskip("jinja2", reason="the report extra is not installed: pip install -e '.[test]'")
pytest.importorskip("matplotlib", reason="the report extra is not installed")

from maia_git.report.site import write_site  # after the skips: it needs the extra

NAMES = ("control", "concise", "fast", "polite")
TIMES = ("2026-11-02T00:00:00.000Z", "2026-11-03T00:00:00.000Z", "2026-11-04T00:00:00.000Z")


def arm(users: int, successes: int, mean: float | None = None) -> ArmStats:
    completion = RatioSums(users, successes, users, successes, users, successes)
    scores = [] if mean is None else [mean - 10.0, mean + 10.0] * (users // 2)
    total = sum(scores)
    n = len(scores)
    return ArmStats(completion, RatioSums(n, total, n, sum(v * v for v in scores), n, total))


def analysis_at(scale: int) -> Any:
    """The analysis after ``scale`` hundred users per arm; rates as in ``ARMS``."""
    users = 100 * scale
    rates = (0.5, 0.75, 0.78, 0.52)
    means = (70.0, 71.0, 55.0, None)
    arms = {n: arm(users, round(users * r), m) for n, r, m in zip(NAMES, rates, means, strict=True)}
    return stats.analyze_arms("exp_004", arms)


def view() -> dict[str, Any]:
    return {
        "id": "exp_004", "name": "Four <b>arms</b>", "agent": "alpha", "status": "active",
        "priority": "medium", "hypothesis": "One of them is better", "control": "agents/a.md",
        "treatments": {"concise": "agents/concise.md", "fast": "agents/fast.md",
                       "polite": "agents/polite.md"},
        "shares": dict.fromkeys(NAMES, 0.25),
    }  # fmt: skip


def report() -> tuple[Report, dict[str, Any]]:
    final = analysis_at(3)
    data = final.to_dict() | {"name": view()["name"], "status": "active", "invalid_lines": 0,
                              "problems": [], "duplicate_lines": 0}  # fmt: skip
    points = tuple(Point(t, analysis_at(i + 1)) for i, t in enumerate(TIMES))
    texts = {"control": "You are alpha.\n", "concise": "Be brief.\n", "fast": "Be quick.\n",
             "polite": "Be kind.\n"}  # fmt: skip
    diffs = {n: f"--- a\n+++ b\n-You are alpha.\n+{texts[n]}" for n in NAMES[1:]}
    prompts = Prompts(texts, diffs, "pinned when it started")
    page = ExperimentReport(view(), data, Timeline("exp_004", points), [], prompts)
    settings = data | {"max_concurrent": 3, "one_active_per_agent": True}
    queue = {"capacity": {"active": 1, "max_concurrent": 3, "available_slots": 2},
             "queue_counts": {"queued": 0, "paused": 0}, "active_experiments": [],
             "queued_experiments": [], "paused_experiments": []}  # fmt: skip
    return Report("2026-11-29 00:00 UTC", settings, queue, (page,), ()), data


def numbers(page: str) -> list[tuple[str, Any, str]]:
    """Every (data-key, data-value, shown text) of a page."""
    found = re.findall(r'data-key="([^"]+)" data-value="([^"]*)">(.*?)</td>', page, re.S)
    return [(k, json.loads(html.unescape(v)), re.sub(r"<.*?>", "", t)) for k, v, t in found]


def lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if data is None:
            return None
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def rows(page: str, table_id: str) -> list[str]:
    table = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return re.findall(r"<tr>(.*?)</tr>", table, re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    built, data = report()
    out = tmp_path_factory.mktemp("report") / "site"
    pages = write_site(built, out, "Report")
    assert pages == ["index.html", "experiment-exp_004.html"]
    return out, data


def test_the_experiment_page_shows_every_arm_and_comparison(site: tuple[Path, Any]) -> None:
    out, data = site
    page = (out / "experiment-exp_004.html").read_text()

    shown = numbers(page)

    assert len(shown) > 60
    for key, value, _ in shown:  # every number is the analysis's, at its path
        assert value == lookup(data, key), key
    keys = {k for k, _, _ in shown}
    for i in range(4):
        assert {f"arms.{i}.users", f"arms.{i}.rate", f"arms.{i}.share"} <= keys
    for i in range(3):
        assert {f"comparisons.{i}.lift", f"comparisons.{i}.p_value",
                f"comparisons.{i}.p_value_unadjusted", f"comparisons.{i}.quality_diff",
                f"comparisons.{i}.guardrails.tokens.margin"} <= keys  # fmt: skip
    assert [re.search(r"<th[^>]*>(\w+)", r)[1] for r in rows(page, "arms")[1:]] == list(NAMES)
    assert len(rows(page, "comparisons")) == 4
    assert "Holm&#39;s step-down adjustment for 3 treatments" in page
    assert "winner <code>concise</code>" in page
    fast = page.split("<strong>fast</strong>: unmet:")[1].split("</ul>")[0]
    assert "quality is worse than control" in fast
    assert "Four &lt;b&gt;arms&lt;/b&gt;" in page  # the user's text, as text


def test_one_lift_line_and_one_diff_per_treatment(site: tuple[Path, Any]) -> None:
    out, _ = site
    page = (out / "experiment-exp_004.html").read_text()
    svg = (out / "charts" / "experiment-exp_004-lift.svg").read_text()

    timeline = rows(page, "timeline")

    assert len(timeline) == 1 + len(TIMES)
    last = analysis_at(len(TIMES)).to_dict()
    assert f"{last['comparisons'][2]['lift']:+.1%}" in timeline[-1]
    for name in NAMES[1:]:
        assert f">{name}<" in svg  # the legend names every treatment (text stays text)
        assert f"<code>agents/{name}.md</code> ({name})" in page
        assert f"+Be {dict(concise='brief', fast='quick', polite='kind')[name]}." in page


def test_the_overview_has_a_row_and_a_lift_per_treatment(site: tuple[Path, Any]) -> None:
    out, data = site
    page = (out / "index.html").read_text()

    shown = numbers(page)

    for key, value, _ in shown:
        exp_id, path = key.split(":", 1)
        assert exp_id == "exp_004" and value == lookup(data, path), key
    keys = {k for k, _, _ in shown}
    assert {f"exp_004:comparisons.{i}.lift" for i in range(3)} <= keys
    assert {f"exp_004:arms.{i}.users" for i in range(4)} <= keys
    assert len(rows(page, "experiments")) == 1 + 3
    assert 'rowspan="3"' in rows(page, "experiments")[1]
    forest = page.split("Lifts side by side")[1]
    assert all(f"exp_004 {name}" in forest for name in NAMES[1:])


# ---- a real workspace: the timeline and the whole report of a three-arm experiment ----


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """An active three-arm experiment with a log over four days (formal completes more)."""
    top = tmp_path / "arms"
    make_arms_workspace(top)
    return top


def test_the_timeline_of_three_arms_ends_at_the_analysis(logged: Path, tmp_path: Path) -> None:
    ws = Workspace.find(logged)

    points = [p.to_dict() for p in lift_over_time(ws, "exp_001").points]
    analysis = analyze_experiment(ws, "exp_001").to_dict()

    assert len(points) >= 10
    sizes = [sum(a["n"] for a in p["arms"]) for p in points]
    assert all(a < b for a, b in itertools.pairwise(sizes)) and sizes[-1] == 900
    last = points[-1]
    assert [a["name"] for a in last["arms"]] == list(ARMS)
    for got, want in zip(last["arms"], analysis["arms"], strict=True):
        assert (got["users"], got["n"], got["successes"]) == (
            want["users"], want["n"], want["successes"],
        )  # fmt: skip
    for got, want in zip(last["comparisons"], analysis["comparisons"], strict=True):
        assert got["arm"] == want["arm"]
        assert got["lift"] == pytest.approx(want["lift"], rel=1e-12)
        assert got["lift_ci"] == pytest.approx(want["lift_ci"], rel=1e-9)
        assert got["p_value"] == pytest.approx(want["p_value"], rel=1e-9)
    assert (last["decision"], last["winner"]) == (analysis["decision"], analysis["winner"])

    pages = write_site(gather(ws), tmp_path / "site", "Report")

    page = (tmp_path / "site" / "experiment-exp_001.html").read_text()
    assert "experiment-exp_001.html" in pages and 'id="timeline"' in page
    for key, value, _ in numbers(page):
        assert value == lookup(analysis, key), key
    assert page.count("<h2>Prompt diffs</h2>") == 1 and "+Be &lt;formal&gt; &amp; thorough." in page
