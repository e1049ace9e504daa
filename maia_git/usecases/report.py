"""What ``maia report`` shows, gathered from the workspace: every number comes from the use cases
the other commands run (the analysis is ``maia exp analyze --json``'s, the history
``maia exp log``'s, the queue ``maia queue status``'s, the scores ``maia score average``'s).
Rendering it as HTML is ``maia_git.report``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from maia_git.core.ids import check_id
from maia_git.core.models import QueueEntry, Status
from maia_git.core.summary import prompt_diff
from maia_git.errors import NotFound
from maia_git.storage import branch as plumbing
from maia_git.storage import state
from maia_git.usecases import pins, queue, views
from maia_git.usecases.analysis import analyze_experiment
from maia_git.usecases.timeline import Timeline, lift_over_time, log_bytes
from maia_git.usecases.trend import Trend, quality_trend, score_agents
from maia_git.workspace import Workspace

# Told (what is being read, bytes read so far, bytes in all) while the logs are read.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]  # every arm's prompt, control first
    diffs: dict[str, str]  # each treatment's diff from control, in arm order
    source: str  # where the texts were read: their pins, HEAD, or the working tree

    @property
    def control(self) -> str:
        return self.texts["control"]

    @property
    def treatment(self) -> str:
        """The treatment's text of a two-arm experiment."""
        return self.texts.get("treatment", "")

    @property
    def diff(self) -> str:
        """The diff of a two-arm experiment."""
        return self.diffs.get("treatment", "")


@dataclass(frozen=True)
class ExperimentReport:
    view: dict[str, Any]  # `maia exp show --json`
    analysis: dict[str, Any]  # `maia exp analyze --json`
    timeline: Timeline
    history: list[dict[str, Any]]  # `maia exp log --json`
    prompts: Prompts | None  # None for an experiment without a definition file

    @property
    def id(self) -> str:
        return str(self.view["id"])


@dataclass(frozen=True)
class Report:
    generated: str
    settings: dict[str, Any]
    queue: dict[str, Any]  # `maia queue status --json`, queued entries with a `waiting` reason
    experiments: tuple[ExperimentReport, ...]
    agents: tuple[Trend, ...]


def gather(
    ws: Workspace,
    experiments: Sequence[str] = (),
    agents: Sequence[str] = (),
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Report:
    """The report of the chosen experiments and agents (default: all). Experiments chosen by
    agent are that agent's; an unknown id or agent is NotFound (exit 2) before anything is read."""
    entries = state.load_entries(ws.top)
    exp_ids, agent_names = _choose(ws, entries, experiments, agents)
    tell = progress or (lambda *_: None)
    total = sum(2 * log_bytes(ws, i) for i in exp_ids)
    done = 0
    pages = []
    for exp_id in exp_ids:
        start = done

        def advance(n: int, exp_id: str = exp_id) -> None:
            nonlocal done
            done += n
            tell(exp_id, done, total)

        tell(exp_id, done, total)  # names the experiment while its analysis runs
        pages.append(_experiment(ws, exp_id, advance))
        done = start + 2 * log_bytes(ws, exp_id)
        tell(exp_id, done, total)
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    trends = tuple(quality_trend(ws, name) for name in agent_names)
    return Report(when, ws.settings.to_dict(), queue_with_reasons(ws), tuple(pages), trends)


def _choose(
    ws: Workspace, entries: dict[str, QueueEntry], experiments: Sequence[str], agents: Sequence[str]
) -> tuple[list[str], list[str]]:
    for exp_id in experiments:
        check_id(exp_id)
        if exp_id not in entries:
            raise NotFound(f"unknown experiment {exp_id!r} (see `maia exp list`)")
    known = sorted({e.agent for e in entries.values()} | set(score_agents(ws)))
    for agent in agents:
        check_id(agent, "agent name")
        if agent not in known:
            raise NotFound(f"unknown agent {agent!r}: no experiment and no scores name it")
    if experiments:
        exp_ids = sorted(set(experiments))
    else:
        exp_ids = sorted(i for i, e in entries.items() if not agents or e.agent in agents)
    return exp_ids, sorted(set(agents)) if agents else known


def _experiment(ws: Workspace, exp_id: str, advance: Callable[[int], None]) -> ExperimentReport:
    view = views.show(ws, exp_id)
    defined = state.has_experiment(ws.top, exp_id)
    analysis = analyze_experiment(ws, exp_id).to_dict() if defined else {}
    timeline = lift_over_time(ws, exp_id, progress=advance) if defined else Timeline(exp_id, ())
    prompts = _prompts(ws, view) if defined else None
    return ExperimentReport(view, analysis, timeline, views.history(ws, exp_id), prompts)


def _prompts(ws: Workspace, view: dict[str, Any]) -> Prompts:
    """Every arm's prompt: the texts pinned when the experiment started (those in the commit
    that started it, for one started before pins), or, before it starts, the files as committed
    at HEAD (the working tree's when not committed); each treatment's diff from control."""
    experiment = state.load_experiment(ws.top, str(view["id"]))
    pinned = pins.effective(ws.repo, experiment, Status(view["status"])).pins
    where = "pinned when it started" if experiment.pins else "as in the commit that started it"
    paths = experiment.arm_paths()
    texts, sources = {}, set()
    for arm, path in paths.items():
        pin = pinned.get(arm)
        if pin is not None:
            text = plumbing.read_blob(ws.repo, pin.blob).decode("utf-8", "replace")
            source = where
        else:
            text, source = _prompt_text(ws, path)
        texts[arm] = text
        sources.add(source)
    diffs = {
        arm: prompt_diff(texts["control"], text, paths["control"], paths[arm], 400)
        for arm, text in texts.items()
        if arm != "control"
    }
    return Prompts(texts, diffs, " and ".join(sorted(sources)))


def _prompt_text(ws: Workspace, path: str) -> tuple[str, str]:
    blob = plumbing.blob_of(ws.repo, "HEAD", path)
    if blob is not None:
        return plumbing.read_blob(ws.repo, blob).decode("utf-8", "replace"), "as committed at HEAD"
    try:
        text = (ws.top / path).read_text(encoding="utf-8", errors="replace")
        return text, "as in the working tree (not committed)"
    except OSError:
        return "", "a file missing from HEAD and the working tree"


def queue_with_reasons(ws: Workspace) -> dict[str, Any]:
    """``maia queue status --json``, each queued experiment with why it is still waiting."""
    data = queue.status(ws)
    limit = ws.settings.max_concurrent
    active = data["active_experiments"]
    busy = {e["agent_name"]: e["experiment_id"] for e in active}
    free = max(0, limit - len(active))
    for item in data["queued_experiments"]:
        agent = item["agent_name"]
        if ws.settings.one_active_per_agent and agent in busy:
            item["waiting"] = f"agent {agent} already has an active experiment ({busy[agent]})"
        elif free == 0:
            item["waiting"] = f"every slot is taken ({len(active)} of {limit} active)"
        else:
            item["waiting"] = "a slot is free: it starts at the next state change"
            free -= 1
    for item in data["paused_experiments"]:
        item["waiting"] = "paused" + (f": {item['reason']}" if item.get("reason") else "")
    return data


def status_order(status: str) -> int:
    order = [Status.ACTIVE, Status.QUEUED, Status.PAUSED, Status.DRAFT, Status.PROMOTED,
             Status.COMPLETED, Status.CANCELLED]  # fmt: skip
    return order.index(Status(status)) if status in Status.__members__.values() else len(order)
