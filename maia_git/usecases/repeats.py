"""Making the git reader count the copy of a repeated interaction id that ``core.repeats`` names.

The fast reader (``storage.logscan``) keeps 60-bit hashes of the ids it counted, not the lines,
so it counts the first valid copy it reads. When it found repeats, this reads the experiment's
files again, finds for each repeated id the copy the reader counted and the copy the rule
names, and returns what to take away and what to add. It costs a second pass over the files,
and only an experiment with repeated ids pays it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from maia_git.core.assign import Split
from maia_git.core.interaction import check_line
from maia_git.core.repeats import copy_order
from maia_git.stats.users import UserTotals
from maia_git.storage.jsonl import read_lines


def _valid_with_ids(
    top: Path, rels: list[str], exp_id: str, share: Split, pins: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    """The lines with an id that the reader would count: valid, and served their arm's pin."""
    for rel in rels:
        try:
            lines = list(read_lines(top / rel))
        except (OSError, ValueError):
            continue  # the reader reported it
        for _, item in lines:
            if isinstance(item, str) or item.get("interaction_id") is None:
                continue
            if check_line(item, exp_id, share, pins) is None:
                yield item


def corrected(
    top: Path, rels: list[str], exp_id: str, share: Split, pins: Mapping[str, str],
    arms: dict[str, UserTotals],
) -> None:  # fmt: skip
    """Change ``arms``, each arm's per-user totals as the reader added them (the
    first valid copy of each id, reading ``rels`` in order), to count the copy ``core.repeats``
    names instead. Per user, not per arm: a user's sums of squares change with the copy."""
    counts = Counter(r["interaction_id"] for r in _valid_with_ids(top, rels, exp_id, share, pins))
    repeated = {i for i, n in counts.items() if n > 1}
    first: dict[str, dict[str, Any]] = {}
    best: dict[str, dict[str, Any]] = {}
    for record in _valid_with_ids(top, rels, exp_id, share, pins):
        key = record["interaction_id"]
        if key not in repeated:
            continue
        first.setdefault(key, record)
        if key not in best or copy_order(record, exp_id) < copy_order(best[key], exp_id):
            best[key] = record
    for key in repeated:
        if first[key] is not best[key]:
            _move(arms, first[key], -1.0)
            _move(arms, best[key], +1.0)


def _move(arms: dict[str, UserTotals], record: dict[str, Any], sign: float) -> None:
    totals = arms[record["arm"]]
    numbers = (_number(record.get(k)) for k in ("quality_score", "tokens", "latency_ms"))
    totals.add_record(record["user_id"], record["success"], *numbers, sign=sign)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
