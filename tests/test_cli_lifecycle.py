"""The experiment lifecycle through the CLI, on real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, new_exp
from helpers import snapshot


def test_init_writes_workspace_in_one_commit_and_is_idempotent(repo: Path, maia) -> None:
    before = git(repo, "rev-list", "--count", "HEAD")
    first = maia("init", cwd=repo)
    assert first.code == 0, first.err
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(before) + 1
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert {"maia.yaml", ".gitattributes", "queue/.gitkeep", "experiments/.gitkeep"} <= set(files)
    settings = (repo / "maia.yaml").read_text()
    for line in (
        "max_concurrent: 3",
        "min_samples: 30",
        "min_lift: 0.15",
        "alpha: 0.05",
        "method: sequential",
    ):
        assert line in settings
    assert "merge=union" in (repo / ".gitattributes").read_text()
    snap = snapshot(repo)
    second = maia("init", cwd=repo)
    assert second.code == 0
    assert "nothing to change" in second.out
    assert snapshot(repo) == snap


def test_init_outside_git_says_how_to_make_one(tmp_path: Path, maia) -> None:
    result = maia("init", cwd=tmp_path)
    assert result.code == 2
    assert "git init" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_new_generates_sequential_ids_and_writes_definition(ws: Path, maia) -> None:
    assert new_exp(maia, ws) == "exp_001"
    assert new_exp(maia, ws) == "exp_002"
    shown = json.loads(maia("exp", "show", "exp_001", "--json", cwd=ws).out)
    assert shown["status"] == "draft"
    assert shown["agent"] == "helper"
    assert shown["control"] == "agents/helper.md"
    assert shown["treatment"] == "agents/helper_v2.md"
    assert shown["priority"] == "medium"
    assert (ws / "experiments/exp_001/experiment.yaml").is_file()
    assert "status" not in (ws / "experiments/exp_001/experiment.yaml").read_text()
    message = git(ws, "log", "-1", "--format=%B")
    assert "Maia-Experiment: exp_002" in message and "Maia-Transition: none->draft" in message


def test_a_second_treatment_is_a_third_arm_never_silently_dropped(ws: Path, maia) -> None:
    # Here the second treatment is the control's own file: refused, naming both arms.
    snap = snapshot(ws)
    result = maia(
        "exp", "new", "Two", "--agent", "helper", "--control", "agents/helper.md",
        "--treatment", "agents/helper_v2.md", "--treatment", "agents/helper.md", cwd=ws,
    )  # fmt: skip
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "maia: error: arms control and treatment_2 are the same file (agents/helper.md)"
    ]
    assert snapshot(ws) == snap


def test_every_transition_is_one_commit_with_trailers(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws, "--id", "flow")
    steps = [
        ("start", "draft->queued"),
        ("pause", "active->paused"),
        ("resume", "paused->queued"),
        ("complete", "active->completed"),
    ]
    for event, arrow in steps:
        count = int(git(ws, "rev-list", "--count", "HEAD"))
        result = maia("exp", event, exp_id, cwd=ws)
        assert result.code == 0, result.err
        assert int(git(ws, "rev-list", "--count", "HEAD")) == count + 1
        assert f"Maia-Transition: {arrow}" in git(ws, "log", "-1", "--format=%B")
    assert json.loads(maia("exp", "show", exp_id, "--json", cwd=ws).out)["status"] == "completed"
    log = maia("exp", "log", exp_id, "--json", cwd=ws)
    chain = [e["transition"] for e in json.loads(log.out)]
    assert chain == [
        "none->draft",
        "draft->queued->active",
        "active->paused",
        "paused->queued->active",
        "active->completed",
    ]


def test_cancel_from_each_unfinished_state_and_not_after(ws: Path, maia) -> None:
    for setup in ([], ["start"], ["start", "pause"]):
        exp_id = new_exp(maia, ws, agent=f"agent{len(setup)}")
        for event in setup:
            assert maia("exp", event, exp_id, cwd=ws).code == 0
        result = maia("exp", "cancel", exp_id, "--note", "not needed", cwd=ws)
        assert result.code == 0, result.err
        shown = json.loads(maia("exp", "show", exp_id, "--json", cwd=ws).out)
        assert shown["status"] == "cancelled" and shown["reason"] == "not needed"
    again = maia("exp", "cancel", "exp_001", cwd=ws)
    assert again.code == 4
    assert "allowed: none" in again.err


def test_illegal_transition_exits_4_listing_allowed_events(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    snap = snapshot(ws)
    result = maia("exp", "pause", exp_id, cwd=ws)
    assert result.code == 4
    assert "allowed: start, cancel" in result.err
    assert snapshot(ws) == snap


def test_only_maia_paths_are_committed_and_user_work_is_left_alone(ws: Path, maia) -> None:
    (ws / "staged.txt").write_text("user staged\n")
    git(ws, "add", "staged.txt")
    (ws / "README.md").write_text("user edit, unstaged\n")
    (ws / "untracked.txt").write_text("scratch\n")
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    for rev in ("HEAD", "HEAD~1"):
        changed = git(ws, "show", "--name-only", "--format=", rev).split()
        assert all(p.startswith(("queue/", "experiments/")) for p in changed), changed
    status = git(ws, "status", "--porcelain")
    assert "A  staged.txt" in status
    assert " M README.md" in status
    assert "?? untracked.txt" in status
    assert (ws / "README.md").read_text() == "user edit, unstaged\n"


def test_dry_run_prints_message_and_changes_nothing(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws)
    snap = snapshot(ws)
    result = maia("exp", "start", exp_id, "--dry-run", cwd=ws)
    assert result.code == 0
    assert "Maia-Transition: draft->queued" in result.out
    assert "Maia-Transition: queued->active" in result.out
    assert snapshot(ws) == snap
    new_dry = maia(
        "exp",
        "new",
        "X",
        "--agent",
        "a2",
        "--control",
        "agents/helper.md",
        "--treatment",
        "agents/helper_v2.md",
        "--dry-run",
        cwd=ws,
    )
    assert new_dry.code == 0 and "none->draft" in new_dry.out
    assert snapshot(ws) == snap


def test_list_filters_by_status_and_has_json_fields(ws: Path, maia) -> None:
    a = new_exp(maia, ws)
    new_exp(maia, ws, agent="other")
    maia("exp", "start", a, cwd=ws)
    rows = json.loads(maia("exp", "list", "--status", "active", "--json", cwd=ws).out)
    assert [r["id"] for r in rows] == [a]
    for key in ("id", "name", "agent", "status", "priority", "control", "treatment"):
        assert key in rows[0]
    assert "exp_002" in maia("exp", "list", cwd=ws).out


def test_prompt_paths_relative_to_current_directory(ws: Path, maia) -> None:
    result = maia(
        "exp",
        "new",
        "From sub",
        "--agent",
        "helper",
        "--control",
        "helper.md",
        "--treatment",
        "helper_v2.md",
        cwd=ws / "agents",
    )
    assert result.code == 0, result.err
    shown = json.loads(maia("exp", "show", "exp_001", "--json", cwd=ws).out)
    assert shown["control"] == "agents/helper.md"


def test_reason_text_is_kept_as_written_and_trailers_are_not_spoofed(ws: Path, maia) -> None:
    exp_id = new_exp(maia, ws, "--hypothesis", "Maia-Transition: draft->promoted")
    maia("exp", "start", exp_id, cwd=ws)
    maia("exp", "pause", exp_id, "--note", "Keep ABC for the API", cwd=ws)
    assert "Reason: Keep ABC for the API" in git(ws, "log", "-1", "--format=%B")
    chain = [e["transition"] for e in json.loads(maia("exp", "log", exp_id, "--json", cwd=ws).out)]
    assert chain == ["none->draft", "draft->queued->active", "active->paused"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["exp", "pause", "exp_001", "--note", "a\x01b"], "control character"),
        (["exp", "pause", "exp_001", "--note", "bad \udcff bytes"], "not UTF-8"),
        (
            [
                "exp",
                "new",
                "x",
                "--agent",
                "a",
                "--control",
                "agents/helper.md",
                "--treatment",
                "agents/helper_v2.md",
                "--hypothesis",
                "\udcff",
            ],
            "not UTF-8",
        ),
        (
            [
                "exp",
                "new",
                "x",
                "--agent",
                "a",
                "--control",
                "agents/helper.md",
                "--treatment",
                "agents/helper_v2.md",
                "--note",
                "x\x00y",
            ],
            "control character",
        ),
    ],
)
def test_free_text_that_cannot_be_stored_is_refused(
    ws: Path, maia, args: list[str], needle: str
) -> None:
    exp_id = new_exp(maia, ws)
    maia("exp", "start", exp_id, cwd=ws)
    snap = snapshot(ws)
    result = maia(*args, cwd=ws)
    assert result.code == 2 and needle in result.err
    assert snapshot(ws) == snap


def test_an_unexpected_failure_while_committing_is_undone(
    ws: Path, maia, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maia_git.storage import git as git_module

    exp_id = new_exp(maia, ws)
    snap = snapshot(ws)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(git_module, "commit_paths", broken)
    with pytest.raises(RuntimeError):
        maia("exp", "start", exp_id, cwd=ws)
    monkeypatch.undo()
    assert snapshot(ws) == snap
    assert not (ws / ".git/maia-journal.json").exists()


def test_init_github_triggers_on_the_current_branch(tmp_path: Path, maia) -> None:
    top = tmp_path / "trunk"
    top.mkdir()
    git(top, "init", "-q", "-b", "trunk")
    assert maia("init", "--github", cwd=top).code == 0
    workflow = (top / ".github/workflows/maia-analyze.yml").read_text()
    assert 'branches: ["trunk"]' in workflow and "branches: [main]" not in workflow
    assert ".github/workflows/maia-analyze.yml" in git(top, "show", "--name-only", "HEAD")
