"""The Python API of the reference guide, backed by the git workspace.

``AutomatedQualityScorer``, ``ABTestingFramework`` and ``ExperimentQueue`` each find the workspace
from the current directory (or take a path), and every call that changes state goes through the
same transactions as the CLI: one commit per change, under the workspace lock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maia_git.core.models import Priority
from maia_git.errors import UsageError
from maia_git.workspace import Workspace

if TYPE_CHECKING:
    from maia_git.usecases.verdict import Verdict

PathLike = str | os.PathLike[str]


def _workspace(path: PathLike | None) -> Workspace:
    return Workspace.find(path)


# --- quality scorer -------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityScore:
    agent_name: str
    response_id: str
    overall_score: float
    criteria_scores: dict[str, float]
    band: str
    feedback: list[str]


class AutomatedQualityScorer:
    """Scores agent responses with the workspace's rubric and keeps the scores."""

    def __init__(self, path: PathLike | None = None) -> None:
        self.workspace = _workspace(path)

    def evaluate_response(
        self, response_data: dict[str, Any], agent_name: str, response_id: str, save: bool = True
    ) -> QualityScore:
        from maia_git.usecases.scores import evaluate

        score = evaluate(self.workspace, response_data, agent_name, response_id, save=save)
        return QualityScore(
            agent_name,
            response_id,
            score.overall,
            dict(score.criteria),
            score.band,
            list(score.feedback),
        )

    def get_average_score(self, agent_name: str, time_window_days: float = 7) -> float | None:
        """The mean overall score over the window, or None when there is no score in it."""
        from maia_git.usecases.scores import average

        result = average(self.workspace, agent_name, time_window_days)
        return None if result.mean is None else round(result.mean, 2)


# --- A/B testing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentInfo:
    experiment_id: str
    name: str
    hypothesis: str
    agent_name: str
    control_prompt: str
    treatment_prompt: str  # with several treatments: "" (see ``arms``)
    status: str
    arms: dict[str, str] = field(default_factory=dict)  # every arm's prompt, control first


@dataclass(frozen=True)
class ArmResult:
    interactions: int
    successes: int
    completion_rate: float | None
    quality_mean: float | None
    users: int = 0  # the unit of analysis: users are what is randomised


@dataclass(frozen=True)
class ABResult:
    experiment_id: str
    control_rate: float
    treatment_rate: float
    effect_size: float  # relative lift of the completion rate, in percent
    p_value: float
    is_significant: bool
    winner: str | None
    decision: str
    reasons: list[str]
    control_arm: ArmResult
    treatment_arm: ArmResult
    analysis: dict[str, Any] = field(repr=False)
    arm: str = "treatment"  # the treatment described (several: the winner, else the best lift)


