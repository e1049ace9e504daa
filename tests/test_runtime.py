"""Pinned prompts and the runtime API: what is served, what is recorded, what is refused."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from maia_git import ABTestingFramework, ExperimentQueue
from maia_git.core.assign import arm
from maia_git.errors import UsageError
from maia_git.storage import segments, state
from maia_git.storage.git import find_repo
from maia_git.usecases.recording import Recorder

from conftest import git, new_exp, run_cli
from helpers import snapshot


def log_lines(top: Path, exp_id: str) -> list[str]:
    """Every log line of the experiment on this machine, synced or not."""
    listing = segments.log_files(find_repo(top), exp_id)
    return [ln for f in listing.files for ln in (top / f).read_text().splitlines()]


def pending(top: Path, exp_id: str) -> Path:
    """The test writer's file of records not yet synced."""
    return Recorder(top).shard(exp_id)


def blob(top: Path, rev_path: str) -> str:
    return git(top, "rev-parse", rev_path).strip()


def commit_file(top: Path, rel: str, text: str, message: str = "edit") -> None:
    (top / rel).write_text(text, encoding="utf-8")
    git(top, "add", "--", rel)
    git(top, "commit", "-qm", message)


@pytest.fixture
def active(ws: Path, maia) -> str:
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    return exp_id


# --- pinning at start ------------------------------------------------------------------------


def test_start_pins_both_prompts_whether_active_or_waiting(ws: Path, maia) -> None:
    first = new_exp(maia, ws)
    second = new_exp(maia, ws)  # same agent: it waits in the queue while first runs
    assert maia("exp", "start", first, cwd=ws).code == 0
    assert maia("exp", "start", second, cwd=ws).code == 0
    assert state.load_entry(ws, second).status == "queued"
    for exp_id in (first, second):
        pins = state.load_experiment(ws, exp_id).pins
        assert {a: (p.path, p.blob, p.share) for a, p in pins.items()} == {
            "control": ("agents/helper.md", blob(ws, "HEAD:agents/helper.md"), 0.5),
            "treatment": ("agents/helper_v2.md", blob(ws, "HEAD:agents/helper_v2.md"), 0.5),
        }
    assert git(ws, "status", "--porcelain") == ""


@pytest.mark.parametrize("change", ["untracked", "modified", "staged"])
def test_start_refuses_a_prompt_that_is_not_committed_as_it_is(ws: Path, maia, change: str) -> None:
    if change == "untracked":
        (ws / "agents/new.md").write_text("new\n", encoding="utf-8")
        treatment = "agents/new.md"
    else:
        (ws / "agents/helper_v2.md").write_text("edited\n", encoding="utf-8")
        treatment = "agents/helper_v2.md"
        if change == "staged":
            git(ws, "add", treatment)
    created = maia(
        "exp", "new", "x", "--agent", "helper", "--control", "agents/helper.md",
        "--treatment", treatment, cwd=ws,
    )  # fmt: skip
    exp_id = created.out.split()[1]
    snap = snapshot(ws)
    result = maia("exp", "start", exp_id, cwd=ws)
    what = "untracked" if change == "untracked" else "modified"
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.endswith(
        f"error: cannot start {exp_id}: the treatment prompt {treatment} is {what}; commit it "
        f"first (git add -- {treatment} && git commit -m 'Prompt for {exp_id}')"
    )
    assert snapshot(ws) == snap


def test_create_experiment_refuses_uncommitted_prompts_and_leaves_a_draft(ws: Path) -> None:
    (ws / "agents/helper_v3.md").write_text("v3\n", encoding="utf-8")
    framework = ABTestingFramework(ws)
    with pytest.raises(UsageError, match="is untracked; commit it first"):
        framework.create_experiment("x", "h", "helper", ws / "agents/helper.md",
                                    ws / "agents/helper_v3.md")  # fmt: skip
    assert state.load_entry(ws, "exp_001").status == "draft"
    assert not state.load_experiment(ws, "exp_001").pins


# --- serving the pinned prompt ---------------------------------------------------------------


def test_get_prompt_serves_the_pinned_text_whatever_happens_to_the_files(
    ws: Path, active: str
) -> None:
    control = (ws / "agents/helper.md").read_text()
    treatment = (ws / "agents/helper_v2.md").read_text()
    pinned = {"control": control, "treatment": treatment}
    users = [f"user-{i}" for i in range(40)]
    # Edit both files (one committed, one not), and ask a fresh process-like framework.
    commit_file(ws, "agents/helper.md", "A committed rewrite.\n")
    (ws / "agents/helper_v2.md").write_text("An uncommitted edit.\n", encoding="utf-8")
    framework = ABTestingFramework(ws)
    for user in users:
        served = framework.get_prompt(active, user)
        assert served.arm == arm(active, user) == framework.assign_treatment(active, user)
        assert served.text == pinned[served.arm]
        assert served.pinned and served.status == "active" and served.note is None
        assert served.path == {"control": "agents/helper.md",
                               "treatment": "agents/helper_v2.md"}[served.arm]  # fmt: skip
        assert served.blob == blob(ws, f"{git(ws, 'rev-list', '--max-parents=0', 'HEAD').strip()}"
                                   f":{served.path}")  # fmt: skip


