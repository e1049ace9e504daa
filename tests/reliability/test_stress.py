"""Promise 1: many real processes changing state at once lose nothing and invent nothing.

16 workers run a seeded mix of ``STRESS_OPS`` against one workspace at the same moment. Each
command commits under a git author name of its own, so its commit can be found. Afterwards:
every command that exited 0 is in exactly one commit that says what it did, every command that
failed made none, history is linear, ``git fsck`` passes, and replaying the trailers through
``rel_harness.Model`` gives the queue files (status, priority, and the last reason or outcome).

The negative control runs the same plan with the lock off (``MAIA_UNSAFE_NO_LOCK=1``, test-only)
and must break one of those checks: the lock is what makes the positive run pass.
"""

from __future__ import annotations

import random
import subprocess
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_harness import (
    OPS_BY_EVENT,
    STRESS_OPS,
    Commit,
    StressOp,
    check_repository,
    clone,
    field_of,
    history,
    maia_env,
    new_args,
    queue_files,
    recorded_ids,
    replay,
    run_maia,
    template,
)

AGENTS = ("agent1", "agent2", "agent3", "agent4")
SETUP = [
    *(new_args(None, AGENTS[i % 4]) for i in range(8)),
    *(("exp", "start", f"exp_00{i}") for i in range(1, 7)),
]
TARGETS = [f"exp_00{i}" for i in range(1, 9)]


@dataclass(frozen=True)
class Planned:
    token: str
    op: StressOp
    target: str

    @property
    def argv(self) -> tuple[str, ...]:
        return self.op.argv(self.target, self.token)


@dataclass(frozen=True)
class Outcome:
    planned: Planned
    code: int
    out: str
    err: str


def plan(seed: int, workers: int, per_worker: int) -> list[list[Planned]]:
    rng = random.Random(seed)
    weights = [op.weight for op in STRESS_OPS]
    return [
        [
            Planned(f"w{w:02d}c{c:02d}", rng.choices(STRESS_OPS, weights)[0], rng.choice(TARGETS))
            for c in range(per_worker)
        ]
        for w in range(workers)
    ]


def run_worker(
    top: Path, steps: list[Planned], env: dict[str, str], barrier: threading.Barrier
) -> list[Outcome]:
    barrier.wait()
    outcomes = []
    for step in steps:
        full = maia_env(
            GIT_AUTHOR_NAME=step.token,
            GIT_COMMITTER_NAME=step.token,
            MAIA_WRITER=step.token[:3],
            **env,
        )  # one log shard per worker
        try:
            result = run_maia(top, step.argv, full, timeout=900)
            outcomes.append(Outcome(step, result.returncode, result.stdout, result.stderr))
        except subprocess.TimeoutExpired:
            outcomes.append(Outcome(step, -999, "", "hung for 900 s"))
    return outcomes


def run_stress(top: Path, workers: list[list[Planned]], env: dict[str, str]) -> list[Outcome]:
    """Run the workers at once, then one last ``maia sync`` for the lines still uncommitted."""
    barrier = threading.Barrier(len(workers))
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        results = pool.map(lambda steps: run_worker(top, steps, env, barrier), workers)
        outcomes = [o for worker in results for o in worker]
    last = [Planned("final", OPS_BY_EVENT["sync"], "")]
    return outcomes + run_worker(top, last, env, threading.Barrier(1))


def commit_matches(outcome: Outcome, commit: Commit) -> str | None:
    """Why ``commit`` does not record what ``outcome``'s command did, or None if it does."""
    step, pairs = outcome.planned, commit.trailers
    if step.op.event == "sync":
        return None if any(k == "Maia-Sync" for k, _ in pairs) else f"sync commit {pairs}"
    if step.op.event == "priority":
        wanted = ("Maia-Experiment", step.target)
        ok = wanted in pairs and any(
            k == "Maia-Priority" and v.endswith(f"->{step.argv[-1]}") for k, v in pairs
        )
        return None if ok else f"priority commit {pairs}"
    target = outcome.out.split()[1] if step.op.event == "new" else step.target
    if (
        pairs[:1] != [("Maia-Experiment", target)]
        or len(pairs) < 2
        or pairs[1][0] != "Maia-Transition"
        or pairs[1][1] not in step.op.arrows
    ):
        return f"{step.op.event} {target} made {pairs[:2]}"
    extra = [v for k, v in pairs[2:] if k == "Maia-Transition" and v != "queued->active"]
    return f"unexpected extra transitions {extra}" if extra else None


def check_outcome(outcome: Outcome, commits: list[Commit]) -> list[str]:
    step = outcome.planned
    label = f"{step.token} ({' '.join(step.argv)}) exit {outcome.code}"
    if outcome.code != 0:
        problems = [] if outcome.code in step.op.fails else [f"{label}: {outcome.err.strip()}"]
        if commits:
            problems.append(f"{label}: failed but made {len(commits)} commit(s)")
        if outcome.err.count("\n") != 1 or "Traceback" in outcome.err:
            problems.append(f"{label}: not one line on stderr: {outcome.err!r}")
        return problems
    allowed = {"one": {1}, "at_most_one": {0, 1}, "none": {0}}[step.op.commits]
    if len(commits) not in allowed:
        return [f"{label}: {len(commits)} commits"]
    why = commit_matches(outcome, commits[0]) if commits else None
    return [f"{label}: {why}"] if why else []


