"""One state transition (``maia exp pause``, then ``resume``), and how it grows with the workspace.

    python bench/bench_transition.py [--quick] [--out FILE]

Target: a transition costs at most 1.5x what our dependencies set as the floor for one
commit: ``git add`` + ``git commit`` of the same file in the same repository, plus
``python -c "import click, ruamel.yaml, filelock"``.

The workspaces are written directly with maia's own serialisers (``maia_git.storage.state``) and
committed in one bulk commit: most experiments finished, a handful active or queued, and the one
that is paused and resumed active, so both events really commit.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    NOTHING,
    PY,
    Cmd,
    Row,
    Span,
    bench_env,
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

from maia_git.core.models import Experiment, Priority, QueueEntry, Status
from maia_git.storage import state

FLOOR_IMPORTS = "import click, ruamel.yaml, filelock"
TARGET = 1.5
AGENTS = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class Workspace:
    top: Path
    env: dict[str, str]
    active: str  # the experiment the benchmarks pause and resume
    ids: list[str]


def _stamp(i: int) -> str:
    return f"2024-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}Z"


def _entry(i: int, exp_id: str) -> QueueEntry:
    """The layout: one active (alpha), one active (beta) with two queued behind it on the same
    agent, one draft, and every other experiment finished (completed or cancelled)."""
    t = _stamp(i)
    if i == 0:
        return QueueEntry(exp_id, "alpha", Status.ACTIVE, created=t, queued=t, started=t)
    if i == 1:
        return QueueEntry(exp_id, "beta", Status.ACTIVE, created=t, queued=t, started=t)
    if i in (2, 3):
        return QueueEntry(exp_id, "beta", Status.QUEUED, Priority.HIGH, created=t, queued=t)
    if i == 4:
        return QueueEntry(exp_id, "gamma", Status.DRAFT, created=t)
    done = Status.COMPLETED if i % 2 else Status.CANCELLED
    return QueueEntry(
        exp_id,
        AGENTS[i % 3],
        done,
        created=t,
        queued=t,
        started=t,
        finished=t,
        outcome="no difference; keep control" if done is Status.COMPLETED else None,
        reason=None if done is Status.COMPLETED else "superseded",
    )


def build_workspace(top: Path, experiments: int, files: int) -> Workspace:
    """A git repository made a workspace by ``maia init``, then ``files`` tracked files in 100
    nested folders and ``experiments`` experiments, committed in one bulk commit."""
    env = bench_env(top.parent / f"{top.name}-home")
    top.mkdir(parents=True)
    git(top, env, "init", "-q", "-b", "main")
    # No background `gc --auto` in the middle of a measurement: it would land on whichever
    # command happened to cross the threshold. The bulk commit is packed below instead.
    git(top, env, "config", "gc.auto", "0")
    agents = top / "agents"
    agents.mkdir()
    (agents / "helper.md").write_text("You are a helpful agent.\n", encoding="utf-8")
    (agents / "helper_v2.md").write_text("You are a helpful agent. Be brief.\n", encoding="utf-8")
    git(top, env, "add", "-A")
    git(top, env, "commit", "-q", "-m", "initial")
    run_ok(Cmd([*maia_argv(), "init"], top, env))
    _write_files(top, files)
    ids = [f"exp_{i + 1:03d}" for i in range(experiments)]
    for i, exp_id in enumerate(ids):
        _write_experiment(top, i, exp_id)
    git(top, env, "add", "-A")
    git(top, env, "commit", "-q", "-m", f"bench: {files} files, {experiments} experiments")
    git(top, env, "repack", "-adq")
    return Workspace(top, env, ids[0], ids)


def _write_files(top: Path, count: int) -> None:
    for i in range(count):
        path = top / "src" / f"pkg_{i % 100:02d}" / f"sub_{i % 7}" / f"module_{i:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i}."""\n\nVALUE = {i}\n', encoding="utf-8")


def _write_experiment(top: Path, i: int, exp_id: str) -> None:
    entry = _entry(i, exp_id)
    experiment = Experiment(
        exp_id,
        f"Experiment {i}",
        "agents/helper.md",
        "agents/helper_v2.md",
        "Shorter is better",
        0.5,
        entry.created,
    )
    exp_file = top / state.experiment_rel(exp_id)
    exp_file.parent.mkdir(parents=True, exist_ok=True)
    exp_file.write_bytes(state.experiment_bytes(experiment))
    (top / state.queue_rel(exp_id)).write_bytes(state.entry_bytes(entry))


