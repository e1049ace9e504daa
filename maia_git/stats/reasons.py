"""Why a decision was taken: short stable codes for programs, one line of text for people."""

from __future__ import annotations

from dataclasses import dataclass

# Conditions for promotion that are not met (Analysis.reasons).
MIN_SAMPLES = "min_samples"
SRM = "srm"
EMPTY_ARM = "empty_arm"
LIFT_BELOW_MIN = "lift_below_min"
NOT_SIGNIFICANT = "not_significant"
QUALITY_WORSE = "quality_worse"  # shown worse than control by more than the margin
QUALITY_NOT_SHOWN = "quality_not_shown"  # not yet shown within the margin
NO_WINNER = "no_winner"

# Facts worth knowing that block nothing (Analysis.notes).
NO_QUALITY = "no_quality"
QUALITY_NO_VARIANCE = "quality_no_variance"
ADJUSTED = "adjusted"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
