"""Making the git reader count the copy of a repeated interaction id that ``core.repeats`` names.

The fast reader (``storage.logscan``) keeps 60-bit hashes of the ids it counted, not the lines,
so it counts the first valid copy it reads. When it found repeats, this reads the experiment's
files again, finds for each repeated id the copy the reader counted and the copy the rule
names, and returns what to take away and what to add. It costs a second pass over the files,
and only an experiment with repeated ids pays it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from maia_git.core.assign import CONTROL
from maia_git.core.interaction import check_line
from maia_git.core.repeats import copy_order
from maia_git.stats import ArmStats
from maia_git.storage.jsonl import read_lines


def _valid_with_ids(
    top: Path, rels: list[str], exp_id: str, share: float
) -> Iterator[dict[str, Any]]:
    for rel in rels:
        try:
            lines = list(read_lines(top / rel))
        except (OSError, ValueError):
            continue  # the reader reported it
        for _, item in lines:
            if isinstance(item, str) or item.get("interaction_id") is None:
                continue
            if check_line(item, exp_id, share) is None:
                yield item


def corrected(
    top: Path, rels: list[str], exp_id: str, share: float, control: ArmStats,
    treatment: ArmStats,
) -> tuple[ArmStats, ArmStats]:  # fmt: skip
    """``control`` and ``treatment`` as the reader added them (the first valid copy of each id,
    reading ``rels`` in order), changed to count the copy ``core.repeats`` names instead."""
    counts = Counter(r["interaction_id"] for r in _valid_with_ids(top, rels, exp_id, share))
    repeated = {i for i, n in counts.items() if n > 1}
    first: dict[str, dict[str, Any]] = {}
    best: dict[str, dict[str, Any]] = {}
    for record in _valid_with_ids(top, rels, exp_id, share):
        key = record["interaction_id"]
        if key not in repeated:
            continue
        first.setdefault(key, record)
        if key not in best or copy_order(record, exp_id) < copy_order(best[key], exp_id):
            best[key] = record
    changes = [(first[k], best[k]) for k in repeated if first[k] is not best[k]]
    for old, new in changes:
        control, treatment = _move(control, treatment, old, -1)
        control, treatment = _move(control, treatment, new, +1)
    return control, treatment


def _move(
    control: ArmStats, treatment: ArmStats, record: dict[str, Any], sign: int
) -> tuple[ArmStats, ArmStats]:
    one = ArmStats.from_record(record)
    if record["arm"] == CONTROL:
        return _plus(control, one, sign), treatment
    return control, _plus(treatment, one, sign)


def _plus(total: ArmStats, one: ArmStats, sign: int) -> ArmStats:
    values: list[Any] = [
        getattr(total, f.name) + sign * getattr(one, f.name) for f in fields(ArmStats)
    ]
    # Rounding can leave -1e-13 where a sum returns to zero.
    kept: list[Any] = [max(v, 0.0) if isinstance(v, float) else v for v in values]
    return ArmStats(*kept)
