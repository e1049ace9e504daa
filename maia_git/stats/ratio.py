"""A ratio metric over users: the sufficient statistics, its mean and its delta-method variance.

Users are randomised, so users are the independent units. A metric such as the completion rate
is a ratio of two per-user sums, sum_u x_u / sum_u y_u (x_u: a user's successes, y_u: their
interactions), and its variance follows from per-user sums by the delta method (Deng, Knoblich
and Lu, "Applying the Delta Method in Metric Analytics: A Practical Guide with Novel Ideas",
KDD 2018, section 3.1):

    Var(X/Y) per unit = var_x / my^2 - 2 mx cov_xy / my^3 + mx^2 var_y / my^4,

with mx, my the per-user means, var_x, var_y, cov_xy the sample (n - 1) moments, and the
variance of the estimate that divided by the number of users. This is GrowthBook gbstats'
``RatioStatistic`` (with ``SampleMeanStatistic`` numerator and denominator); the tests compare
the two to 1e-9.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from maia_git.errors import UsageError
from maia_git.stats import _checks


@dataclass(frozen=True, slots=True)
class RatioSums:
    """Per-user sums of one ratio metric in one arm; ``units`` counts users with y_u > 0.

    Sums over disjoint sets of users add with ``+``; the sums of one user's interactions split
    across two sets do not (x_u^2 is not additive), which is why the reader aggregates per user
    before it forms these.
    """

    units: int = 0
    num: float = 0.0  # sum of x_u
    den: float = 0.0  # sum of y_u
    num2: float = 0.0  # sum of x_u^2
    den2: float = 0.0  # sum of y_u^2
    numden: float = 0.0  # sum of x_u * y_u

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", _checks.count("units", self.units))
        for name in _SUMS:
            object.__setattr__(self, name, _checks.number(name, getattr(self, name)))
        if self.units == 0 and (self.den or self.den2):
            raise UsageError("a ratio metric with interactions must have at least one user")
        if self.den < 0 or self.num2 < 0 or self.den2 < 0:
            raise UsageError("den, num2 and den2 must not be negative")

    def __add__(self, other: object) -> RatioSums:
        if not isinstance(other, RatioSums):
            return NotImplemented
        return RatioSums(*(getattr(self, f) + getattr(other, f) for f in FIELDS))

    @classmethod
    def of_units(cls, pairs: list[tuple[float, float]]) -> RatioSums:
        """The sums of (x_u, y_u) pairs; users with y_u = 0 are left out."""
        kept = [(x, y) for x, y in pairs if y > 0]
        return cls(
            len(kept),
            sum(x for x, _ in kept),
            sum(y for _, y in kept),
            sum(x * x for x, _ in kept),
            sum(y * y for _, y in kept),
            sum(x * y for x, y in kept),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RatioSums:
        return cls(**{f: data[f] for f in FIELDS})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, float]:
        return {f: getattr(self, f) for f in FIELDS}

    @property
    def mean(self) -> float | None:
        """sum x / sum y; None with no data."""
        return self.num / self.den if self.den > 0 else None

    @property
    def unit_variance(self) -> float | None:
        """gbstats ``RatioStatistic.variance``: per user; None below two users."""
        n = self.units
        if n < 2 or self.den <= 0:
            return None
        mx, my = self.num / n, self.den / n
        var_x = (self.num2 - self.num * self.num / n) / (n - 1)
        var_y = (self.den2 - self.den * self.den / n) / (n - 1)
        cov = (self.numden - self.num * self.den / n) / (n - 1)
        var = var_x / my**2 - 2.0 * cov * mx / my**3 + mx * mx * var_y / my**4
        # Rounding in the sums of squares can leave a tiny negative for a constant metric.
        return max(var, 0.0)

    @property
    def variance(self) -> float | None:
        """The variance of ``mean`` as an estimate: ``unit_variance / units``."""
        var = self.unit_variance
        return None if var is None else var / self.units

    def with_pseudo_units(self) -> RatioSums:
        """These sums plus one user with one success and one with one failure (x, y = 1, 1 and
        0, 1): Agresti and Caffo's add-one adjustment ("Simple and effective confidence intervals
        for proportions and differences of proportions result from adding two successes and two
        failures", The American Statistician 54, 2000), which makes a completion rate of 0% or
        100% testable."""
        return self + RatioSums(2, 1.0, 2.0, 1.0, 2.0, 1.0)


_SUMS = ("num", "den", "num2", "den2", "numden")
FIELDS = tuple(f.name for f in fields(RatioSums))
