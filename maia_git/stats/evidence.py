"""Run every test on two arms, by the settings' method."""

from __future__ import annotations

from maia_git.stats.analysis import Evidence
from maia_git.stats.arm import ArmStats
from maia_git.stats.cost import cost_test
from maia_git.stats.guardrail import quality_test
from maia_git.stats.lift import relative_lift
from maia_git.stats.settings import Settings
from maia_git.stats.srm import srm_check


def gather(control: ArmStats, treatment: ArmStats, s: Settings) -> Evidence:
    return Evidence(
        lift=relative_lift(control.completion, treatment.completion, s),
        quality=quality_test(control.quality, treatment.quality, s),
        srm=srm_check(control.users, treatment.users, s.control_share, s.srm_alpha),
        tokens=cost_test("tokens", control.tokens, treatment.tokens, s),
        latency=cost_test("latency", control.latency, treatment.latency, s),
    )
