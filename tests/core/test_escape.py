"""Escaping for each medium: what an attacker's text becomes in a commit, Markdown or Actions."""

from __future__ import annotations

import pytest

from maia_git.core import escape


def test_a_subject_is_one_line_without_controls() -> None:
    assert escape.subject("new experiment\nsecond line\r\n\u2028third") == (
        "new experiment second line third"
    )
    assert escape.subject("\x1b]0;title\x07", 120) == "\\x1b]0;title\\x07"
    assert len(escape.subject("x" * 500, 120)) == 120


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!-- hidden", "\\<!-- hidden"),
        ("a | b", "a \\| b"),
        ("[x](https://e.example)", "\\[x\\](https://e.example)"),
        ("*bold* _it_ `code` ~~s~~", "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~"),
        ("line\n> quote\n# head", "line \\> quote # head"),
        ("&amp;", "\\&amp;"),
    ],
)
def test_markdown_inline_makes_text_literal(text: str, expected: str) -> None:
    assert escape.markdown_inline(text) == expected


def test_a_code_fence_cannot_be_closed_by_its_content() -> None:
    fenced = escape.code_fence("a\n```\nb\n", "diff")
    assert fenced.startswith("````diff\n") and fenced.endswith("\n````")
    assert escape.code_span("a`b") == "``a`b``"


def test_workflow_commands_cannot_be_injected() -> None:
    data = escape.workflow_data("failed\n::add-mask::x\r%")
    assert data == "failed%0A::add-mask::x%0D%25"
    assert escape.workflow_property("a: b, c") == "a%3A b%2C c"


def test_json_safe_keeps_the_value() -> None:
    import json

    text = json.dumps({"n": "\x9b\u2028\x7f"}, ensure_ascii=False)
    safe = escape.json_safe(text)
    assert safe.isascii() and json.loads(safe) == {"n": "\x9b\u2028\x7f"}
