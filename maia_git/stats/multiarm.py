"""A control and several treatments: each treatment against control, corrected for the family.

Every treatment is analysed against control as in a two-arm experiment (``stats.decision``:
the same lift statistic, guardrails and minimums), except that the lift's p-value and interval
are corrected for testing k treatments at once (``stats.multiple``):

sequential  Holm's step-down adjustment of the always-valid p-values; the arm's interval is the
            confidence sequence at Holm's level for its rank, alpha / (k - rank) with the same
            rho, which excludes 0 exactly when its unadjusted p-value is below that level.
fixed       Dunnett's many-to-one adjustment of the z statistics theta_i / se_i, which share
            control's estimate: Cov(theta_i, theta_j) = Var(ln m_c) = Var(m_c) / m_c^2; the
            interval is the simultaneous one, theta_i +- c se_i.
bayesian    no adjustment: each arm's posterior against control, read as it is (the method
            controls no error rate, see docs/analysis.md).

The sample-ratio check runs on all arms' users against their shares (k - 1 degrees of freedom).
At most one arm is promoted: of the treatments that meet every condition, the one with the
highest lift. ``stop_no_winner`` when every treatment's interval says it will not win;
``keep_running`` otherwise. Each treatment's unmet conditions are named, prefixed by its arm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from maia_git.stats import multiple, rules, sequential
from maia_git.stats import reasons as R
from maia_git.stats.analysis import Evidence, cost_fields, lift_fields, quality_fields, safe
from maia_git.stats.arm import ArmStats
from maia_git.stats.cost import COSTS
from maia_git.stats.evidence import gather
from maia_git.stats.lift import Lift, _testable
from maia_git.stats.method import Estimate
from maia_git.stats.reasons import Reason
from maia_git.stats.settings import Settings
from maia_git.stats.srm import SrmCheck, srm_check_arms


@dataclass(frozen=True, slots=True)
class Comparison:
    """One treatment against control: its evidence (lift corrected), what it lacks, and
    whether its interval says it will not win."""

    name: str
    arm: ArmStats
    evidence: Evidence
    unadjusted_p: float | None
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...]
    stop: bool

    @property
    def eligible(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class MultiAnalysis:
    experiment_id: str
    settings: Settings
    names: tuple[str, ...]  # control first
    shares: tuple[float, ...]
    control: ArmStats
    comparisons: tuple[Comparison, ...]
    srm: SrmCheck
    adjustment: str  # "holm", "dunnett" or "none"
    decision: str
    winner: str | None
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-safe: every arm, every comparison with control, and the one decision."""
        arms = [self.control, *(c.arm for c in self.comparisons)]
        head: dict[str, object] = {"experiment_id": self.experiment_id}
        return (
            head
            | self.settings.to_dict()
            | {
                "arms": [
                    {"name": name, "share": share} | arm.to_dict()
                    for name, share, arm in zip(self.names, self.shares, arms, strict=True)
                ],
                "adjustment": self.adjustment,
                "comparisons": [_comparison(c, self.settings) for c in self.comparisons],
                "srm_p_value": safe(self.srm.p_value),
                "srm": self.srm.flagged,
                "decision": self.decision,
                "winner": self.winner,
                "reasons": [r.to_dict() for r in self.reasons],
                "notes": [r.to_dict() for r in self.notes],
            }
        )


def decide_arms(
    experiment_id: str,
    names: Sequence[str],
    arms: Sequence[ArmStats],
    shares: Sequence[float],
    s: Settings,
) -> MultiAnalysis:
    """``arms[0]`` is control; ``shares`` are the arms' shares of users (summing to 1)."""
    control, treatments = arms[0], arms[1:]
    srm = srm_check_arms([a.users for a in arms], shares, s.srm_alpha)
    evidence = [replace(gather(control, t, s), srm=srm) for t in treatments]
    adjustment, lifts, raw = _corrected([e.lift for e in evidence], control, treatments, s)
    evidence = [replace(e, lift=lift) for e, lift in zip(evidence, lifts, strict=True)]
    short = [
        Reason(R.MIN_SAMPLES, f"{name} has {arm.users} of {s.min_samples} users")
        for name, arm in zip(names, arms, strict=True)
        if arm.users < s.min_samples
    ]
    shared = short + _srm_reason(names, arms, shares, srm, s)
    comparisons = tuple(
        _compare(name, control, arm, ev, p, shared, s)
        for name, arm, ev, p in zip(names[1:], treatments, evidence, raw, strict=True)
    )
    eligible = [c for c in comparisons if c.eligible]
    winner = max(eligible, key=lambda c: _lift_of(c), default=None)
    unmet: tuple[Reason, ...] = ()
    if winner is not None:
        decision = "promote"
    else:
        decision = "stop_no_winner" if all(c.stop for c in comparisons) else "keep_running"
        unmet = tuple(shared) + tuple(
            Reason(r.code, f"{c.name}: {r.message}")
            for c in comparisons
            for r in c.reasons
            if r not in shared
        )
    notes = tuple(Reason(n.code, f"{c.name}: {n.message}") for c in comparisons for n in c.notes)
    return MultiAnalysis(
        experiment_id, s, tuple(names), tuple(shares), control, comparisons, srm, adjustment,
        decision, None if winner is None else winner.name, unmet, notes,
    )  # fmt: skip


