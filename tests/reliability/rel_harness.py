"""Shared machinery of the reliability tests: real maia processes, the command tables, the checks.

New commands slot in through the tables: a row in ``KINDS`` puts a state change through every
crash point, a row in ``STRESS_OPS`` adds it to the concurrent mix, a row in ``READERS`` makes it
one of the commands that must never fail while writers run. A commit trailer the replay model does
not know fails the checks on purpose: teach ``Model`` what the new trailer means.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass, field
from pathlib import Path

# maia as the product runs, plus the seams the reliability tests set by environment variable
# (crash points, no lock), which only this launcher reads.
MAIA = (sys.executable, str(Path(__file__).parent.parent / "maia_seams.py"))
MAIA_PATHS = ("maia.yaml", ".gitattributes", "agents", "experiments", "queue", "scores")
PROMPTS = ("--control", "agents/helper.md", "--treatment", "agents/helper_v2.md")
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
SEGMENT_NAME = re.compile(r"/\d{4}-\d\d-\d\d/\d{4}/\d{7,}-\d{6}-[0-9a-f]+\.jsonl$")


# --- running git and maia --------------------------------------------------------------------


def git(top: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=top, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def maia_env(**extra: str) -> dict[str, str]:
    """The test's (isolated) environment without crash or unlocking switches, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MAIA_CRASH") and k != "MAIA_UNSAFE_NO_LOCK"
    }
    env.update(extra)
    return env


