"""Experiment definitions and queue entries on disk: paths, reading with checks, serialising."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maia_git.core.assign import ARM_NAME, BUCKETS, MAX_ARMS, Split
from maia_git.core.escape import shown
from maia_git.core.ids import is_valid_id
from maia_git.core.models import FINISHED, Experiment, Pin, Priority, QueueEntry, Status
from maia_git.core.times import canonical_ts
from maia_git.errors import NotFound, UnknownExperiment
from maia_git.storage import yamlio
from maia_git.storage.yamlio import StateDoc

SETTINGS_FILE = "maia.yaml"


def experiment_rel(exp_id: str) -> str:
    return f"experiments/{exp_id}/experiment.yaml"


def queue_rel(exp_id: str) -> str:
    return f"queue/{exp_id}.yaml"


def interactions_rel(exp_id: str) -> str:
    return f"experiments/{exp_id}/interactions"


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _time(v: Any) -> bool:
    return isinstance(v, str) and canonical_ts(v) is not None


def _opt_time(v: Any) -> bool:
    return v is None or _time(v)


def _prompt(v: Any) -> bool:
    """A normalised, relative POSIX path inside the repository (never in .git)."""
    if not isinstance(v, str) or not v or _CONTROL.search(v):
        return False
    parts = v.split("/")
    return (
        not v.startswith("/")
        and all(p not in ("", ".", "..") for p in parts)
        and (parts[0] != ".git")
    )


_CONTROL = re.compile("[\x00-\x1f\x7f]")


_BLOB = re.compile("[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 object id


def _pins(v: Any) -> bool:
    """``{arm: {path: <prompt>, blob: <object id>, share: <0..1>}}`` for each arm (``share``
    may be absent: pins written before the split was pinned); that the arms are the
    experiment's is checked with the whole definition."""
    return isinstance(v, dict) and all(
        _arm_name(arm) and isinstance(pin, dict) and _pin(pin) for arm, pin in v.items()
    )


def _arm_name(v: Any) -> bool:
    return isinstance(v, str) and ARM_NAME.fullmatch(v) is not None


def _treatments(v: Any) -> bool:
    """``{name: <prompt>}``: two or more named treatments (control is not one of them)."""
    return (
        isinstance(v, dict)
        and 2 <= len(v) <= MAX_ARMS - 1
        and all(_arm_name(k) and k != "control" and _prompt(p) for k, p in v.items())
    )


def _shares(v: Any) -> bool:
    """``{arm: <0..1>}``: each arm's share; that they are the arms and add up to 1 is checked
    with the whole definition."""
    return isinstance(v, dict) and all(_arm_name(k) and _share(x) for k, x in v.items())


def _pin(pin: dict[str, Any]) -> bool:
    return (
        set(pin) in ({"path", "blob"}, {"path", "blob", "share"})
        and _prompt(pin["path"])
        and isinstance(pin["blob"], str)
        and _BLOB.fullmatch(pin["blob"]) is not None
        and ("share" not in pin or _share(pin["share"]))
    )


def _opt_text(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _share(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1


_ENTRY_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (_text, "a string"),
    "agent": (lambda v: isinstance(v, str) and is_valid_id(v), "a valid agent name"),
    "status": (lambda v: v in Status.__members__.values(), "one of " + ", ".join(Status)),
    "priority": (lambda v: v in Priority.__members__.values(), "one of high, medium, low"),
    "created": (_opt_time, "an RFC 3339 UTC time such as 2026-01-31T12:00:00Z"),
    "queued": (_opt_time, "an RFC 3339 UTC time or null"),
    "started": (_opt_time, "an RFC 3339 UTC time or null"),
    "paused": (_opt_time, "an RFC 3339 UTC time or null"),
    "finished": (_opt_time, "an RFC 3339 UTC time or null"),
    "notes": (_text, "a string"),
    "reason": (_opt_text, "a string or null"),
    "outcome": (_opt_text, "a string or null"),
}
_ENTRY_REQUIRED = ("id", "agent", "status", "priority")
_EXPERIMENT_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (_text, "a string"),
    "name": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "hypothesis": (_text, "a string"),
    "control": (_prompt, "a relative path inside the repository, such as agents/a.md"),
    "treatment": (_prompt, "a relative path inside the repository, such as agents/a.md"),
    "control_share": (_share, "a number between 0 and 1"),
    "created": (_opt_time, "an RFC 3339 UTC time such as 2026-01-31T12:00:00Z"),
    "treatments": (
        _treatments,
        f"a mapping of 2 to {MAX_ARMS - 1} arm names ([a-z][a-z0-9_]{{0,31}}, not control) to "
        "prompt paths",
    ),
    "shares": (_shares, "a mapping of each arm's name to its share, a number between 0 and 1"),
    "winner": (lambda v: v is None or _arm_name(v), "an arm's name or null"),
    "promotion_branch": (_opt_text, "a branch name or null"),
    "pins": (
        _pins,
        "a mapping of each arm to {path: <prompt file>, blob: <blob id>, share: <0-1>}",
    ),
}
_EXPERIMENT_REQUIRED = ("id", "name", "control")


