"""The evidence an analysis computed, and its result."""

from __future__ import annotations

from dataclasses import dataclass

from maia_git.stats import _checks
from maia_git.stats.arm import ArmStats
from maia_git.stats.cost import COSTS, CostCheck
from maia_git.stats.guardrail import NonInferiority
from maia_git.stats.lift import Lift
from maia_git.stats.reasons import Reason
from maia_git.stats.settings import Settings
from maia_git.stats.srm import SrmCheck

DECISIONS = ("promote", "keep_running", "stop_no_winner")


@dataclass(frozen=True, slots=True)
class Evidence:
    """The lift's test (by the method), the quality and cost guardrails (None: not enough
    data to compare), and the sample-ratio check."""

    lift: Lift | None
    quality: NonInferiority | None
    srm: SrmCheck
    tokens: CostCheck | None = None
    latency: CostCheck | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    experiment_id: str
    settings: Settings
    control: ArmStats
    treatment: ArmStats
    evidence: Evidence
    decision: str
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...]

    @property
    def lift(self) -> float | None:
        return None if self.evidence.lift is None else self.evidence.lift.lift

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe mapping: undefined numbers are null, never NaN."""
        ev = self.evidence
        head: dict[str, object] = {"experiment_id": self.experiment_id}
        return (
            head
            | self.settings.to_dict()
            | {"control": self.control.to_dict(), "treatment": self.treatment.to_dict()}
            | lift_fields(ev.lift)
            | quality_fields(ev.quality)
            | {
                "srm_p_value": safe(ev.srm.p_value),
                "srm": ev.srm.flagged,
                "guardrails": {m: cost_fields(m, getattr(ev, m), self.settings) for m in COSTS},
                "decision": self.decision,
                "reasons": [r.to_dict() for r in self.reasons],
                "notes": [r.to_dict() for r in self.notes],
            }
        )


def lift_fields(lift: Lift | None) -> dict[str, object]:
    """The lift, its interval and p-value; under the bayesian method the posterior's mean,
    credible interval, chance to beat control and expected loss instead (no p-value)."""
    if lift is None:
        return {"lift": None, "lift_ci": None, "p_value": None, "lift_adjusted": False,
                "chance_to_win": None, "expected_loss": None}  # fmt: skip
    post = lift.posterior
    return {
        "lift": safe(lift.lift),
        "lift_ci": [safe(v) for v in lift.interval],
        "p_value": safe(lift.test.p_value) if post is None else None,
        "lift_adjusted": lift.adjusted,
        "chance_to_win": None if post is None else safe(post.chance_to_win),
        "expected_loss": None if post is None else safe(post.expected_loss),
    }


def quality_fields(q: NonInferiority | None) -> dict[str, object]:
    if q is None:
        return {"quality_diff": None, "quality_ci": None, "quality_p_value": None,
                "quality_non_inferior": None}  # fmt: skip
    test = q.test
    return {
        "quality_diff": safe(q.diff),
        "quality_ci": None if test is None else [safe(test.low), safe(test.high)],
        "quality_p_value": None if test is None else safe(test.p_value),
        "quality_non_inferior": q.passed,
    }


def cost_fields(metric: str, check: CostCheck | None, s: Settings) -> dict[str, object]:
    """One cost guardrail: its margin, the means, the relative change, the method's interval
    for it, and whether it passed (null: not compared, or the margin is off)."""
    head: dict[str, object] = {"margin": getattr(s, f"{metric}_margin")}
    if check is None:
        return head | dict.fromkeys(("control_mean", "treatment_mean", "change", "ci", "passed"))
    interval = check.interval
    return head | {
        "control_mean": safe(check.control_mean),
        "treatment_mean": safe(check.treatment_mean),
        "change": safe(check.change),
        "ci": None if interval is None else [safe(v) for v in interval],
        "passed": check.passed,
    }


safe = _checks.finite_or_none