def run_maia(
    top: Path, args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAIA, *args],
        cwd=top,
        env=env or maia_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn_maia(
    top: Path, args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start maia in a session of its own, so a process-group kill stays inside it."""
    return subprocess.Popen(
        [*MAIA, *args],
        cwd=top,
        env=env or maia_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@dataclass
class Ran:
    code: int
    out: str
    err: str


def maia_here(top: Path, *args: str) -> Ran:
    """Run the CLI in this process (fast): for setting up and for follow-up commands."""
    from maia_git.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(top)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(before)
    return Ran(code, out.getvalue(), err.getvalue())


# --- workspaces --------------------------------------------------------------------------------


def bare_repo(top: Path) -> Path:
    """A git repository with two prompt files and one commit, not yet a maia workspace."""
    top.mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    (top / "agents").mkdir()
    (top / "agents" / "helper.md").write_text("You are a helpful agent.\n", encoding="utf-8")
    (top / "agents" / "helper_v2.md").write_text(
        "You are helpful. Think step by step.\n", encoding="utf-8"
    )
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "initial")
    return top


def build(top: Path, commands: Iterable[Sequence[str]], initialised: bool = True) -> Path:
    bare_repo(top)
    for args in ([("init",)] if initialised else []) + list(commands):
        result = maia_here(top, *args)
        assert result.code == 0, f"setting up {args}: {result.err}"
    return top


_TEMPLATES: dict[tuple[Path, str], Path] = {}


def template(
    root: Path, name: str, commands: Iterable[Sequence[str]], initialised: bool = True
) -> Path:
    """A workspace built once per test session (under ``root``) and then only copied."""
    root.mkdir(exist_ok=True)
    key = (root, name)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = build(root / name, commands, initialised)
    return _TEMPLATES[key]


def clone(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    return dest


# --- the command tables ----------------------------------------------------------------------


def new_args(
    exp_id: str | None, agent: str = "helper", name: str = "Reliability"
) -> tuple[str, ...]:
    return ("exp", "new", name, "--agent", agent, *PROMPTS, *(("--id", exp_id) if exp_id else ()))


@dataclass(frozen=True)
class Kind:
    """One kind of state change: the commands that set up the state before it, and the command."""

    name: str
    argv: tuple[str, ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    initialised: bool = True


# "target" is the experiment under test; "waiting" shares its agent, so it waits in the queue
# while target is active and the queue starts it when target leaves: a two-file commit.
_TARGET = new_args("target")
_WAITING = new_args("waiting")
_START = ("exp", "start", "target")
_START_WAITING = ("exp", "start", "waiting")
_RECORD = ("exp", "record", "target", "u1", "--success", "--interaction-id", "i1")
KINDS = (
    Kind("init", ("init",), initialised=False),
    Kind("new", _TARGET),
    Kind("start", _START, (_TARGET,)),
    Kind(
        "pause",
        ("exp", "pause", "target", "--note", "crash test"),
        (_TARGET, _START, _WAITING, _START_WAITING),
    ),
    Kind("resume", ("exp", "resume", "target"), (_TARGET, _START, ("exp", "pause", "target"))),
    Kind(
        "complete",
        ("exp", "complete", "target", "--note", "done"),
        (_TARGET, _START, _WAITING, _START_WAITING),
    ),
    Kind(
        "cancel",
        ("exp", "cancel", "target", "--note", "crash test"),
        (_TARGET, _START, _WAITING, _START_WAITING),
    ),
    Kind(
        "priority",
        ("queue", "priority", "target", "--priority", "high"),
        (_WAITING, _START_WAITING, _TARGET, _START),
    ),
    # Recorded lines wait uncommitted in the writer's shard; a sync commits them. Killed, it
    # must never roll them back.
    Kind(
        "sync",
        ("sync",),
        (_TARGET, _START, _RECORD, ("exp", "record", "target", "u2", "--failure")),
    ),
)


@dataclass(frozen=True)
class StressOp:
    """A command in the concurrent mix; ``arrows`` are the transitions its first trailer may name.

    ``commits``: "one" (exit 0 means exactly one commit), "at_most_one" (a no-op succeeds without
    a commit: a priority set to the level it has, a sync with nothing new), "none" (``maia exp
    record`` appends without committing; the stress test finds its line after a final sync).
    ``fails``: the exit codes a random mix makes legitimately (an illegal transition is 4, a
    record to an unknown experiment 2; one that is not active exits 0, not recorded); any other
    failure is a fault.
    """

    event: str
    weight: int
    argv: Callable[[str, str], tuple[str, ...]]
    arrows: frozenset[str] = frozenset()
    commits: str = "one"
    text_field: str | None = None
    fails: frozenset[int] = frozenset({4})


def _arrows(*items: str) -> frozenset[str]:
    return frozenset(items)


def _level(token: str) -> str:
    return ("high", "medium", "low")[sum(map(ord, token)) % 3]


STRESS_OPS = (
    StressOp(
        "new",
        2,
        lambda target, token: new_args(None, "agent1", f"Stress {token}"),
        _arrows("none->draft"),
    ),
    StressOp("start", 3, lambda t, _: ("exp", "start", t), _arrows("draft->queued")),
    StressOp(
        "pause",
        3,
        lambda t, tok: ("exp", "pause", t, "--note", tok),
        _arrows("active->paused", "queued->paused"),
        text_field="reason",
    ),
    StressOp("resume", 3, lambda t, _: ("exp", "resume", t), _arrows("paused->queued")),
    StressOp(
        "complete",
        2,
        lambda t, tok: ("exp", "complete", t, "--note", tok),
        _arrows("active->completed", "paused->completed"),
        text_field="outcome",
    ),
    StressOp(
        "cancel",
        1,
        lambda t, tok: ("exp", "cancel", t, "--note", tok),
        _arrows("draft->cancelled", "queued->cancelled", "active->cancelled", "paused->cancelled"),
        text_field="reason",
    ),
    StressOp(
        "priority",
        2,
        lambda t, tok: ("queue", "priority", t, "--priority", _level(tok)),
        commits="at_most_one",
    ),
    StressOp(
        "record",
        3,
        lambda t, tok: (
            "exp",
            "record",
            t,
            f"user-{tok}",
            "--success",
            "--interaction-id",
            tok,
        ),
        commits="none",
        fails=frozenset({2}),
    ),
    StressOp("sync", 1, lambda t, tok: ("sync",), commits="at_most_one", fails=frozenset()),
)
OPS_BY_EVENT = {op.event: op for op in STRESS_OPS}

# Commands that only read: none may fail while writers run. ``{id}`` is an existing experiment.
READERS: tuple[tuple[str, ...], ...] = (
    ("exp", "analyze", "{id}", "--json"),
    ("exp", "list", "--json"),
    ("exp", "show", "{id}", "--json"),
    ("queue", "status", "--json"),
    ("queue", "list", "--json"),
    ("exp", "log", "{id}", "--json"),
)


# --- reading history ---------------------------------------------------------------------------


@dataclass
class Commit:
    sha: str
    parents: list[str]
    author: str
    subject: str
    trailers: list[tuple[str, str]]
    paths: list[str] = field(default_factory=list)


def trailers_of(body: str) -> list[tuple[str, str]]:
    """The ``Key: value`` lines of the message's last paragraph (git's trailer block)."""
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    pairs = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", key):
            pairs.append((key, value.strip()))
    return pairs


def history(top: Path) -> list[Commit]:
    """Every commit reachable from HEAD, oldest first."""
    raw = git(top, "log", "--reverse", "--format=%H%x1f%P%x1f%an%x1f%B%x1e")
    commits = []
    for record in filter(None, (r.strip("\n") for r in raw.split("\x1e"))):
        sha, parents, author, body = record.split("\x1f", 3)
        commits.append(
            Commit(
                sha,
                parents.split(),
                author,
                body.splitlines()[0] if body else "",
                trailers_of(body),
            )
        )
    changed = git(top, "log", "--reverse", "--format=%x1e%H", "--name-only")
    paths = {c.split()[0]: c.split()[1:] for c in changed.split("\x1e") if c.strip()}
    for commit in commits:
        commit.paths = paths.get(commit.sha, [])
    return commits


def field_of(text: str, key: str) -> str | None:
    """One top-level ``key: value`` of a maia state file, read without maia's own loader."""
    match = re.search(rf"^{key}: (.*)$", text, re.MULTILINE)
    if match is None:
        return None
    value = match.group(1).strip()
    if value == "null":
        return None
    return value[1:-1] if value.startswith('"') else value


