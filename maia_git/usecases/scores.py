"""Quality scores: the workspace's rubric, scoring a response (and keeping the score), averages
over a time window and the per-agent report.

Scores are appended without a transaction (like logs, scores are recorded outside
transactions and committed by `maia sync`); every check runs before the one append.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from maia_git.core import scoring
from maia_git.core.escape import reason
from maia_git.core.ids import check_id
from maia_git.core.rubric import DEFAULT_RUBRIC, Rubric, parse_rubric, show
from maia_git.core.scoring import Score, score_record, score_response
from maia_git.errors import NotFound, StateFileError, UsageError
from maia_git.storage import scores as store
from maia_git.storage import yamlio
from maia_git.storage.state import SETTINGS_FILE
from maia_git.workspace import Workspace

MAX_RESPONSE_ID = 200
MAX_DESCRIPTION_BYTES = 1 << 20

# --- the rubric ---------------------------------------------------------------------------------


def rubric_for(ws: Workspace) -> Rubric:
    """The rubric maia.yaml sets: the default, its `rubric:` section, or the rubric file it names.

    A bad `rubric:` section (or a bad file name in it) is maia.yaml's fault: exit 3 with
    maia.yaml:line:column. A bad rubric file is that file's: exit 2, naming file:line:column.
    """
    setting: Mapping[str, Any] | str | None = ws.settings.rubric
    if setting is None:
        return DEFAULT_RUBRIC
    if isinstance(setting, str):
        return _rubric_file(ws, setting)
    try:
        return parse_rubric(setting)
    except UsageError as err:
        raise _settings_error(ws, str(err)) from None


def _settings_error(ws: Workspace, message: str) -> StateFileError:
    # Read again only on this error path: the settings object keeps no line numbers.
    return yamlio.load(ws.top / SETTINGS_FILE, SETTINGS_FILE).error("rubric", message)


def _rubric_file(ws: Workspace, name: str) -> Rubric:
    path = _rubric_path(ws, name)
    try:
        doc = yamlio.load(path, name)
    except StateFileError as err:
        raise UsageError(str(err)) from None
    try:
        return parse_rubric(doc.data)
    except UsageError as err:
        raise UsageError(str(doc.error(_culprit(doc.data), str(err)))) from None


def _rubric_path(ws: Workspace, name: str) -> Path:
    given = Path(name)
    target = given if given.is_absolute() else ws.top / given
    try:
        rel = target.resolve().relative_to(ws.top.resolve())
    except ValueError:
        raise _settings_error(ws, f"rubric file {name!r} is outside the repository") from None
    if not rel.parts or rel.parts[0] == ".git":
        raise _settings_error(ws, f"rubric must name a rubric file in the repository, not {name!r}")
    if not target.is_file():
        raise _settings_error(ws, f"rubric file {name!r} does not exist or is not a file")
    return target


def _culprit(data: Mapping[str, object]) -> str | None:
    """The top-level key of a rubric file that parse_rubric refuses, to point at its line."""
    for key, value in data.items():
        try:
            parse_rubric({key: value})
        except UsageError:
            return key
    return None


# --- scoring one response -----------------------------------------------------------------------


def check_response_id(response_id: object) -> str:
    if (
        not isinstance(response_id, str)
        or not 0 < len(response_id) <= MAX_RESPONSE_ID
        or not response_id.isprintable()
    ):
        raise UsageError(
            f"invalid response id {show(response_id)}: use 1-{MAX_RESPONSE_ID} printable characters"
        )
    return response_id


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def evaluate(
    ws: Workspace,
    data: object,
    agent: str,
    response_id: str,
    now: datetime | None = None,
    save: bool = True,
) -> Score:
    """Score a response description against the workspace's rubric; with `save`, append it."""
    check_id(agent, "agent name")
    check_response_id(response_id)
    if not isinstance(data, Mapping):
        raise UsageError(f"a response description must be a JSON object, got {show(data)}")
    score = score_response(data, rubric_for(ws))
    if save:
        from maia_git.usecases.recording import writer_name

        record = score_record(score, agent, response_id, _now(now))
        store.append(ws.repo.git_dir, record, writer_name())
    return score


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def read_description(source: str) -> object:
    """The JSON value in file `source`, or on stdin for `-`; anything unreadable is a UsageError."""
    shown = "stdin" if source == "-" else source
    raw = _read_bytes(source)
    if len(raw) > MAX_DESCRIPTION_BYTES:
        raise UsageError(f"{shown}: a response description is over the 1 MiB limit")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(f"{shown}: not valid UTF-8 (byte {err.start + 1})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise UsageError(f"{shown}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except ValueError as err:  # NaN or Infinity, refused by _reject_constant
        raise UsageError(f"{shown}: invalid JSON: {err}") from None
    except RecursionError:
        raise UsageError(f"{shown}: invalid JSON: nested too deeply") from None


def _read_bytes(source: str) -> bytes:
    if source == "-":
        if sys.stdin.isatty():  # waiting for typed JSON would look like a hang
            raise UsageError("no response description: give a FILE, or pipe the JSON to stdin")
        return sys.stdin.buffer.read(MAX_DESCRIPTION_BYTES + 1)
    try:
        with open(source, "rb") as file:
            return file.read(MAX_DESCRIPTION_BYTES + 1)
    except FileNotFoundError:
        raise NotFound(f"response file {source!r} does not exist") from None
    except OSError as err:
        raise UsageError(f"cannot read response file {source!r}: {reason(err)}") from None


def score_file(
    ws: Workspace,
    source: str,
    agent: str,
    response_id: str,
    now: datetime | None = None,
    save: bool = True,
) -> Score:
    """`evaluate` on the description in file `source` (`-`: stdin); names are checked first."""
    check_id(agent, "agent name")
    check_response_id(response_id)
    return evaluate(ws, read_description(source), agent, response_id, now, save)


def quality_from_file(
    ws: Workspace, path_or_dash: str, agent: str, response_id: str, now: datetime | None = None
) -> float:
    """Score the description in a file (or stdin), keep the score, return the overall 0-100."""
    return score_file(ws, path_or_dash, agent, response_id, now).overall


# --- scores over time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Average:
    agent: str
    days: float
    mean: float | None  # None when the window holds no score
    count: int
    problems: tuple[str, ...]  # "file:line: reason" of every line that was not counted


def average(ws: Workspace, agent: str, days: float = 7, now: datetime | None = None) -> Average:
    """The mean overall score of `agent` over (now - days, now], read from the months it touches."""
    check_id(agent, "agent name")
    end = _now(now)
    scoring.average([], agent, end, days)  # checks days and now before any file is read
    loaded = store.read_scores(ws.repo, end - timedelta(days=days), end, agent)
    mean, count = scoring.average(loaded.records, agent, end, days)
    return Average(agent, days, mean, count, tuple(loaded.problems))


@dataclass(frozen=True)
class ScoresReport:
    report: scoring.Report
    now: datetime
    problems: tuple[str, ...]


def report(
    ws: Workspace, days: float = 7, fail_under: float | None = None, now: datetime | None = None
) -> ScoresReport:
    """Per agent: count and mean over the window, trend against the window before, poor scores."""
    end = _now(now)
    scoring.report([], end, days, fail_under)  # checks the arguments before any file is read
    loaded = store.read_scores(ws.repo, end - 2 * timedelta(days=days), end)
    result = scoring.report(loaded.records, end, days, fail_under)
    return ScoresReport(result, end, tuple(loaded.problems))


# --- `maia score eval`: scoring a file, in a workspace or not -------------------------------------


@dataclass(frozen=True)
class Evaluation:
    score: Score
    agent: str | None
    response_id: str
    saved_to: str | None  # the score stream it was kept in (`maia sync` commits it); or None
    not_saved: str | None  # why it was not kept


def evaluate_source(
    source: str,
    agent: str | None,
    response_id: str | None,
    now: datetime,
    save: bool = True,
) -> Evaluation:
    """Score the description in `source`; keep the score only in a workspace, for an agent.

    Scoring needs neither: outside a workspace the default rubric applies, and the response id
    defaults to the file's name (``stdin`` for ``-``).
    """
    default_id = "stdin" if source == "-" else Path(source).name
    response_id = check_response_id(default_id if response_id is None else response_id)
    if agent is not None:
        check_id(agent, "agent name")
    data = read_description(source)
    ws = _workspace_here()
    why = None
    if not save:
        why = "a dry run"
    elif ws is None:
        why = "not in a maia workspace"
    elif agent is None:
        why = "no --agent to file it under"
    if ws is None or agent is None or why is not None:
        rubric = DEFAULT_RUBRIC if ws is None else rubric_for(ws)
        if not isinstance(data, Mapping):
            raise UsageError(f"a response description must be a JSON object, got {show(data)}")
        return Evaluation(score_response(data, rubric), agent, response_id, None, why)
    score = evaluate(ws, data, agent, response_id, now, save=True)
    from maia_git.usecases.recording import writer_name

    return Evaluation(score, agent, response_id, store.stream(agent, now, writer_name()), None)


def _workspace_here() -> Workspace | None:
    try:
        return Workspace.find()
    except UsageError:  # not a git repository, or not a maia workspace
        return None
