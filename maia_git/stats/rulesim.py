"""Planning for the whole promotion rule, by simulation (``maia exp plan``).

The chance that an experiment ends in ``promote`` depends on more than a test's power: the lift
must also exceed ``min_lift``, each arm needs ``min_samples`` users, the sequential method looks
after every batch of users, and users talk to the agent several times with correlated outcomes.
No closed form covers all of that, so this simulates it: users with ``per_user`` interactions on
average (1 + Poisson(per_user - 1)), each with a success probability drawn from a Beta
distribution of mean ``baseline`` and intra-user correlation ``icc`` (Beta(a, b) with
a + b = 1/icc - 1; a constant probability when ``icc`` is 0), the treatment's users at
min(1, p (1 + mde)). The rule is applied as ``stats.lift`` and ``stats.method`` apply it (the
log ratio of the two arms' per-user ratio means, its delta-method variance), after every batch of
``every`` users per arm under ``sequential``, once at the planned size under ``fixed``. The
quality guardrail and the sample-ratio check are not simulated (they hold under a design like
this one). numpy is imported here only, when a plan is asked for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

from maia_git.errors import UsageError
from maia_git.stats import _checks, sequential
from maia_git.stats.settings import Settings

EXPERIMENTS = 2000
MAX_USERS = 50_000  # per arm: the search stops here
HOPELESS_USERS = 2_000  # how far to look when mde <= min_lift: the rule can hardly promote


@dataclass(frozen=True, slots=True)
class RulePlan:
    method: str
    users_per_arm: int | None  # None: not reached within the search
    interactions_per_arm: float | None
    power: float  # simulated, at users_per_arm (or where the search stopped)
    every: int
    per_user: float
    icc: float
    min_lift: float
    warning: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_rule(
    baseline: float, mde: float, power: float, s: Settings, *, per_user: float = 1.0,
    icc: float = 0.0, every: int = 20, seed: int = 1,
) -> RulePlan:  # fmt: skip
    """The fewest users per arm (a multiple of ``every``) at which the rule promotes with
    probability ``power`` when the true relative lift is ``mde``."""
    p1 = _checks.open_unit("baseline", baseline)
    target = _checks.open_unit("power", power)
    lift = _checks.number("mde", mde)
    per_user = _checks.number("interactions per user", per_user)
    icc = _checks.number("icc", icc)
    if not 0.0 <= icc < 1.0:
        raise UsageError(f"icc must be from 0 to below 1 (got {icc:g})")
    if per_user < 1.0:
        raise UsageError(f"interactions per user must be at least 1 (got {per_user:g})")
    if every < 1:
        raise UsageError(f"every must be at least 1 (got {every})")
    if lift <= 0.0 or p1 * (1.0 + lift) >= 1.0:
        raise UsageError(
            f"mde {lift:g} on baseline {p1:g}: plan for a positive lift whose treatment rate "
            "stays below 1"
        )
    if s.method not in ("sequential", "fixed"):
        raise UsageError(
            f"maia exp plan simulates the sequential and fixed methods, not {s.method!r}"
        )
    warning = None
    if lift <= s.min_lift:
        warning = (
            f"an mde of {lift:+.0%} is at or below min_lift ({s.min_lift:+.0%}): the rule can "
            "hardly promote it; it promotes only an observed lift above min_lift, which a true "
            "lift this small reaches only by chance"
        )
    sim = _Simulation(p1, lift, per_user, icc, every, s, seed)
    users, reached = sim.first_reaching(target, MAX_USERS if warning is None else HOPELESS_USERS)
    return RulePlan(s.method, users, None if users is None else users * per_user, reached,
                    every, per_user, icc, s.min_lift, warning)  # fmt: skip


class _Simulation:
    def __init__(self, p1: float, lift: float, per_user: float, icc: float, every: int,
                 s: Settings, seed: int) -> None:  # fmt: skip
        import numpy as np

        self.np, self.rng = np, np.random.default_rng(seed)
        self.p1, self.lift, self.per_user, self.icc, self.every, self.s = (
            p1, lift, per_user, icc, every, s
        )  # fmt: skip

    def first_reaching(self, target: float, limit: int) -> tuple[int | None, float]:
        """Grow the horizon until the power curve reaches ``target`` (or ``limit`` users)."""
        horizon = max(self.every, self.s.min_samples)
        horizon = -(-horizon // self.every) * self.every
        while True:
            curve = self.curve(horizon)
            hits = [i for i, p in enumerate(curve) if p >= target]
            if hits:
                return (hits[0] + 1) * self.every, curve[hits[0]]
            if horizon >= limit:
                return None, curve[-1]
            horizon = min(horizon * 4, -(-limit // self.every) * self.every)

    def curve(self, horizon: int) -> list[float]:
        """Power at each look up to ``horizon`` users per arm (sequential: promoted by then;
        fixed: promoted at a single look there)."""
        np = self.np
        looks = horizon // self.every
        sums = np.zeros((2, 6, EXPERIMENTS))
        promoted = np.zeros(EXPERIMENTS, dtype=bool)
        curve = []
        for look in range(1, looks + 1):
            for arm, scale in ((0, 1.0), (1, 1.0 + self.lift)):
                sums[arm] += self._batch(scale)
            now = self._promotes(sums, look * self.every)
            if self.s.method == "sequential":
                promoted |= now
                curve.append(float(promoted.mean()))
            else:
                curve.append(float(now.mean()))
        return curve

    def _batch(self, scale: float) -> Any:
        """Per-experiment sums (units, x, y, x^2, y^2, xy) of ``every`` new users."""
        np, shape = self.np, (EXPERIMENTS, self.every)
        y = 1.0 + self.rng.poisson(self.per_user - 1.0, shape)
        if self.icc > 0.0:
            k = 1.0 / self.icc - 1.0
            p = self.rng.beta(self.p1 * k, (1.0 - self.p1) * k, shape)
        else:
            p = np.full(shape, self.p1)
        x = self.rng.binomial(y.astype(np.int64), np.minimum(1.0, p * scale)).astype(float)
        return np.stack([np.full(EXPERIMENTS, float(self.every)), x.sum(1), y.sum(1),
                         (x * x).sum(1), (y * y).sum(1), (x * y).sum(1)])  # fmt: skip

    def _promotes(self, sums: Any, users: int) -> Any:
        """``stats.lift`` and ``stats.method``'s rule, vectorised (add-one where degenerate)."""
        np, s = self.np, self.s
        c, t = sums[0].copy(), sums[1].copy()
        var_c, m_c = _ratio(np, c)
        var_t, m_t = _ratio(np, t)
        bad = (m_c <= 0) | (m_c >= 1) | (m_t <= 0) | (m_t >= 1) | (var_c <= 0) | (var_t <= 0)
        if bad.any():
            pseudo = np.array([2.0, 1.0, 2.0, 1.0, 2.0, 1.0])[:, None]
            ca, ta = c + pseudo, t + pseudo
            vca, mca = _ratio(np, ca)
            vta, mta = _ratio(np, ta)
            var_c, m_c = np.where(bad, vca, var_c), np.where(bad, mca, m_c)
            var_t, m_t = np.where(bad, vta, var_t), np.where(bad, mta, m_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = np.log(m_t / m_c)
            se = np.sqrt(var_t / m_t**2 + var_c / m_c**2)
        if s.method == "fixed":
            z = NormalDist().inv_cdf(1.0 - s.alpha / 2.0)
        else:
            z = sequential.boundary(
                2 * users, s.alpha, sequential.rho(s.alpha, s.sequential_tuning)
            )
        significant = np.abs(theta) > z * se
        return (users >= s.min_samples) & significant & (np.expm1(theta) > s.min_lift)


def _ratio(np: Any, sums: Any) -> tuple[Any, Any]:
    """The delta-method variance of the ratio mean, and the mean (``stats.ratio``)."""
    n, x, y, x2, y2, xy = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        mx, my = x / n, y / n
        vx = (x2 - x * x / n) / (n - 1)
        vy = (y2 - y * y / n) / (n - 1)
        cov = (xy - x * y / n) / (n - 1)
        unit = vx / my**2 - 2 * cov * mx / my**3 + mx**2 * vy / my**4
        return np.maximum(unit, 0.0) / n, x / y


__all__ = ["RulePlan", "plan_rule"]
