"""Which copy of a repeated interaction id counts: one rule for the git reader and for SQL.

Of the valid lines that share an ``interaction_id``, the one that counts is the first by
(ts, success, quality_score, tokens, latency_ms, md5 of "<experiment>:<user>"), absent values
before present ones. Timestamps compare as microseconds since the epoch (digits beyond the sixth
are cut; a leap second is the next minute's first instant). Copies are usually identical, and
then the choice changes nothing; when they differ, this order gives the same answer in every
engine (``warehouse/sql.py`` writes it as ``ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)``)
and whatever order the files are read in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from maia_git.core.fields import TS_PATTERN

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts_micros(text: str) -> int:
    """Microseconds since the epoch of a timestamp that ``TS_PATTERN`` accepts."""
    match = TS_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    hour, minute = int(text[11:13]), int(text[14:16])
    day = datetime(int(match[1]), int(match[2]), int(match[3]), hour, minute, tzinfo=UTC)
    delta = day - _EPOCH + timedelta(seconds=int(match[5]))
    fraction = (match[6] or ".")[1:]
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + int((fraction + "000000")[:6])


def _optional(record: Mapping[str, Any], key: str) -> tuple[bool, float]:
    value = record.get(key)
    return (False, 0.0) if value is None else (True, float(value))


def copy_order(record: Mapping[str, Any], experiment_id: str) -> tuple[Any, ...]:
    """The sort key of a valid line among the copies of its interaction id (smallest counts)."""
    user = f"{experiment_id}:{record['user_id']}".encode()
    return (
        ts_micros(record["ts"]),
        record["success"],
        _optional(record, "quality_score"),
        _optional(record, "tokens"),
        _optional(record, "latency_ms"),
        hashlib.md5(user, usedforsecurity=False).hexdigest(),
    )
