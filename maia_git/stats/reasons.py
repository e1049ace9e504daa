"""Why a decision was taken: short stable codes for programs, one line of text for people."""

from __future__ import annotations

from dataclasses import dataclass

# Conditions for promotion that are not met (Analysis.reasons).
MIN_SAMPLES = "min_samples"
SRM = "srm"
EMPTY_ARM = "empty_arm"
LIFT_BELOW_MIN = "lift_below_min"
NOT_SIGNIFICANT = "not_significant"
# The bayesian method's rule in place of significance.
CHANCE_TOO_LOW = "chance_too_low"  # chance to beat control not above min_chance_to_win
LOSS_TOO_HIGH = "loss_too_high"  # expected loss of choosing the treatment not below the maximum
QUALITY_WORSE = "quality_worse"  # shown worse than control by more than the margin
QUALITY_NOT_SHOWN = "quality_not_shown"  # not yet shown within the margin
# A cost guardrail (tokens, latency per interaction) that fails: f"{metric}_worse" when shown
# to cost more than its margin, f"{metric}_not_shown" when not yet shown within it.
TOKENS_WORSE = "tokens_worse"
TOKENS_NOT_SHOWN = "tokens_not_shown"
LATENCY_WORSE = "latency_worse"
LATENCY_NOT_SHOWN = "latency_not_shown"
NO_WINNER = "no_winner"

# Facts worth knowing that block nothing (Analysis.notes).
NO_QUALITY = "no_quality"
QUALITY_NO_VARIANCE = "quality_no_variance"
ADJUSTED = "adjusted"
SPARSE_COST = "cost_too_sparse"  # a cost metric too few users log in either arm: not compared


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
