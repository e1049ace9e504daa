"""What an agent runtime asks on every request: which prompt to serve, and where to record.

``Runtime.prompt(exp_id, user_id)`` answers with everything the runtime needs (the arm, the
prompt's text, path and blob id). For an active experiment that is the user's arm's pinned
prompt; for one that is not active (queued, paused, finished), the agent's prompt file as
committed at HEAD (before a promotion's pull request is merged the old prompt, after it the new
one), and the answer says so. ``Runtime.record`` never raises for a status: it returns whether
the line was recorded and why not (``strict=True`` raises instead).

The hot path costs one MD5 and a few dictionary look-ups: the experiment is re-read only when its
files changed (checked at most every ``RECHECK_SECONDS``, the Recorder's interval), blob text is
read once per process, and the two possible answers of an experiment are built once.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from struct import Struct
from typing import Any

from maia_git.core.assign import (
    BUCKETS,
    CONTROL,
    Arms,
    Split,
    _prefix,
    arm_names,
    check_user_id,
    control_threshold,
    cuts,
)
from maia_git.core.ids import check_id
from maia_git.core.models import Status
from maia_git.errors import NotFound
from maia_git.storage import git, prompts
from maia_git.usecases.recording import RECHECK_SECONDS, NotActive, Recorder, _Known

_FIRST_8_BYTES = Struct(">Q").unpack_from
# While an experiment is not active, its answer is the agent's file at HEAD: a merged promotion
# is served within this time.
HEAD_RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Served:
    """The prompt to serve: ``pinned`` False means the experiment is not active and this is the
    agent's prompt file at HEAD (``note`` says why); then nothing is recorded for it."""

    experiment_id: str
    arm: str
    text: str
    path: str
    blob: str
    status: str
    pinned: bool
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RecordResult:
    """Whether an interaction was recorded; if not, why (the experiment is not active)."""

    recorded: bool
    experiment_id: str
    status: str
    reason: str | None = None
    record: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return self.recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Answers:
    """An experiment's possible answers, built once per change of its files."""

    known: _Known
    bounds: list[int]  # each arm's upper bucket cut (``core.assign.cuts``)
    prefix: Any  # the MD5 state of "<id>:", copied per user
    arms: tuple[Served, ...]  # active: each arm's pinned prompt, in arm order
    fixed: Served | None  # not active: one answer for every user
    built: float = 0.0


class Runtime:
    """Serving and recording for one workspace; reuse one per process (it caches)."""

    def __init__(
        self,
        top: Path,
        *,
        strict: bool = False,
        writer: str | None = None,
        git_dir: Path | None = None,
    ) -> None:
        self.recorder = Recorder(top, writer, git_dir)
        self.repo = git.Repo(top, self.recorder.git_dir)
        self.blobs = prompts.BlobCache(self.repo)
        self.strict = strict
        self._answers: dict[str, _Answers] = {}

    def close(self) -> None:
        self.recorder.close()

    def prompt(self, exp_id: str, user_id: str) -> Served:
        """The prompt for this user now (see the module's docstring)."""
        answers = self._answers.get(exp_id)
        if answers is None or time.monotonic() - answers.known.checked >= RECHECK_SECONDS:
            answers = self._refresh(exp_id)
        if answers.fixed is not None:
            return answers.fixed
        if not (user_id.__class__ is str and user_id and user_id.isprintable()):
            check_user_id(user_id)
        digest = answers.prefix.copy()
        digest.update(user_id.encode())
        found = _FIRST_8_BYTES(digest.digest())[0] % BUCKETS
        return answers.arms[bisect_right(answers.bounds, found)]

    def arm(self, exp_id: str, user_id: str) -> str:
        """The user's arm now: the assignment while active; control (the agent's prompt file)
        otherwise. An experiment with no prompts (a bare queue entry) answers by assignment."""
        from maia_git.core.assign import arm_of

        known = self.recorder.experiment(exp_id)
        if known.status is Status.ACTIVE or known.control is None:
            return arm_of(exp_id, user_id, known.share)
        check_user_id(user_id)
        return CONTROL

    def record(self, exp_id: str, user_id: str, success: bool, **fields: Any) -> RecordResult:
        """Append one interaction if the experiment is active; otherwise say why not."""
        try:
            record = self.recorder.record(exp_id, user_id, success, **fields)
        except NotActive:
            if self.strict:
                raise
            status = str(self.recorder.experiment(exp_id).status)
            return RecordResult(False, exp_id, status, f"{exp_id} is {status}, not active")
        return RecordResult(True, exp_id, str(Status.ACTIVE), None, record)

    def _refresh(self, exp_id: str) -> _Answers:
        known = self.recorder.experiment(exp_id)
        current = self._answers.get(exp_id)
        # Unchanged files (the recorder re-reads them only when they change); HEAD's file,
        # served while not active, is looked up again at most once a second.
        if (
            current is not None
            and current.known is known
            and (current.fixed is None or time.monotonic() - current.built < HEAD_RECHECK_SECONDS)
        ):
            return current
        if known.control is None:
            raise NotFound(f"{exp_id} has no definition, so no prompts to serve")
        answers = self._build(check_id(exp_id), known)
        answers.built = time.monotonic()
        self._answers[exp_id] = answers
        return answers

    def _build(self, exp_id: str, known: _Known) -> _Answers:
        names = arm_names(known.share)
        bounds = _bounds(known.share)
        status = str(known.status)
        if known.status is Status.ACTIVE and set(known.pins) == set(names):
            served = tuple(self._pinned(exp_id, arm, known) for arm in names)
            return _Answers(known, bounds, _prefix(exp_id), served, None)
        path = str(known.control)
        blob = prompts.blobs_at(self.repo, "HEAD", [path])[path]
        why = (
            f"{exp_id} is {status}: serving {path} as committed at HEAD"
            if known.status is not Status.ACTIVE
            else f"{exp_id} has no pinned prompts (`maia doctor --fix`): serving {path} at HEAD"
        )
        if blob is None and "control" in known.pins:  # the file is gone: the last known text
            blob = known.pins["control"]
            why = f"{exp_id} is {status} and {path} is not at HEAD: serving the pinned control"
        if blob is None:
            raise NotFound(f"{exp_id}'s prompt file {path} is not committed at HEAD")
        fixed = Served(exp_id, CONTROL, self.blobs.text(blob), path, blob, status, False, why)
        return _Answers(known, bounds, None, (), fixed)

    def _pinned(self, exp_id: str, arm: str, known: _Known) -> Served:
        blob, path = known.pins[arm], known.paths[arm]
        return Served(exp_id, arm, self.blobs.text(blob), path, blob, str(known.status), True)


def _bounds(split: Split) -> list[int]:
    if isinstance(split, Arms):
        return cuts(split.shares)
    return [control_threshold(split), BUCKETS]


def assignments(top: Path, exp_id: str, users: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(user, arm)`` for each user, streamed: ``maia exp assign``'s answer without the prompt.

    While the experiment is active (or is a bare queue entry, with no prompts) the arm is the
    assignment; otherwise every user is served the agent's prompt file: "control".
    """
    from maia_git.core.assign import assign_many
    from maia_git.storage import state

    check_id(exp_id)
    share = state.assignment(top, exp_id)
    entry = state.load_entry(top, exp_id)
    if entry.status is Status.ACTIVE or not state.has_experiment(top, exp_id):
        return assign_many(exp_id, users, share)
    return ((check_user_id(user), CONTROL) for user in users)
