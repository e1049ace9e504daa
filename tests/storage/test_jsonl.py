"""JSONL files: appends from many real processes, torn-line recovery, and the lenient reader."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import maia_git
from maia_git.core.interaction import check_line, make_record, to_line
from maia_git.errors import MaiaError, NotFound
from maia_git.storage import jsonl
from maia_git.storage.jsonl import Appender, read_lines

ROOT = str(Path(maia_git.__file__).parent.parent)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _line(user: str, **extra: Any) -> str:
    record = make_record("exp_001", user, success=True, now=NOW)
    return to_line({**record, **extra})


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _errors(path: Path) -> list[tuple[int, str]]:
    return [(n, v) for n, v in read_lines(path) if isinstance(v, str)]


# ---- appending ----


def test_append_creates_folders_and_writes_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "experiments" / "exp_001" / "interactions" / "w1.jsonl"

    with Appender() as appender:
        appender.append(path, _line("alice"))
        appender.append(str(path), _line("bob"))

    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~umask
    assert path.read_text("utf-8") == _line("alice") + _line("bob")


def test_one_descriptor_per_file_is_kept_until_close(tmp_path: Path) -> None:
    before = _open_fds()
    appender = Appender()

    for i in range(200):
        appender.append(tmp_path / f"w{i % 2}.jsonl", _line(f"u{i}"))
    during = _open_fds()
    appender.close()

    assert during == before + 2
    assert _open_fds() == before
    assert len((tmp_path / "w0.jsonl").read_text("utf-8").splitlines()) == 100


def test_a_replaced_or_deleted_file_is_reopened(tmp_path: Path) -> None:
    # git checkout and rebase replace files; appending to the old inode would lose records.
    path = tmp_path / "w.jsonl"
    with Appender() as appender:
        appender.append(path, _line("a"))
        (tmp_path / "new").write_text(_line("b"), "utf-8")
        os.replace(tmp_path / "new", path)
        appender.append(path, _line("c"))
        path.unlink()
        appender.append(path, _line("d"))

    assert path.read_text("utf-8") == _line("d")


@pytest.mark.parametrize("line", ["", "\n", '{"a":1}', '{"a":1}\n{"b":2}\n', '{"a":\n1}\n'])
def test_anything_but_one_line_is_refused(tmp_path: Path, line: str) -> None:
    with Appender() as appender, pytest.raises(ValueError, match="one line"):
        appender.append(tmp_path / "w.jsonl", line)

    assert not (tmp_path / "w.jsonl").exists()


def test_a_torn_last_line_is_finished_before_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(_line("a").encode() + b'{"ts":"2024-05-01T12:0')

    with Appender() as appender:
        appender.append(path, _line("b"))
        appender.append(path, _line("c"))

    parsed = list(read_lines(path))
    assert [n for n, _ in parsed] == [1, 2, 3, 4]
    assert isinstance(parsed[1][1], str) and "invalid JSON" in parsed[1][1]
    assert [v["user_id"] for _, v in parsed if isinstance(v, dict)] == ["a", "b", "c"]
    assert path.read_bytes().count(b"\n\n") == 0  # checked once, on opening


def test_two_processes_finishing_the_same_torn_line_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_bytes(b'{"torn')
    first, second = Appender(), Appender()
    for appender in (first, second):  # both open, and see the torn end, before either writes
        appender._shard(str(path))
    first.append(path, _line("x"))
    second.append(path, _line("y"))
    first.close()
    second.close()

    parsed = list(read_lines(path))
    assert [(n, v["user_id"]) for n, v in parsed if isinstance(v, dict)] == [(2, "x"), (4, "y")]
    assert [n for n, _ in _errors(path)] == [1]  # the torn line; line 3 is blank and skipped


def test_only_regular_files_are_appended_to(tmp_path: Path) -> None:
    # A device (or a FIFO, which would block) in a shard's place is refused at once; a full disk
    # is shown by the size-limited writer below and by tests/reliability (a real tmpfs).
    appender = Appender()
    with pytest.raises(MaiaError, match="cannot append to /dev/full: not a regular file"):
        appender.append("/dev/full", _line("a"))
    fifo = tmp_path / "shard.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(MaiaError, match="cannot open"):
        appender.append(fifo, _line("a"))
    assert appender._shards == {}


_FILL_UP = textwrap.dedent(
    """
    import resource, signal, sys
    from maia_git.storage.jsonl import Appender
    from maia_git.errors import MaiaError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        Appender().append(sys.argv[1], '{"pad":"' + "x" * 200 + '"}\\n')
    except MaiaError as err:
        print(err)
    """
)


def test_a_short_write_raises_and_the_torn_line_is_finished_later(tmp_path: Path) -> None:
    # A file-size limit makes the kernel write part of the line, then refuse the rest: the same
    # path as a disk filling up, in a real process.
    path = tmp_path / "w.jsonl"
    path.write_text(_line("before"), "utf-8")
    limit = path.stat().st_size + 50

    result = subprocess.run(
        [sys.executable, "-c", _FILL_UP, str(path), str(limit)],
        env={**os.environ, "PYTHONPATH": ROOT},
        capture_output=True,
        text=True,
        check=True,
    )
    with Appender() as appender:
        appender.append(path, _line("after"))

    assert result.stdout.startswith(f"cannot append to {path}: File too large")
    parsed = list(read_lines(path))
    assert [(n, type(v).__name__) for n, v in parsed] == [(1, "dict"), (2, "str"), (3, "dict")]
    assert isinstance(parsed[2][1], dict) and parsed[2][1]["user_id"] == "after"


_WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from maia_git.core.interaction import make_record, to_line
    from maia_git.storage.jsonl import Appender
    path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    now = datetime(2024, 5, 1, tzinfo=UTC)
    appender = Appender()
    print("ready", flush=True)
    sys.stdin.readline()
    for seq in range(count):
        record = make_record("exp_001", f"{writer}-{seq}", success=seq % 3 == 0, now=now,
                             tokens=seq, interaction_id=f"{writer}:{seq}")
        # Some lines far longer than a page or a pipe buffer: atomicity must not depend on size.
        record["pad"] = "p" * (seq * 37 % 9000)
        appender.append(path, to_line(record))
    appender.close()
    print("done", count, flush=True)
    """
)


