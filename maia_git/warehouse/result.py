"""The rows the aggregate statement returns, read into per-arm sums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maia_git.core.assign import ARMS
from maia_git.errors import MaiaError
from maia_git.stats import ArmStats, RatioSums
from maia_git.warehouse.sql import METRICS, RESULT, SUMS

# A ratio metric's units, num, den, num2, den2 and numden.
Sums = tuple[int, float, float, float, float, float]


def _empty() -> dict[str, Sums]:
    return {m: (0, 0.0, 0.0, 0.0, 0.0, 0.0) for m in METRICS}


@dataclass(frozen=True)
class ArmSums:
    """One arm: distinct users, valid interactions counted, and each metric's per-user sums."""

    users: int = 0
    n: int = 0
    metrics: Mapping[str, Sums] = field(default_factory=_empty)

    def to_dict(self) -> dict[str, Any]:
        sums = {m: dict(zip(SUMS, self.metrics[m], strict=True)) for m in METRICS}
        return {"users": self.users, "n": self.n, "sums": sums}

    def arm_stats(self) -> ArmStats:
        """The per-user ``stats.ArmStats`` these sums hold (a RatioSums per metric)."""
        return ArmStats(*(RatioSums(*self.metrics[m]) for m in METRICS))


MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """An invalid row: where it came from (segment and line, when the rows say; otherwise the
    source, line 0, and the row's ts, user_id and interaction_id) and why."""

    file: str
    line: int
    error: str
    row: Mapping[str, str | None] | None = None


@dataclass(frozen=True)
class SourceSums:
    """What a source's statement returned: each arm's sums, and the counts of rows read."""

    arms: Mapping[str, ArmSums]  # every arm of the experiment, control first
    rows: int  # rows the source returned
    valid: int  # rows that pass the line rules (repeated ids included)
    fetched: int  # rows the engine sent back
    problems: tuple[Problem, ...] = ()  # the first MAX_PROBLEMS invalid rows, where known

    @property
    def control(self) -> ArmSums:
        return self.arms.get("control", ArmSums())

    @property
    def treatment(self) -> ArmSums:
        return self.arms.get("treatment", ArmSums())

    @property
    def invalid(self) -> int:
        return self.rows - self.valid

    @property
    def duplicates(self) -> int:
        return self.valid - sum(a.n for a in self.arms.values())

    @classmethod
    def empty(cls, names: Sequence[str] = ARMS) -> SourceSums:
        return cls(dict.fromkeys(names, ArmSums()), 0, 0, 0)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]], names: Sequence[str] = ARMS) -> SourceSums:
        """The statement's rows: one per arm of ``names`` that has rows, and ``*`` for rows
        whose arm is none of them."""
        arms = dict.fromkeys(names, ArmSums())
        read = valid = 0
        for row in rows:
            if len(row) != len(RESULT):
                raise MaiaError(f"the engine returned {len(row)} columns, not {len(RESULT)}")
            values = dict(zip(RESULT, row, strict=True))
            read += int(values["rows"])
            valid += int(values["valid"])
            if values["arm"] in arms:
                arms[values["arm"]] = _arm(values)
            elif values["arm"] != "*":  # '*': rows whose arm is none of the experiment's
                raise MaiaError(f"the engine returned an unknown arm {values['arm']!r}")
        return cls(arms, read, valid, len(rows))

    def to_dict(self) -> dict[str, Any]:
        """Two arms under ``control`` and ``treatment``; more as an ``arms`` list."""
        if tuple(self.arms) == ARMS:
            out: dict[str, Any] = {"control": self.control.to_dict(),
                                   "treatment": self.treatment.to_dict()}  # fmt: skip
        else:
            out = {"arms": [{"name": k} | a.to_dict() for k, a in self.arms.items()]}
        return out | {
            "rows": self.rows,
            "invalid_lines": self.invalid,
            "duplicate_lines": self.duplicates,
            "rows_fetched": self.fetched,
        }


def _arm(values: Mapping[str, Any]) -> ArmSums:
    metrics: dict[str, Sums] = {}
    for m in METRICS:
        units, *rest = (values[f"{m}_{s}"] for s in SUMS)
        metrics[m] = (int(units), *(float(v) for v in rest))  # type: ignore[assignment]
    return ArmSums(int(values["users"]), int(values["n"]), metrics)
