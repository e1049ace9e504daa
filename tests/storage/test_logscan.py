"""The fast shard reader agrees with read_lines + check_line line for line; the per-shard cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maia_git.core import logcolumns
from maia_git.core.assign import arm, assign_many
from maia_git.core.interaction import _ts_problem, check_line, make_record, to_line
from maia_git.stats import ArmStats
from maia_git.storage import git, logscan, statcache
from maia_git.storage.jsonl import MAX_LINE_BYTES, read_lines
from maia_git.storage.logscan import ShardScan, id_hashes, scan_shard

EXP = "exp_001"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _users(side: str, count: int) -> list[str]:
    found = (u for u, a in assign_many(EXP, (f"u{i}" for i in range(10 * count))) if a == side)
    return [next(found) for _ in range(count)]


C, T = _users("control", 3), _users("treatment", 3)


def _line(user: str, **fields: Any) -> bytes:
    record = make_record(EXP, user, success=fields.pop("success", True), now=NOW)
    return to_line({**record, **fields}).encode()


def _raw(text: str) -> bytes:
    return text.encode() + b"\n"


GOOD = [
    _line(C[0], quality_score=80.5, tokens=120, latency_ms=900),
    _line(T[0], success=False, quality_score=40, tokens=80, latency_ms=1200.25),
    _line(C[1]),
    _line(T[1], quality_score=0, interaction_id="i-1"),
    _line(C[2], success=False, interaction_id="i-2", tokens=12.0),  # 12.0 is an integer in JSON
    _line(T[2], interaction_id="i-1"),  # a repeat of i-1
    _line(C[0], meta={"tags": ["a", "b"]}),  # "[" in a valid line
    _line("user [7]" if arm(EXP, "user [7]") == "control" else "user [8]"),
    _line(T[0], ts="2024-02-29T00:00:00Z", tokens=10**30),
    _line(C[1], user_note="é ü 😀"),
    b'  {"ts":"2024-05-01T12:00:00Z","user_id":"' + C[2].encode()
    + b'","arm":"control","success":true}\n',  # leading blanks are JSON whitespace
]  # fmt: skip
BAD = [
    _raw('{"ts": "2024-05-01T12:00:00Z", "user_id": "u'),  # invalid JSON
    _line(C[0], quality_score=150),
    _raw(_line(C[0]).decode().strip()[:-1] + ',"quality_score":NaN}'),
    b'{"ts":"2024-05-01T12:00:00Z","user_id":"\xff\xfe","arm":"control","success":true}\n',
    _line(C[0], arm="treatment"),  # not the user's assignment
    _raw(json.dumps({"ts": "2024-05-01T12:00:00Z", "arm": "control", "success": True})),
    _line(C[0], quality_score=None),  # optional fields are left out, never null
    _line(T[0], tokens=True),
    _line(T[0], tokens=1.5),
    _line(T[0], latency_ms=-1),
    _line(C[0], ts="2023-02-29T00:00:00Z"),
    _line(C[0], ts="2024-04-31T10:00:00Z"),
    _line(C[0], ts="2024-05-01 12:00:00"),
    _line(C[0], interaction_id=""),
    _raw('{"ts":"2024-05-01T12:00:00Z","user_id":"\\ud800","arm":"control","success":true}'),
    _raw("[1, 2]"),
    _raw("17"),
    _raw(_line(C[0]).decode().strip() + "," + _line(C[1]).decode().strip()),  # two on one line
    _raw(_line(C[0]).decode().strip() + "\r"),  # valid JSON (a trailing CR), counted
    b"\n",  # blank: skipped, no problem
]


def reference(path: Path, share: float = 0.5) -> tuple[ArmStats, ArmStats, list[Any], int]:
    """The plain rules, line by line: read_lines, check_line, first interaction id wins."""
    arms: dict[str, list[dict[str, Any]]] = {"control": [], "treatment": []}
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    repeats = 0
    for number, value in read_lines(path):
        problem = value if isinstance(value, str) else check_line(value, EXP, share)
        if problem:
            problems.append((number, problem))
            continue
        assert isinstance(value, dict)
        key = value.get("interaction_id")
        if key is not None and key in seen:
            repeats += 1
            continue
        seen.add(key) if key is not None else None
        arms[value["arm"]].append(value)
    return (ArmStats.from_records(arms["control"]), ArmStats.from_records(arms["treatment"]),
            problems, repeats)  # fmt: skip


def assert_same(scan: ShardScan, path: Path) -> None:
    control, treatment, problems, repeats = reference(path)
    for totals, want in ((scan.control, control), (scan.treatment, treatment)):
        got = totals.arm_stats()
        assert got.completion == want.completion
        for metric in ("quality", "tokens", "latency"):
            got_sums, want_sums = getattr(got, metric), getattr(want, metric)
            assert (got_sums.units, got_sums.den) == (want_sums.units, want_sums.den)
            for name in ("num", "num2", "den2", "numden"):
                assert getattr(got_sums, name) == pytest.approx(getattr(want_sums, name), rel=1e-12)
    assert scan.invalid == len(problems)
    assert scan.problems == problems[: logscan.MAX_PROBLEMS]
    assert scan.duplicates == repeats


@pytest.fixture
def small_chunks() -> Iterator[None]:
    """Batches of a few dozen lines, so that files of a few hundred go through every path."""
    before = logscan.CHUNK_BYTES
    logscan.CHUNK_BYTES = 4096
    yield
    logscan.CHUNK_BYTES = before


@pytest.fixture(params=["stdlib", "orjson"])
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
    before = logscan.ORJSON
    if request.param == "orjson":
        logscan.ORJSON = pytest.importorskip("orjson").loads
    else:
        logscan.ORJSON = None
    yield request.param
    logscan.ORJSON = before


# ---- agreement with the plain rules ----


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lines=st.lists(st.tuples(st.sampled_from(GOOD + BAD), st.integers(1, 40)), max_size=30).map(
        lambda runs: [line for line, times in runs for _ in range(times)]  # runs of equal lines
    ),
    chunk=st.sampled_from([300, 4000, 1 << 20]),
    torn=st.booleans(),
)
def test_every_line_is_judged_as_check_line_judges_it(
    tmp_path: Path, parser: str, lines: list[bytes], chunk: int, torn: bool
) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"".join(lines) + (b'{"ts":"2024' if torn else b""))
    before, logscan.CHUNK_BYTES = logscan.CHUNK_BYTES, chunk
    try:
        scan = scan_shard(path, EXP)
    finally:
        logscan.CHUNK_BYTES = before

    assert_same(scan, path)


def test_a_large_clean_file_takes_the_fast_path_and_agrees(
    tmp_path: Path, parser: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one: list[object] = []
    monkeypatch.setattr(logscan, "check_line", lambda *args: one_by_one.append(args))
    path = tmp_path / "w.jsonl"
    users = [f"user-{i % 700}" for i in range(3000)]
    path.write_bytes(b"".join(
        _raw(f'{{"ts":"2024-05-{1 + i % 31:02d}T10:00:00.5Z","user_id":"{u}","arm":"{a}",'
             f'"success":{"true" if i % 3 else "false"},"quality_score":{i % 101},'
             f'"latency_ms":{i * 0.25}}}')
        for i, (u, a) in enumerate(assign_many(EXP, users))))  # fmt: skip

    scan = scan_shard(path, EXP)

    assert scan.control.arm_stats().n + scan.treatment.arm_stats().n == 3000
    assert scan.invalid == 0  # May 31 exists; the calendar path was taken and passed
    assert one_by_one == []  # every batch passed the column checks
    monkeypatch.undo()
    assert_same(scan, path)


def test_lines_split_to_look_like_other_lines_are_never_joined(tmp_path: Path, parser: str) -> None:
    # Joined into one array these three lines would parse as three valid records; on their own
    # none of them is one line of valid JSON.
    two = _line(C[0]).decode().strip() + "," + _line(C[1]).decode().strip()
    opened = _line(T[0]).decode().strip()[:-1] + ',"z":[{}'
    closing = "{}]}"
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"".join(_raw(x) for x in (two, opened, closing)) + GOOD[0] * 40)

    scan = scan_shard(path, EXP)

    assert [line for line, _ in scan.problems] == [1, 2, 3]
    assert scan.control.arm_stats().n + scan.treatment.arm_stats().n == 40
    assert_same(scan, path)


def test_a_bad_line_is_found_and_named_in_a_large_batch(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(GOOD[0] * 5000 + BAD[1] + GOOD[1] * 4999 + BAD[0][:-1])

    scan = scan_shard(path, EXP)

    assert scan.problems == [
        (5001, "quality_score must be a number from 0 to 100"),
        (10001, "torn last line (no newline at the end of the file): not counted"),
    ]
    assert (scan.control.arm_stats().n, scan.treatment.arm_stats().n) == (5000, 4999)


def test_a_line_over_the_limit_is_reported_not_read(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    huge = _line(C[0], note="x" * MAX_LINE_BYTES)
    path.write_bytes(GOOD[0] + huge + GOOD[0] + huge[:-1] + b"\n" + GOOD[2])

    scan = scan_shard(path, EXP)

    assert [line for line, _ in scan.problems] == [2, 4]
    assert "longer than" in scan.problems[0][1]
    assert scan.control.arm_stats().n == 3
    assert_same(scan, path)


def test_numbers_too_large_to_add_up_are_problems_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(
        _line(C[0], latency_ms=10**400) + GOOD[0] + _line(C[1], latency_ms=1.5e308) * 3
        + _line(C[1], tokens=2**53)
    )  # fmt: skip

    scan = scan_shard(path, EXP)

    assert [line for line, _ in scan.problems] == [1, 3, 4, 5, 6]
    assert scan.problems[1][1] == "latency_ms must be a number from 0 to 1e15"
    assert scan.control.arm_stats().n == 1
    assert_same(scan, path)


def test_problems_are_capped_but_all_counted(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes((BAD[1] + GOOD[0]) * 200)

    scan = scan_shard(path, EXP)

    assert scan.invalid == 200
    assert [line for line, _ in scan.problems] == list(range(1, 100, 2))
    assert scan.control.arm_stats().n == 200


def test_control_share_decides_which_arm_is_right(tmp_path: Path) -> None:
    users = [f"u{i}" for i in range(400)]
    path = tmp_path / "w.jsonl"
    path.write_bytes(b"".join(_line(u, arm=a) for u, a in assign_many(EXP, users, 0.2)))

    at_20 = scan_shard(path, EXP, 0.2)
    at_50 = scan_shard(path, EXP, 0.5)

    assert at_20.invalid == 0 and 50 < at_20.control.arm_stats().n < 110
    assert at_50.invalid > 50  # the same lines break the rule under another split
    assert all("is not the assignment" in error for _, error in at_50.problems)


def test_repeated_ids_count_once_and_seen_ids_carry_over(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"".join(_line(C[i % 3], interaction_id=f"i{i % 50}") for i in range(120)))
    second.write_bytes(b"".join(_line(T[0], interaction_id=f"i{i}") for i in range(40, 60)))

    alone = scan_shard(first, EXP)
    seen = set(alone.ids)
    after = scan_shard(second, EXP, seen=seen)

    assert (alone.control.arm_stats().n, alone.duplicates) == (50, 70)
    assert (after.treatment.arm_stats().n, after.duplicates) == (
        10,
        10,
    )  # i40..i49 were counted before
    assert after.ids is seen and len(seen) == 60


def test_id_hashes_are_blake2b_and_stable() -> None:
    digest = hashlib.blake2b(b"abc", digest_size=8).digest()

    assert id_hashes([]) == []
    assert id_hashes(["abc", "é"]) == [
        int.from_bytes(digest, sys.byteorder) >> 4,
        int.from_bytes(hashlib.blake2b("é".encode(), digest_size=8).digest(), sys.byteorder) >> 4,
    ]


@given(st.text(alphabet="0123456789-:TZ+.", min_size=18, max_size=30)
       | st.dates().map(lambda d: f"{d.isoformat()}T23:59:60.5+00:00"))  # fmt: skip
def test_the_timestamp_check_is_the_schemas(text: str) -> None:
    assert logcolumns._timestamps([text]) is (_ts_problem(text) is None)


def _fast_lines(count: int, ids: bool) -> bytes:
    users = (f"user-{i % 5000}" for i in range(count))
    lines = (
        f'{{"ts":"2024-05-01T10:00:00Z","user_id":"{u}","arm":"{a}","success":true'
        + (f',"interaction_id":"i{i}"}}' if ids else "}")
        for i, (u, a) in enumerate(assign_many(EXP, users))
    )
    return "\n".join(lines).encode() + b"\n"


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        scan_shard(path, EXP)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_log_without_ids(tmp_path: Path) -> None:
    small, large = tmp_path / "s.jsonl", tmp_path / "l.jsonl"
    small.write_bytes(_fast_lines(20_000, ids=False))
    large.write_bytes(_fast_lines(100_000, ids=False))

    assert _peak(large) < _peak(small) * 1.3 + (1 << 20)
    assert _peak(large) < 24 << 20


def test_memory_with_ids_grows_by_the_id_hashes_only(tmp_path: Path) -> None:
    small, large = tmp_path / "s.jsonl", tmp_path / "l.jsonl"
    small.write_bytes(_fast_lines(20_000, ids=True))
    large.write_bytes(_fast_lines(100_000, ids=True))

    per_id = (_peak(large) - _peak(small)) / 80_000

    assert 30 < per_id < 90  # a 32-byte int and its slot in a set


# ---- the cache ----


def _commit(top: Path, *paths: str) -> None:
    subprocess.run(["git", "add", "--", *paths], cwd=top, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "logs"], cwd=top, check=True)


@pytest.fixture
def shards(repo: Path) -> Path:
    folder = repo / "experiments" / EXP / "interactions"
    folder.mkdir(parents=True)
    for name in ("a", "b", "c", "d"):
        (folder / f"{name}.jsonl").write_bytes(GOOD[0] * 3)
    _commit(repo, "experiments")
    (folder / "b.jsonl").write_bytes(GOOD[0] * 4)  # modified
    (folder / "c.jsonl").write_bytes(GOOD[0] * 5)
    subprocess.run(["git", "add", "--", str(folder / "c.jsonl")], cwd=repo, check=True)  # staged
    (folder / "e.jsonl").write_bytes(GOOD[0])  # untracked
    return repo


def _blob(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_clean_blobs_are_those_of_files_git_sees_unchanged(shards: Path) -> None:
    folder = f"experiments/{EXP}/interactions"

    blobs = statcache.clean_blobs(git.find_repo(shards), folder)

    assert set(blobs) == {f"{folder}/a.jsonl", f"{folder}/c.jsonl", f"{folder}/d.jsonl"}
    assert all(blob == _blob(shards / rel) for rel, blob in blobs.items())


def test_an_entry_comes_back_whole_and_a_bad_one_is_a_miss(shards: Path) -> None:
    repo = git.find_repo(shards)
    cache = statcache.StatCache(repo, f"experiments/{EXP}/interactions", EXP, 0.5)
    key = cache.key(f"experiments/{EXP}/interactions/a.jsonl")
    assert key is not None and key.stat is None
    scan = scan_shard(shards / f"experiments/{EXP}/interactions/a.jsonl", EXP)
    scan.problem(7, "quality_score must be a number from 0 to 100")

    assert cache.load(key) is None
    cache.store(key, scan)
    entry = cache.load(key)
    assert entry is not None
    assert (entry.scan.control.arm_stats(), entry.scan.problems, entry.id_count) == (
        scan.control.arm_stats(),
        [(7, "quality_score must be a number from 0 to 100")],
        0,
    )

    path = repo.git_dir / statcache.FOLDER / f"{key.name}.json"
    good = json.loads(path.read_bytes())
    for broken in (b"{not json", b"", json.dumps({**good, "format": 99}).encode(),
                   json.dumps({**good, "invalid": -1}).encode(),
                   json.dumps({**good, "problems": [[1, 2]]}).encode()):  # fmt: skip
        path.write_bytes(broken)
        assert cache.load(key) is None
    path.write_bytes(json.dumps(good).encode())
    users = path.with_suffix(".users")
    whole = users.read_bytes()
    for torn in (whole[:-8], b"", whole + b"\0" * 8):
        users.write_bytes(torn)
        assert cache.load(key) is None


def test_other_experiments_and_splits_have_other_keys(shards: Path) -> None:
    repo = git.find_repo(shards)
    folder = f"experiments/{EXP}/interactions"
    keys = [statcache.StatCache(repo, folder, exp, share).key(f"{folder}/a.jsonl")
            for exp, share in ((EXP, 0.5), ("exp_002", 0.5), (EXP, 0.3), (EXP, 0.5))]  # fmt: skip

    names = [key.name for key in keys if key is not None]
    assert len(names) == 4 and len(set(names)) == 3


def test_a_changing_file_is_keyed_by_its_status_only_when_old_and_still(shards: Path) -> None:
    repo = git.find_repo(shards)
    cache = statcache.StatCache(repo, f"experiments/{EXP}/interactions", EXP, 0.5)
    rel = f"experiments/{EXP}/interactions/e.jsonl"

    # Written "just now" however slow this machine is (the fixture's git commands can take the
    # two seconds of the racy window): its time is in the future of the check.
    later = time.time_ns() + 3_600 * 10**9
    os.utime(shards / rel, ns=(later, later))
    assert cache.key(rel) is None  # racy: a write in the same clock tick could go unseen
    os.utime(shards / rel, ns=(0, 1_000_000_000))
    key = cache.key(rel)
    assert key is not None and key.stat is not None
    cache.store(key, scan_shard(shards / rel, EXP), rel)
    assert cache.load(key) is not None

    with (shards / rel).open("ab") as file:
        file.write(GOOD[1])
    os.utime(shards / rel, ns=(0, 1_000_000_000))
    cache.store(key, ShardScan(), rel)  # the file moved on since the key was taken: not kept
    assert cache.load(key).scan.control.arm_stats().n == 1  # type: ignore[union-attr]
    assert cache.key(rel) != key


def test_old_entries_are_pruned(shards: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "MAX_ENTRIES", 10)
    repo = git.find_repo(shards)
    cache = statcache.StatCache(repo, "x", EXP, 0.5)
    for i in range(25):
        cache.store(statcache.Key(f"{i:064x}"), ShardScan())

    left = list((repo.git_dir / statcache.FOLDER).glob("*.json"))
    assert 5 <= len(left) <= 10