def _run_writers(paths: list[Path], count: int) -> None:
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), f"w{i}", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, path in enumerate(paths)
    ]
    for proc in procs:  # all started and ready: then release them together
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    for proc in procs:
        assert proc.stdout is not None
        out = proc.stdout.read()
        assert proc.wait(timeout=600) == 0 and out == f"done {count}\n"


@pytest.mark.parametrize("layout", ["one shared shard", "one shard per process"])
def test_16_processes_appending_lose_tear_and_duplicate_nothing(
    tmp_path: Path, layout: str
) -> None:
    shared = layout == "one shared shard"
    paths = [tmp_path / "shards" / ("all" if shared else f"w{i}") for i in range(16)]
    paths = [p.with_suffix(".jsonl") for p in paths]

    _run_writers(paths, 500)

    seen: Counter[str] = Counter()
    last: dict[str, int] = {}
    for path in set(paths):
        for number, value in read_lines(path):
            assert isinstance(value, dict), f"{path}:{number}: {value}"
            assert check_line(value, "exp_001") is None
            writer, seq = value["interaction_id"].split(":")
            assert int(seq) > last.get(writer, -1)  # each writer's order is kept
            last[writer] = int(seq)
            assert len(value["pad"]) == int(seq) * 37 % 9000
            seen[value["interaction_id"]] += 1
    assert len(seen) == 16 * 500
    assert set(seen.values()) == {1}


# ---- reading ----