# One entry of a mapping field: the entry that breaks it is shown, not the whole mapping cut short.
_ENTRY: dict[str, Callable[[Any, Any], bool]] = {
    "treatments": lambda k, v: _arm_name(k) and k != "control" and _prompt(v),
    "shares": lambda k, v: _arm_name(k) and _share(v),
    "pins": lambda k, v: _arm_name(k) and isinstance(v, dict) and _pin(v),
}


def _culprit(key: str, value: Any) -> str:
    entry = _ENTRY.get(key)
    if entry is not None and isinstance(value, dict):
        for k, v in value.items():
            if not entry(k, v):
                return f"{shown(k)}: {shown(v)}"
    return shown(value)


def _check(
    doc: StateDoc,
    spec: dict[str, tuple[Callable[[Any], bool], str]],
    required: tuple[str, ...],
    exp_id: str,
) -> None:
    for key, value in doc.data.items():
        if key not in spec:
            raise doc.error(key, f"unknown field {shown(key)}")
        check, expected = spec[key]
        if not check(value):
            raise doc.error(key, f"{key} must be {expected}, not {_culprit(key, value)}")
    for key in required:
        if key not in doc.data:
            raise doc.error(None, f"missing field {key!r}")
    if doc.data["id"] != exp_id:
        raise doc.error("id", f"id {shown(doc.data['id'])} does not match the file name ({exp_id})")


def _ts(value: str | None) -> str | None:
    return None if value is None else canonical_ts(value)


def load_entry(top: Path, exp_id: str) -> QueueEntry:
    path = top / queue_rel(exp_id)
    if not path.exists() and not path.is_symlink():
        raise UnknownExperiment(exp_id)
    doc = yamlio.load(path, queue_rel(exp_id))
    _check(doc, _ENTRY_FIELDS, _ENTRY_REQUIRED, exp_id)
    d = doc.data
    return QueueEntry(
        id=exp_id,
        agent=d["agent"],
        status=Status(d["status"]),
        priority=Priority(d["priority"]),
        created=_ts(d.get("created")) or "",
        queued=_ts(d.get("queued")),
        started=_ts(d.get("started")),
        paused=_ts(d.get("paused")),
        finished=_ts(d.get("finished")),
        notes=d.get("notes", ""),
        reason=d.get("reason"),
        outcome=d.get("outcome"),
    )


def queue_ids(top: Path) -> list[str]:
    return sorted(name for name, _ in _queue_files(top))


