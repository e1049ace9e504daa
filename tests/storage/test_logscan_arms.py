"""The fast shard reader on an experiment with several treatments agrees with check_line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maia_git.core.assign import Arms, arm_among
from maia_git.core.interaction import check_line
from maia_git.stats import ArmStats
from maia_git.storage import logscan
from maia_git.storage.jsonl import read_lines
from maia_git.storage.logscan import scan_shard

EXP = "exp_009"
SPLIT = Arms(("control", "short", "formal", "long"), (0.4, 0.2, 0.2, 0.2))
USERS = [f"u{i}" for i in range(12)]
BLOBS = {arm: f"{i:040x}" for i, arm in enumerate(SPLIT.names, start=1)}


def _line(user: str, arm: str | None = None, **fields: Any) -> bytes:
    assigned = arm_among(EXP, user, SPLIT.names, SPLIT.shares)
    record = {"ts": "2024-05-01T12:00:00Z", "user_id": user, "arm": arm or assigned}
    return (json.dumps({**record, "success": len(user) % 2 == 0, **fields}) + "\n").encode()


def _other_arm(user: str) -> str:
    assigned = arm_among(EXP, user, SPLIT.names, SPLIT.shares)
    return next(a for a in SPLIT.names if a != assigned)


LINES = [
    *(_line(u, quality_score=9 * i) for i, u in enumerate(USERS)),
    _line(USERS[4], quality_score=101),
    *(_line(u, prompt_blob=BLOBS[arm_among(EXP, u, SPLIT.names, SPLIT.shares)]) for u in USERS),
    _line(USERS[0], interaction_id="i-1"),
    _line(USERS[1], interaction_id="i-1"),  # a repeat, counted once
    _line(USERS[0], _other_arm(USERS[0])),  # an arm of the experiment, not this user's
    _line(USERS[1], "treatment"),  # the two-arm name: not an arm here
    _line(USERS[2], "Long"),  # not an arm name at all
    _line(USERS[3], prompt_blob=BLOBS[_other_arm(USERS[3])]),  # another arm's prompt
]


def _reference(path: Path) -> tuple[dict[str, ArmStats], list[tuple[int, str]], int]:
    arms: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLIT.names}
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    repeats = 0
    for number, value in read_lines(path):
        problem = value if isinstance(value, str) else check_line(value, EXP, SPLIT, BLOBS)
        if problem:
            problems.append((number, problem))
            continue
        assert isinstance(value, dict)
        key = value.get("interaction_id")
        if key is not None and key in seen:
            repeats += 1
            continue
        if key is not None:
            seen.add(key)
        arms[value["arm"]].append(value)
    return {a: ArmStats.from_records(r) for a, r in arms.items()}, problems, repeats


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=st.lists(st.tuples(st.sampled_from(LINES), st.integers(1, 30)), max_size=20).map(
        lambda runs: [line for line, times in runs for _ in range(times)]
    ),
    chunk=st.sampled_from([300, 4000, 1 << 20]),
)
def test_every_line_is_judged_as_check_line_judges_it(
    tmp_path: Path, lines: list[bytes], chunk: int
) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"".join(lines))
    before, logscan.CHUNK_BYTES = logscan.CHUNK_BYTES, chunk
    try:
        scan = scan_shard(path, EXP, SPLIT, None, BLOBS)
    finally:
        logscan.CHUNK_BYTES = before

    want, problems, repeats = _reference(path)
    assert list(scan.arms) == list(SPLIT.names)
    for name, totals in scan.arms.items():
        got = totals.arm_stats()
        assert got.completion == want[name].completion
        assert got.quality.num == pytest.approx(want[name].quality.num)
    assert (scan.invalid, scan.duplicates) == (len(problems), repeats)
    assert scan.problems == problems[: logscan.MAX_PROBLEMS]


def test_the_messages_name_the_experiments_arms(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"".join(LINES))
    errors = [error for _, error in scan_shard(path, EXP, SPLIT, None, BLOBS).problems]
    assert "arm must be one of control, short, formal, long" in errors
    assert "arm must be control or treatment (or a treatment's name, with several treatments)" in (
        errors
    )
    assert any(e.startswith(f"arm {_other_arm(USERS[0])} is not the assignment") for e in errors)


def test_a_clean_file_takes_the_column_checks_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one: list[object] = []
    monkeypatch.setattr(logscan, "check_line", lambda *args: one_by_one.append(args))
    path = tmp_path / "w.jsonl"
    users = [f"user-{i % 300}" for i in range(2000)]
    path.write_bytes(b"".join(_line(u, quality_score=i % 101) for i, u in enumerate(users)))

    scan = scan_shard(path, EXP, SPLIT, None, BLOBS)

    assert one_by_one == [] and scan.invalid == 0
    counts = {name: totals.arm_stats().n for name, totals in scan.arms.items()}
    want = {name: 0 for name in SPLIT.names}
    for user in users:
        want[arm_among(EXP, user, SPLIT.names, SPLIT.shares)] += 1
    assert counts == want and all(want.values())