class ABTestingFramework:
    """Experiments on prompts: create, assign, record, analyse, promote."""

    def __init__(self, path: PathLike | None = None, *, strict: bool = False) -> None:
        """``strict=True``: recording to an experiment that is not active raises UsageError
        instead of returning a result that says it was not recorded."""
        self.workspace = _workspace(path)
        self.strict = strict
        self._runtime: Any = None

    def _serving(self) -> Any:
        if self._runtime is None:
            from maia_git.usecases.runtime import Runtime

            self._runtime = Runtime(self.workspace.top, strict=self.strict)
        return self._runtime

    def create_experiment(
        self,
        name: str,
        hypothesis: str,
        agent_name: str,
        control_prompt: PathLike,
        treatment_prompt: PathLike | Sequence[PathLike],
        *,
        priority: str | Priority = Priority.MEDIUM,
        control_share: float = 0.5,
        experiment_id: str | None = None,
        start: bool = True,
        arm_names: Sequence[str] | None = None,
        shares: Sequence[float] | None = None,
    ) -> ExperimentInfo:
        """Create the experiment (one commit) and, unless ``start=False``, queue it.

        Queued, it becomes active at once when a slot is free, so it can take interactions.
        ``treatment_prompt`` may be a list of two or more prompt files: each is compared with
        control; ``arm_names`` names them (default treatment_1, ...) and ``shares`` gives every
        arm's share of users, control first (default equal).
        """
        from maia_git.usecases.experiments import apply_event, new_experiment

        change = new_experiment(
            self.workspace,
            name=name,
            agent=agent_name,
            control=control_prompt,
            treatment=treatment_prompt,
            hypothesis=hypothesis,
            exp_id=experiment_id,
            priority=priority,
            control_share=control_share,
            arm_names=arm_names,
            shares=shares,
        )
        if start:
            apply_event(self.workspace, change.experiment_id, "start")
        return self._info(change.experiment_id)

    def _info(self, exp_id: str) -> ExperimentInfo:
        from maia_git.storage import state

        experiment = state.load_experiment(self.workspace.top, exp_id)
        entry = state.load_entry(self.workspace.top, exp_id)
        return ExperimentInfo(
            exp_id,
            experiment.name,
            experiment.hypothesis,
            entry.agent,
            experiment.control,
            experiment.treatment,
            str(entry.status),
            experiment.arm_paths(),
        )

    def assign_treatment(self, experiment_id: str, user_id: str) -> str:
        """The user's arm: its assignment while the experiment is active, else "control" (the
        agent's prompt file). ``get_prompt`` gives the prompt itself."""
        return str(self._serving().arm(experiment_id, user_id))

    def get_prompt(self, experiment_id: str, user_id: str) -> Any:
        """What to serve this user: ``.arm``, ``.text``, ``.path``, ``.blob`` (a ``Served``).

        While the experiment is active, the pinned prompt of the user's arm; otherwise the
        agent's prompt file as committed at HEAD, with ``.pinned`` False and ``.note`` saying
        why. Cached: after the first call, no git and no file read per request.
        """
        return self._serving().prompt(experiment_id, user_id)

    def record_interaction(
        self,
        experiment_id: str,
        user_id: str,
        success: bool,
        quality_score: float | None = None,
        tokens_used: int | None = None,
        latency_ms: float | None = None,
        interaction_id: str | None = None,
    ) -> Any:
        """Append one interaction to this writer's log (committed later by ``maia sync``).

        Returns a ``RecordResult``: false, with ``.reason``, when the experiment is not active
        (nothing is written; with ``strict=True`` that raises instead). The line carries the
        blob id of the prompt the user's arm serves (``prompt_blob``).
        """
        return self._serving().record(
            experiment_id,
            user_id,
            success,
            quality_score=quality_score,
            tokens=tokens_used,
            latency_ms=latency_ms,
            interaction_id=interaction_id,
        )

    def analyze_experiment(self, experiment_id: str, method: str | None = None) -> ABResult | None:
        """The analysis, or None while an arm has fewer than ``min_samples`` users."""
        from maia_git.usecases.verdict import verdict

        found = verdict(self.workspace, experiment_id, method)
        return _ab_result(found) if found.enough else None

    def auto_promote_winner(
        self, experiment_id: str, *, push: bool = False, open_pr: bool = False
    ) -> Any:
        """Promote the treatment if the analysis decides so; None otherwise."""
        from maia_git.usecases.promotion import promote_if_decided

        return promote_if_decided(self.workspace, experiment_id, push=push, open_pr=open_pr)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None


def _ab_result(found: Verdict) -> ABResult:
    data = found.analysis
    if "arms" in data:  # several treatments: control against the one the verdict reads
        arms = {a["name"]: a for a in data["arms"]}
        control, treatment = arms["control"], arms[found.arm]
        read = next(c for c in data["comparisons"] if c["arm"] == found.arm)
    else:
        control, treatment, read = data["control"], data["treatment"], data
    p_value, lift = read.get("p_value"), read.get("lift")
    return ABResult(
        experiment_id=data["experiment_id"],
        control_rate=control["rate"] or 0.0,
        treatment_rate=treatment["rate"] or 0.0,
        effect_size=0.0 if lift is None else lift * 100,
        p_value=1.0 if p_value is None else p_value,
        is_significant=found.significant,
        winner=found.winner,
        decision=data["decision"],
        reasons=[r.get("message", r.get("code", "")) for r in data.get("reasons", [])],
        control_arm=_arm(control),
        treatment_arm=_arm(treatment),
        analysis=data,
        arm=found.arm,
    )


