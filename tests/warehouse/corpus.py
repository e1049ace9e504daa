"""A log corpus with every kind of bad line and repeated id, and an independent reference.

The reference reads the JSONL with ``json`` and ``check_line`` and folds per user in plain
Python, with the rule for a repeated interaction id written out directly (of the valid copies,
the first by ts, success, quality, tokens, latency, md5 of "<experiment>:<user>"; absent values
first).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from maia_git.core.assign import Split, arm_names, arm_of
from maia_git.core.assign import arm as assigned_arm
from maia_git.core.interaction import check_line
from maia_git.storage.jsonl import read_lines

EXP = "exp_wh"
METRICS = ("completion", "quality", "tokens", "latency")
# The prompts an experiment pinned: {arm: blob id}. A real experiment's come from `exp start`.
PINS = {"control": "c0ffee" + "0" * 34, "treatment": "7ea" + "1" * 37}


def _line(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


def good(
    rng: random.Random, user: str, i: int, exp: str = EXP, pins: dict[str, str] | None = None,
    split: Split = 0.5, **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    rec: dict[str, Any] = {
        "ts": f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{rng.randrange(60):02d}"
        f".{rng.randrange(10**6):06d}Z",
        "user_id": user,
        "arm": arm_of(exp, user, split),
        "success": rng.random() < 0.55,
    }
    if rng.random() < 0.7:
        rec["quality_score"] = round(rng.uniform(0, 100), 3)
    if rng.random() < 0.6:
        rec["tokens"] = rng.randrange(0, 5000)
    if rng.random() < 0.5:
        rec["latency_ms"] = rng.uniform(0, 9000)
    if rng.random() < 0.5:
        rec["interaction_id"] = f"{user}-{i}"
    if pins and rng.random() < 0.4:  # the prompt served, as maia's API records it
        rec["prompt_blob"] = pins[rec["arm"]]
    rec.update(extra)
    return rec


def bad_lines(
    rng: random.Random, exp: str = EXP, pins: dict[str, str] | None = None, split: Split = 0.5
) -> list[str]:
    """Lines the rules refuse, one per rule, and lines that are not JSON objects at all."""
    pins = pins or PINS
    base = good(rng, "bad-user", 1, exp, split=split, interaction_id="bad-1")
    wrong = _other(base["arm"], split)
    variants: list[dict[str, Any]] = [
        {**base, "arm": wrong},
        {**base, "arm": "other"},
        {k: v for k, v in base.items() if k != "success"},
        {k: v for k, v in base.items() if k != "ts"},
        {k: v for k, v in base.items() if k != "user_id"},
        {**base, "success": "yes"},
        {**base, "success": None},
        {**base, "quality_score": 150},
        {**base, "quality_score": -1},
        {**base, "quality_score": "high"},
        {**base, "tokens": -3},
        {**base, "tokens": 2.5},
        {**base, "tokens": True},
        {**base, "latency_ms": -1},
        {**base, "ts": "2026-02-30T00:00:00Z"},
        {**base, "ts": "yesterday"},
        {**base, "user_id": ""},
        {**base, "user_id": "a\u0001b", "arm": "control"},
        {**base, "interaction_id": ""},
        {**base, "interaction_id": "x\ty"},
        {**base, "prompt_blob": pins[wrong]},  # the other arm's prompt
        {**base, "prompt_blob": "0" * 64},  # a blob id (SHA-256) no arm pinned
        {**base, "prompt_blob": pins[base["arm"]].upper()},  # not a blob id: upper case
        {**base, "prompt_blob": "abc"},
        {**base, "prompt_blob": None},  # null is not absent
    ]
    lines = [_line(v) for v in variants]
    lines += ["not json\n", "[1, 2]\n", '{"ts": NaN}\n', "\n"]  # the blank line is skipped
    return lines


def _other(arm: str, split: Split) -> str:
    """Another arm of the experiment than ``arm``."""
    names = arm_names(split)
    return names[(names.index(arm) + 1) % len(names)]


def write_corpus(
    folder: Path, seed: int = 7, users: int = 120, exp: str = EXP,
    pins: dict[str, str] | None = None, split: Split = 0.5,
) -> list[Path]:  # fmt: skip
    """Two segments whose users overlap, with bad lines and repeated ids of every kind; some
    lines name the prompt served (``pins``, default ``PINS``; ``{}``: an experiment that has
    none yet), some another one."""
    pins = PINS if pins is None else pins
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    first: list[str] = []
    second: list[str] = []
    for u in range(users):
        user = f"user-{u:04d}"
        for i in range(rng.randrange(1, 9)):
            (first if rng.random() < 0.5 else second).append(
                _line(good(rng, user, i, exp, pins, split))
            )
    for i in range(3):  # not printable, yet no control character: a valid user id
        second.append(_line(good(rng, "nb\u00a0sp\u200d", i, exp, split=split)))
    first += bad_lines(rng, exp, pins, split)
    # Repeated ids: an exact copy in the other segment; a copy with an earlier ts and another
    # outcome (it counts, though read later); equal ts, other success; a copy whose first
    # occurrence is invalid (the valid one counts).
    dup = good(rng, "user-0001", 90, exp, split=split, interaction_id="dup-exact")
    first.append(_line(dup))
    second.append(_line(dup))
    late = good(rng, "user-0002", 91, exp, split=split, interaction_id="dup-earlier", success=True)
    late["ts"] = "2026-03-20T10:00:00Z"
    early = {**late, "ts": "2026-03-20T09:59:59.999999Z", "success": False, "quality_score": 1.0}
    first.append(_line(late))
    second.append(_line(early))
    tie = good(rng, "user-0003", 92, exp, split=split, interaction_id="dup-tie", success=True)
    first.append(_line(tie))
    first.append(_line({**tie, "success": False}))
    broken = good(rng, "user-0004", 93, exp, split=split, interaction_id="dup-invalid-first")
    first.append(_line({**broken, "quality_score": 500}))
    second.append(_line(broken))
    # A copy served another prompt (it does not count) before a valid one.
    served = good(rng, "user-0006", 95, exp, split=split, interaction_id="dup-bad-blob")
    other = _other(served["arm"], split)
    blobs = pins or PINS
    first.append(_line({**served, "prompt_blob": blobs[other], "ts": "2026-03-01T00:00:00Z"}))
    second.append(_line({**served, "prompt_blob": blobs[served["arm"]]}))
    # ... and one read first but stamped later than the valid copy, which differs from it.
    stale = good(rng, "user-0006", 93, exp, split=split, interaction_id="dup-bad-blob-late")
    misserved = {"prompt_blob": blobs[_other(stale["arm"], split)], "ts": "2026-12-31T00:00:00Z"}
    first.append(_line({**stale, **misserved, "success": not stale["success"]}))
    second.append(_line({**stale, "prompt_blob": blobs[stale["arm"]]}))
    leap = good(rng, "user-0005", 94, exp, split=split, interaction_id="dup-leap")
    leap["ts"] = "2026-06-30T23:59:60Z"
    second.append(_line(leap))
    after = {**leap, "ts": "2026-07-01T00:00:00.000001Z", "success": not leap["success"]}
    second.append(_line(after))
    a, b = folder / "a-writer.jsonl", folder / "b-writer.jsonl"
    a.write_text("".join(first), encoding="utf-8")
    b.write_text("".join(second) + '{"torn": ', encoding="utf-8")  # a torn last line
    return [a, b]


def _micros(ts: str) -> int:
    leap = ts[17:19] == "60"
    moment = datetime.fromisoformat((ts[:17] + "59" + ts[19:]) if leap else ts)
    return int(moment.timestamp()) * 10**6 + moment.microsecond + (10**6 if leap else 0)


def _order(rec: dict[str, Any], exp: str) -> tuple[Any, ...]:
    def opt(key: str) -> tuple[bool, float]:
        value = rec.get(key)
        return (value is not None, 0.0 if value is None else float(value))

    md5 = hashlib.md5(f"{exp}:{rec['user_id']}".encode()).hexdigest()
    ts = rec["ts"] if isinstance(rec["ts"], int) else _micros(rec["ts"])  # typed, or text
    return (ts, rec["success"], opt("quality_score"), opt("tokens"),
            opt("latency_ms"), md5)  # fmt: skip


def reference(
    files: list[Path], share: Split = 0.5, exp: str = EXP, pins: dict[str, str] | None = None
) -> dict[str, Any]:
    """Per arm: users, n, the ratio metrics' sums; the counts of lines read, invalid, repeated
    (a line whose prompt_blob is not its arm's pin, ``pins`` default ``PINS``, is invalid)."""
    pins = PINS if pins is None else pins
    valid: list[dict[str, Any]] = []
    rows = invalid = 0
    for path in files:
        for _, item in read_lines(path):
            rows += 1
            if isinstance(item, str) or check_line(item, exp, share, pins):
                invalid += 1
            else:
                valid.append(item)
    return {"rows": rows, "invalid": invalid} | fold(valid, exp, arm_names(share))


def fold(
    valid: list[dict[str, Any]], exp: str = EXP, names: tuple[str, ...] = ("control", "treatment")
) -> dict[str, Any]:
    """The valid lines (or typed rows) added up per user, then per arm of ``names``; of the
    copies of a repeated interaction id, the first by ``_order`` counts."""
    chosen: dict[str, dict[str, Any]] = {}
    counted = [r for r in valid if r.get("interaction_id") is None]
    for r in valid:
        if r.get("interaction_id") is not None:
            best = chosen.get(r["interaction_id"])
            if best is None or _order(r, exp) < _order(best, exp):
                chosen[r["interaction_id"]] = r
    counted += chosen.values()
    per_user: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 8)
    for r in counted:
        t = per_user[(r["arm"], r["user_id"])]
        t[0] += 1
        t[1] += r["success"]
        for k, key in enumerate(("quality_score", "tokens", "latency_ms")):
            if r.get(key) is not None:
                t[2 + 2 * k] += r[key]
                t[3 + 2 * k] += 1
    out: dict[str, Any] = {"duplicates": len(valid) - len(counted)}
    for arm in names:
        users = [t for (a, _), t in per_user.items() if a == arm]
        sums = {}
        for m, (xi, yi) in zip(METRICS, ((1, 0), (2, 3), (4, 5), (6, 7)), strict=True):
            pairs = [(t[xi], t[yi]) for t in users if t[yi] > 0]
            sums[m] = (len(pairs), sum(x for x, _ in pairs), sum(y for _, y in pairs),
                       sum(x * x for x, _ in pairs), sum(y * y for _, y in pairs),
                       sum(x * y for x, y in pairs))  # fmt: skip
        out[arm] = {"users": len(users), "n": int(sum(t[0] for t in users)), "sums": sums}
    return out