def test_every_bad_line_is_reported_with_its_number_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"n":1}\n'
        b"not json\n"
        b'{"n":3,"bad":"\xff\xfe"}\n'
        b'{"n":4,"q":NaN}\n'
        b'{"n":5,"q":Infinity}\n'
        b'{"n":6,"q":-Infinity}\n'
        b"[1,2]\n"
        b"\n"
        b"   \r\n"
        b'{"n":10,"user":"\xc3\xa9\xe7\x94\xa8"}\r\n'
        b'{"n":11}{"n":11}\n' + b"[" * 100_000 + b"\n"
        b'{"n":13}\n'
        b'{"n":14,"torn'
    )

    parsed = list(read_lines(path))

    good = [(n, v) for n, v in parsed if isinstance(v, dict)]
    assert good == [(1, {"n": 1}), (10, {"n": 10, "user": "é用"}), (13, {"n": 13})]
    errors = dict(_errors(path))
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 11, 12, 14]
    assert "invalid JSON" in errors[2]
    assert "UTF-8" in errors[3]
    assert "NaN" in errors[4] and "Infinity" in errors[5] and "-Infinity" in errors[6]
    assert "not a JSON object" in errors[7]
    assert "invalid JSON" in errors[11] and "invalid JSON" in errors[12]
    assert "torn" in errors[14]


def test_lines_longer_than_the_limit_are_reported_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl, "_CHUNK", 64)  # the long lines span many reads
    path = tmp_path / "long.jsonl"
    long = b'{"x":"' + b"y" * 500 + b'"}\n'
    path.write_bytes(b'{"n":1}\n' + long + b'{"n":3}\n' + long + long + b'{"n":6}\n' + long[:-1])

    parsed = list(read_lines(path, max_line_bytes=100))

    assert [(n, v) for n, v in parsed if isinstance(v, dict)] == [
        (1, {"n": 1}),
        (3, {"n": 3}),
        (6, {"n": 6}),
    ]
    assert [n for n, v in parsed if isinstance(v, str)] == [2, 4, 5, 7]
    assert all("longer than 100 bytes" in v for n, v in parsed if isinstance(v, str))


_raw_lines = st.lists(
    st.one_of(
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=20), max_size=4).map(
            lambda d: json.dumps(d, ensure_ascii=False).encode()
        ),
        st.binary(max_size=40).filter(lambda b: b"\n" not in b),
        st.sampled_from([b"", b"NaN", b'{"a":Infinity}', b"\xff", b"[]", b'"s"']),
    ),
    max_size=30,
)


def _reference(data: bytes) -> list[tuple[int, bool]]:
    """(line number, parsed as an object?) for each non-blank line, read in one piece."""
    lines = data.split(b"\n")
    torn = lines.pop()
    out = []
    for number, raw in enumerate(lines, 1):
        if raw.strip():
            try:
                value = json.loads(raw.decode("utf-8"), parse_constant=lambda c: 1 / 0)
            except (ValueError, ZeroDivisionError, RecursionError):
                value = None
            out.append((number, isinstance(value, dict)))
    if torn:
        out.append((len(lines) + 1, False))
    return out


@given(_raw_lines, st.booleans(), st.integers(1, 50))
def test_reading_in_chunks_matches_reading_in_one_piece(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], torn: bool, chunk: int
) -> None:
    data = b"\n".join(lines) + (b"" if torn or not lines else b"\n")
    path = tmp_path_factory.mktemp("chunks") / "f.jsonl"
    path.write_bytes(data)
    old, jsonl._CHUNK = jsonl._CHUNK, chunk
    try:
        got = [(n, isinstance(v, dict)) for n, v in read_lines(path)]
    finally:
        jsonl._CHUNK = old

    assert got == _reference(data)


def test_reading_a_large_log_takes_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = _line("alice@example.com", pad="x" * 100).encode()
    with path.open("wb") as f:
        for _ in range(20):
            f.write(line * 5_000)  # 100,000 lines, about 25 MB

    tracemalloc.start()
    try:
        count = sum(1 for _, v in read_lines(path) if isinstance(v, dict))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 100_000
    assert peak < 8 * 2**20


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        list(read_lines(tmp_path / "nope.jsonl"))