def test_assign_json_gives_what_get_prompt_gives(ws: Path, active: str) -> None:
    proc = run_cli(["exp", "assign", active, "alice", "bob", "--json"], cwd=ws)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    framework = ABTestingFramework(ws)
    assert lines == [
        {"user_id": u, **framework.get_prompt(active, u).to_dict()} for u in ("alice", "bob")
    ]


def test_a_paused_experiment_serves_head_and_records_nothing(ws: Path, active: str, maia) -> None:
    framework = ABTestingFramework(ws)
    treated = next(u for u in (f"u{i}" for i in range(99)) if arm(active, u) == "treatment")
    assert framework.get_prompt(active, treated).arm == "treatment"
    assert maia("exp", "pause", active, "--note", "r", cwd=ws).code == 0
    commit_file(ws, "agents/helper.md", "What HEAD holds now.\n")
    time.sleep(1.1)  # the recheck interval, and the one of HEAD's file
    served = framework.get_prompt(active, treated)
    assert (served.arm, served.text, served.pinned) == ("control", "What HEAD holds now.\n", False)
    assert served.blob == blob(ws, "HEAD:agents/helper.md") and served.status == "paused"
    assert served.note == f"{active} is paused: serving agents/helper.md as committed at HEAD"
    assert framework.assign_treatment(active, treated) == "control"
    result = framework.record_interaction(active, treated, True)
    assert not result and result.reason == f"{active} is paused, not active"
    assert log_lines(ws, active) == []
    with pytest.raises(UsageError, match="it is paused, not active"):
        ABTestingFramework(ws, strict=True).record_interaction(active, treated, True)
    assert run_cli(["exp", "assign", active, treated], cwd=ws).stdout == f"{treated}\tcontrol\n"


def test_a_finished_experiment_whose_file_is_gone_serves_its_pinned_control(
    ws: Path, active: str, maia
) -> None:
    control = (ws / "agents/helper.md").read_text()
    assert maia("exp", "complete", active, "--outcome", "done", cwd=ws).code == 0
    git(ws, "rm", "-q", "agents/helper.md")
    git(ws, "commit", "-qm", "retire the old prompt")
    served = ABTestingFramework(ws).get_prompt(active, "anyone")
    assert (served.text, served.pinned, served.status) == (control, False, "completed")
    assert served.note == (
        f"{active} is completed and agents/helper.md is not at HEAD: serving the pinned control"
    )


LOOP = textwrap.dedent(
    """
    import json, sys, time
    from maia_git import ABTestingFramework

    framework = ABTestingFramework()
    counts = {"recorded": 0, "not_recorded": 0, "pinned": 0, "head": 0}
    deadline = time.monotonic() + 600  # only against a hang: the pause ends the loop
    i = 0
    while time.monotonic() < deadline and counts["not_recorded"] < 200:
        user = f"user-{i % 500}"
        served = framework.get_prompt(sys.argv[1], user)
        counts["pinned" if served.pinned else "head"] += 1
        result = framework.record_interaction(sys.argv[1], user, i % 3 == 0)
        counts["recorded" if result.recorded else "not_recorded"] += 1
        if i == 50:
            print("running", flush=True)
        i += 1
    framework.close()
    print(json.dumps(counts), flush=True)
    """
)


