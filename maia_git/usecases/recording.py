"""Recording interactions: the fast path that agent runtimes call.

Recording appends one line to this writer's pending file in the git directory, where no git
command touches it, and never commits: ``maia sync`` seals the records into a segment
(``storage.segments``). What it
needs to know about the experiment (its status and control share) is cached and re-read only when
the experiment's files change on disk, so a long-running runtime pays for YAML once.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia_git.core import interaction
from maia_git.core.assign import Split
from maia_git.core.ids import check_id, sanitise_writer
from maia_git.core.models import Status
from maia_git.errors import UsageError
from maia_git.storage import git, segments, state
from maia_git.storage.jsonl import Appender
from maia_git.storage.state import control_share
from maia_git.usecases import pins


def writer_name(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """``MAIA_WRITER`` (checked) or the host name (sanitised to the id pattern)."""
    given = environ.get("MAIA_WRITER")
    if given:
        return check_id(given, "writer name (MAIA_WRITER)")
    return sanitise_writer(socket.gethostname())


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


# How long a recorder trusts what it read about an experiment before it looks at the files again:
# a pause or completion by another process is noticed within this time.
RECHECK_SECONDS = 0.1


class NotActive(UsageError):
    """Recording to an experiment that is not active (the runtime API reports it instead)."""


@dataclass
class _Known:
    stamp: tuple[Any, ...]
    status: Status
    agent: str
    share: Split  # the control share in force, or the Arms of several treatments
    checked: float
    pins: dict[str, str] = field(default_factory=dict)  # arm -> pinned blob id
    paths: dict[str, str] = field(default_factory=dict)  # arm -> pinned prompt path
    control: str | None = None  # the agent's prompt file (None: the entry has no definition)


class Recorder:
    """Appends interaction records for one workspace; reuse one per process."""

    def __init__(self, top: Path, writer: str | None = None, git_dir: Path | None = None) -> None:
        self.top = top
        self.git_dir = git_dir if git_dir is not None else git.find_repo(top).git_dir
        self.writer = check_id(writer, "writer name") if writer else writer_name()
        self.appender = Appender()
        self._known: dict[str, _Known] = {}

    def close(self) -> None:
        self.appender.close()

    def experiment(self, exp_id: str) -> _Known:
        """What the recorder knows of the experiment, re-read when its files change."""
        known = self._known.get(exp_id)
        now = time.monotonic()
        if known is not None and now - known.checked < RECHECK_SECONDS:
            return known
        queue_file = self.top / state.queue_rel(exp_id)
        exp_file = self.top / state.experiment_rel(exp_id)
        stamp = (_stamp(queue_file), _stamp(exp_file))
        if known is None or known.stamp != stamp:
            check_id(exp_id)
            known = self._load(exp_id, stamp, now)
            self._known[exp_id] = known
        known.checked = now
        return known

    def _load(self, exp_id: str, stamp: tuple[Any, ...], now: float) -> _Known:
        entry = state.load_entry(self.top, exp_id)
        if not state.has_experiment(self.top, exp_id):
            return _Known(stamp, entry.status, entry.agent, control_share(self.top, exp_id), now)
        experiment = state.load_experiment(self.top, exp_id)
        if entry.status is Status.ACTIVE:  # only then are pins needed (a backfill runs git)
            experiment = pins.effective(git.Repo(self.top, self.git_dir), experiment, entry.status)
        share, blobs = experiment.assignment(), pins.blob_ids(experiment)
        paths = {arm: pin.path for arm, pin in experiment.pins.items()}
        return _Known(
            stamp, entry.status, entry.agent, share, now, blobs, paths, experiment.control
        )

    def record(
        self,
        exp_id: str,
        user_id: str,
        success: bool,
        *,
        quality_score: float | None = None,
        tokens: int | None = None,
        latency_ms: float | None = None,
        interaction_id: str | None = None,
        arm: str | None = None,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Append one interaction; refused unless the experiment is active."""
        known = self.experiment(exp_id)
        if known.status is not Status.ACTIVE:
            raise NotActive(f"cannot record to {exp_id}: it is {known.status}, not active")
        record = interaction.make_record(
            exp_id,
            user_id,
            success=success,
            now=now or datetime.now(UTC),
            control_share=known.share,
            arm=arm,
            quality_score=quality_score,
            tokens=tokens,
            latency_ms=latency_ms,
            interaction_id=interaction_id,
            prompt_blobs=known.pins,
        )
        if not dry_run:
            self.appender.append(self.shard(exp_id), interaction.to_line(record))
        return record

    def shard(self, exp_id: str) -> Path:
        """The file this writer's unsynced records of the experiment are appended to."""
        return segments.pending_path(self.git_dir, segments.log_stream(exp_id, self.writer))
