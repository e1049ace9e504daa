"""The conditions of the promotion rule: each returns the reasons it is not met (see decision)."""

from __future__ import annotations

from maia_git.stats import reasons as R
from maia_git.stats.analysis import Evidence
from maia_git.stats.arm import ArmStats
from maia_git.stats.bayes import Posterior
from maia_git.stats.cost import COSTS, CostCheck
from maia_git.stats.reasons import Reason
from maia_git.stats.settings import Settings

Arms = tuple[ArmStats, ArmStats]


def samples(arms: Arms, s: Settings) -> list[Reason]:
    return [
        Reason(R.MIN_SAMPLES, f"{name} has {arm.users} of {s.min_samples} users")
        for name, arm in zip(("control", "treatment"), arms, strict=True)
        if arm.users < s.min_samples
    ]


def srm(arms: Arms, ev: Evidence, s: Settings) -> list[Reason]:
    if not ev.srm.flagged:
        return []
    control, treatment = arms
    return [
        Reason(
            R.SRM,
            f"sample ratio mismatch: control {control.users} users, treatment {treatment.users}"
            f" against a {s.control_share:.0%} control share"
            f" (p = {ev.srm.p_value:.3g} < {s.srm_alpha:g})",
        )
    ]


def lift(arms: Arms, ev: Evidence, s: Settings, name: str = "treatment") -> list[Reason]:
    """``name`` is the treatment's arm (with several treatments, its own name)."""
    empty = [arm_name for arm_name, arm in zip(("control", name), arms, strict=True) if not arm.n]
    if empty:
        return [
            Reason(R.EMPTY_ARM, f"{arm_name} has no interactions; lift undefined")
            for arm_name in empty
        ]
    if ev.lift is None or ev.lift.lift <= s.min_lift:
        shown = "undefined" if ev.lift is None else f"{ev.lift.lift:+.1%}"
        return [
            Reason(R.LIFT_BELOW_MIN, f"lift {shown} is not above the minimum {s.min_lift:+.1%}")
        ]
    return []


def significance(ev: Evidence, s: Settings) -> list[Reason]:
    if ev.lift is None:
        return [Reason(R.NOT_SIGNIFICANT, "significance cannot be tested with an empty arm")]
    if ev.lift.posterior is not None:
        return _bayesian(ev.lift.posterior, s)
    p = ev.lift.test.p_value
    if p < s.alpha:
        return []
    return [Reason(R.NOT_SIGNIFICANT, f"p = {p:.3g} is not below alpha {s.alpha:g} ({s.method})")]


def _bayesian(post: Posterior, s: Settings) -> list[Reason]:
    unmet = []
    if not post.chance_to_win > s.min_chance_to_win:
        text = (f"chance to beat control {post.chance_to_win:.1%} is not above "
                f"{s.min_chance_to_win:.1%} (bayesian)")  # fmt: skip
        unmet.append(Reason(R.CHANCE_TOO_LOW, text))
    if not post.expected_loss < s.max_expected_loss:
        text = (f"expected loss {post.expected_loss:.3%} of control's rate is not below "
                f"{s.max_expected_loss:.3%} (bayesian)")  # fmt: skip
        unmet.append(Reason(R.LOSS_TOO_HIGH, text))
    return unmet


def adjusted(arms: Arms, ev: Evidence, name: str = "treatment") -> list[Reason]:
    if ev.lift is None or not ev.lift.adjusted:
        return []
    control, treatment = arms
    return [
        Reason(
            R.ADJUSTED,
            f"completion is {_pct(control.rate)} in control and {_pct(treatment.rate)} in "
            f"{name}: an arm without variation (or with one user) is tested with one success "
            "and one failure added to each arm (Agresti-Caffo)",
        )
    ]


