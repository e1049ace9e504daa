"""Everything the CLI writes goes through ``escape.terminal`` on its way out.

Names, hypotheses, notes, paths, log fields and error details come from files that a pull
request can change. Instead of escaping at each of the many places that print, ``main`` wraps
stdout and stderr in an ``EscapingStream`` for the length of the command: control characters
(ANSI/OSC escape sequences, C1 controls such as the one-character CSI U+009B, line and paragraph
separators, bidirectional overrides) are written as visible ``\\x1b``-style escapes.

maia's own colours are let through: ``ours`` marks the escape character of a sequence maia made
with a random per-process token, which file content cannot contain, and the stream turns the token
back into ESC after escaping everything else. A carriage return is kept on stderr, where progress
lines rewrite themselves, and escaped on stdout.
"""

from __future__ import annotations

import io
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from maia_git.core.escape import terminal

_MARK = f"\ue000{secrets.token_hex(8)}\ue001"
# Cursor hide/show that click's progress bar writes; harmless whoever writes them.
_CURSOR = ("\x1b[?25l", "\x1b[?25h")


def ours(text: str) -> str:
    """``text`` (with escape sequences maia made) marked so that the stream lets them through."""
    return text.replace("\x1b", _MARK)


class EscapingStream(io.TextIOBase):
    """A text stream that escapes control characters before writing to ``inner``."""

    def __init__(self, inner: TextIO, keep_cr: bool) -> None:
        self.inner = inner
        self.keep_cr = keep_cr

    def write(self, text: str) -> int:
        for sequence in _CURSOR:
            text = text.replace(sequence, ours(sequence))
        if self.keep_cr:
            clean = "\r".join(terminal(part) for part in text.split("\r"))
        else:
            clean = terminal(text)
        self.inner.write(clean.replace(_MARK, "\x1b"))
        return len(text)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True


@contextmanager
def escaped_output() -> Iterator[None]:
    """Wrap sys.stdout and sys.stderr for the length of one command."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = EscapingStream(out, keep_cr=False)  # type: ignore[assignment]
    sys.stderr = EscapingStream(err, keep_cr=True)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