def _queue_files(top: Path) -> list[tuple[str, os.DirEntry[str]]]:
    try:
        with os.scandir(top / "queue") as entries:
            return [
                (e.name[:-5], e)
                for e in entries
                if e.name.endswith(".yaml") and not e.name.startswith(".")
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []


def load_entries(top: Path, *, finished: bool = True) -> dict[str, QueueEntry]:
    """Every queue entry; with ``finished=False`` the finished ones are left out."""
    out: dict[str, QueueEntry] = {}
    for exp_id, _ in sorted(_queue_files(top), key=lambda pair: pair[0]):
        if not is_valid_id(exp_id):
            continue
        try:
            entry = load_entry(top, exp_id)
        except NotFound:
            continue  # removed since the folder was listed (a recovery, a user): not there
        if finished or entry.status not in FINISHED:
            out[exp_id] = entry
    return out


def load_experiment(top: Path, exp_id: str) -> Experiment:
    path = top / experiment_rel(exp_id)
    if not path.exists() and not path.is_symlink():
        raise NotFound(f"experiment {exp_id!r} has no definition ({experiment_rel(exp_id)})")
    return _experiment(yamlio.load(path, experiment_rel(exp_id)), exp_id)


def experiment_from(raw: bytes, exp_id: str) -> Experiment:
    """A definition from its bytes (as a commit holds it), checked like the file."""
    return _experiment(yamlio.loads(raw, experiment_rel(exp_id)), exp_id)


def _experiment(doc: StateDoc, exp_id: str) -> Experiment:
    _check(doc, _EXPERIMENT_FIELDS, _EXPERIMENT_REQUIRED, exp_id)
    d = doc.data
    names, shares = _arms(doc)
    for key, arms in (("winner", [d.get("winner")]), ("pins", list(d.get("pins") or {}))):
        unknown = [a for a in arms if a is not None and a not in names]
        if unknown:
            raise doc.error(key, f"{shown(unknown[0])} is not an arm ({', '.join(names)})")
    pinned = tuple(d.get("pins") or ())
    if len(names) > 2 and pinned and pinned != names:
        # The buckets are cut in the arms' order: another order or another arm would move
        # users already served, so the arms stay those pinned at start.
        raise doc.error(
            "treatments",
            f"the arms are fixed at start ({', '.join(pinned)}), not {', '.join(names)}: put "
            "them back; other arms are a new experiment",
        )
    return Experiment(
        id=exp_id,
        name=d["name"],
        control=d["control"],
        treatment=d.get("treatment", ""),
        hypothesis=d.get("hypothesis", ""),
        control_share=float(d.get("control_share", 0.5)),
        treatments=dict(d.get("treatments") or {}),
        arm_shares=shares,
        created=d.get("created", ""),
        winner=d.get("winner"),
        promotion_branch=d.get("promotion_branch"),
        pins={
            arm: Pin(p["path"], p["blob"], None if "share" not in p else float(p["share"]))
            for arm, p in (d.get("pins") or {}).items()
        },
    )


def _arms(doc: StateDoc) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The arm names and, with several treatments, their shares (checked: one per arm, in
    order, adding up to 1, each at least one of the 10,000 buckets)."""
    d = doc.data
    if "treatments" not in d:
        if "treatment" not in d:
            raise doc.error(None, "missing field 'treatment'")
        if "shares" in d:
            raise doc.error("shares", "shares go with treatments; one treatment has control_share")
        return ("control", "treatment"), ()
    for key in ("treatment", "control_share"):
        if key in d:
            raise doc.error(key, f"{key} and treatments exclude each other: keep one")
    names = ("control", *d["treatments"])
    seen: dict[str, str] = {}
    for arm, path in {"control": d["control"], **d["treatments"]}.items():
        if path in seen:
            raise doc.error("treatments", f"arms {seen[path]} and {arm} are the same file ({path})")
        seen[path] = arm
    if "shares" not in d:
        raise doc.error(None, "missing field 'shares' (one share per arm)")
    shares = d["shares"]
    if tuple(shares) != names:
        raise doc.error("shares", f"shares must name the arms in order: {', '.join(names)}")
    values = tuple(float(shares[n]) for n in names)
    if abs(sum(values) - 1.0) > 1e-9:
        raise doc.error("shares", f"shares must add up to 1, not {sum(values):g}")
    total, cut = 0.0, 0
    for name, value in zip(names, values, strict=True):
        total += value
        if round(total * BUCKETS) <= cut:
            raise doc.error("shares", f"the share of {name} is under one of the 10,000 buckets")
        cut = round(total * BUCKETS)
    return names, values


def has_experiment(top: Path, exp_id: str) -> bool:
    return (top / experiment_rel(exp_id)).exists()


def entry_bytes(entry: QueueEntry) -> bytes:
    return yamlio.dumps(entry.to_dict())


def experiment_bytes(experiment: Experiment) -> bytes:
    return yamlio.dumps(experiment.to_dict())


def assignment(top: Path, exp_id: str) -> Split:
    """What assigns the experiment's users (``Experiment.assignment``): its control share in
    force, or its Arms with several treatments; 0.5 for a queue entry with no definition."""
    if not has_experiment(top, exp_id) and not (top / experiment_rel(exp_id)).is_symlink():
        return control_share(top, exp_id)
    return load_experiment(top, exp_id).assignment()


def control_share(top: Path, exp_id: str) -> float:
    """The experiment's control share in force (the one pinned at start, see
    ``Experiment.split``); 0.5 for a queue entry with no definition."""
    if not has_experiment(top, exp_id) and not (top / experiment_rel(exp_id)).is_symlink():
        if (top / queue_rel(exp_id)).exists():
            return 0.5
        raise UnknownExperiment(exp_id)
    return load_experiment(top, exp_id).split
