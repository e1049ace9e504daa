"""Text that maia puts out, escaped for where it goes: one function per medium.

State files and logs arrive in pull requests, so any text in them may be hostile: a newline that
ends a Markdown quote, ``<!--`` that hides the rest of a pull request body from reviewers, a
newline in a commit subject, ANSI/OSC escape sequences and C1 controls (U+009B is a one-character
CSI) that drive a terminal. Every place that writes text out goes through one of these:

- ``terminal``: any line shown on a terminal (controls become visible ``\\x1b`` escapes);
- ``one_line`` / ``clip``: error messages and other single lines, capped in length;
- ``subject``: a commit subject or pull request title (one line, no controls);
- ``markdown_inline`` / ``markdown_cell``: text inside a Markdown paragraph, quote or table cell;
- ``code_fence``: a fence that the fenced text cannot close.

``--json`` output needs no function here: ``json.dumps`` escapes the C0 controls, and
``json_safe`` escapes the rest (DEL, C1 controls, line and paragraph separators), which JSON
allows raw but which a terminal showing the JSON would act on.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls (U+0080-U+009F, including the one-character
# CSI U+009B and the NEL line break U+0085), the Unicode line and paragraph separators, the
# bidirectional overrides and isolates (which reorder what a reviewer sees), and lone surrogates.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_CONTROLS_AND_BREAKS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
MAX_LINE = 300


def _visible(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def terminal(text: str) -> str:
    """``text`` with every control character (but tab and newline) shown as an escape."""
    return _CONTROLS.sub(lambda m: _visible(m.group()), text)


def one_line(text: str) -> str:
    """``text`` on one line: controls escaped, newlines and tabs shown as ``\\n`` and ``\\t``."""
    return _CONTROLS_AND_BREAKS.sub(lambda m: _escape_break(m.group()), text)


def _escape_break(char: str) -> str:
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or _visible(char)


def clip(text: str, limit: int = 120) -> str:
    """``one_line(text)`` cut to ``limit`` characters, saying how much was left out."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    return f"{flat[: max(limit - 25, 10)]}... ({len(text)} characters)"


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for an error message: ``repr`` for short ones, clipped for long ones."""
    if isinstance(value, str) and len(value) > limit:
        return f"{one_line(repr(value[: max(limit - 25, 10)]))}... ({len(value)} characters)"
    return clip(repr(value), limit)


def line(text: str, limit: int = MAX_LINE) -> str:
    """A whole message line (an error): one line, at most ``limit`` characters."""
    return clip(text, limit)


def subject(text: str, limit: int = 72) -> str:
    """A commit subject or pull request title: one line, no controls, whitespace collapsed."""
    flat = " ".join(_CONTROLS_AND_BREAKS.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


# Characters with a meaning in CommonMark/GFM inline text; a backslash before any ASCII
# punctuation makes it literal. '<' is written as an entity so that no HTML (and no comment
# opening "<!--") can start; '&' too, so that no entity is formed from the text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def markdown_inline(text: str) -> str:
    """``text`` as literal Markdown inside a paragraph, a list item or a ``>`` quote line.

    Line breaks become spaces (a newline would end a quote or start a block), controls are
    escaped, HTML cannot start, and Markdown punctuation is backslash-escaped.
    """
    flat = one_line_spaces(text).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def one_line_spaces(text: str) -> str:
    """Line breaks and tabs as spaces, other controls escaped."""
    text = re.sub("[\n\r\t\x0b\x0c\x85\u2028\u2029]", " ", text)
    return terminal(text)


def markdown_cell(text: str) -> str:
    """``text`` inside a GFM table cell: as ``markdown_inline``; ``|`` is escaped there too."""
    return markdown_inline(text)


def code_fence(text: str, info: str = "") -> str:
    """``text`` in a backtick fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}"


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(encoded: str) -> str:
    """JSON text (from ``json.dumps``) with the characters JSON allows raw but terminals act on
    written as ``\\uXXXX`` escapes; it decodes to the same value."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
