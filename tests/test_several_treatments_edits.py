"""Hand edits to an experiment with several treatments: what the definition refuses, and the
arms that are fixed once it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.api import ABTestingFramework
from maia_git.core.assign import arm_among
from maia_git.errors import UsageError

from conftest import git
from helpers import snapshot

DEFINITION = "experiments/exp_001/experiment.yaml"
PROMPTS = {
    "control": "agents/helper.md",
    "short": "agents/helper_short.md",
    "formal": "agents/helper_formal.md",
}
TREATMENTS = "treatments:\n  short: agents/helper_short.md\n  formal: agents/helper_formal.md\n"
SHARES = "shares:\n  control: 0.5\n  short: 0.25\n  formal: 0.25\n"


@pytest.fixture
def three(ws: Path, maia) -> Path:
    """A workspace with a three-arm experiment exp_001 (draft) over committed prompts."""
    (ws / PROMPTS["short"]).write_text("Be brief.\n", encoding="utf-8")
    (ws / PROMPTS["formal"]).write_text("Be formal and thorough.\n", encoding="utf-8")
    git(ws, "add", "agents")
    git(ws, "commit", "-q", "-m", "two candidate prompts")
    created = maia(
        "exp", "new", "Tone", "--agent", "helper", "--control", PROMPTS["control"],
        "--treatment", PROMPTS["short"], "--arm-name", "short",
        "--treatment", PROMPTS["formal"], "--arm-name", "formal",
        "--share", "0.5", "--share", "0.25", "--share", "0.25", cwd=ws,
    )  # fmt: skip
    assert created.code == 0, created.err
    return ws


def _edit(top: Path, old: str, new: str) -> None:
    path = top / DEFINITION
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  short: agents/helper_short.md\n",
            "  short: agents/helper.md\n",
            "arms control and short are the same file (agents/helper.md)",
        ),
        (
            "  formal: agents/helper_formal.md\n",
            "  formal: agents/helper_short.md\n",
            "arms short and formal are the same file (agents/helper_short.md)",
        ),
    ],
    ids=["control", "treatments"],
)
def test_a_definition_giving_two_arms_one_file_is_exit_3_and_never_starts(
    three: Path, maia, old: str, new: str, message: str
) -> None:
    _edit(three, old, new)
    git(three, "commit", "-q", "-am", "one prompt for two arms")
    snap = snapshot(three)
    for args in (("exp", "show", "exp_001"), ("exp", "start", "exp_001")):
        result = maia(*args, cwd=three)
        assert result.code == 3, result.err
        assert result.err.strip().splitlines() == [f"maia: error: {DEFINITION}:6:3: {message}"]
    assert snapshot(three) == snap


REORDERED = (
    TREATMENTS,
    "treatments:\n  formal: agents/helper_formal.md\n  short: agents/helper_short.md\n",
    SHARES,
    "shares:\n  control: 0.5\n  formal: 0.25\n  short: 0.25\n",
)
ADDED = (
    TREATMENTS,
    TREATMENTS + "  long: agents/helper_v2.md\n",
    SHARES,
    "shares:\n  control: 0.4\n  short: 0.2\n  formal: 0.2\n  long: 0.2\n",
)


@pytest.mark.parametrize(
    ("edits", "now"),
    [(REORDERED, "control, formal, short"), (ADDED, "control, short, formal, long")],
    ids=["reordered", "added"],
)
def test_arms_reordered_or_added_after_start_are_exit_3_not_a_new_split(
    three: Path, maia, edits: tuple[str, str, str, str], now: str
) -> None:
    # The buckets are cut in the arms' order: a reordered or added arm would move users that
    # were already served, so the file is refused until its arms are the pinned ones again.
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    users = [f"u{i}" for i in range(40)]
    before = maia("exp", "assign", "exp_001", *users, cwd=three).out
    assert before.splitlines() == [
        f"{u}\t{arm_among('exp_001', u, list(PROMPTS), [0.5, 0.25, 0.25])}" for u in users
    ]
    _edit(three, edits[0], edits[1])
    _edit(three, edits[2], edits[3])
    expected = (
        f"maia: error: {DEFINITION}:6:3: the arms are fixed at start (control, short, formal), "
        f"not {now}: put them back; other arms are a new experiment"
    )
    for args in (("exp", "assign", "exp_001", "u1"), ("exp", "analyze", "exp_001")):
        result = maia(*args, cwd=three)
        assert result.code == 3, result.err
        assert result.err.strip().splitlines() == [expected]
    doctor = json.loads(maia("doctor", "--json", cwd=three).out)
    assert any("the arms are fixed at start" in p["what"] for p in doctor["problems"]), doctor
    git(three, "checkout", "--", DEFINITION)
    assert maia("exp", "assign", "exp_001", *users, cwd=three).out == before


def test_the_api_refuses_a_string_for_arm_names_or_shares(three: Path) -> None:
    # A str is a Sequence of one-letter str: "ab" must not become the arms a and b.
    ab = ABTestingFramework(three)
    treatments = [PROMPTS["short"], PROMPTS["formal"]]
    snap = snapshot(three)
    with pytest.raises(UsageError, match=r"^arm_names must be a list of names, not a string$"):
        ab.create_experiment("S", "", "other", PROMPTS["control"], treatments, arm_names="ab")
    with pytest.raises(UsageError, match=r"^shares must be a list of numbers, not a string$"):
        ab.create_experiment("S", "", "other", PROMPTS["control"], treatments, shares="0.5")
    assert snapshot(three) == snap
    ab.close()


def test_promote_judges_the_arm_name_before_the_analysis(three: Path, maia) -> None:
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    snap = snapshot(three)
    result = maia("exp", "promote", "exp_001", "--arm", "long", cwd=three)
    assert result.code == 2, result.err
    assert result.err.strip().splitlines() == [
        "maia: error: 'long' is not a treatment of exp_001: short, formal"
    ]
    assert snapshot(three) == snap


def test_promote_again_with_another_arm_is_refused_not_reported_done(three: Path, maia) -> None:
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    forced = ("--force", "--note", "reviewed by hand")
    first = maia("exp", "promote", "exp_001", "--arm", "formal", *forced, cwd=three)
    assert first.code == 0, first.err
    branch = git(three, "rev-parse", "maia/promote/exp_001")
    snap = snapshot(three)
    again = maia("exp", "promote", "exp_001", "--arm", "short", *forced, cwd=three)
    assert again.code == 1, again.err
    assert again.err.strip().splitlines() == [
        "maia: error: not promoting short: exp_001 was completed with formal promoted on "
        "maia/promote/exp_001"
    ]
    assert snapshot(three) == snap
    same = maia("exp", "promote", "exp_001", "--arm", "formal", cwd=three)
    assert same.code == 0 and "reused" in same.out, same.err
    assert git(three, "rev-parse", "maia/promote/exp_001") == branch


def test_show_gives_each_arms_pin_as_blob_and_share(three: Path, maia) -> None:
    assert maia("exp", "start", "exp_001", cwd=three).code == 0
    blobs = {
        arm: git(three, "rev-parse", f"HEAD:{path}").strip()[:10] for arm, path in PROMPTS.items()
    }
    out = maia("exp", "show", "exp_001", cwd=three).out.splitlines()
    assert (
        f"  pins:       control={blobs['control']} (0.5), short={blobs['short']} (0.25), "
        f"formal={blobs['formal']} (0.25)"
    ) in out, out


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "  formal: 0.25\n",
            "  formal: x\n",
            ":9:3",
            "share, a number between 0 and 1, not 'formal': 'x'",
        ),
        ("  formal: 0.25\n", "  formal: true\n", ":9:3", "not 'formal': True"),
        (
            "  formal: agents/helper_formal.md\n",
            "  formal: /etc/passwd\n",
            ":6:3",
            "to prompt paths, not 'formal': '/etc/passwd'",
        ),
    ],
    ids=["share", "boolean", "path"],
)
def test_a_bad_entry_of_a_mapping_is_named_not_the_mapping_cut_short(
    three: Path, maia, old: str, new: str, where: str, message: str
) -> None:
    _edit(three, old, new)
    result = maia("exp", "show", "exp_001", cwd=three)
    assert result.code == 3, result.err
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"maia: error: {DEFINITION}{where}: ") and line.endswith(message), line


def test_shares_for_one_treatment_point_to_the_control_share(three: Path, maia) -> None:
    snap = snapshot(three)
    result = maia(
        "exp", "new", "Two", "--agent", "other", "--control", PROMPTS["control"],
        "--treatment", PROMPTS["short"], "--share", "0.6", "--share", "0.4", cwd=three,
    )  # fmt: skip
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "maia: error: arm names and shares are for two or more treatments; with one, the "
        "control share (--control-share) sets the split"
    ]
    assert snapshot(three) == snap
