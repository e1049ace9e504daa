"""Text from files never drives the terminal: escape sequences and C1 controls are shown, not sent.

A hand-edited (or pull-request-edited) experiment can hold ANSI and OSC sequences (colours, window
titles, OSC 8 links, OSC 52 clipboard writes), the one-character CSI U+009B and line separators.
Every command that prints it must print them as visible escapes; ``--json`` must stay valid JSON
that decodes to the exact text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.core import escape
from maia_git.storage import state, yamlio

from conftest import git, new_exp

NAME = (
    "Plain \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x1b[2J\u009b31m red\x07"
    "\u2028x\u202eevil"
)
RAW = ("\x1b", "\x07", "\u009b", "\u2028", "\u202e")


@pytest.fixture
def hostile(ws: Path, maia) -> Path:
    exp_id = new_exp(maia, ws)
    path = ws / state.experiment_rel(exp_id)
    data = yamlio.load(path, "x").data
    path.write_bytes(yamlio.dumps({**data, "name": NAME, "hypothesis": NAME}))
    entry = ws / state.queue_rel(exp_id)
    entry.write_bytes(yamlio.dumps({**yamlio.load(entry, "x").data, "notes": NAME}))
    git(ws, "commit", "-qam", "hand edit")
    return ws


@pytest.mark.parametrize(
    "args",
    [
        ("exp", "list"),
        ("exp", "show", "exp_001"),
        ("queue", "status"),
        ("exp", "start", "exp_001"),
        ("exp", "log", "exp_001"),
        ("doctor",),
    ],
)
def test_commands_show_controls_as_escapes(hostile: Path, maia, args: tuple[str, ...]) -> None:
    result = maia(*args, cwd=hostile)
    assert not any(c in result.out + result.err for c in RAW), result.out + result.err


@pytest.mark.parametrize("args", [("exp", "list", "--json"), ("exp", "show", "exp_001", "--json")])
def test_json_escapes_them_and_decodes_to_the_exact_text(
    hostile: Path, maia, args: tuple[str, ...]
) -> None:
    result = maia(*args, cwd=hostile)
    assert result.code == 0, result.err
    assert not any(c in result.out for c in RAW)
    data = json.loads(result.out)
    assert (data[0] if isinstance(data, list) else data)["name"] == NAME


def test_commit_messages_hold_no_controls(hostile: Path, maia) -> None:
    assert maia("exp", "start", "exp_001", cwd=hostile).code == 0
    assert maia("exp", "pause", "exp_001", "--note", "held \u009b31m", cwd=hostile).code == 0
    log = git(hostile, "log", "--format=%B", "-3")
    assert not any(c in log for c in RAW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("\u009b2J", "\\u009b2J"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\u2028\u202e", "\\u2028\\u202e"),
        ("é€😀", "é€😀"),
    ],
)
def test_terminal_escaping(text: str, expected: str) -> None:
    assert escape.terminal(text) == expected


def test_one_line_messages_are_capped() -> None:
    line = escape.line("x" * 1_000_000)
    assert len(line) <= 300 and line.endswith("(1000000 characters)")
    assert "\n" not in escape.line("a\nb") and escape.line("a\nb") == "a\\nb"


def test_json_printed_through_the_escaping_stream_stays_valid_json() -> None:
    # Commands that stream JSON lines with ensure_ascii=False go through the same stream.
    import io

    from maia_git.cli.terminal import EscapingStream

    value = {"user": "a\x7f\u009b\u2028\u202eb\x1b"}
    sink = io.StringIO()
    EscapingStream(sink, keep_cr=False).write(json.dumps(value, ensure_ascii=False))
    assert json.loads(sink.getvalue()) == value
    assert not any(c in sink.getvalue() for c in RAW)
