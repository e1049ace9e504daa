"""The sufficient statistics of one arm: four ratio metrics over its users.

Per arm: ``completion`` (x_u successes, y_u interactions), ``quality`` (x_u the
sum of u's quality scores, y_u how many of u's lines carry one), ``tokens`` and ``latency``
likewise. ``users`` and ``n`` (interactions) follow from ``completion``. Arms of disjoint users
add with ``+``; per-user totals (``stats.users``) are what adds across log files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from maia_git.errors import UsageError
from maia_git.stats import _checks
from maia_git.stats.ratio import RatioSums

METRICS = ("completion", "quality", "tokens", "latency")


@dataclass(frozen=True, slots=True)
class ArmStats:
    completion: RatioSums = field(default_factory=RatioSums)
    quality: RatioSums = field(default_factory=RatioSums)
    tokens: RatioSums = field(default_factory=RatioSums)
    latency: RatioSums = field(default_factory=RatioSums)

    def __post_init__(self) -> None:
        if not all(isinstance(getattr(self, m), RatioSums) for m in METRICS):
            raise UsageError("an arm's metrics must be RatioSums")
        c = self.completion
        if not 0 <= c.num <= c.den or c.den != int(c.den) or c.den < c.units:
            raise UsageError(
                f"completion must count successes ({c.num:g}) within interactions ({c.den:g}),"
                f" with at least one interaction per user ({c.units})"
            )
        for name in ("quality", "tokens", "latency"):
            if getattr(self, name).units > c.units:
                raise UsageError(f"{name} has more users than the arm ({c.units})")

    def __add__(self, other: object) -> ArmStats:
        """Only for arms of disjoint users (two experiments' arms, two halves of a sample)."""
        if not isinstance(other, ArmStats):
            return NotImplemented
        return ArmStats(*(getattr(self, m) + getattr(other, m) for m in METRICS))

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, object]]) -> ArmStats:
        """Aggregate log records per user (``user_id``, ``success``, the optional numbers)."""
        from maia_git.stats.users import totals_of

        return totals_of(records).arm_stats()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ArmStats:
        """Read the sums that ``to_dict`` writes under "sums" (derived values are ignored)."""
        sums = data["sums"]
        if not isinstance(sums, Mapping):
            raise UsageError("an arm's 'sums' must be a mapping")
        return cls(*(RatioSums.from_dict(sums[m]) for m in METRICS))

    @property
    def users(self) -> int:
        return self.completion.units

    @property
    def n(self) -> int:
        return int(self.completion.den)

    @property
    def successes(self) -> int:
        return int(self.completion.num)

    @property
    def rate(self) -> float | None:
        return self.completion.mean

    def to_dict(self) -> dict[str, object]:
        """users and interactions, the per-user sums, and derived values (JSON-safe)."""
        derived = {
            "rate": self.rate,
            "rate_se": _se(self.completion),
            "quality_mean": self.quality.mean,
            "quality_se": _se(self.quality),
            "tokens_mean": self.tokens.mean,
            "latency_mean": self.latency.mean,
        }
        head: dict[str, object] = {"users": self.users, "n": self.n, "successes": self.successes}
        sums = {"sums": {m: getattr(self, m).to_dict() for m in METRICS}}
        return head | {k: _checks.finite_or_none(v) for k, v in derived.items()} | sums


def _se(sums: RatioSums) -> float | None:
    var = sums.variance
    return None if var is None else math.sqrt(var)
