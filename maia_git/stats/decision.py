"""The promotion rule (docs/analysis.md); every count is of users.

promote         every condition holds: at least ``min_samples`` users per arm, no sample ratio
                mismatch (distinct users against the split), relative lift above ``min_lift``,
                significant at ``alpha`` by the method, quality shown not worse than
                control by more than ``quality_margin`` points (non-inferiority, by the method;
                with no quality scores in either arm it is not compared, with a note), and
                tokens and latency per interaction shown not above control's by more than
                ``tokens_margin`` and ``latency_margin`` (``stats.cost``; a metric neither arm
                logs is not compared).
stop_no_winner  some condition fails, both arms have ``min_samples`` users, there is no
                mismatch, and the method's lift interval says the treatment will not win: it
                lies wholly below 0 (significantly worse) or below ``min_lift``. Under the
                sequential method this is safe to act on at any look.
keep_running    anything else.
Every condition that fails is named in ``reasons``; degenerate data yields reasons and notes,
never errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from maia_git.errors import UsageError
from maia_git.stats import _checks, rules
from maia_git.stats.analysis import Analysis
from maia_git.stats.arm import ArmStats
from maia_git.stats.evidence import gather
from maia_git.stats.multiarm import MultiAnalysis, decide_arms
from maia_git.stats.settings import NAMES, Settings


def analyze(
    experiment_id: str,
    control: ArmStats,
    treatment: ArmStats,
    settings: Settings | None = None,
    **changes: Any,
) -> Analysis:
    """Analyse one experiment with ``settings`` (default: ``Settings()``), any of its fields
    changed by keyword; raises UsageError only for misuse (bad settings or arguments)."""
    unknown = sorted(set(changes) - set(NAMES))
    if unknown:
        raise UsageError(f"unknown setting(s) {', '.join(unknown)}: use {', '.join(NAMES)}")
    s = replace(settings or Settings(), **changes)
    if not isinstance(control, ArmStats) or not isinstance(treatment, ArmStats):
        raise UsageError("analyze() needs an ArmStats for each arm")
    return decide(experiment_id, control, treatment, s)


def analyze_arms(
    experiment_id: str,
    arms: Mapping[str, ArmStats],
    shares: Sequence[float] | None = None,
    settings: Settings | None = None,
    **changes: Any,
) -> MultiAnalysis:
    """Analyse a control (the first of ``arms``) and one or more treatments, each against
    control with a family-wise correction (``stats.multiarm``); ``shares`` default to equal."""
    names = list(arms)
    if len(names) < 2 or not all(isinstance(a, ArmStats) for a in arms.values()):
        raise UsageError("analyze_arms() needs a control and at least one treatment, as ArmStats")
    cut = _shares(shares, len(names))
    unknown = sorted(set(changes) - set(NAMES))
    if unknown:
        raise UsageError(f"unknown setting(s) {', '.join(unknown)}: use {', '.join(NAMES)}")
    s = replace(settings or Settings(), **changes)
    s = replace(s, control_share=cut[0])
    return decide_arms(experiment_id, names, [arms[n] for n in names], cut, s)


def _shares(shares: Sequence[float] | None, k: int) -> list[float]:
    if shares is None:
        return [1.0 / k] * k
    cut = [_checks.open_unit("an arm's share", v) for v in shares]
    if len(cut) != k or abs(sum(cut) - 1.0) > 1e-9:
        raise UsageError(f"need one share per arm ({k}), adding up to 1; got {list(shares)}")
    return cut


def decide(experiment_id: str, control: ArmStats, treatment: ArmStats, s: Settings) -> Analysis:
    arms = (control, treatment)
    ev = gather(control, treatment, s)
    quality_reasons, quality_notes = rules.quality(arms, ev, s)
    cost_reasons, cost_notes = rules.costs(arms, ev, s)
    unmet = [
        *rules.samples(arms, s),
        *rules.srm(arms, ev, s),
        *rules.lift(arms, ev, s),
        *rules.significance(ev, s),
        *quality_reasons,
        *cost_reasons,
    ]
    decision = "promote"
    if unmet:
        stop = rules.no_winner(arms, ev, s)
        decision = "keep_running" if stop is None else "stop_no_winner"
        unmet += [] if stop is None else [stop]
    notes = (*rules.adjusted(arms, ev), *quality_notes, *cost_notes)
    return Analysis(experiment_id, s, control, treatment, ev, decision, tuple(unmet), notes)
