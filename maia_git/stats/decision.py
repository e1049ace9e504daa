"""The promotion rule (DESIGN.md, "Analysis and promotion").

promote         every condition holds: at least ``min_samples`` interactions per arm, no sample
                ratio mismatch, relative lift above ``min_lift``, significant at ``alpha`` by the
                method, and quality not significantly worse than control by more than
                ``quality_margin`` points (one-sided Welch at ``alpha``, fixed-horizon under both
                methods: repeated looks can only make it block more often, never promote; with
                fewer than 2 quality scores in an arm it passes with a note).
stop_no_winner  some condition fails, both arms have ``min_samples``, there is no mismatch, and
                the evidence says the treatment will not win: the method's lift interval lies
                wholly below ``min_lift``, or completion is significantly lower than control's.
                With the sequential method both are safe to act on at any look.
keep_running    anything else, including data with no variance to test (code ``no_variance``).
Every condition that fails is named in ``reasons``; degenerate data yields reasons, not errors.
"""

from __future__ import annotations

from maia_git.errors import UsageError
from maia_git.stats import rules
from maia_git.stats.analysis import Analysis, Settings
from maia_git.stats.arm import ArmStats
from maia_git.stats.evidence import gather
from maia_git.stats.sequential import DEFAULT_TUNING


def analyze(
    experiment_id: str,
    control: ArmStats,
    treatment: ArmStats,
    *,
    method: str = "sequential",
    alpha: float = 0.05,
    min_samples: int = 30,
    min_lift: float = 0.15,
    quality_margin: float = 0.0,
    control_share: float = 0.5,
    srm_alpha: float = 0.001,
    sequential_tuning: float = DEFAULT_TUNING,
) -> Analysis:
    """Analyse one experiment; raises UsageError only for misuse (bad settings or arguments)."""
    settings = Settings(
        method, alpha, min_samples, min_lift, quality_margin, control_share, srm_alpha,
        sequential_tuning,
    )  # fmt: skip
    if not isinstance(control, ArmStats) or not isinstance(treatment, ArmStats):
        raise UsageError("analyze() needs an ArmStats for each arm")
    return decide(experiment_id, control, treatment, settings)


def decide(experiment_id: str, control: ArmStats, treatment: ArmStats, s: Settings) -> Analysis:
    ev = gather(control, treatment, s)
    quality_reasons, notes = rules.quality(control, treatment, ev, s)
    unmet = [
        *rules.samples(control, treatment, s),
        *rules.srm(control, treatment, ev, s),
        *rules.lift(control, treatment, ev, s),
        *rules.significance(control, treatment, ev, s),
        *quality_reasons,
    ]
    decision = "promote"
    if unmet:
        stop = rules.no_winner(control, treatment, ev, s)
        decision = "keep_running" if stop is None else "stop_no_winner"
        unmet += [] if stop is None else [stop]
    return Analysis(experiment_id, s, control, treatment, ev, decision, tuple(unmet), notes)
