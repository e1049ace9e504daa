"""One CLI: every command prints JSON with --json, every changing command has a --dry-run that
changes nothing, one name per concept, refused contradictions, and "did you mean"."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from test_help import COMMANDS

from conftest import git, new_exp
from helpers import snapshot as tree_snapshot

RESPONSE = {
    "status": "completed",
    "requirements": ["diagnose"],
    "addressed_requirements": ["diagnose"],
    "token_count": 500,
}

# Commands that change the workspace (or would, with the arguments below) and so need --dry-run.
CHANGING = {  # in an order in which each works on the state the previous ones leave
    "init": ["init", "--github"],
    "exp new": ["exp", "new", "More", "--agent", "other", "--control", "agents/helper.md",
                "--treatment", "agents/helper_v2.md", "--note", "n"],
    "exp start": ["exp", "start", "exp_003"],
    "exp record": ["exp", "record", "exp_001", "carol", "--success", "--quality", "70"],
    "queue priority": ["queue", "priority", "exp_002", "--priority", "high"],
    "score eval": ["score", "eval", "response.json", "--agent", "helper"],
    "sync": ["sync"],
    "exp pause": ["exp", "pause", "exp_001", "--note", "why"],
    "exp resume": ["exp", "resume", "exp_004"],
    "exp complete": ["exp", "complete", "exp_001", "--note", "done"],
    "exp promote": ["exp", "promote", "exp_001", "--force", "--note", "reviewed"],
    "exp cancel": ["exp", "cancel", "exp_002", "--note", "stop"],
    "doctor": ["doctor", "--fix"],
    "ci analyze": ["ci", "analyze", "--auto-promote"],
    "logs export": ["logs", "export", "--to", "warehouse/logs"],
}  # fmt: skip
# Commands that only read (or, like demo, work in a repository of their own).
READING = {
    "exp show": ["exp", "show", "exp_001"],
    "exp list": ["exp", "list"],
    "exp log": ["exp", "log", "exp_001"],
    "exp assign": ["exp", "assign", "exp_001", "alice", "bob"],
    "exp analyze": ["exp", "analyze", "exp_001"],
    "exp plan": ["exp", "plan", "--baseline", "0.5", "--mde", "0.2"],
    "queue status": ["queue", "status"],
    "queue list": ["queue", "list"],
    "queue history": ["queue", "history"],
    "score avg": ["score", "avg", "--agent", "helper"],
    "score report": ["score", "report"],
    "completion": ["completion", "bash"],
    "logs sql": ["logs", "sql", "exp_001"],
    "logs sums": ["logs", "sums", "exp_001"],
}
# Commands that write only the folder they are given (outside the workspace here).
OUTPUT = {"demo": ["demo", "--users", "60", "--dir"], "report": ["report", "--out"]}
ALL = {" ".join(path) for path, command in COMMANDS if not isinstance(command, click.Group)}


def snapshot(top: Path) -> dict[str, str]:
    """The repository byte for byte, and maia's own files in the git directory (the records
    that wait for a sync, the sealing journal), which a dry run must not touch either."""
    import hashlib

    snap = tree_snapshot(top)
    for path in sorted((top / ".git" / "maia").rglob("*")):
        if path.is_file():
            snap[path.relative_to(top).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return snap


def test_every_command_is_classified() -> None:
    """A new command must say here whether it changes anything, so it gets both tests."""
    assert set(CHANGING) | set(READING) | set(OUTPUT) == ALL


@pytest.fixture
def busy(ws: Path, maia) -> Path:
    """exp_001 active with records, exp_002 queued behind it, exp_003 a draft, exp_004 paused
    (on agents of their own), one unsynced score, and a response file."""
    new_exp(maia, ws)
    new_exp(maia, ws, "--priority", "low")
    new_exp(maia, ws, agent="third")
    new_exp(maia, ws, agent="fourth")
    for args in (("start", "exp_001"), ("start", "exp_002"), ("start", "exp_004")):
        assert maia("exp", *args, cwd=ws).code == 0
    assert maia("exp", "pause", "exp_004", cwd=ws).code == 0
    for i in range(6):
        result = maia("exp", "record", "exp_001", f"u{i}", "--success", cwd=ws)
        assert result.code == 0, result.err
    (ws / "response.json").write_text(json.dumps(RESPONSE), encoding="utf-8")
    git(ws, "add", "response.json")
    git(ws, "commit", "-q", "-m", "a response")
    assert maia("score", "eval", "response.json", "--agent", "helper", cwd=ws).code == 0
    return ws


def _parse(name: str, out: str) -> object:
    if name == "exp assign":  # one object per user and line, for streaming
        return [json.loads(line) for line in out.splitlines()]
    return json.loads(out)


@pytest.mark.parametrize("group", ["reading", "changing"])
def test_every_command_prints_valid_json(busy: Path, maia, group: str) -> None:
    table = READING if group == "reading" else CHANGING
    for name, args in table.items():
        result = maia(*args, "--json", cwd=busy)
        assert result.code in (0, 1), (name, result.err)  # doctor and ci exit 1 on findings
        assert result.out.strip(), name
        try:
            _parse(name, result.out)
        except json.JSONDecodeError as err:
            pytest.fail(f"maia {name} --json: {err}\n{result.out[:500]}")


def test_output_commands_print_valid_json(busy: Path, tmp_path: Path, maia) -> None:
    before = snapshot(busy)
    for name, args in OUTPUT.items():
        result = maia(*args, str(tmp_path / name), "--json", cwd=busy)
        assert result.code == 0, (name, result.err)
        assert isinstance(json.loads(result.out), dict), name
        assert (tmp_path / name).is_dir(), name
    assert snapshot(busy) == before  # they wrote only where they were told


def test_every_changing_command_has_a_dry_run_that_changes_nothing(busy: Path, maia) -> None:
    for name, args in CHANGING.items():
        before = snapshot(busy)
        result = maia(*args, "--dry-run", cwd=busy)
        assert result.code in (0, 1), (name, result.err)
        assert "dry run" in result.out.lower(), (name, result.out)
        assert snapshot(busy) == before, f"maia {name} --dry-run changed the repository"
        json_run = maia(*args, "--dry-run", "--json", cwd=busy)
        assert json.loads(json_run.out)["dry_run"] is True, name
        assert snapshot(busy) == before, f"maia {name} --dry-run --json changed the repository"


def test_the_changing_commands_do_change_something(busy: Path, maia) -> None:
    """The control for the dry-run test: without --dry-run, each of them changes the repository
    (in this order, each on the state the previous left). doctor and ci find nothing to do here."""
    for name in [n for n in CHANGING if n not in ("doctor", "ci analyze")]:
        before = snapshot(busy)
        result = maia(*CHANGING[name], cwd=busy)
        assert result.code == 0, (name, result.err)
        assert snapshot(busy) != before, name


# --- one name per concept ---------------------------------------------------------------------


def test_old_spellings_still_work_with_a_warning(busy: Path, maia) -> None:
    old = maia("queue", "priority", "exp_002", "high", cwd=busy)
    assert old.code == 0 and "--priority" in old.err
    assert json.loads(maia("exp", "show", "exp_002", "--json", cwd=busy).out)["priority"] == "high"
    result = maia("exp", "pause", "exp_001", "--reason", "tool outage", cwd=busy)
    assert result.code == 0, result.err
    assert "--reason is now --note" in result.err
    entry = json.loads(maia("exp", "show", "exp_001", "--json", cwd=busy).out)
    assert entry["reason"] == "tool outage"
    record = maia("exp", "record", "exp_004", "--user", "dan", "--failure", cwd=busy)
    assert "--user is now USER" in record.err


def test_old_spellings_are_hidden_from_help(maia, tmp_path: Path) -> None:
    for args in (["exp", "pause"], ["exp", "complete"], ["exp", "record"], ["exp", "new"]):
        text = maia(*args, "--help", cwd=tmp_path).out
        for old in ("--reason", "--outcome", "--notes", "--user "):
            assert old not in text, (args, old)


def test_a_concept_given_twice_is_refused(busy: Path, maia) -> None:
    before = snapshot(busy)
    both = maia("exp", "pause", "exp_001", "--note", "a", "--reason", "b", cwd=busy)
    assert both.code == 2 and "same option" in both.err
    assert snapshot(busy) == before


def test_success_and_failure_are_exclusive_and_one_is_required(busy: Path, maia) -> None:
    before = snapshot(busy)
    both = maia("exp", "record", "exp_001", "zed", "--success", "--failure", cwd=busy)
    assert both.code == 2 and "cannot be given together" in both.err
    neither = maia("exp", "record", "exp_001", "zed", cwd=busy)
    assert neither.code == 2 and "--success or --failure" in neither.err
    assert snapshot(busy) == before
    text = maia("exp", "record", "--help", cwd=busy).out
    assert "this or --failure" in text and "this or --success" in text


def test_priority_is_refused_in_the_same_words_everywhere(busy: Path, maia) -> None:
    from maia_git.api import ExperimentQueue
    from maia_git.errors import UsageError

    new = maia("exp", "new", "x", "--agent", "a", "--control", "agents/helper.md",
               "--treatment", "agents/helper_v2.md", "--priority", "urgent", cwd=busy)  # fmt: skip
    option = maia("queue", "priority", "exp_002", "--priority", "urgent", cwd=busy)
    positional = maia("queue", "priority", "exp_002", "urgent", cwd=busy)
    with pytest.raises(UsageError) as api:
        ExperimentQueue(path=busy).change_priority("exp_002", "urgent")
    words = f"maia: error: {api.value}"
    assert new.err.strip() == words == option.err.strip()
    assert positional.err.strip().endswith(words)
    assert {new.code, option.code, positional.code} == {2}


# --- did you mean -----------------------------------------------------------------------------


def test_a_number_means_the_experiment_with_that_number(busy: Path, maia) -> None:
    result = maia("exp", "show", "2", cwd=busy)
    assert result.code == 2
    assert result.err.strip() == "maia: error: unknown experiment '2'; did you mean exp_002?"


def test_a_misspelt_id_gets_the_close_ones(busy: Path, maia) -> None:
    result = maia("exp", "analyze", "exp_01", cwd=busy)
    assert result.code == 2 and "did you mean exp_001" in result.err
    far = maia("exp", "show", "nothing-like-it", cwd=busy)
    assert far.code == 2 and "did you mean" not in far.err


def test_a_misspelt_command_gets_the_close_ones(busy: Path, maia) -> None:
    result = maia("exp", "strat", "exp_003", cwd=busy)
    assert result.code == 2 and "did you mean start" in result.err
    top = maia("queu", "status", cwd=busy)
    assert top.code == 2 and "did you mean queue" in top.err


def test_completion_scripts_name_the_commands(maia, tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        result = maia("completion", shell, cwd=tmp_path)
        assert result.code == 0 and "_MAIA_COMPLETE" in result.out, shell
