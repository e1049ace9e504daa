"""Text that maia puts out, escaped for where it goes: one function per medium.

State files and logs arrive in pull requests, so any text in them may be hostile: a newline that
ends a Markdown quote, ``<!--`` that hides the rest of a pull request body from reviewers, a
newline in a commit subject, ANSI/OSC escape sequences and C1 controls (U+009B is a one-character
CSI) that drive a terminal. Every place that writes text out goes through one of these:

- ``terminal``: text shown on a terminal (controls become visible ``\\x1b`` escapes); the CLI
  applies it to everything it writes (``cli/terminal.py``);
- ``one_line``, ``clip``, ``line``, ``shown``: single lines and quoted values in messages,
  capped in length (an error line is at most ``MAX_LINE`` characters);
- ``subject``: a commit subject, a trailer value or a pull request title;
- ``markdown_inline``, ``code_span``, ``code_fence``: text in a Markdown paragraph, quote or
  table cell, inline code, and a fence that the fenced text cannot close (pull request bodies,
  commit bodies, the Actions step summary);
- ``workflow_data``, ``workflow_property``: GitHub Actions workflow commands (``::error::``);
- ``json_safe``: ``--json`` output. ``json.dumps`` escapes the C0 controls; this escapes what
  JSON allows raw but a terminal acts on (DEL, C1 controls, line and paragraph separators).
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
    """``\\x1b`` for a C0 control, ``\\u009b`` from DEL up: inside a JSON string (printed with
    ``ensure_ascii=False``, where JSON already escapes C0) the second form is a valid escape of
    the same character, so JSON output stays valid JSON."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"


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


def reason(err: BaseException) -> str:
    """What went wrong, in words, for any exception: never empty, never ``None``."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return clip(str(err), 160) or type(err).__name__


def line(text: str, limit: int = MAX_LINE) -> str:
    """A whole message line (an error): one line, at most ``limit`` characters."""
    return clip(text, limit)


def subject(text: str, limit: int = 120) -> str:
    """A commit subject, a trailer value or a pull request title: one line, whitespace
    collapsed, line breaks as spaces, other controls escaped, at most ``limit`` characters."""
    flat = " ".join(_spaces(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


_BREAKS = re.compile("[\n\r\t\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")


def _spaces(text: str) -> str:
    """Line breaks and tabs as spaces, other controls escaped."""
    return terminal(_BREAKS.sub(" ", text))


# CommonMark makes any ASCII punctuation after a backslash literal. These are the characters that
# can start something inside a line of text: emphasis, code, links and images, HTML (and so a
# comment "<!--" that hides the rest of the page), entities, table cells, strikethrough. What can
# only start a block ("#", ">", "-", "1.") is harmless here: the text never starts a line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")


def markdown_inline(text: str) -> str:
    """``text`` as literal Markdown inside a paragraph, a ``>`` quote line or a table cell.

    Line breaks become spaces (a newline would end the quote or start a block), controls are
    escaped, and the characters that start inline Markdown or HTML are backslash-escaped.
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(_spaces(text).split()))


def code_span(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds (one line, controls escaped)."""
    flat = " ".join(_spaces(text).split())
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def code_fence(text: str, info: str = "") -> str:
    """``text`` in a backtick fence longer than any backtick run inside it; controls escaped."""
    body = terminal(text)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body.rstrip(chr(10))}\n{fence}"


def workflow_data(text: str) -> str:
    """The message of a GitHub Actions workflow command (``::error::MESSAGE``): a newline in it
    would end the command and start another, so GitHub's own escapes are used."""
    return terminal(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def workflow_property(text: str) -> str:
    """A property of a workflow command (``title=...``): also ``:`` and ``,`` escaped."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(encoded: str) -> str:
    """JSON text (from ``json.dumps``) with the characters JSON allows raw but terminals act on
    written as ``\\uXXXX`` escapes; it decodes to the same value."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