def queue_files(top: Path, rev: str | None = "HEAD") -> dict[str, str]:
    """``{id: text}`` of the queue entries at ``rev`` (or in the working tree, for None)."""
    if rev is None:
        folder = top / "queue"
        return {
            p.stem: p.read_text(encoding="utf-8")
            for p in sorted(folder.glob("*.yaml"))
            if not p.name.startswith(".")
        }
    names = git(top, "ls-tree", "--name-only", rev, "queue/").split()
    return {Path(n).stem: git(top, "show", f"{rev}:{n}") for n in names if n.endswith(".yaml")}


def recorded_ids(top: Path, rev: str = "HEAD") -> dict[str, list[str]]:
    """``{interaction_id: [shard, ...]}`` of every interaction line committed at ``rev``."""
    found: dict[str, list[str]] = {}
    for path in git(top, "ls-tree", "-r", "--name-only", rev, "--", "experiments").split():
        if "/interactions/" in path and path.endswith(".jsonl"):
            for line in git(top, "show", f"{rev}:{path}").splitlines():
                with suppress(ValueError, AttributeError):
                    found.setdefault(json.loads(line).get("interaction_id"), []).append(path)
    return found


def log_lines(top: Path, rev: str | None = "HEAD") -> set[str]:
    """Every interaction-log line at ``rev`` (or in the working tree, for None)."""
    if rev is None:  # the segments in the working tree and the records not yet synced
        shards = [
            *top.glob("experiments/*/interactions/**/*.jsonl"),
            *top.glob(".git/maia/pending/experiments/*/interactions/*.jsonl"),
            *top.glob(".git/maia/pending/experiments/*/interactions/*.rot"),
        ]
        return {ln for p in shards for ln in p.read_text(encoding="utf-8").splitlines()}
    listing = git(top, "ls-tree", "-r", "--name-only", rev, "--", "experiments").split()
    shards_at = [p for p in listing if "/interactions/" in p and p.endswith(".jsonl")]
    return {ln for p in shards_at for ln in git(top, "show", f"{rev}:{p}").splitlines()}


