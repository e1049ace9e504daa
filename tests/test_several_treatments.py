"""Experiments with several treatments (A/B/n), end to end on real git repositories: created with
repeated --treatment, pinned, served and recorded through the API, analysed, promoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.api import ABTestingFramework
from maia_git.core import jsonschema
from maia_git.core.assign import arm_among
from maia_git.errors import UsageError
from maia_git.storage import schemas, statcache, yamlio

from conftest import git, new_exp, run_cli
from helpers import snapshot

NAMES = ("control", "short", "formal")
SHARES = (0.5, 0.25, 0.25)
PROMPTS = {
    "control": "agents/helper.md",
    "short": "agents/helper_short.md",
    "formal": "agents/helper_formal.md",
}


@pytest.fixture
def three(ws: Path, maia) -> Path:
    """The workspace with two more prompt files committed."""
    (ws / PROMPTS["short"]).write_text("Be brief.\n", encoding="utf-8")
    (ws / PROMPTS["formal"]).write_text("Be formal and thorough.\n", encoding="utf-8")
    git(ws, "add", "agents")
    git(ws, "commit", "-q", "-m", "two candidate prompts")
    return ws


def _new_three(maia, top: Path, *extra: str) -> object:
    return maia(
        "exp", "new", "Tone", "--agent", "helper", "--control", PROMPTS["control"],
        "--treatment", PROMPTS["short"], "--arm-name", "short",
        "--treatment", PROMPTS["formal"], "--arm-name", "formal",
        "--share", "0.5", "--share", "0.25", "--share", "0.25", *extra, cwd=top,
    )  # fmt: skip


def _succeeds(arm: str, i: int) -> bool:
    # formal completes 90% of tasks, the others 40%: a clear winner, the same on every run.
    return i % 10 < (9 if arm == "formal" else 4)


def test_three_arms_created_started_served_recorded_analysed_and_promoted(
    three: Path, maia
) -> None:
    dry = _new_three(maia, three, "--dry-run", "--json")
    assert dry.code == 0 and json.loads(dry.out)["dry_run"] is True
    assert not (three / "experiments/exp_001").exists()
    created = _new_three(maia, three)
    assert created.code == 0, created.err
    text = (three / "experiments/exp_001/experiment.yaml").read_text(encoding="utf-8")
    listed = "treatments:\n  short: agents/helper_short.md\n  formal: agents/helper_formal.md\n"
    assert listed in text
    assert "shares:\n  control: 0.5\n  short: 0.25\n  formal: 0.25\n" in text
    assert "control_share" not in text and "\ntreatment:" not in text

    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    pins = json.loads(maia("exp", "show", "exp_001", "--json", cwd=three).out)["pins"]
    assert list(pins) == list(NAMES)
    for arm, share in zip(NAMES, SHARES, strict=True):
        blob = git(three, "hash-object", PROMPTS[arm]).strip()
        assert pins[arm] == {"path": PROMPTS[arm], "blob": blob, "share": share}

    ab = ABTestingFramework(three, strict=True)
    served: dict[str, int] = dict.fromkeys(NAMES, 0)
    for i in range(400):
        user = f"user{i}"
        prompt = ab.get_prompt("exp_001", user)
        assert prompt.arm == arm_among("exp_001", user, NAMES, SHARES)
        assert prompt.text == (three / PROMPTS[prompt.arm]).read_text(encoding="utf-8")
        assert ab.assign_treatment("exp_001", user) == prompt.arm
        result = ab.record_interaction("exp_001", user, _succeeds(prompt.arm, i), 80.0)
        assert result.record["arm"] == prompt.arm
        assert result.record["prompt_blob"] == pins[prompt.arm]["blob"]
        served[prompt.arm] += 1
    ab.close()
    assert all(n > 50 for n in served.values()), served
    lines = maia("exp", "assign", "exp_001", "user0", "user1", "user2", cwd=three).out.split("\n")
    assert lines[:3] == [f"user{i}\t{arm_among('exp_001', f'user{i}', NAMES, SHARES)}"
                         for i in range(3)]  # fmt: skip
    first = json.loads(maia("exp", "assign", "exp_001", "user3", "--json", cwd=three).out)
    assert first["arm"] == arm_among("exp_001", "user3", NAMES, SHARES)
    assert first["blob"] == pins[first["arm"]]["blob"] and first["pinned"] is True
    assert maia("sync", cwd=three).code == 0
    definition = yamlio.load(three / "experiments/exp_001/experiment.yaml", "experiment.yaml")
    assert jsonschema.errors(schemas.shipped("experiment"), definition.data) == []
    doctor = maia("doctor", "--json", cwd=three)
    assert doctor.code == 0 and json.loads(doctor.out)["healthy"], doctor.out

    # A real process, as a runtime's CI would run it.
    run = run_cli(["exp", "analyze", "exp_001", "--json"], three)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [a["name"] for a in data["arms"]] == list(NAMES)
    assert [a["share"] for a in data["arms"]] == list(SHARES)
    assert [a["users"] for a in data["arms"]] == [served[arm] for arm in NAMES]
    assert [c["arm"] for c in data["comparisons"]] == ["short", "formal"]
    assert (data["decision"], data["winner"], data["adjustment"]) == ("promote", "formal", "holm")
    assert data["invalid_lines"] == 0 and data["status"] == "active"
    # Again from the cache: the result of the set of shards, then each shard's per-arm totals.
    again = json.loads(maia("exp", "analyze", "exp_001", "--json", cwd=three).out)
    assert again["shards_read"] == 0 and again["arms"] == data["arms"]
    for entry in (three / ".git" / statcache.FOLDER).glob("*.json"):
        if "report" in json.loads(entry.read_bytes()):
            entry.unlink()
    again = json.loads(maia("exp", "analyze", "exp_001", "--json", cwd=three).out)
    assert again["shards_read"] == 0 and again["arms"] == data["arms"]
    report = maia("exp", "analyze", "exp_001", cwd=three).out
    assert "formal against control" in report and "short against control" in report
    assert "decision: promote (winner: formal)" in report

    result = ab.analyze_experiment("exp_001")
    assert result is not None and (result.winner, result.arm) == ("formal", "formal")

    promoted = maia("exp", "promote", "exp_001", "--json", cwd=three)
    assert promoted.code == 0, promoted.err
    assert json.loads(promoted.out)["winner"] == "formal"
    branch = "maia/promote/exp_001"
    assert git(three, "show", f"{branch}:{PROMPTS['control']}") == "Be formal and thorough.\n"
    assert "Promotes the `formal` prompt of" in git(three, "log", "-1", "--format=%B", branch)
    definition = (three / "experiments/exp_001/experiment.yaml").read_text(encoding="utf-8")
    assert "winner: formal\n" in definition
    assert "(formal wins)" in git(three, "log", "-1", "--format=%s")


def test_arms_default_to_numbered_names_and_equal_shares(three: Path, maia) -> None:
    result = maia(
        "exp", "new", "Three", "--agent", "helper", "--control", PROMPTS["control"],
        "--treatment", PROMPTS["short"], "--treatment", PROMPTS["formal"], cwd=three,
    )  # fmt: skip
    assert result.code == 0, result.err
    shown = json.loads(maia("exp", "show", "exp_001", "--json", cwd=three).out)
    named = {"treatment_1": PROMPTS["short"], "treatment_2": PROMPTS["formal"]}
    assert shown["treatments"] == named
    assert list(shown["shares"]) == ["control", "treatment_1", "treatment_2"]
    assert sum(shown["shares"].values()) == pytest.approx(1)


def test_a_two_arm_experiment_keeps_its_file_format(ws: Path, maia) -> None:
    new_exp(maia, ws, "--control-share", "0.3")
    text = (ws / "experiments/exp_001/experiment.yaml").read_text(encoding="utf-8")
    keys = [line.split(":")[0] for line in text.splitlines()]
    assert keys == ["id", "name", "hypothesis", "control", "treatment", "control_share", "created"]


TREATMENTS = ["--treatment", PROMPTS["short"], "--treatment", PROMPTS["formal"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arm-name", "a", "--arm-name", "a"], "arm name 'a' is given twice"),
        (["--arm-name", "Short", "--arm-name", "b"], "invalid arm name 'Short'"),
        (["--arm-name", "control", "--arm-name", "b"], "invalid arm name 'control'"),
        (["--arm-name", "a"], "2 treatments need 2 arm names, not 1"),
        (["--share", "0.5", "--share", "0.3", "--share", "0.3"], "must add up to 1, not 1.1"),
        (["--share", "0.5", "--share", "0.5"], "3 arms need 3 shares, not 2"),
        (["--control-share", "0.4"], "give every arm's share (--share)"),
    ],
)
def test_bad_arms_are_one_line_exit_2_and_write_nothing(
    three: Path, maia, extra: list[str], message: str
) -> None:
    snap = snapshot(three)
    result = maia(
        "exp", "new", "Bad", "--agent", "helper", "--control", PROMPTS["control"],
        *TREATMENTS, *extra, cwd=three,
    )  # fmt: skip
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1 and message in result.err, result.err
    assert snapshot(three) == snap


def test_more_than_nine_treatments_are_refused(three: Path, maia) -> None:
    for i in range(10):
        (three / f"agents/t{i}.md").write_text(f"prompt {i}\n", encoding="utf-8")
    snap = snapshot(three)
    many = [arg for i in range(10) for arg in ("--treatment", f"agents/t{i}.md")]
    result = maia("exp", "new", "Many", "--agent", "helper", "--control", PROMPTS["control"],
                  *many, cwd=three)  # fmt: skip
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "maia: error: an experiment has 1 to 9 treatments, not 10"
    ]
    assert snapshot(three) == snap


def test_names_and_shares_need_several_treatments(ws: Path, maia) -> None:
    result = maia("exp", "new", "One", "--agent", "helper", "--control", "agents/helper.md",
                  "--treatment", "agents/helper_v2.md", "--arm-name", "v2", cwd=ws)  # fmt: skip
    assert result.code == 2
    assert "arm names and shares are for two or more treatments" in result.err


GOOD = (
    'id: exp_001\nname: "Tone"\ncontrol: agents/helper.md\n'
    "treatments:\n  short: agents/helper_short.md\n  formal: agents/helper_formal.md\n"
    "shares:\n  control: 0.5\n  short: 0.25\n  formal: 0.25\n"
)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (GOOD.replace("formal: 0.25", "formal: 0.3"), ":8:3", "shares must add up to 1, not 1.05"),
        (
            GOOD.replace("  formal: 0.25\n", "  other: 0.25\n"),
            ":8:3",
            "shares must name the arms in order: control, short, formal",
        ),
        (GOOD.replace("  formal: agents", "  short: agents"), ":6:3", "duplicate"),
        (GOOD.replace("  short: agents", "  Short: agents"), ":5:3", "treatments must be"),
        (GOOD + "treatment: agents/helper_v2.md\n", ":11:12", "exclude each other"),
        (GOOD + "winner: long\n", ":11:9", "'long' is not an arm (control, short, formal)"),
        (
            GOOD.replace(
                "treatments:\n",
                "treatments:\n" + "".join(f"  t{i}: agents/t{i}.md\n" for i in range(8)),
            ),
            ":5:3",
            "a mapping of 2 to 9",
        ),
    ],
)
def test_a_bad_definition_is_exit_3_with_file_line_column(
    three: Path, maia, text: str, where: str, message: str
) -> None:
    new_exp(maia, three)
    (three / "experiments/exp_001/experiment.yaml").write_text(text, encoding="utf-8")
    result = maia("exp", "show", "exp_001", cwd=three)
    assert result.code == 3, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert f"experiments/exp_001/experiment.yaml{where}" in result.err and message in result.err


def test_a_line_with_an_arm_the_experiment_lacks_is_reported_not_counted(three: Path, maia) -> None:
    assert _new_three(maia, three).code == 0
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    users = [f"u{i}" for i in range(20)]
    rows = [{"ts": "2026-01-01T00:00:00Z", "user_id": u, "success": True,
             "arm": arm_among("exp_001", u, NAMES, SHARES)} for u in users]  # fmt: skip
    rows += [{**rows[0], "arm": "treatment"}, {**rows[1], "arm": "long"}]
    folder = three / "experiments/exp_001/interactions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "external.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    data = json.loads(maia("exp", "analyze", "exp_001", "--json", cwd=three).out)
    assert sum(a["n"] for a in data["arms"]) == 20
    assert data["invalid_lines"] == 2
    assert [p["error"] for p in data["problems"]] == [
        "arm must be one of control, short, formal"
    ] * 2
    wrong = "short" if rows[0]["arm"] != "short" else "formal"
    record = maia("exp", "record", "exp_001", "u0", "--success", "--arm", wrong, cwd=three)
    assert record.code == 2 and "disagrees with the assignment" in record.err
    record = maia("exp", "record", "exp_001", "u0", "--success", "--arm", "long", cwd=three)
    assert record.code == 2 and "must be one of control, short, formal" in record.err


def test_shares_edited_after_start_are_not_applied_and_doctor_says_so(three: Path, maia) -> None:
    assert _new_three(maia, three).code == 0
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    path = three / "experiments/exp_001/experiment.yaml"
    edited = path.read_text(encoding="utf-8").replace(
        "shares:\n  control: 0.5\n  short: 0.25\n  formal: 0.25\n",
        "shares:\n  control: 0.2\n  short: 0.4\n  formal: 0.4\n",
    )
    path.write_text(edited, encoding="utf-8")
    users = [f"u{i}" for i in range(200)]
    out = maia("exp", "assign", "exp_001", *users, cwd=three).out.splitlines()
    assert out == [f"{u}\t{arm_among('exp_001', u, NAMES, SHARES)}" for u in users]
    doctor = json.loads(maia("doctor", "--json", cwd=three).out)
    assert [p["check"] for p in doctor["problems"]] == ["split"], doctor
    assert "control=0.5, short=0.25, formal=0.25" in doctor["problems"][0]["fix"]


def test_the_api_takes_a_list_of_treatments_and_keeps_its_two_arm_form(three: Path) -> None:
    ab = ABTestingFramework(three)
    info = ab.create_experiment(
        "Tone", "formal wins", "helper", PROMPTS["control"],
        [PROMPTS["short"], PROMPTS["formal"]], arm_names=["short", "formal"], shares=SHARES,
    )  # fmt: skip
    assert (info.status, info.treatment_prompt, info.arms) == ("active", "", PROMPTS)
    two = ab.create_experiment(
        "Two", "", "other", PROMPTS["control"], "agents/helper_v2.md", start=False
    )
    assert (two.treatment_prompt, list(two.arms)) == (
        "agents/helper_v2.md",
        ["control", "treatment"],
    )
    with pytest.raises(UsageError, match="arm name 'short' is given twice"):
        ab.create_experiment(
            "Bad",
            "",
            "helper",
            PROMPTS["control"],
            [PROMPTS["short"], PROMPTS["formal"]],
            arm_names=["short", "short"],
        )
    ab.close()
