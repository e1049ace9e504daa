"""Sufficient statistics of one arm: counts and sums that add across log shards.

Everything the tests need (rates, means, variances) follows from these sums, so a shard is folded
once and its ``ArmStats`` cached; shards then combine with ``+`` (as gbstats' statistics do).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from maia_git.errors import UsageError
from maia_git.stats import _checks

_COUNTS = ("n", "successes", "quality_count", "tokens_count", "latency_count")
_SUMS = ("quality_sum", "quality_sumsq", "tokens_sum", "latency_sum")


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Interactions, successes, and count/sum(/sum of squares) of each optional field."""

    n: int = 0
    successes: int = 0
    quality_count: int = 0
    quality_sum: float = 0.0
    quality_sumsq: float = 0.0
    tokens_count: int = 0
    tokens_sum: float = 0.0
    latency_count: int = 0
    latency_sum: float = 0.0

    def __post_init__(self) -> None:
        for name in _COUNTS:
            object.__setattr__(self, name, _checks.count(name, getattr(self, name)))
        for name in _SUMS:
            object.__setattr__(self, name, _checks.number(name, getattr(self, name)))
        for name in ("successes", "quality_count", "tokens_count", "latency_count"):
            if getattr(self, name) > self.n:
                raise UsageError(f"{name} ({getattr(self, name)}) exceeds interactions ({self.n})")
        for name in ("quality_sumsq", "tokens_sum", "latency_sum"):
            _checks.non_negative(name, getattr(self, name))

    def __add__(self, other: object) -> ArmStats:
        if not isinstance(other, ArmStats):
            return NotImplemented
        return ArmStats(*(getattr(self, f) + getattr(other, f) for f in _FIELDS))

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> ArmStats:
        """The statistics of one log record (DESIGN.md's interaction log format)."""
        return cls.from_records((record,))

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, object]]) -> ArmStats:
        """Fold records into running sums; plain local variables keep the loop cheap."""
        n = successes = q_count = t_count = l_count = 0
        q_sum = q_sumsq = t_sum = l_sum = 0.0
        for record in records:
            success, quality, tokens, latency = _values(record)
            n += 1
            successes += success
            if quality is not None:
                q_count += 1
                q_sum += quality
                q_sumsq += quality * quality
            if tokens is not None:
                t_count += 1
                t_sum += tokens
            if latency is not None:
                l_count += 1
                l_sum += latency
        return cls(n, successes, q_count, q_sum, q_sumsq, t_count, t_sum, l_count, l_sum)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ArmStats:
        """Read the sums written by ``to_dict`` (derived values in it are ignored)."""
        return cls(**{f: data[f] for f in _FIELDS if f in data})  # type: ignore[arg-type]

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def quality_mean(self) -> float | None:
        return self.quality_sum / self.quality_count if self.quality_count else None

    @property
    def quality_var(self) -> float | None:
        """Sample variance (n - 1); clamped at 0 because sum-of-squares rounding can dip below."""
        if self.quality_count < 2:
            return None
        centred = self.quality_sumsq - self.quality_sum * self.quality_sum / self.quality_count
        return max(centred, 0.0) / (self.quality_count - 1)

    @property
    def quality_std(self) -> float | None:
        var = self.quality_var
        return None if var is None else math.sqrt(var)

    @property
    def tokens_mean(self) -> float | None:
        return self.tokens_sum / self.tokens_count if self.tokens_count else None

    @property
    def latency_mean(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count else None

    def to_dict(self) -> dict[str, object]:
        """The sums (enough to rebuild the object) and the derived values, JSON-safe."""
        derived = {
            "rate": self.rate,
            "quality_mean": self.quality_mean,
            "quality_std": self.quality_std,
            "tokens_mean": self.tokens_mean,
            "latency_mean": self.latency_mean,
        }
        sums = {f: getattr(self, f) for f in _FIELDS}
        return sums | {k: _checks.finite_or_none(v) for k, v in derived.items()}


_FIELDS = tuple(f.name for f in fields(ArmStats))


def _values(record: Mapping[str, object]) -> tuple[int, float | None, float | None, float | None]:
    success = record.get("success")
    if success is not True and success is not False:
        raise UsageError(f"a record's 'success' must be true or false, not {success!r}")
    return (
        int(success),
        _optional(record, "quality_score"),
        _optional(record, "tokens"),
        _optional(record, "latency_ms"),
    )


def _optional(record: Mapping[str, object], key: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"a record's {key!r} must be a number, not {value!r}")
    return float(value)
