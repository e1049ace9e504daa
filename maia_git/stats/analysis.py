"""The settings an analysis ran with, the evidence it computed, and its result."""

from __future__ import annotations

from dataclasses import dataclass, fields

from maia_git.errors import UsageError
from maia_git.stats import _checks
from maia_git.stats.arm import ArmStats
from maia_git.stats.lift import Lift
from maia_git.stats.proportions import ZTest
from maia_git.stats.reasons import Reason
from maia_git.stats.sequential import DEFAULT_TUNING
from maia_git.stats.srm import SrmCheck
from maia_git.stats.welch import WelchTest

METHODS = ("sequential", "fixed")
DECISIONS = ("promote", "keep_running", "stop_no_winner")


@dataclass(frozen=True, slots=True)
class Settings:
    """The promotion rule's parameters (DESIGN.md's defaults); built checked, misuse raises."""

    method: str = "sequential"
    alpha: float = 0.05
    min_samples: int = 30
    min_lift: float = 0.15
    quality_margin: float = 0.0
    control_share: float = 0.5
    srm_alpha: float = 0.001
    sequential_tuning: float = DEFAULT_TUNING

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r}: use one of {', '.join(METHODS)}")
        checked = {
            "alpha": _checks.open_unit("alpha", self.alpha),
            "min_samples": _checks.count("min_samples", self.min_samples),
            "min_lift": _checks.number("min_lift", self.min_lift),
            "quality_margin": _checks.non_negative("quality_margin", self.quality_margin),
            "control_share": _checks.open_unit("control_share", self.control_share),
            "srm_alpha": _checks.open_unit("srm_alpha", self.srm_alpha),
            "sequential_tuning": _checks.number("sequential_tuning", self.sequential_tuning),
        }
        if checked["sequential_tuning"] <= 0:
            raise UsageError(f"sequential_tuning must be positive (got {self.sequential_tuning})")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Every test's result; ``p_value`` and ``lift_ci`` are the configured method's."""

    completion: ZTest
    lift: Lift | None
    lift_ci: tuple[float, float] | None
    p_value: float | None
    quality: WelchTest | None
    srm: SrmCheck


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
        quality = ev.quality
        head: dict[str, object] = {"experiment_id": self.experiment_id}
        return (
            head
            | self.settings.to_dict()
            | {
                "control": self.control.to_dict(),
                "treatment": self.treatment.to_dict(),
                "lift": _safe(self.lift),
                "lift_ci": None if ev.lift_ci is None else [_safe(v) for v in ev.lift_ci],
                "p_value": _safe(ev.p_value),
                "z_test_p_value": _safe(ev.completion.p_value),
                "quality_diff": None if quality is None else _safe(quality.diff),
                "quality_p_value": None if quality is None else _safe(quality.p_value),
                "quality_worse_p_value": None if quality is None else _safe(quality.p_worse),
                "srm_p_value": _safe(ev.srm.p_value),
                "srm": ev.srm.flagged,
                "decision": self.decision,
                "reasons": [r.to_dict() for r in self.reasons],
                "notes": [r.to_dict() for r in self.notes],
            }
        )


_safe = _checks.finite_or_none