def tree_files(top: Path, rev: str = "HEAD") -> dict[str, str]:
    """``{path: blob id}`` of maia's paths at ``rev``."""
    listing = git(top, "ls-tree", "-r", rev, "--", *MAIA_PATHS)
    return {line.split("\t", 1)[1]: line.split()[2] for line in listing.splitlines()}


def normalised_tree(top: Path, rev: str = "HEAD") -> dict[str, bytes]:
    """Maia's files at ``rev`` with timestamps masked, to compare runs made at different times."""
    out = {}
    for path in tree_files(top, rev):
        raw = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=top, capture_output=True, check=True
        ).stdout
        # A sealed segment's name holds the day, a sequence number, the time and the clone.
        out[SEGMENT_NAME.sub("/<segment>.jsonl", path)] = TIMESTAMP.sub(b"<time>", raw)
    return out


# --- the replay model --------------------------------------------------------------------------


@dataclass
class Entry:
    status: str
    priority: str
    agent: str


# Trailers that change no queue state the model tracks.
SILENT_TRAILERS = {"Maia-Init", "Maia-Doctor", "Maia-Sync"}


@dataclass
class Model:
    """Replays commit trailers; any step the trailers cannot explain is a violation.

    It also checks the queue's rules after every commit, with its own simple reading of them:
    at most ``max_concurrent`` active, one active per agent, and no free slot while an eligible
    experiment waits (every command that changes the queue runs the scheduler).
    """

    max_concurrent: int = 3
    one_per_agent: bool = True
    entries: dict[str, Entry] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def replay(self, top: Path, commits: Iterable[Commit]) -> Model:
        for commit in commits:
            if "maia.yaml" in commit.paths:
                self.read_settings(top, commit.sha)
            self.apply(top, commit)
            if commit.subject.startswith("maia: "):  # a user's own commit may break the rules
                self.check_queue(commit.sha[:10])
        return self

    def read_settings(self, top: Path, rev: str) -> None:
        text = git(top, "show", f"{rev}:maia.yaml", check=False)
        self.max_concurrent = int(field_of(text, "max_concurrent") or 3)
        self.one_per_agent = field_of(text, "one_active_per_agent") != "false"

    def apply(self, top: Path, commit: Commit) -> None:
        current: str | None = None
        for key, value in commit.trailers:
            if key == "Maia-Experiment":
                current = value
            elif key == "Maia-Transition" and current is not None:
                self.transition(top, commit, current, value)
            elif key == "Maia-Priority" and current is not None:
                self.reprioritise(commit, current, value)
            elif key.startswith("Maia-") and key not in SILENT_TRAILERS:
                self.violations.append(f"{commit.sha[:10]}: unknown trailer {key} (teach Model)")

    def transition(self, top: Path, commit: Commit, exp_id: str, arrow: str) -> None:
        before, _, after = arrow.partition("->")
        entry = self.entries.get(exp_id)
        now = entry.status if entry else "none"
        if now != before:
            self.violations.append(f"{commit.sha[:10]}: {exp_id} {arrow} but it was {now}")
        if entry is None:
            text = git(top, "show", f"{commit.sha}:queue/{exp_id}.yaml", check=False)
            entry = Entry(after, field_of(text, "priority") or "?", field_of(text, "agent") or "?")
            self.entries[exp_id] = entry
        entry.status = after

    def reprioritise(self, commit: Commit, exp_id: str, change: str) -> None:
        before, _, after = change.partition("->")
        entry = self.entries.get(exp_id)
        if entry is None or entry.priority != before:
            self.violations.append(
                f"{commit.sha[:10]}: priority {exp_id} {change} but it was "
                f"{entry.priority if entry else 'absent'}"
            )
        if entry is not None:
            entry.priority = after

    def check_queue(self, where: str) -> None:
        active = [e for e in self.entries.values() if e.status == "active"]
        busy = {e.agent for e in active} if self.one_per_agent else set()
        if len(active) > self.max_concurrent:
            self.violations.append(f"{where}: {len(active)} active > {self.max_concurrent}")
        if self.one_per_agent and len(busy) < len(active):
            self.violations.append(f"{where}: two active experiments share an agent")
        waiting = [e for e in self.entries.values() if e.status == "queued" and e.agent not in busy]
        if waiting and len(active) < self.max_concurrent:
            self.violations.append(f"{where}: a slot is free while an eligible experiment waits")

    def compare(self, files: dict[str, str]) -> list[str]:
        """Differences between the replayed state and the queue files."""
        problems = []
        for exp_id in sorted(set(files) | set(self.entries)):
            entry, text = self.entries.get(exp_id), files.get(exp_id)
            if entry is None or text is None:
                problems.append(f"{exp_id}: in {'files' if text else 'commits'} only")
                continue
            found = (field_of(text, "status"), field_of(text, "priority"))
            if found != (entry.status, entry.priority):
                problems.append(
                    f"{exp_id}: files say {found}, commits say {(entry.status, entry.priority)}"
                )
        return problems


