"""The step summary, outputs and pull request body of an experiment with several treatments:
every arm, every comparison with control, the adjustment, the one winner, each arm's unmet
conditions; rendered with a CommonMark renderer (GitHub's tables) as a reviewer would see it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from maia_git import stats
from maia_git.cli import ci_render
from maia_git.core import summary_arms
from maia_git.stats import ArmStats, RatioSums
from maia_git.usecases import promotion
from maia_git.usecases.ci import CiReport


def arm(users: int, successes: int, scores: list[float] | None = None) -> ArmStats:
    """``users`` users with one interaction each; the first ``len(scores)`` scored."""
    completion = RatioSums(users, successes, users, successes, users, successes)
    q = scores or []
    total = sum(q)
    quality = RatioSums(len(q), total, len(q), sum(v * v for v in q), len(q), total)
    return ArmStats(completion, quality)


def scored(users: int, successes: int, mean: float) -> ArmStats:
    return arm(users, successes, [mean - 10.0, mean + 10.0] * 100)


ARMS = {
    "control": scored(300, 150, 70.0),
    "concise": scored(300, 225, 71.0),  # the winner
    "fast": scored(300, 235, 55.0),  # a higher lift, but quality much worse
    "polite": arm(300, 156),  # no lift
}


def analysis(method: str = "sequential", arms: dict[str, ArmStats] = ARMS) -> dict[str, Any]:
    found = stats.analyze_arms("exp_003", arms, method=method).to_dict()
    return found | {"name": "Three prompts", "status": "active", "invalid_lines": 0}


def series(names: list[str]) -> dict[str, Any]:
    return {
        "labels": ["01-01 10", "01-01 11"],
        "arms": {n: [10.0 * i, 10.0 * i + 5] for i, n in enumerate(names)},
    }


def render(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


def tables(html: str) -> list[list[list[str]]]:
    """Each table's rows (header first) as lists of cell texts."""
    found = []
    for table in re.findall(r"<table>(.*?)</table>", html, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        found.append([re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows])
    return found


@pytest.mark.parametrize(
    ("method", "adjustment", "evidence"),
    [
        ("sequential", "Holm's step-down adjustment", "p-value (Holm)"),
        ("fixed", "Dunnett's many-to-one adjustment", "p-value (Dunnett)"),
        ("bayesian", "no adjustment", "chance to beat control"),
    ],
)
def test_the_summary_shows_every_arm_and_every_comparison(
    method: str, adjustment: str, evidence: str
) -> None:
    result = analysis(method)
    report = CiReport("abc1234", [result], {"exp_003": series(list(ARMS))})

    html = render(ci_render.markdown(report))

    arms_rows, comparison_rows = tables(html)
    assert [r[0] for r in arms_rows[1:]] == [
        "control", "<strong>concise</strong> (winner)", "fast", "polite",
    ]  # fmt: skip
    assert [r[2] for r in arms_rows[1:]] == ["300"] * 4  # users
    assert [r[5] for r in arms_rows[1:]] == ["50.0%", "75.0%", "78.3%", "52.0%"]
    assert evidence in comparison_rows[0]
    assert [r[0] for r in comparison_rows[1:]] == [
        "<strong>concise</strong> (winner)", "fast", "polite",
    ]  # fmt: skip
    assert adjustment in html
    by_arm = {c["arm"]: c for c in result["comparisons"]}
    for row in comparison_rows[1:]:
        c = by_arm[re.sub(r"<.*?>| \(winner\)", "", row[0])]
        assert row[1] == f"{c['lift'] * 100:+.1f}%"
        assert row[2] == f"{c['lift_ci'][0] * 100:+.1f}% to {c['lift_ci'][1] * 100:+.1f}%"
        if method != "bayesian":  # the adjusted p-value first, then the unadjusted one
            assert row[3:5] == [_p(c["p_value"]), _p(c["p_value_unadjusted"])]
        else:
            assert row[3] == f"{c['chance_to_win'] * 100:.1f}%"
        assert row[-1] == ("yes" if c["eligible"] else "no")
    # The winner, and each arm's unmet conditions by name.
    assert result["winner"] == "concise" and "winner <code>concise</code>" in html
    fast = html.split("fast: unmet:")[1].split("</ul>")[0]
    assert "quality is worse than control" in fast
    polite = html.split("polite: unmet:")[1].split("</ul>")[0]
    assert "is not above the minimum" in polite
    # The chart draws one line per arm, and says which is which.
    assert ci_render.markdown(report).count("  line [") == 4
    assert "Lines in order: control, concise, fast, polite." in html


def _p(value: float) -> str:
    return "&lt; 0.0001" if value < 0.0001 else f"{value:.4f}"


def test_no_winner_names_every_arms_unmet_conditions() -> None:
    few = {"control": arm(20, 10), "t_a": arm(22, 16), "t_b": arm(25, 12)}
    result = analysis(arms=few)

    text = "\n".join(summary_arms.decision_lines(result))

    assert result["winner"] is None
    assert "- **Decision**: `keep_running`, no winner" in text
    for name in ("t\\_a", "t\\_b"):
        assert f"  - {name}: unmet:" in text
    assert text.count("control has 20 of 30 users") == 2  # shared: under each treatment


def test_outputs_name_the_decision_and_the_winning_arm() -> None:
    two = stats.analyze("exp_001", scored(300, 150, 70.0), scored(300, 240, 71.0)).to_dict()
    flat = stats.analyze("exp_002", arm(300, 150), arm(300, 151)).to_dict()
    report = CiReport(None, [two, flat, analysis()])

    out = ci_render.outputs(report)

    assert json.loads(out["decisions"]) == {
        "exp_001": "promote", "exp_002": "keep_running", "exp_003": "promote",
    }  # fmt: skip
    assert json.loads(out["winners"]) == {
        "exp_001": "treatment", "exp_002": None, "exp_003": "concise",
    }  # fmt: skip
    notices = [line for line in ci_render.annotation_lines(report) if "exp_003" in line]
    assert notices == ["::notice title=exp_003::decision promote (winner concise)"]
    report.series = {r["experiment_id"]: series([]) for r in report.results}
    report.promoted = [
        {"experiment_id": "exp_001", "winner": "treatment", "branch": "maia/promote/exp_001"},
        {"experiment_id": "exp_003", "winner": "concise", "branch": "maia/promote/exp_003"},
    ]
    promoted = ci_render.markdown(report).split("### Promoted")[1]
    assert "- exp_001: branch `maia/promote/exp_001`\n" in promoted
    assert "- exp_003: `concise` on branch `maia/promote/exp_003`\n" in promoted


HOSTILE = "x|<!-- y"


def test_hostile_arm_names_and_messages_stay_text() -> None:
    """Arm names are checked when an experiment is made; the renderer escapes them anyway."""
    result = analysis(arms={"control": arm(300, 150), HOSTILE: arm(300, 240), "b": arm(300, 150)})
    result["comparisons"][1]["reasons"].append({"code": "x", "message": "[a](https://e.x) <img>"})
    report = CiReport(None, [result], {"exp_003": series(["control", HOSTILE, "b"])})

    html = render(ci_render.markdown(report))

    assert "<!--" not in html and "<img" not in html and "<a " not in html
    arms_rows, comparison_rows = tables(html)
    assert len(arms_rows) == 4 and {len(r) for r in arms_rows} == {9}
    assert len(comparison_rows) == 3 and {len(r) for r in comparison_rows} == {9}
    assert "x|&lt;!-- y" in arms_rows[2][0]


def test_the_pull_request_names_the_promoted_arm_and_shows_every_arm() -> None:
    result = analysis()
    experiment = {
        "id": "exp_003", "name": "Three <!-- prompts", "agent": "helper",
        "hypothesis": "Shorter\n# wins", "control": "agents/helper.md",
        "treatments": {"concise": "agents/concise.md", "fast": "agents/fast.md",
                       "polite": "agents/polite.md"},
    }  # fmt: skip

    body = summary_arms.promotion_body(result, experiment, "-old\n+new", "concise")

    html = render(body)
    assert body.startswith("Promotes the `concise` prompt of **exp\\_003**")
    assert "of 3 treatments tested against control" in body
    assert "`agents/helper.md` now holds the content of `agents/concise.md` (`concise`):" in body
    arms_rows, comparison_rows = tables(html)
    assert len(arms_rows) == 5 and len(comparison_rows) == 4
    assert "<!--" not in html and "<h1>" not in html
    assert html.count('<pre><code class="language-diff">') == 1
    # The same inputs give the same body: a rerun rebuilds the same commit.
    assert summary_arms.promotion_body(result, experiment, "-old\n+new", "concise") == body
    forced = summary_arms.promotion_body(result, experiment, "d", "fast", "Ann", "asked")
    assert "**Forced** by Ann: asked" in forced and "Promotes the `fast` prompt" in forced


def costly(users: int, successes: int, tokens: float) -> ArmStats:
    """One interaction per user; tokens alternate tokens -+ 100, so the mean is ``tokens``."""
    base = arm(users, successes)
    values = [tokens - 100.0, tokens + 100.0] * (users // 2)
    total = sum(values)
    spent = RatioSums(users, total, users, sum(v * v for v in values), users, total)
    return ArmStats(base.completion, base.quality, spent)


def test_cost_guardrails_and_an_empty_arm_in_the_comparisons() -> None:
    arms = {"control": costly(400, 200, 1000.0), "lean": costly(400, 300, 1000.0),
            "heavy": costly(400, 300, 1500.0)}  # fmt: skip
    result = analysis("fixed", arms)

    shown = tables(render("\n".join(summary_arms.comparisons_table(result))))[0]
    rows = {re.sub(r"<.*?>| \(winner\)", "", r[0]): r for r in shown}

    heavy = result["comparisons"][1]["guardrails"]["tokens"]
    low, high = heavy["ci"]
    assert heavy["passed"] is False
    assert rows["heavy"][6] == f"+50.0% ({low * 100:+.1f}% to {high * 100:+.1f}%), above +10%"
    assert rows["lean"][6].startswith("+0.0% (") and rows["lean"][6].endswith("within +10%")
    assert rows["lean"][7] == "not compared"  # no latency logged
    empty = ArmStats(RatioSums())
    nothing = analysis(arms={"control": empty, "a": empty, "b": empty})
    [_, row, _] = tables(render("\n".join(summary_arms.comparisons_table(nothing))))[0]
    assert row[1:5] == ["-", "-", "-", "-"]


def test_two_arms_render_as_they_always_did() -> None:
    """A two-arm summary and pull request body, byte for byte as before several treatments."""
    spread = (300 / 299) ** 0.5  # the sample SD of alternating -1, +1 over 300 users

    def two_arm(successes: int, mean: float) -> ArmStats:
        return arm(400, successes, [mean + z * 10.0 / spread for z in (-1.0, 1.0) * 150])

    result = stats.analyze("exp_001", two_arm(180, 70.0), two_arm(300, 71.0)).to_dict()
    result |= {"name": "N <x>", "status": "active", "invalid_lines": 2}
    chart = {"labels": ["01-01 10", "01-01 11"],
             "arms": {"control": [40.0, 45.0], "treatment": [60.0, 75.0]}}  # fmt: skip
    promoted = {"experiment_id": "exp_001", "winner": "treatment",
                "branch": "maia/promote/exp_001", "pull_request": {"url": "u"}}  # fmt: skip
    report = CiReport("abc", [result], {"exp_001": chart}, [promoted])
    experiment = {"id": "exp_001", "name": "N", "agent": "alpha", "hypothesis": "h",
                  "control": "a.md", "treatment": "b.md"}  # fmt: skip

    summary = ci_render.markdown(report)
    body = promotion.pull_request_body(result, experiment, "diff", "treatment", None, None)

    assert summary == TWO_ARM_SUMMARY
    assert body == TWO_ARM_BODY
    assert set(json.loads(ci_render.outputs(report)["results"])[0]) == set(result)


TABLE = (
    "| arm | users | interactions | successes | completion | quality (mean ± se) | tokens |"
    " latency ms |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    "| control | 400 | 400 | 180 | 45.0% | 70.0 ± 0.6 | - | - |\n"
    "| treatment | 400 | 400 | 300 | 75.0% | 71.0 ± 0.6 | - | - |\n\n"
    "- **Lift** (completion, relative): 66.7% (CI 37.8% to 101.5%)\n"
    "- **p-value** (sequential): < 0.0001; quality not worse (margin 5.0): shown; "
    "sample ratio: 1.0000\n"
    "- **Tokens** per interaction: not compared\n"
    "- **Latency** per interaction: not compared\n"
    "- **Decision**: `promote`\n"
)
TWO_ARM_SUMMARY = (
    "## maia-git analysis\n\nExperiments whose logs changed since `abc`.\n\n"
    "### exp_001: N \\<x\\> ✅\n\n" + TABLE + "\n"
    "⚠️ 2 log line(s) broke the schema and were not counted (`maia exp analyze exp_001` "
    "shows them).\n\n"
    "```mermaid\nxychart-beta\n"
    '  title "exp_001: cumulative completion rate (%)"\n'
    '  x-axis ["01-01 10", "01-01 11"]\n'
    '  y-axis "completion %" 0 --> 100\n'
    "  line [40.0, 45.0]\n  line [60.0, 75.0]\n```\n\n"
    "_First line: control; second line: treatment._\n\n\n"
    "### Promoted\n\n- exp_001: branch `maia/promote/exp_001`, pull request u\n"
)
TWO_ARM_BODY = (
    "Promotes the treatment prompt of **exp\\_001** (N) for agent `alpha`.\n\n> h\n\n"
    + TABLE
    + "\n`a.md` now holds the content of `b.md`:\n\n```diff\ndiff\n```\n\n"
    "Merging this pull request is the promotion.\n"
)