def last_texts(outcomes: list[Outcome], commits: list[Commit]) -> dict[tuple[str, str], str]:
    """``{(id, field): token}``: the reason or outcome the last committed command of each set."""
    by_token = {o.planned.token: o for o in outcomes}
    texts = {}
    for commit in commits:
        outcome = by_token.get(commit.author)
        if outcome is not None and outcome.planned.op.text_field:
            texts[(outcome.planned.target, outcome.planned.op.text_field)] = outcome.planned.token
    return texts


def check_recorded(top: Path, outcomes: list[Outcome]) -> list[str]:
    """Each recorded line is committed exactly once, in its experiment's log; one refused or not
    recorded (the experiment was not active) is nowhere (the interaction id is the token)."""
    found = recorded_ids(top)
    problems = []
    for o in (o for o in outcomes if o.planned.op.event == "record"):
        where = found.get(o.planned.token, [])
        folder = f"experiments/{o.planned.target}/interactions/"
        recorded = o.code == 0 and not o.out.startswith("recorded: false")
        if recorded and (len(where) != 1 or not where[0].startswith(folder)):
            problems.append(f"{o.planned.token}: recorded, but committed in {where}")
        if not recorded and where:
            problems.append(f"{o.planned.token}: refused, but found in {where}")
    return problems


def check_stress(top: Path, outcomes: list[Outcome], setup_commits: int) -> list[str]:
    commits = history(top)[setup_commits:]
    by_author: dict[str, list[Commit]] = defaultdict(list)
    for commit in commits:
        by_author[commit.author].append(commit)
    problems = [p for o in outcomes for p in check_outcome(o, by_author.pop(o.planned.token, []))]
    problems += check_recorded(top, outcomes)
    problems += [f"{len(c)} commit(s) by no command of the run: {a}" for a, c in by_author.items()]
    files = queue_files(top)
    for (exp_id, key), token in last_texts(outcomes, commits).items():
        if field_of(files.get(exp_id, ""), key) != token:
            problems.append(
                f"{exp_id}: {key} is {field_of(files.get(exp_id, ''), key)!r}, "
                f"the last committed command set {token!r}"
            )
    return problems + replay(top)[1] + check_repository(top)


def stress_workspace(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, name: str
) -> tuple[Path, int]:
    root = tmp_path_factory.getbasetemp() / "rel-templates"
    top = clone(template(root, "stress", SETUP), tmp_path / name)
    return top, len(history(top))


def stress(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    workers: int,
    per_worker: int,
    env: dict[str, str],
    name: str = "ws",
) -> tuple[list[Outcome], list[str]]:
    top, setup_commits = stress_workspace(tmp_path, tmp_path_factory, name)
    outcomes = run_stress(top, plan(seed, workers, per_worker), env)
    return outcomes, check_stress(top, outcomes, setup_commits)


LOCKED = {"MAIA_LOCK_TIMEOUT": "600"}  # any wait, however loaded the machine


def test_sixteen_writers_at_once(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outcomes, problems = stress(
        tmp_path, tmp_path_factory, seed=7, workers=16, per_worker=4, env=LOCKED
    )
    assert problems == []
    succeeded = {o.planned.op.event for o in outcomes if o.code == 0}
    # Which transitions succeed depends on the interleaving; a real mix must have happened.
    # These five succeed in every order of this plan (seed 7): new and sync always; exp_008 is
    # a draft only a start moves; exp_001 is active and no command but a pause touches it;
    # exp_003 is active or paused (its pauses) when its one complete comes. Others, such as
    # every resume, can fail in some orders.
    assert {"new", "sync", "start", "pause", "complete"} <= succeeded, succeeded


def test_without_the_lock_the_same_run_breaks(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The negative control: only the (test-only) switch that turns the lock off differs."""
    unlocked = {**LOCKED, "MAIA_UNSAFE_NO_LOCK": "1"}
    found: list[str] = []
    for attempt in range(3):  # a clean run without the lock is unlikely; three in a row, absurd
        _, found = stress(
            tmp_path,
            tmp_path_factory,
            seed=7 + attempt,
            workers=16,
            per_worker=4,
            env=unlocked,
            name=f"ws{attempt}",
        )
        if found:
            break
    assert found, "16 writers without the lock broke nothing: the checks may be too weak"


@pytest.mark.soak
@pytest.mark.parametrize("seed", [11, 12])
def test_stress_soak(seed: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outcomes, problems = stress(
        tmp_path, tmp_path_factory, seed=seed, workers=32, per_worker=8, env=LOCKED
    )
    assert problems == []
    # Targets finish as the run goes on, so later commands are mostly (legitimately) refused.
    assert sum(o.code == 0 for o in outcomes) > len(outcomes) // 8
