"""``maia sync`` of 100,000 new interaction-log lines against committing them with git directly.

    python bench/bench_sync.py [--quick] [--out FILE]

Target: at most 1.5x ``git add`` + ``git commit`` of the same lines written as new files in the
same repository plus ``python -c "import click, ruamel.yaml, filelock"`` (the floor our
dependencies set). The lines are spread over 4 experiments x 4 writers (16 streams) that already
hold as many committed lines, in a repository with 2,000 other tracked files. maia's lines wait in
the writers' pending files and are sealed into 16 new segments; the floor's are written straight
into 16 new files. Every round starts from the same commit (``git reset --hard``, untimed) and
appends lines never seen before, so neither side finds its objects already stored.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from _common import (
    NOTHING,
    PY,
    Cmd,
    Row,
    Span,
    cli_main,
    cpu_note,
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
from bench_transition import FLOOR_IMPORTS, Workspace, build_workspace

from maia_git.core.assign import assign_many
from maia_git.storage import segments, state

TARGET = 1.5
EXPERIMENTS, WRITERS = 4, 4
TS = "2024-05-01T12:00:00.000000Z"
BOOL = ("false", "true")


def shard_paths(ws: Workspace) -> list[str]:
    """The streams' pending files, relative to the repository's top."""
    return [
        f".git/{segments.PENDING}/{segments.log_stream(e, f'w{w}')}.jsonl"
        for e in ws.ids[:EXPERIMENTS]
        for w in range(WRITERS)
    ]


def floor_paths(ws: Workspace, tag: str) -> list[str]:
    """New files in the tree that the floor commits the same lines in."""
    return [
        f"{state.interactions_rel(e)}/w{w}/{tag}.jsonl"
        for e in ws.ids[:EXPERIMENTS]
        for w in range(WRITERS)
    ]


def append_lines(ws: Workspace, paths: list[str], total: int, tag: str) -> None:
    """Append ``total`` valid, distinct log lines spread evenly over ``paths``."""
    each = total // len(paths)
    for n, rel in enumerate(paths):
        exp_id = rel.split("experiments/", 1)[1].split("/")[0]
        users = [f"{tag}-u{n}-{i}" for i in range(each)]
        lines = [
            f'{{"ts":"{TS}","user_id":"{user}","arm":"{arm}","success":{BOOL[i % 3 > 0]},'
            f'"quality_score":{50 + i % 50},"tokens":{300 + i % 900},"latency_ms":{800 + i % 700},'
            f'"interaction_id":"{tag}-{n}-{i}"}}\n'
            for i, (user, arm) in enumerate(assign_many(exp_id, users))
        ]
        path = ws.top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(lines))


class Rounds:
    """Timed rounds from one base commit; maia's and the floor's rounds alternate."""

    def __init__(self, ws: Workspace, lines: int) -> None:
        self.ws, self.lines = ws, lines
        self.paths = shard_paths(ws)
        append_lines(ws, self.paths, lines, "base")
        run_ok(Cmd([*maia_argv(), "sync"], ws.top, ws.env))
        self.base = git(ws.top, ws.env, "rev-parse", "HEAD").strip()
        self.count = 0
        self.peak_kb = 0
        self.git_env = {**ws.env, "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C"}

    def _fresh(self, paths: list[str]) -> None:
        git(self.ws.top, self.ws.env, "reset", "-q", "--hard", self.base)
        self.count += 1
        append_lines(self.ws, paths, self.lines, f"r{self.count}")

    def maia(self) -> Span:
        self._fresh(self.paths)
        done = run_ok(Cmd([*maia_argv(), "sync", "--json"], self.ws.top, self.ws.env))
        result = json.loads(done.stdout)
        if result["lines"] != self.lines or len(result["files"]) != len(self.paths):
            raise RuntimeError(
                f"maia sync committed {result['lines']} lines in "
                f"{len(result['files'])} files, not {self.lines} in "
                f"{len(self.paths)}"
            )
        self.peak_kb = max(self.peak_kb, done.peak_rss_kb)
        return done.span

    def floor(self) -> Span:
        paths = floor_paths(self.ws, f"r{self.count + 1}")
        self._fresh(paths)
        top, env = self.ws.top, self.git_env
        cmds = (
            Cmd(["git", "add", "--", *paths], top, env),
            Cmd(["git", "commit", "-q", "-m", f"bench sync {self.count}"], top, env),
            Cmd([PY, "-c", FLOOR_IMPORTS], top, self.ws.env),
        )
        return sum((run_ok(cmd).span for cmd in cmds), NOTHING)


def bench_sync(folder: Path, lines: int, files: int, repeat: int, warmup: int) -> list[Row]:
    ws = build_workspace(folder / "sync", experiments=10, files=files)
    rounds = Rounds(ws, lines)
    # Each call resets and appends (untimed) before its timed part.
    times = interleaved({"maia": rounds.maia, "floor": rounds.floor}, repeat, warmup)
    value = wall(times["maia"])
    note = (
        f"{lines / value:,.0f} lines/s; {len(rounds.paths)} streams; maia {spread(times['maia'])}"
        f"; {cpu_note(times['maia'], times['floor'])}"
        f"; peak RSS of maia and its git children {rounds.peak_kb / 1024:.0f} MB"
    )
    return [
        ratio_row(
            "sync",
            f"maia sync, {lines:,} new lines",
            ms(value),
            "ms",
            ms(wall(times["floor"])),
            f"git add + git commit + `{FLOOR_IMPORTS}`",
            at_most=TARGET,
            note=note,
            extra={"peak_rss_kb": rounds.peak_kb},
        )
    ]


def run(quick: bool) -> list[Row]:
    lines, files, repeat, warmup = (2_000, 200, 1, 0) if quick else (100_000, 2_000, 5, 1)
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        return run_parts([("sync", lambda: bench_sync(Path(tmp), lines, files, repeat, warmup))])


if __name__ == "__main__":
    cli_main(run, __doc__)
