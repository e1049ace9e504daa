"""Run every test on two arms; the method decides which p-value and interval the rule uses."""

from __future__ import annotations

from maia_git.stats import sequential
from maia_git.stats.analysis import Evidence, Settings
from maia_git.stats.arm import ArmStats
from maia_git.stats.lift import Lift, fixed_interval, relative_lift
from maia_git.stats.proportions import two_proportion_z
from maia_git.stats.srm import srm_check
from maia_git.stats.welch import welch_quality


def gather(control: ArmStats, treatment: ArmStats, settings: Settings) -> Evidence:
    lift = relative_lift(control, treatment)
    completion = two_proportion_z(control, treatment)
    defined = lift if lift is not None and lift.se > 0.0 else None
    if settings.method == "fixed":
        ci = None if defined is None else fixed_interval(defined, settings.alpha)
        p_value = completion.p_value
    else:
        ci, p_value = _sequential(defined, control.n + treatment.n, settings)
    return Evidence(
        completion=completion,
        lift=lift,
        lift_ci=ci,
        p_value=p_value,
        quality=welch_quality(control, treatment, settings.quality_margin),
        srm=srm_check(control.n, treatment.n, settings.control_share, settings.srm_alpha),
    )


def _sequential(
    lift: Lift | None, n_total: int, settings: Settings
) -> tuple[tuple[float, float] | None, float | None]:
    if lift is None:
        return None, None
    rho = sequential.rho(settings.alpha, settings.sequential_tuning)
    return (
        sequential.interval(lift.lift, lift.se, n_total, settings.alpha, rho),
        sequential.p_value(lift.lift, lift.se, n_total, rho),
    )
