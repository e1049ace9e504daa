"""Timestamps in state files: RFC 3339 in UTC, kept in one canonical form so they sort as text.

maia writes ``2026-11-27T06:03:04.812114Z``; a hand-edited ``2026-11-27T06:03:04Z`` is the same
kind of value but would sort after it as text, so it is read into the canonical form.
"""

from __future__ import annotations

import re
from datetime import date

_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])"
    r"(?:\.([0-9]{1,9}))?(?:Z|\+00:00)"
)


def canonical_ts(text: str) -> str | None:
    """``text`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, or None if it is not an RFC 3339 UTC time."""
    match = _TS.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return None
    micros = (fraction or "").ljust(6, "0")[:6]
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micros}Z"
