"""``maia exp record``: record one interaction, its quality given or scored from a description.

With a description the order matters: everything about the interaction is checked first (a dry
run of the record), then the response is scored and its score kept, then the interaction is
appended with that score. A bad record therefore never leaves a score behind it, and an
experiment that takes no records (not active) gets neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maia_git.core.ids import check_id
from maia_git.errors import UsageError
from maia_git.usecases.runtime import RecordResult
from maia_git.workspace import Workspace


@dataclass(frozen=True)
class Recorded:
    result: RecordResult  # recorded or not (and why), with the line
    shard: str  # where the line goes, as the user can find it
    writer: str
    dry_run: bool


def record(
    ws: Workspace,
    exp_id: str,
    user_id: str,
    success: bool,
    *,
    quality: float | None = None,
    quality_from: str | None = None,
    tokens_used: int | None = None,
    latency_ms: float | None = None,
    interaction_id: str | None = None,
    arm: str | None = None,
    dry_run: bool = False,
) -> Recorded:
    from maia_git.storage.segments import shown
    from maia_git.usecases.runtime import Runtime

    if quality is not None and quality_from is not None:
        raise UsageError("give --quality or --quality-from, not both")
    check_id(exp_id)
    runtime = Runtime(ws.top, git_dir=ws.repo.git_dir)
    try:
        fields: dict[str, Any] = {
            "tokens": tokens_used,
            "latency_ms": latency_ms,
            "interaction_id": interaction_id,
            "arm": arm,
        }
        result = None
        if quality_from is not None:
            result = runtime.record(exp_id, user_id, success, dry_run=True, **fields)
            if result.recorded:
                agent = runtime.recorder.experiment(exp_id).agent
                response_id = interaction_id or f"{exp_id}-{user_id}"
                quality = _score(ws, quality_from, agent, response_id, dry_run)
        if result is None or result.recorded:
            result = runtime.record(
                exp_id, user_id, success, quality_score=quality, dry_run=dry_run, **fields
            )
        shard = shown(ws.repo, str(runtime.recorder.shard(exp_id)))
        return Recorded(result, shard, runtime.recorder.writer, dry_run)
    finally:
        runtime.close()


def _score(ws: Workspace, source: str, agent: str, response_id: str, dry_run: bool) -> float:
    """The description's overall score; kept in the scores unless this is a dry run."""
    from maia_git.usecases.scores import score_file

    return score_file(ws, source, agent, response_id, save=not dry_run).overall