def test_a_pause_during_a_running_loop_in_another_process_raises_nothing_there(
    ws: Path, active: str
) -> None:
    loop = subprocess.Popen(
        [sys.executable, "-c", LOOP, active], cwd=ws, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert loop.stdout is not None
    assert loop.stdout.readline() == "running\n"
    paused = run_cli(["exp", "pause", active, "--note", "mid-loop"], cwd=ws)
    assert paused.returncode == 0, paused.stderr
    out, err = loop.communicate(timeout=900)
    assert loop.returncode == 0, err
    counts = json.loads(out)
    assert counts["recorded"] > 50 and counts["not_recorded"] == 200
    # get_prompt and record_interaction each re-read the status at most every 0.1 s, on their own
    # clocks: the served prompt may switch to HEAD a few calls after recording stops.
    assert counts["head"] >= 190
    assert len(log_lines(ws, active)) == counts["recorded"]


# --- the served blob in the logs -------------------------------------------------------------


def test_each_line_names_the_served_blob_and_another_blob_is_not_counted(
    ws: Path, active: str, maia
) -> None:
    framework = ABTestingFramework(ws)
    for i in range(20):
        result = framework.record_interaction(active, f"u{i}", True, interaction_id=f"i{i}")
        assert result.record is not None
        served = framework.get_prompt(active, f"u{i}")
        assert result.record["prompt_blob"] == served.blob
    framework.close()
    shard = pending(ws, active)
    line = json.loads(shard.read_text().splitlines()[0])
    other = "treatment" if line["arm"] == "control" else "control"
    other_blob = state.load_experiment(ws, active).pins[other].blob
    stray = {**line, "interaction_id": "stray", "prompt_blob": other_blob}
    with shard.open("a") as f:
        f.write(json.dumps(stray) + "\n")
    result = maia("exp", "analyze", active, "--json", cwd=ws)
    data = json.loads(result.out)
    assert data["invalid_lines"] == 1
    (problem,) = data["problems"]
    assert problem["line"] == 21
    assert problem["error"].startswith(
        f"prompt_blob {stray['prompt_blob'][:12]} is not the {line['arm']} prompt pinned"
    )
    assert data["control"]["n"] + data["treatment"]["n"] == 20


# --- promotions and the queue ----------------------------------------------------------------


def fill(framework: ABTestingFramework, exp_id: str, users: int = 400) -> None:
    rng = random.Random(16)
    for i in range(users):
        user = f"user-{i}"
        rate = 0.8 if arm(exp_id, user) == "treatment" else 0.45
        assert framework.record_interaction(exp_id, user, rng.random() < rate)


def test_promotion_that_would_rewrite_another_pinned_prompt_is_refused(ws: Path, maia) -> None:
    winner = new_exp(maia, ws)
    other = new_exp(maia, ws, agent="helper2")  # another agent, same control file
    for exp_id in (winner, other):
        assert maia("exp", "start", exp_id, cwd=ws).code == 0
    fill(ABTestingFramework(ws), winner)
    snap = snapshot(ws)
    refused = maia("exp", "promote", winner, cwd=ws)
    assert refused.code == 1
    assert refused.err.strip().endswith(
        f"error: not promoting {winner}: it would rewrite agents/helper.md, the control prompt "
        f"of {other} (active); finish {other} first, or use --force --note TEXT"
    )
    assert snapshot(ws) == snap
    assert maia("exp", "pause", other, cwd=ws).code == 0
    assert f"of {other} (paused)" in maia("exp", "promote", winner, cwd=ws).err
    forced = maia("exp", "promote", winner, "--force", "--note", "other is stale", cwd=ws)
    assert forced.code == 0, forced.err


def test_completing_after_a_promotion_records_the_outcome_once(ws: Path, active: str, maia) -> None:
    framework = ABTestingFramework(ws)
    fill(framework, active)
    assert framework.auto_promote_winner(active) is not None
    queue = ExperimentQueue(path=ws)
    head = blob(ws, "HEAD")
    done = queue.complete_experiment(active, outcome="Treatment 70% better")
    assert (done.status, done.outcome) == ("completed", "Treatment 70% better")
    assert "Maia-Experiment: " + active in git(ws, "log", "-1", "--format=%B")
    again = blob(ws, "HEAD")
    assert again != head
    queue.complete_experiment(active, outcome="Treatment 70% better")
    assert blob(ws, "HEAD") == again  # nothing new to record: no commit
    by_cli = maia("exp", "complete", active, "--note", "Shipped", cwd=ws)
    assert (by_cli.code, by_cli.out) == (0, f"outcome of {active}\n")
    assert state.load_entry(ws, active).outcome == "Shipped"


# --- experiments started before pins ---------------------------------------------------------


def unpin(ws: Path, exp_id: str) -> None:
    """Make ``exp_id`` look like one started before pins existed."""
    rel = state.experiment_rel(exp_id)
    text = (ws / rel).read_text().split("pins:")[0]
    commit_file(ws, rel, text, "an experiment from before pins")


def test_an_experiment_started_before_pins_serves_its_start_commit_and_doctor_pins_it(
    ws: Path, active: str, maia
) -> None:
    started = {rel: (ws / rel).read_text() for rel in ("agents/helper.md", "agents/helper_v2.md")}
    unpin(ws, active)
    commit_file(ws, "agents/helper_v2.md", "Changed after the start.\n")
    framework = ABTestingFramework(ws)
    for user in ("a", "b", "c", "d"):
        served = framework.get_prompt(active, user)
        assert served.pinned and served.text == started[served.path]
    report = json.loads(maia("doctor", "--json", cwd=ws).out)
    assert {
        "check": "pins", "where": state.experiment_rel(active),
        "what": f"{active} has no pinned prompts",
        "fix": "`maia doctor --fix` pins the prompts of the commit that started it",
        "fixable": True,
    } in report["problems"]  # fmt: skip
    fixed = maia("doctor", "--fix", cwd=ws)
    assert f"pinned the prompts of {active}" in fixed.out
    pins = state.load_experiment(ws, active).pins
    assert pins["control"].blob == blob(ws, "HEAD~2:agents/helper.md")
    assert pins["treatment"].blob == blob(ws, "HEAD~2:agents/helper_v2.md")


def test_doctor_reports_a_drifted_pin_and_a_split_changed_after_start(
    ws: Path, active: str, maia
) -> None:
    pinned = blob(ws, "HEAD:agents/helper.md")
    commit_file(ws, "agents/helper.md", "Rewritten while the experiment runs.\n")
    rel = state.experiment_rel(active)
    commit_file(ws, rel, (ws / rel).read_text().replace("control_share: 0.5", "control_share: 0.3"))
    report = json.loads(maia("doctor", "--json", cwd=ws).out)
    whats = [p["what"] for p in report["problems"]]
    assert (
        f"agents/helper.md no longer matches the control prompt pinned by {active} "
        f"({pinned[:12]}; HEAD holds {blob(ws, 'HEAD:agents/helper.md')[:12]}): {active} "
        "still serves and compares the pinned text"
    ) in whats
    assert (
        f"control_share of {active} is 0.3 but it started with 0.5: the edit is not applied "
        "(users keep their arms; the analysis uses the split it started with)"
    ) in whats
    assert not report["healthy"]


def test_a_split_edited_after_start_is_not_applied(ws: Path, active: str, maia) -> None:
    framework = ABTestingFramework(ws)
    users = [f"user-{i}" for i in range(300)]
    for user in users[:150]:
        assert framework.record_interaction(active, user, True)
    rel = state.experiment_rel(active)
    commit_file(ws, rel, (ws / rel).read_text().replace("control_share: 0.5", "control_share: 0.1"))
    later = ABTestingFramework(ws)  # a runtime started after the edit
    for user in users[150:]:
        assert later.get_prompt(active, user).arm == arm(active, user, 0.5)
        assert later.record_interaction(active, user, True)
    assert run_cli(["exp", "assign", active, "user-1"], cwd=ws).stdout == (
        f"user-1\t{arm(active, 'user-1', 0.5)}\n"
    )
    data = json.loads(maia("exp", "analyze", active, "--json", cwd=ws).out)
    assert data["invalid_lines"] == 0  # no line became "wrong arm"
    assert data["control"]["n"] + data["treatment"]["n"] == 300


def test_doctor_warns_about_user_ids_that_look_like_email_addresses(
    ws: Path, active: str, maia
) -> None:
    framework = ABTestingFramework(ws)
    framework.record_interaction(active, "opaque-1", True)
    framework.record_interaction(active, "nathan@example.com", True)
    framework.close()
    report = json.loads(maia("doctor", "--json", cwd=ws).out)
    privacy = [p for p in report["problems"] if p["check"] == "privacy"]
    assert privacy == [
        {
            "check": "privacy",
            "where": f"{segments.shown(find_repo(ws), str(pending(ws, active)))}:2",
            "what": "1 log line(s) have user ids that look like e-mail addresses",
            "fix": "log a pseudonymous id instead (maia_git.pseudonymous_id, see "
            "docs/privacy.md); committed lines can only be erased by rewriting history",
            "fixable": False,
        }
    ]


# --- pseudonymous ids --------------------------------------------------------------------------


def test_pseudonymous_id_is_an_hmac_under_a_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib
    import hmac

    from maia_git import pseudonymous_id

    key = "k" * 32
    expected = hmac.new(key.encode(), b"nathan@example.com", hashlib.sha256).hexdigest()
    monkeypatch.delenv("MAIA_PSEUDONYM_KEY", raising=False)
    with pytest.raises(UsageError, match="set MAIA_PSEUDONYM_KEY"):
        pseudonymous_id("nathan@example.com")
    monkeypatch.setenv("MAIA_PSEUDONYM_KEY", key)
    assert pseudonymous_id("nathan@example.com") == expected[:32]
    assert pseudonymous_id("nathan@example.com", key="x" * 16) != expected[:32]
    with pytest.raises(UsageError, match="at least 16 bytes"):
        pseudonymous_id("nathan@example.com", key="short")


def test_the_documented_openssl_command_gives_the_same_pseudonymous_id() -> None:
    import shutil

    from maia_git import pseudonymous_id

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key = "0123456789abcdef0123"
    proc = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key],
        input=b"nathan@example.com",
        capture_output=True,
        check=True,
    )
    assert proc.stdout.split()[-1].decode()[:32] == pseudonymous_id("nathan@example.com", key)