class FloorCommit:
    """The baseline for one commit: write the same queue file as maia would, then time
    ``git add`` + ``git commit`` of it and the import floor, three processes."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.rel = state.queue_rel(ws.active)
        self.flip = 0
        # maia's children run git with these (maia_git.storage.git.git_env); so do we.
        self.git_env = {**ws.env, "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C"}

    def __call__(self) -> Span:
        entry = state.load_entry(self.ws.top, self.ws.active)
        self.flip += 1
        now = _stamp(self.flip)
        changed = (
            entry.with_(status=Status.PAUSED, paused=now)
            if entry.status is Status.ACTIVE
            else entry.with_(status=Status.ACTIVE, started=now)
        )
        (self.ws.top / self.rel).write_bytes(state.entry_bytes(changed))
        top = self.ws.top
        return sum(
            (
                run_ok(cmd).span
                for cmd in (
                    Cmd(["git", "add", "--", self.rel], top, self.git_env),
                    Cmd(["git", "commit", "-q", "-m", f"bench {self.flip}"], top, self.git_env),
                    Cmd([PY, "-c", FLOOR_IMPORTS], top, self.ws.env),
                )
            ),
            NOTHING,
        )


def time_transition(ws: Workspace, repeat: int, warmup: int = 1) -> dict[str, list[Span]]:
    """Runs of ``maia exp pause``, ``maia exp resume`` and of two floor commits, per round.

    Each round leaves the experiment active again: pause, resume, and the floor's two commits
    (active -> paused -> active file contents), so the next round starts where this one did.
    """
    maia = maia_argv()
    floor = FloorCommit(ws)
    return interleaved(
        {
            "pause": Cmd([*maia, "exp", "pause", ws.active], ws.top, ws.env),
            "resume": Cmd([*maia, "exp", "resume", ws.active], ws.top, ws.env),
            "floor_a": floor,
            "floor_b": floor,
        },
        repeat,
        warmup,
    )


def _check_one_commit_each(ws: Workspace, before: int) -> str:
    after = int(git(ws.top, ws.env, "rev-list", "--count", "HEAD"))
    status = state.load_entry(ws.top, ws.active).status
    return f"{after - before} commits, {ws.active} ends {status}"


def bench_transition(folder: Path, files: int, repeat: int, warmup: int) -> list[Row]:
    ws = build_workspace(folder / "transition", experiments=10, files=files)
    before = int(git(ws.top, ws.env, "rev-list", "--count", "HEAD"))
    times = time_transition(ws, repeat, warmup)
    maia_times = times["pause"] + times["resume"]
    floor_times = times["floor_a"] + times["floor_b"]
    check = _check_one_commit_each(ws, before)
    note = (
        f"pause {ms(wall(times['pause']))} ms, resume {ms(wall(times['resume']))} ms; "
        f"maia {spread(maia_times)}; {cpu_note(maia_times, floor_times)}; {check}"
    )
    return [
        ratio_row(
            "transition",
            f"maia exp pause/resume, {files:,} tracked files",
            ms(wall(maia_times)),
            "ms",
            ms(wall(floor_times)),
            f"git add + git commit + `{FLOOR_IMPORTS}`",
            at_most=TARGET,
            note=note,
        )
    ]


def bench_growth(folder: Path, sizes: list[int], repeat: int, warmup: int) -> list[Row]:
    """Pause/resume at each workspace size: a report (no target), with the git floor beside it."""
    rows: list[Row] = []
    points: list[tuple[int, float, float]] = []
    for size in sizes:
        ws = build_workspace(folder / f"growth-{size}", experiments=size, files=0)
        times = time_transition(ws, repeat, warmup)
        maia_times, floor_times = (
            times["pause"] + times["resume"],
            times["floor_a"] + times["floor_b"],
        )
        value, floor = wall(maia_times), wall(floor_times)
        points.append((size, value, floor))
        rows.append(
            Row(
                f"growth.{size}",
                f"pause/resume with {size:,} experiments",
                ms(value),
                "ms",
                ms(floor),
                "git add + commit + import floor",
                round(value / floor, 2),
                "report",
                "INFO",
                f"maia {spread(maia_times)}; {cpu_note(maia_times, floor_times)}",
            )
        )
    rows.append(growth_summary(points))
    return rows


def growth_summary(points: list[tuple[int, float, float]]) -> Row:
    """How the transition time grows: maia's cost per added experiment, and the floor's."""
    (n0, t0, f0), (n1, t1, f1) = points[0], points[-1]
    per = (t1 - t0) / (n1 - n0) * 1e6 if n1 > n0 else 0.0
    floor_per = (f1 - f0) / (n1 - n0) * 1e6 if n1 > n0 else 0.0
    note = (
        f"{per:.1f} us per added experiment (the git floor: {floor_per:.1f} us); maia "
        + ", ".join(f"{n:,}: {t * 1000:.0f} ms" for n, t, _ in points)
    )
    return Row(
        "growth.summary",
        f"transition growth, {n0:,} -> {n1:,} experiments",
        round(t1 / t0, 2),
        "x",
        round(f1 / f0, 2),
        "the floor's growth",
        None,
        "report",
        "INFO",
        note,
    )


def run(quick: bool) -> list[Row]:
    files, repeat = (200, 1) if quick else (2000, 9)
    sizes, grow_repeat = ([10, 100], 1) if quick else ([10, 100, 1000, 10000], 5)
    warmup = 0 if quick else 1
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        return run_parts(
            [
                ("transition", lambda: bench_transition(Path(tmp), files, repeat, warmup)),
                ("growth", lambda: bench_growth(Path(tmp), sizes, grow_repeat, warmup)),
            ]
        )


if __name__ == "__main__":
    cli_main(run, __doc__)