def assert_same(
    got: Any, want: dict[str, Any], rel: float = 1e-9,
    names: tuple[str, ...] = ("control", "treatment"),
) -> None:  # fmt: skip
    """``got`` (a SourceSums) equals the reference, every sum to ``rel``."""
    import pytest

    assert (got.rows, got.invalid, got.duplicates) == (
        want["rows"], want["invalid"], want["duplicates"]
    )  # fmt: skip
    for arm in names:
        mine = got.arms[arm] if hasattr(got, "arms") else getattr(got, arm)
        assert (mine.users, mine.n) == (want[arm]["users"], want[arm]["n"]), arm
        for m in METRICS:
            assert mine.metrics[m][0] == want[arm]["sums"][m][0], (arm, m)
            assert mine.metrics[m][1:] == pytest.approx(want[arm]["sums"][m][1:], rel=rel), (
                arm, m
            )  # fmt: skip


def bad_typed_rows() -> list[dict[str, Any]]:
    """Typed rows a warehouse table can hold that the rules refuse, one per rule."""
    from math import inf, nan

    user = "user-0001"
    base: dict[str, Any] = {"ts": 1_772_000_000_000_000, "user_id": user,
                            "arm": assigned_arm(EXP, user), "success": True,
                            "quality_score": 50.0, "tokens": 10, "latency_ms": 5.0,
                            "interaction_id": None}  # fmt: skip
    wrong = "treatment" if base["arm"] == "control" else "control"
    changes: list[dict[str, Any]] = [
        {"ts": None},
        {"user_id": None},
        {"user_id": ""},
        {"user_id": "a\u0001b"},
        {"user_id": "a\u0085b"},
        {"user_id": "tab\there"},
        {"arm": "x"},
        {"arm": None},
        {"arm": wrong},
        {"success": None},
        {"quality_score": 100.5},
        {"quality_score": -0.1},
        {"quality_score": nan},
        {"quality_score": inf},
        {"tokens": -1},
        {"latency_ms": -0.5},
        {"latency_ms": inf},
        {"tokens": 2**60},
        {"latency_ms": 2e15},
        {"latency_ms": nan},
        {"interaction_id": ""},
        {"interaction_id": "a\nb"},
        {"prompt_blob": PINS[wrong]},
        {"prompt_blob": "0" * 40},
        {"prompt_blob": PINS[base["arm"]][:39]},
        {"prompt_blob": PINS[base["arm"]] + " "},
    ]
    return [{**base, "prompt_blob": None, **change} for change in changes]
