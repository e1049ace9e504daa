"""Promise 3: readers running during writes never fail and never see a half-written file.

Writers run a seeded mix of state changes while the ``READERS`` table (``maia exp list``, ``show``,
``queue status``, ...) loops in real processes, and a raw reader parses every state file in a tight
loop. No reader may fail, print anything but JSON, or see a file that does not parse.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from rel_harness import (
    READERS,
    RawReader,
    clone,
    field_of,
    maia_env,
    maia_here,
    new_args,
    queue_files,
    run_maia,
    spawn_maia,
    template,
)
from test_stress import LOCKED, check_stress, plan, run_stress, stress_workspace

from maia_git.storage import state

STATUSES = {"draft", "queued", "active", "paused", "completed", "promoted", "cancelled"}


def read_all(top: Path, turn: int) -> list[str]:
    """One pass over READERS; returns what went wrong."""
    ids = sorted(queue_files(top, rev=None))
    problems = []
    for args in READERS:
        argv = [a.replace("{id}", ids[turn % len(ids)]) for a in args]
        result = run_maia(top, argv)
        if result.returncode != 0:
            problems.append(f"{argv}: exit {result.returncode}: {result.stderr.strip()}")
            continue
        try:
            data = json.loads(result.stdout)
        except ValueError:
            problems.append(f"{argv}: not JSON: {result.stdout[:200]!r}")
            continue
        if argv[:2] == ["exp", "list"] and {r["status"] for r in data} - STATUSES:
            problems.append(f"{argv}: unknown status in {data}")
    return problems


def test_readers_during_writes(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Setup
    top, setup_commits = stress_workspace(tmp_path, tmp_path_factory, "ws")
    done = threading.Event()
    problems: list[str] = []
    passes = [0]
    raw = RawReader(top)

    def cli_readers() -> None:
        while not done.is_set():
            problems.extend(read_all(top, passes[0]))
            passes[0] += 1

    threads = [
        threading.Thread(target=cli_readers),
        threading.Thread(target=raw.loop, args=(done.is_set,)),
    ]
    for thread in threads:
        thread.start()
    # Act
    try:
        outcomes = run_stress(top, plan(seed=3, workers=5, per_worker=5), LOCKED)
        # The readers started before the writers; on a loaded machine the writers may finish
        # first, so the readers go on until they have done their share.
        deadline = time.monotonic() + 600
        while (passes[0] < 2 or raw.reads <= 1000) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    # Check
    assert problems == []
    assert raw.torn == []
    assert passes[0] >= 2 and raw.reads > 1000, (passes, raw.reads)
    assert check_stress(top, outcomes, setup_commits) == []
    # At least nine succeed in every order of this plan (seed 3): new, the two syncs, the starts
    # of the drafts exp_007 and exp_008, the pauses of exp_001, exp_003 and exp_004 and the
    # complete of exp_002, which no other command can make illegal.
    assert sum(o.code == 0 for o in outcomes) >= 9
    assert {field_of(t, "status") for t in queue_files(top).values()} <= STATUSES


@pytest.mark.parametrize(
    "reader",
    [
        ("exp", "list", "--json"),
        ("exp", "list", "--status", "draft", "--json"),
        ("queue", "list", "--json"),
    ],
    ids=["list", "list-unfinished", "queue-list"],
)
def test_a_reader_racing_a_recovery_that_removes_files(
    reader: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader lists the queue, then a recovery removes the files of a ``new`` that a kill
    left uncommitted, then the reader loads what it listed: it must skip them, not fail.

    The reader runs in this process, and a real writer process recovers right after the
    reader's listing, so the interleaving happens every time.
    """
    top = clone(template(tmp_path / "t", "race", [new_args("target")]), tmp_path / "ws")
    crashed = spawn_maia(top, new_args("zzz"), maia_env(MAIA_CRASH_AT="after_write"))
    crashed.communicate(timeout=600)
    assert (top / "queue/zzz.yaml").exists()  # left uncommitted by the kill
    listing = state._queue_files

    def listed_then_recovered(where: Path) -> list[tuple[str, os.DirEntry[str]]]:
        found = listing(where)
        if "zzz" in {name for name, _ in found}:
            assert run_maia(top, new_args("other")).returncode == 0  # recovers: zzz goes
        return found

    monkeypatch.setattr(state, "_queue_files", listed_then_recovered)
    result = maia_here(top, *reader)
    assert result.code == 0, result.err
    assert not (top / "queue/zzz.yaml").exists()
    assert "zzz" not in result.out
    assert "target" in result.out or reader[0] == "queue"  # queue list omits drafts