def replay(top: Path) -> tuple[Model, list[str]]:
    """Replay HEAD's history; return the model and every violation (replay and final state)."""
    model = Model().replay(top, history(top))
    return model, [*model.violations, *model.compare(queue_files(top))]


# --- the repository checks ---------------------------------------------------------------------


def git_lock_files(top: Path) -> list[str]:
    git_dir = top / ".git"
    return sorted(
        str(p.relative_to(git_dir)) for p in git_dir.rglob("*.lock") if p.name != "maia.lock"
    )


def check_repository(top: Path) -> list[str]:
    """What must hold after any command, crash and recovery; returns the violations."""
    problems = []
    fsck = subprocess.run(
        ["git", "fsck", "--no-progress"], cwd=top, capture_output=True, text=True, check=False
    )
    if fsck.returncode != 0:
        problems.append(f"git fsck: {fsck.stderr.strip() or fsck.stdout.strip()}")
    if (top / ".git" / "maia-journal.json").exists():
        problems.append("an unfinished journal is left")
    if git_lock_files(top):
        problems.append(f"git lock files are left: {git_lock_files(top)}")
    dirty = git(top, "status", "--porcelain", "--untracked-files=all", "--", *MAIA_PATHS)
    if dirty.strip():
        problems.append(f"maia's paths differ from HEAD: {dirty.strip()!r}")
    for line in git(top, "rev-list", "--parents", "HEAD").splitlines():
        if len(line.split()) > 2:
            problems.append(f"merge commit {line.split()[0][:10]}: history is not linear")
    roots = [
        ln for ln in git(top, "rev-list", "--parents", "HEAD").splitlines() if len(ln.split()) == 1
    ]
    if len(roots) != 1:
        problems.append(f"{len(roots)} root commits")
    return problems


# --- readers -----------------------------------------------------------------------------------


@dataclass
class RawReader:
    """Reads every state file in a tight loop and checks that it is whole.

    Far more reads than the CLI readers manage, so a torn (half-written) file would be seen: a
    file maia wrote starts with ``id:`` and ends with a newline, and every 20th read is also
    parsed with maia's loader. A file that vanishes between listing and reading is not torn.
    """

    top: Path
    reads: int = 0
    torn: list[str] = field(default_factory=list)

    def loop(self, stop: Callable[[], bool]) -> None:
        while not stop():
            try:  # a recovery may remove a folder while it is being listed
                paths = [*self.top.glob("queue/*.yaml"), *self.top.glob("experiments/*/*.yaml")]
            except FileNotFoundError:
                continue
            for path in paths:
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                self.reads += 1
                self.check(path, data)

    def check(self, path: Path, data: bytes) -> None:
        from maia_git.errors import StateFileError
        from maia_git.storage import yamlio

        shown = str(path.relative_to(self.top))
        if not (data.startswith(b"id: ") and data.endswith(b"\n")):
            self.torn.append(f"{shown}: {data[:60]!r}...{data[-20:]!r}")
        elif self.reads % 20 == 0:
            try:
                yamlio.loads(data, shown)
            except StateFileError as err:
                self.torn.append(str(err))
