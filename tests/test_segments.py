"""Sealed log segments: records wait beside git, `maia sync` seals them into new files only.

Each test checks the final state of real repositories: every recorded line committed exactly once,
shards from before segments migrated without losing or doubling a line, a kill at every step of
a sync followed by the next sync.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from maia_git import crash
from maia_git.storage import segments
from maia_git.usecases.recording import Recorder
from maia_git.usecases.sync import sync
from maia_git.workspace import Workspace

from conftest import git, new_exp, run_cli


@pytest.fixture
def active(ws: Path, maia) -> str:
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    return exp_id


def committed(top: Path, exp_id: str, rev: str = "HEAD") -> list[str]:
    folder = f"experiments/{exp_id}/interactions"
    names = git(top, "ls-tree", "-r", "--name-only", rev, "--", folder).split()
    return [ln for n in names for ln in git(top, "show", f"{rev}:{n}").splitlines()]


def ids(lines: list[str]) -> Counter[str]:
    return Counter(json.loads(ln)["interaction_id"] for ln in lines if ln.strip())


def record(top: Path, exp_id: str, tag: str, count: int, writer: str = "test-writer") -> None:
    recorder = Recorder(top, writer=writer)
    for i in range(count):
        recorder.record(exp_id, f"u{i}", i % 2 == 0, interaction_id=f"{tag}-{i}")
    recorder.close()


def test_a_sync_adds_new_files_and_never_rewrites_a_committed_one(ws: Path, active: str) -> None:
    workspace = Workspace.find(ws)
    record(ws, active, "a", 5)
    first = sync(workspace)
    record(ws, active, "b", 7)
    second = sync(workspace)

    assert (first.lines, second.lines) == (5, 7)
    assert set(first.files).isdisjoint(second.files)
    changed = git(ws, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert all(row.startswith("A\t") for row in filter(None, changed))
    assert ids(committed(ws, active)) == Counter(
        [f"a-{i}" for i in range(5)] + [f"b-{i}" for i in range(7)]
    )
    for rel in second.files:
        parts = rel.split("/")
        # experiments/<id>/interactions/<writer>/<day>/<group>/<seq>-<time>-<clone>.jsonl
        assert parts[3] == "test-writer" and len(parts) == 7 and parts[5] == "0000"
    assert sorted(first.files + second.files) == first.files + second.files  # names sort in time


def test_segments_are_cut_at_line_ends_below_the_bound(
    ws: Path, active: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "MAX_SEGMENT_BYTES", 1000)
    record(ws, active, "c", 40)
    result = sync(Workspace.find(ws))

    assert len(result.files) > 3
    for rel in result.files:
        data = (ws / rel).read_bytes()
        assert len(data) <= 1000 and data.endswith(b"\n")
    assert ids(committed(ws, active)) == Counter(f"c-{i}" for i in range(40))


def test_another_program_drops_a_complete_file_and_sync_commits_it(ws: Path, active: str) -> None:
    folder = ws / "experiments" / active / "interactions"
    folder.mkdir(parents=True)
    line = json.dumps(
        {"ts": "2026-01-01T00:00:00Z", "user_id": "x", "arm": "control", "success": True}
    )
    (folder / "go-runtime.part").write_text(line + "\n")
    assert sync(Workspace.find(ws)).files == []  # still being written: not committed
    (folder / "go-runtime.part").rename(folder / "go-runtime.jsonl")
    result = sync(Workspace.find(ws))
    assert result.files == [f"experiments/{active}/interactions/go-runtime.jsonl"]
    assert committed(ws, active) == [line]


def test_a_shard_from_before_segments_is_migrated_without_loss_or_doubles(
    ws: Path, active: str, maia
) -> None:
    # A workspace of the old layout: a committed shard, then more lines appended to it.
    shard = ws / "experiments" / active / "interactions" / "old-host.jsonl"
    shard.parent.mkdir(parents=True)
    old = [_line(f"old-{i}") for i in range(4)]
    shard.write_text("".join(old))
    git(ws, "add", str(shard))
    git(ws, "commit", "-q", "-m", "old layout")
    blob = git(ws, "rev-parse", f"HEAD:experiments/{active}/interactions/old-host.jsonl")
    with shard.open("a") as handle:
        handle.write("".join(_line(f"new-{i}") for i in range(3)))
    assert any(p["where"].endswith("old-host.jsonl") for p in _doctor(maia, ws))

    result = sync(Workspace.find(ws))

    assert result.migrated == [f"experiments/{active}/interactions/old-host.jsonl"]
    want = Counter([f"old-{i}" for i in range(4)] + [f"new-{i}" for i in range(3)])
    assert ids(committed(ws, active)) == want
    # The old shard's blob is untouched (no copy of it), the new lines are in a new segment.
    assert git(ws, "rev-parse", f"HEAD:experiments/{active}/interactions/old-host.jsonl") == blob
    assert git(ws, "status", "--porcelain") == ""
    assert sync(Workspace.find(ws)).files == []
    assert ids(committed(ws, active)) == want


@pytest.mark.parametrize("point", crash.SYNC_POINTS)
def test_a_kill_at_every_step_of_a_sync_then_the_next_sync(
    ws: Path, active: str, point: str
) -> None:
    # Setup: records waiting, a shard from before segments with lines appended, a complete
    # file from another program.
    record(ws, active, "p", 6)
    shard = ws / "experiments" / active / "interactions" / "old-host.jsonl"
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_text(_line("old-0"))
    git(ws, "add", str(shard))
    git(ws, "commit", "-q", "-m", "old layout")
    with shard.open("a") as handle:
        handle.write(_line("old-1"))
    (shard.parent / "other.jsonl").write_text(_line("other-0"))
    want = Counter([f"p-{i}" for i in range(6)] + ["old-0", "old-1", "other-0"])

    # Act: kill -9 at the step, record more, then the next sync.
    killed = run_cli(["sync"], ws, {"MAIA_CRASH_AT": point})
    assert killed.returncode == -9, killed.stderr
    record(ws, active, "q", 2)
    after = run_cli(["sync"], ws)

    # Check
    assert after.returncode == 0, after.stderr
    want.update(f"q-{i}" for i in range(2))
    assert ids(committed(ws, active)) == want
    assert git(ws, "status", "--porcelain") == ""
    assert not list((ws / ".git/maia/pending").rglob("*.*"))
    assert not (ws / ".git/maia/seal.json").exists()
    fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=ws, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_records_written_while_syncs_run_are_committed_exactly_once(ws: Path, active: str) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from maia_git.usecases.recording import Recorder\n"
        "r = Recorder(Path(sys.argv[1]), writer=sys.argv[2])\n"
        "for i in range(int(sys.argv[3])):\n"
        "    r.record(sys.argv[4], f'u{i}', True, interaction_id=f'{sys.argv[2]}-{i}')\n"
    )
    import sys

    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(ws), f"w{n}", "1500", active])
        for n in range(3)
    ]
    workspace = Workspace.find(ws)
    while any(w.poll() is None for w in writers):
        sync(workspace)
    assert [w.wait() for w in writers] == [0, 0, 0]
    sync(workspace)
    assert ids(committed(ws, active)) == Counter(f"w{n}-{i}" for n in range(3) for i in range(1500))


def _line(interaction_id: str) -> str:
    from maia_git.core.assign import arm

    user = f"user-{interaction_id}"
    return (
        json.dumps(
            {
                "ts": "2026-01-01T00:00:00Z",
                "user_id": user,
                "arm": arm("exp_001", user),
                "success": True,
                "interaction_id": interaction_id,
            }
        )
        + "\n"
    )


def _doctor(maia, ws: Path) -> list[dict[str, str]]:
    result = maia("doctor", "--json", cwd=ws)
    return list(json.loads(result.out)["problems"])


def test_a_score_month_file_from_before_segments_is_migrated(ws: Path) -> None:
    from datetime import UTC, datetime

    from maia_git.storage import scores as store

    def score(response_id: str) -> str:
        return (
            json.dumps(
                {
                    "ts": "2025-10-03T12:00:00.000Z",
                    "agent": "helper",
                    "response_id": response_id,
                    "overall": 80.0,
                    "criteria": {"task_completion": 80.0},
                    "band": "good",
                }
            )
            + "\n"
        )

    month = ws / "scores" / "helper" / "2025-10.jsonl"
    month.parent.mkdir(parents=True, exist_ok=True)
    month.write_text(score("old-0") + score("old-1"))
    git(ws, "add", str(month))
    git(ws, "commit", "-q", "-m", "old layout")
    blob = git(ws, "rev-parse", "HEAD:scores/helper/2025-10.jsonl")
    with month.open("a") as handle:
        handle.write(score("new-0"))
    window = (datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC))

    workspace = Workspace.find(ws)
    before = store.read_scores(workspace.repo, *window)
    result = sync(workspace)
    after = store.read_scores(workspace.repo, *window)

    assert result.migrated == ["scores/helper/2025-10.jsonl"]
    [segment] = result.files
    assert segment.startswith("scores/helper/2025-10/test-writer/")
    assert git(ws, "rev-parse", "HEAD:scores/helper/2025-10.jsonl") == blob
    ids_of = Counter[str]
    assert ids_of(r["response_id"] for r in after.records) == Counter(["old-0", "old-1", "new-0"])
    assert ids_of(r["response_id"] for r in before.records) == Counter(["old-0", "old-1", "new-0"])
    assert git(ws, "status", "--porcelain") == ""


def test_readers_during_syncs_never_count_a_record_twice_or_lose_one(ws: Path, active: str) -> None:
    import sys

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from maia_git.usecases.recording import Recorder\n"
        "r = Recorder(Path(sys.argv[1]), writer='reader-test')\n"
        "for i in range(1500):\n"
        "    r.record(sys.argv[2], f'u{i}', True, interaction_id=f'r-{i}')\n"
        "    if i % 100 == 0:\n"
        "        time.sleep(0.005)\n"
    )
    # The syncer syncs until told to stop, and adds a byte to a file after each sync; the reader
    # goes on until the writer is done and it has read during at least 12 syncs, however fast
    # or slow each of the three processes runs.
    syncer = (
        "import os, sys\n"
        "from maia_git.usecases.sync import sync\n"
        "from maia_git.workspace import Workspace\n"
        "while not os.path.exists(sys.argv[2]):\n"
        "    sync(Workspace.find(sys.argv[1]))\n"
        "    with open(sys.argv[3], 'ab') as done:\n"
        "        done.write(b'.')\n"
    )
    stop, done = ws.parent / "stop-syncing", ws.parent / "syncs-done"
    done.touch()
    writer = subprocess.Popen([sys.executable, "-c", script, str(ws), active])
    syncs = subprocess.Popen([sys.executable, "-c", syncer, str(ws), str(stop), str(done)])
    repo = Workspace.find(ws).repo
    reads = 0
    while writer.poll() is None or done.stat().st_size < 12 or reads < 12:
        assert syncs.poll() is None, "the syncer stopped before it was told to"
        found: Counter[str] = Counter()
        for path in segments.log_files(repo, active).files:
            try:
                text = (ws / path).read_text()
            except FileNotFoundError:
                continue  # sealed since it was listed: read again below
            # The runtime may be part-way through appending to a pending file: like the log
            # reader, count only the lines that end in a newline.
            found += ids(text[: text.rfind("\n") + 1].splitlines())
        doubled = [i for i, n in found.items() if n > 1]
        assert doubled == []
        reads += 1
    stop.touch()
    assert writer.wait() == 0 and syncs.wait(timeout=600) == 0
    sync(Workspace.find(ws))
    assert ids(committed(ws, active)) == Counter(f"r-{i}" for i in range(1500))


def test_doctor_fix_moves_appended_lines_and_the_next_sync_commits_them(
    ws: Path, active: str, maia
) -> None:
    shard = ws / "experiments" / active / "interactions" / "old-host.jsonl"
    shard.parent.mkdir(parents=True)
    shard.write_text(_line("old-0"))
    git(ws, "add", str(shard))
    git(ws, "commit", "-q", "-m", "old layout")
    with shard.open("a") as handle:
        handle.write(_line("new-0") + _line("new-1"))
    head = git(ws, "rev-parse", "HEAD")

    fixed = maia("doctor", "--fix", cwd=ws)

    assert "moved the lines appended to" in fixed.out, fixed.out + fixed.err
    assert git(ws, "status", "--porcelain", "--", "experiments") == ""
    assert git(ws, "rev-parse", "HEAD") == head  # nothing committed by doctor for the logs
    assert maia("sync", cwd=ws).code == 0
    assert ids(committed(ws, active)) == Counter(["old-0", "new-0", "new-1"])