def _arm(data: dict[str, Any]) -> ArmResult:
    return ArmResult(
        data["n"], data["successes"], data.get("rate"), data.get("quality_mean"), data["users"]
    )


# --- experiment queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedExperiment:
    experiment_id: str
    agent_name: str
    priority: str
    status: str
    created_at: str
    queued_at: str | None
    started_at: str | None
    paused_at: str | None
    completed_at: str | None
    notes: str
    reason: str | None
    outcome: str | None


class ExperimentQueue:
    """The priority queue of experiments; ``max_concurrent`` lives in ``maia.yaml``."""

    def __init__(self, max_concurrent: int | None = None, path: PathLike | None = None) -> None:
        self.workspace = _workspace(path)
        configured = self.workspace.settings.max_concurrent
        if max_concurrent is not None and max_concurrent != configured:
            raise UsageError(
                f"max_concurrent={max_concurrent} differs from maia.yaml "
                f"({configured}); set it in maia.yaml so every tool agrees"
            )
        self.max_concurrent = configured
        self.queue_file = self.workspace.top / "queue"

    def _entry(self, exp_id: str) -> QueuedExperiment:
        from maia_git.storage import state
        from maia_git.usecases.queue import entry_view

        return QueuedExperiment(**entry_view(state.load_entry(self.workspace.top, exp_id)))

    def add_experiment(
        self,
        experiment_id: str,
        agent_name: str,
        priority: str | Priority = Priority.MEDIUM,
        notes: str = "",
    ) -> QueuedExperiment:
        """Queue an experiment (it starts at once when a slot is free).

        An id with no entry gets one (no experiment definition is needed); a draft is queued;
        an experiment already in the queue keeps its place and only its priority may change.
        """
        from maia_git.core.models import Status
        from maia_git.storage import state
        from maia_git.usecases.experiments import add_to_queue, set_priority

        path = self.workspace.top / state.queue_rel(experiment_id)
        if path.exists():
            entry = state.load_entry(self.workspace.top, experiment_id)
            if entry.status is not Status.DRAFT:
                if entry.status is Status.QUEUED and str(priority) != str(entry.priority):
                    set_priority(self.workspace, experiment_id, priority)
                return self._entry(experiment_id)
        add_to_queue(self.workspace, experiment_id, agent_name, priority, notes)
        return self._entry(experiment_id)

    def get_queue_status(self) -> dict[str, Any]:
        from maia_git.usecases.queue import status

        return status(self.workspace)

    def start_experiment(self, experiment_id: str) -> QueuedExperiment:
        """Start a draft, resume a paused one; a queued one waits for a slot."""
        from maia_git.core.models import Status
        from maia_git.usecases.experiments import apply_event

        current = self._entry(experiment_id)
        event = {"draft": "start", "paused": "resume"}.get(current.status)
        if event is not None:
            apply_event(self.workspace, experiment_id, event)
        elif current.status != Status.QUEUED:
            apply_event(self.workspace, experiment_id, "start")  # refused, listing allowed
        return self._entry(experiment_id)

    def pause_experiment(self, experiment_id: str, reason: str = "") -> QueuedExperiment:
        return self._event(experiment_id, "pause", reason)

    def complete_experiment(self, experiment_id: str, outcome: str = "") -> QueuedExperiment:
        return self._event(experiment_id, "complete", outcome)

    def cancel_experiment(self, experiment_id: str, reason: str = "") -> QueuedExperiment:
        return self._event(experiment_id, "cancel", reason)

    def _event(self, experiment_id: str, event: str, text: str) -> QueuedExperiment:
        from maia_git.usecases.experiments import apply_event

        apply_event(self.workspace, experiment_id, event, text or None)
        return self._entry(experiment_id)

    def change_priority(self, experiment_id: str, priority: str | Priority) -> QueuedExperiment:
        from maia_git.usecases.experiments import set_priority

        set_priority(self.workspace, experiment_id, priority)
        return self._entry(experiment_id)

    def get_history(self, limit: int = 10) -> list[QueuedExperiment]:
        from maia_git.usecases.queue import history

        return [QueuedExperiment(**item) for item in history(self.workspace, limit)]

    def entry_file(self, experiment_id: str) -> Path:
        return self.queue_file / f"{experiment_id}.yaml"
