"""The conditions of the promotion rule: each returns the reasons it is not met (see decision)."""

from __future__ import annotations

from maia_git.stats import reasons as R
from maia_git.stats.analysis import Evidence, Settings
from maia_git.stats.arm import ArmStats
from maia_git.stats.reasons import Reason


def samples(control: ArmStats, treatment: ArmStats, s: Settings) -> list[Reason]:
    return [
        Reason(R.MIN_SAMPLES, f"{name} has {arm.n} of {s.min_samples} interactions")
        for name, arm in (("control", control), ("treatment", treatment))
        if arm.n < s.min_samples
    ]


def srm(control: ArmStats, treatment: ArmStats, ev: Evidence, s: Settings) -> list[Reason]:
    if not ev.srm.flagged:
        return []
    return [
        Reason(
            R.SRM,
            f"sample ratio mismatch: control {control.n}, treatment {treatment.n} against a "
            f"{s.control_share:.0%} control share (p = {ev.srm.p_value:.3g} < {s.srm_alpha:g})",
        )
    ]


def lift(control: ArmStats, treatment: ArmStats, ev: Evidence, s: Settings) -> list[Reason]:
    empty = [name for name, arm in (("control", control), ("treatment", treatment)) if not arm.n]
    if empty:
        return [
            Reason(R.EMPTY_ARM, f"{name} has no interactions; lift undefined") for name in empty
        ]
    if ev.lift is None:
        return [
            Reason(
                R.CONTROL_RATE_ZERO,
                f"control has no successes in {control.n}; the relative lift is undefined",
            )
        ]
    if ev.lift.lift <= s.min_lift:
        return [
            Reason(
                R.LIFT_BELOW_MIN,
                f"lift {ev.lift.lift:+.1%} is not above the minimum {s.min_lift:+.1%}",
            )
        ]
    return []


def significance(control: ArmStats, treatment: ArmStats, ev: Evidence, s: Settings) -> list[Reason]:
    p = ev.p_value
    if p is not None:
        if p < s.alpha:
            return []
        text = f"p = {p:.3g} is not below alpha {s.alpha:g} ({s.method})"
        return [Reason(R.NOT_SIGNIFICANT, text)]
    if not control.n or not treatment.n:
        return [Reason(R.NOT_SIGNIFICANT, "significance cannot be tested with an empty arm")]
    if ev.lift is None and s.method == "sequential":
        text = "significance cannot be tested: the relative lift is undefined"
        return [Reason(R.NOT_SIGNIFICANT, text)]
    return [
        Reason(
            R.NO_VARIANCE,
            f"completion does not vary within either arm (control {control.rate:.0%}, "
            f"treatment {treatment.rate:.0%}); significance cannot be tested",
        )
    ]


def quality(
    control: ArmStats, treatment: ArmStats, ev: Evidence, s: Settings
) -> tuple[list[Reason], tuple[Reason, ...]]:
    """The guardrail: fail only on evidence that treatment quality is worse beyond the margin."""
    q = ev.quality
    if q is None:
        text = (
            f"quality not compared: control has {control.quality_count} and treatment "
            f"{treatment.quality_count} quality scores (2 needed in each arm)"
        )
        return [], (Reason(R.NO_QUALITY, text),)
    notes: tuple[Reason, ...] = ()
    if q.p_worse is None:
        # No spread in either arm: the observed means are the whole story.
        worse = q.diff < -s.quality_margin
        text = "quality scores do not vary within either arm; means compared directly"
        notes = (Reason(R.QUALITY_NO_VARIANCE, text),)
    else:
        worse = q.p_worse < s.alpha
    if not worse:
        return [], notes
    text = (
        f"treatment quality {q.treatment_mean:.1f} is worse than control {q.control_mean:.1f}"
        f" beyond the margin of {s.quality_margin:g}"
    )
    if q.p_worse is not None:
        text += f" (one-sided p = {q.p_worse:.3g})"
    return [Reason(R.QUALITY_WORSE, text)], notes


def no_winner(control: ArmStats, treatment: ArmStats, ev: Evidence, s: Settings) -> Reason | None:
    if min(control.n, treatment.n) < max(s.min_samples, 1) or ev.srm.flagged:
        return None
    if ev.lift_ci is not None and ev.lift_ci[1] < s.min_lift:
        return Reason(
            R.NO_WINNER,
            f"the lift's upper bound {ev.lift_ci[1]:+.1%} is below the minimum {s.min_lift:+.1%}",
        )
    diff = ev.completion.diff
    if ev.p_value is not None and ev.p_value < s.alpha and diff is not None and diff < 0:
        return Reason(
            R.NO_WINNER,
            f"treatment completes significantly less often ({treatment.rate:.1%} against "
            f"{control.rate:.1%}, p = {ev.p_value:.3g})",
        )
    return None
