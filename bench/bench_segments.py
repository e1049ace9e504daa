"""Sealed log segments: repository growth over many syncs, and sync time beside a long history.

    python bench/bench_segments.py [--quick] [--out FILE]

Two rows:

- ``segments.growth``: the size of ``.git`` after 1,000 syncs of 500 new lines each, without
  ``git gc``, against the same lines gzipped (``gzip -6`` of the whole log). Target: at most 2x.
  The value is the files' bytes (``du --apparent-size``); the note also gives the disk blocks they
  take (each loose object takes at least one block) and the count of loose objects.
- ``segments.sync_10m``: ``maia sync`` of 500 new lines (a real process) in a workspace whose
  history holds 10,000,000 committed log lines, against the same in a workspace with none.
  Target: at most 1.2x. The committed lines are made cheaply: one 8 MiB segment of distinct lines
  is stored once and entered under as many segment paths as 10,000,000 lines need (nested by
  writer and day as sealed segments are), with hard links in the working tree, so git sees that
  many committed files while the disk holds one.

``--quick``: 50 syncs, 200,000 committed lines, 3 rounds.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

from _common import (
    Cmd,
    Row,
    cli_main,
    git,
    interleaved,
    maia_argv,
    ms,
    ratio_row,
    run_ok,
    run_parts,
    spread,
    wall,
)
from bench_sync import append_lines
from bench_transition import Workspace, build_workspace

from maia_git.storage import segments

LINES_PER_SYNC = 500


def pending(ws: Workspace) -> str:
    """The pending file of one writer of the workspace's active experiment (repo-relative)."""
    return f".git/{segments.PENDING}/{segments.log_stream(ws.ids[0], 'bench')}.jsonl"


def _sizes(folder: Path) -> tuple[int, int, int]:
    """(apparent bytes, bytes of disk blocks, loose objects) of everything under ``folder``."""
    apparent = blocks = loose = 0
    for here, _dirs, names in os.walk(folder):
        for name in names:
            st = os.lstat(os.path.join(here, name))
            apparent += st.st_size
            blocks += st.st_blocks * 512
            loose += len(name) == 38 and os.path.basename(here) != "pack"
    return apparent, blocks, loose


def growth(folder: Path, syncs: int) -> Row:
    from maia_git.usecases.sync import sync
    from maia_git.workspace import Workspace as MaiaWorkspace

    ws = build_workspace(folder / "growth", experiments=1, files=0)
    before = _sizes(ws.top / ".git")
    old_env = dict(os.environ)
    os.environ.update(ws.env)
    try:
        maia_ws = MaiaWorkspace.find(ws.top)
        for n in range(syncs):
            append_lines(ws, [pending(ws)], LINES_PER_SYNC, f"g{n}")
            done = sync(maia_ws)
            if done.lines != LINES_PER_SYNC:
                raise RuntimeError(f"sync {n} committed {done.lines} lines")
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    after = _sizes(ws.top / ".git")
    folder_rel = f"experiments/{ws.ids[0]}/interactions"
    names = git(ws.top, ws.env, "ls-tree", "-r", "--name-only", "HEAD", "--", folder_rel).split()
    log = b"".join((ws.top / name).read_bytes() for name in names)
    zipped = len(gzip.compress(log, compresslevel=6))
    grown = after[0] - before[0]
    note = (
        f"{syncs} syncs x {LINES_PER_SYNC} lines = {len(log) / 1e6:.1f} MB of log in "
        f"{len(names)} segments; .git grew by {grown / 1e6:.1f} MB of files "
        f"({(after[1] - before[1]) / 1e6:.1f} MB of disk blocks, {after[2] - before[2]:,} loose "
        f"objects); the log gzipped: {zipped / 1e6:.2f} MB; no git gc"
    )
    return ratio_row(
        "segments.growth",
        f".git growth after {syncs:,} syncs of {LINES_PER_SYNC} lines",
        round(grown / 1e6, 2),
        "MB",
        round(zipped / 1e6, 2),
        "the log gzipped (-6)",
        at_most=2.0,
        note=note,
    )


def committed_history(ws: Workspace, lines: int) -> int:
    """Commit ``lines`` log lines as sealed segments made with plumbing; returns the count."""
    rel_sample = f".git/bench-sample/experiments/{ws.ids[0]}/sample.jsonl"
    sample = ws.top / rel_sample
    append_lines(ws, [rel_sample], 45_000, "history")
    per_segment = sample.read_bytes().count(b"\n")
    blob = git(ws.top, ws.env, "hash-object", "-w", "--", str(sample)).strip()
    count = -(-lines // per_segment)
    entries = []
    for i in range(count):
        writer, day = f"w{i % 8}", f"2024-{1 + i // 8 // 28 % 12:02d}-{1 + i // 8 % 28:02d}"
        rel = f"experiments/{ws.ids[0]}/interactions/{writer}/{day}/0000/{i:07d}-000000-0.jsonl"
        target = ws.top / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(sample, target)
        entries.append(f"100644 {blob}\t{rel}")
    sample.unlink()
    env = {**ws.env, "GIT_LITERAL_PATHSPECS": "1"}
    stdin = ("\n".join(entries) + "\n").encode("utf-8")
    run_ok(Cmd(["git", "update-index", "--add", "--index-info"], ws.top, env, stdin))
    git(ws.top, ws.env, "update-index", "--refresh", "-q")
    git(ws.top, ws.env, "commit", "-q", "-m", f"bench: {count * per_segment:,} log lines")
    return count * per_segment


def sync_beside_history(folder: Path, lines: int, repeat: int) -> Row:
    big = build_workspace(folder / "big", experiments=1, files=0)
    empty = build_workspace(folder / "empty", experiments=1, files=0)
    total = committed_history(big, lines)
    rounds = {"big": 0, "empty": 0}

    def one(ws: Workspace, name: str) -> object:
        rounds[name] += 1
        append_lines(ws, [pending(ws)], LINES_PER_SYNC, f"{name}{rounds[name]}")
        return run_ok(Cmd([*maia_argv(), "sync"], ws.top, ws.env)).span

    times = interleaved(
        {"big": lambda: one(big, "big"), "empty": lambda: one(empty, "empty")}, repeat, 1
    )
    return ratio_row(
        "segments.sync_10m",
        f"maia sync of {LINES_PER_SYNC} lines, {total:,} lines already committed",
        ms(wall(times["big"])),
        "ms",
        ms(wall(times["empty"])),
        "the same sync with no committed lines",
        at_most=1.2,
        note=f"with history {spread(times['big'])}; without {spread(times['empty'])}",
    )


def run(quick: bool) -> list[Row]:
    syncs, lines, repeat = (50, 200_000, 3) if quick else (1_000, 10_000_000, 7)
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        return run_parts(
            [
                ("segments.growth", lambda: [growth(Path(tmp), syncs)]),
                ("segments.sync_10m", lambda: [sync_beside_history(Path(tmp), lines, repeat)]),
            ]
        )


if __name__ == "__main__":
    cli_main(run, __doc__)