def _compare(
    name: str,
    control: ArmStats,
    arm: ArmStats,
    ev: Evidence,
    unadjusted: float | None,
    shared: list[Reason],
    s: Settings,
) -> Comparison:
    pair = (control, arm)
    quality_reasons, quality_notes = rules.quality(pair, ev, s, name)
    cost_reasons, cost_notes = rules.costs(pair, ev, s, name)
    unmet = [
        *shared,
        *rules.lift(pair, ev, s, name),
        *rules.significance(ev, s),
        *quality_reasons,
        *cost_reasons,
    ]
    stop = rules.no_winner(pair, ev, s, name)
    if stop is not None and unmet:
        unmet.append(stop)
    notes = (*rules.adjusted(pair, ev, name), *quality_notes, *cost_notes)
    return Comparison(name, arm, ev, unadjusted, tuple(unmet), notes, stop is not None)


def _corrected(
    lifts: list[Lift | None], control: ArmStats, treatments: Sequence[ArmStats], s: Settings
) -> tuple[str, list[Lift | None], list[float | None]]:
    """The lifts with p-values and intervals corrected for the family of every treatment.

    A treatment that cannot be tested (no users, or no variance to test with) stays in the
    family: to Holm it is a p-value of 1, to Dunnett a statistic independent of the others,
    which by Sidak's inequality can only raise their p-values and widen their intervals. So
    "adjusted for k treatments" is what is computed, whatever the data."""
    if s.method == "bayesian":
        return "none", lifts, [None] * len(lifts)
    raw = [None if lift is None else lift.test.p_value for lift in lifts]
    family = [i for i, lift in enumerate(lifts) if lift is not None]
    tests = [lifts[i].test for i in family]  # type: ignore[union-attr]
    if s.method == "sequential":
        fixed = _holm(tests, [control.users + treatments[i].users for i in family], len(lifts), s)
        adjustment = "holm"
    else:
        shared = [_control_part(control, treatments[i]) for i in family]
        fixed = _dunnett(tests, shared, len(lifts), s)
        adjustment = "dunnett"
    out = list(lifts)
    for i, test in zip(family, fixed, strict=True):
        out[i] = replace(lifts[i], test=test)  # type: ignore[type-var]
    return adjustment, out, raw


def _holm(tests: list[Estimate], units: list[int], family: int, s: Settings) -> list[Estimate]:
    """``family``: the number of treatments; those not tested count with a p-value of 1."""
    p = [t.p_value for t in tests]
    untested = [1.0] * (family - len(p))
    adjusted = multiple.holm(p + untested)[: len(p)]
    levels = multiple.holm_levels(p + untested, s.alpha)[: len(p)]
    rho = sequential.rho(s.alpha, s.sequential_tuning)
    out = []
    for t, p_adj, level, n in zip(tests, adjusted, levels, units, strict=True):
        low, high = sequential.interval(t.value, t.se, n, level, rho)
        out.append(Estimate(t.value, t.se, low, high, p_adj))
    return out


def _dunnett(
    tests: list[Estimate], shared: list[float], family: int, s: Settings
) -> list[Estimate]:
    """``shared``: each comparison's variance component from control, Var(ln m_c);
    ``family``: the number of treatments, those not tested taken as independent of the rest."""
    k = len(tests)
    corr = [
        [1.0 if i == j else
         math.sqrt(shared[i] * shared[j]) / (tests[i].se * tests[j].se) if max(i, j) < k else 0.0
         for j in range(family)]
        for i in range(family)
    ]  # fmt: skip
    p = multiple.many_to_one([t.value / t.se for t in tests], corr)
    # Dunnett's p lies between the unadjusted one and Bonferroni's; where the integration's
    # absolute error exceeds a tiny p, those bounds are the better answer.
    p = [
        min(max(q, t.p_value), min(1.0, family * t.p_value)) for q, t in zip(p, tests, strict=True)
    ]
    c = multiple.critical(s.alpha, corr) if k else 0.0
    return [
        Estimate(t.value, t.se, t.value - c * t.se, t.value + c * t.se, p_adj)
        for t, p_adj in zip(tests, p, strict=True)
    ]


def _control_part(control: ArmStats, treatment: ArmStats) -> float:
    """Var(ln m_c) as the pair's lift statistic used it (after any add-one adjustment)."""
    c = _testable(control.completion, treatment.completion)[0]
    var = c.variance
    assert var is not None  # the pair was testable
    m = c.num / c.den
    return var / (m * m)


def _srm_reason(
    names: Sequence[str], arms: Sequence[ArmStats], shares: Sequence[float], srm: SrmCheck,
    s: Settings,
) -> list[Reason]:  # fmt: skip
    if not srm.flagged:
        return []
    counts = ", ".join(
        f"{n} {a.users} ({share:.0%})" for n, a, share in zip(names, arms, shares, strict=True)
    )
    text = f"sample ratio mismatch: users {counts} (p = {srm.p_value:.3g} < {s.srm_alpha:g})"
    return [Reason(R.SRM, text)]


def _lift_of(c: Comparison) -> float:
    lift = c.evidence.lift
    return -math.inf if lift is None else lift.lift


def _comparison(c: Comparison, s: Settings) -> dict[str, object]:
    ev = c.evidence
    return (
        {"arm": c.name}
        | lift_fields(ev.lift)
        | {"p_value_unadjusted": safe(c.unadjusted_p)}
        | quality_fields(ev.quality)
        | {"guardrails": {m: cost_fields(m, getattr(ev, m), s) for m in COSTS}}
        | {
            "eligible": c.eligible,
            "reasons": [r.to_dict() for r in c.reasons],
            "notes": [r.to_dict() for r in c.notes],
        }
    )