def quality(
    arms: Arms, ev: Evidence, s: Settings, name: str = "treatment"
) -> tuple[list[Reason], list[Reason]]:
    """The guardrail (reasons, notes): promotion needs quality shown non-inferior."""
    control, treatment = arms
    q = ev.quality
    if q is None:
        counts = f"control has {control.quality.units} and {name} {treatment.quality.units}"
        if not control.quality.units and not treatment.quality.units:
            return [], [Reason(R.NO_QUALITY, "no quality scores in either arm: not compared")]
        text = f"quality cannot be compared yet: {counts} users with scores (2 needed in each)"
        return [Reason(R.QUALITY_NOT_SHOWN, text)], []
    notes = []
    if q.test is None:
        text = "quality scores do not vary within either arm; means compared directly"
        notes.append(Reason(R.QUALITY_NO_VARIANCE, text))
    if q.passed:
        return [], notes
    margin = s.quality_margin
    diff = f"{name} - control = {q.diff:+.1f}"
    if q.test is not None and q.test.high < -margin:
        text = f"quality is worse than control by more than {margin:g} points ({diff}, interval"
        return [Reason(R.QUALITY_WORSE, f"{text} {q.test.low:+.1f} to {q.test.high:+.1f})")], notes
    text = f"quality not yet shown within {margin:g} points of control ({diff}, lower bound "
    return [Reason(R.QUALITY_NOT_SHOWN, f"{text}{q.low:+.1f} is not above {-margin:+g})")], notes


def costs(
    arms: Arms, ev: Evidence, s: Settings, name: str = "treatment"
) -> tuple[list[Reason], list[Reason]]:
    """The cost guardrails (reasons, notes): each with a margin must be shown within it.

    A metric too few users log to compare is not a failure when it is sparse in both arms
    (neither arm has ``min_samples`` users logging it, or two): a runtime that logs tokens for
    one stray interaction has no cost data, and the note says so. When one arm logs it for that
    many users and the other cannot be compared, it blocks: a treatment cannot escape the
    guardrail by not logging the metric."""
    reasons: list[Reason] = []
    notes: list[Reason] = []
    for metric in COSTS:
        found = _cost(metric, arms, getattr(ev, metric), s, name)
        (notes if found and found[0].code == R.SPARSE_COST else reasons).extend(found)
    return reasons, notes


def _cost(metric: str, arms: Arms, check: CostCheck | None, s: Settings, name: str) -> list[Reason]:
    margin: float | None = getattr(s, f"{metric}_margin")
    if margin is None or (check is not None and check.passed):
        return []
    what, allowed = f"{metric} per interaction", f"+{margin * 100:g}%"
    if check is None:
        control, treatment = (getattr(arm, metric).units for arm in arms)
        counts = f"control has {control} and {name} {treatment} users logging {metric}"
        if not control and not treatment:
            return []
        if max(control, treatment) < max(s.min_samples, 2):
            return [Reason(R.SPARSE_COST, f"{metric} too sparse to compare ({counts}): not "
                                          "compared")]  # fmt: skip
        text = f"{what} cannot be compared yet: {counts} (2 needed in each)"
        return [Reason(f"{metric}_not_shown", text)]
    change = f"{check.change:+.1%} against control"
    interval = check.interval
    if interval is not None and interval[0] > margin:
        bounds = f"interval {interval[0]:+.1%} to {interval[1]:+.1%}"
        return [Reason(f"{metric}_worse", f"{what} {change} ({bounds}): more than the "
                                          f"{allowed} allowed")]  # fmt: skip
    if interval is None:
        return [Reason(f"{metric}_worse", f"{what} {change}: more than the {allowed} allowed")]
    return [Reason(f"{metric}_not_shown", f"{what} {change}: not yet shown within {allowed}"
                                          f" (upper bound {check.high:+.1%})")]  # fmt: skip


def no_winner(arms: Arms, ev: Evidence, s: Settings, name: str = "treatment") -> Reason | None:
    control, treatment = arms
    if min(control.users, treatment.users) < max(s.min_samples, 1) or ev.srm.flagged:
        return None
    if ev.lift is None:
        return None
    high = ev.lift.interval[1]
    if high < 0.0:
        post = ev.lift.posterior
        shown = (f"p = {ev.lift.test.p_value:.3g}" if post is None
                 else f"chance to beat control {post.chance_to_win:.1%}")  # fmt: skip
        return Reason(
            R.NO_WINNER,
            f"{name} completes significantly less often ({_pct(treatment.rate)} against "
            f"{_pct(control.rate)}, {shown})",
        )
    if high < s.min_lift:
        return Reason(
            R.NO_WINNER,
            f"the lift's upper bound {high:+.1%} is below the minimum {s.min_lift:+.1%}",
        )
    return None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
