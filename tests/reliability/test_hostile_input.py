"""Promise 5: hostile input is refused before any side effect.

Each row of ``CASES`` prepares a workspace (a bad state file, a bad setting, a git state, an
environment variable) and runs one command. The command must exit with the row's code, print
exactly one line on stderr and no traceback, and leave the repository byte-identical
(``helpers.snapshot``: HEAD, refs, index and every working-tree file).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rel_harness import clone, git, maia_here, new_args, template

from maia_git.core.assign import arm

from helpers import snapshot

USAGE, STATE, FAILURE = 2, 3, 1
FILE_LINE_COL = r"^maia: error: [\w./-]+:\d+:\d+: "
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)
    says: str = ""  # a regular expression the error line must match


def start(exp_id: str) -> tuple[str, ...]:
    return ("exp", "start", exp_id)


def new(
    *extra: str, name: str = "Hostile", agent: str = "helper", control: str = "agents/helper.md"
) -> tuple[str, ...]:
    return (
        "exp",
        "new",
        name,
        "--agent",
        agent,
        "--control",
        control,
        "--treatment",
        "agents/helper_v2.md",
        *extra,
    )


def write(rel: str, data: bytes | str) -> Setup:
    def setup(top: Path) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        (top / rel).write_bytes(raw)

    return setup


def edit(rel: str, old: str, new_text: str) -> Setup:
    def setup(top: Path) -> None:
        path = top / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new_text), encoding="utf-8")

    return setup


def symlink(rel: str, target: str) -> Setup:
    def setup(top: Path) -> None:
        (top / rel).unlink()
        (top / rel).symlink_to(target)

    return setup


def run_git(*args: str) -> Setup:
    def setup(top: Path) -> None:
        git(top, *args)

    return setup


def touch_git(name: str, directory: bool = False) -> Setup:
    def setup(top: Path) -> None:
        path = top / ".git" / name
        if directory:
            path.mkdir()
        else:
            path.write_text(git(top, "rev-parse", "HEAD"))

    return setup


def replace_by_folder(rel: str) -> Setup:
    def setup(top: Path) -> None:
        (top / rel).unlink()
        (top / rel).mkdir()

    return setup


QUEUE = "queue/exp_001.yaml"
EXPERIMENT = "experiments/exp_001/experiment.yaml"
ENTRY = "id: exp_001\nagent: helper\nstatus: draft\npriority: medium\n"
ALIAS_BOMB = (
    "id: exp_001\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c]\n"
)

ID_CASES = [
    Case("traversal", start("../../etc/passwd"), USAGE),
    Case("traversal-inside", start("exp_001/../exp_002"), USAGE),
    Case("dot", start("."), USAGE),
    Case("dotdot", start(".."), USAGE),
    Case("absolute-path", start("/etc/passwd"), USAGE),
    Case("option-rf", ("exp", "start", "--", "-rf"), USAGE),
    Case("option-help", ("exp", "show", "--", "--help"), USAGE),
    Case("pathspec-top", start(":(top)"), USAGE),
    Case("pathspec-star", start("*"), USAGE),
    Case("glob-prefix", start("exp_*"), USAGE),
    Case("glob-class", start("[a-z]*"), USAGE),
    Case("reserved-HEAD", start("HEAD"), USAGE),
    Case("reserved-head", start("head"), USAGE, says="reserved"),
    Case("reserved-con", start("con"), USAGE, says="reserved"),
    Case("yaml-null", start("null"), USAGE, says="reserved"),
    Case("yaml-float", start("1e3"), USAGE, says="reserved"),
    Case("yaml-date", start("2024-01-01"), USAGE, says="reserved"),
    Case("yaml-hex", start("0x1f"), USAGE, says="reserved"),
    Case("yaml-bool", start("true"), USAGE, says="reserved"),
    Case("newline", start("exp\n001"), USAGE),
    Case("tab", start("exp\t001"), USAGE),
    Case("ansi-escape", start("exp\x1b[31m"), USAGE),
    Case("nul-byte", start("exp\x00001"), USAGE),
    Case("300-chars", start("a" * 300), USAGE),
    Case("cyrillic-lookalike", start("ехр_001"), USAGE),
    Case("fullwidth-lookalike", start("ｅｘｐ_001"), USAGE),
    Case("uppercase", start("EXP_001"), USAGE),
    Case("trailing-space", start("exp_001 "), USAGE),
    Case("empty", start(""), USAGE),
    Case("priority-traversal", ("queue", "priority", "../x", "--priority", "high"), USAGE),
    Case("priority-unknown-level", ("queue", "priority", "exp_001", "--priority", "urgent"), USAGE),
    Case("log-traversal", ("exp", "log", "../../x"), USAGE),
    Case("new-agent-traversal", new(agent="../evil"), USAGE),
    Case("new-agent-reserved", new(agent="HEAD"), USAGE),
    Case("new-id-traversal", new("--id", "../x"), USAGE),
    Case("new-id-reserved", new("--id", "refs"), USAGE),
    Case("new-prompt-outside", new(control="/etc/hostname"), USAGE, says="outside"),
    Case("new-prompt-in-git", new(control=".git/config"), USAGE, says="inside .git"),
    Case("new-prompt-missing", new(control="agents/missing.md"), USAGE),
    Case("new-prompt-same", new(control="agents/helper_v2.md"), USAGE),
    Case(
        "new-prompt-symlink-out",
        new(control="agents/link.md"),
        USAGE,
        setup=lambda top: (top / "agents" / "link.md").symlink_to("/etc/hostname"),
    ),
    Case("new-name-control-char", new(name="bad\x1bname"), USAGE),
    Case("new-name-blank", new(name="   "), USAGE),
]

STATE_CASES = [
    Case(
        "python-tag",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: !!python/object/apply:os.system ['touch pwned']\n"),
        says=FILE_LINE_COL + "tag",
    ),
    Case(
        "duplicate-key",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "status: active\n"),
        says=FILE_LINE_COL + "duplicate",
    ),
    Case("alias-bomb", start("exp_001"), STATE, write(QUEUE, ALIAS_BOMB), says=FILE_LINE_COL),
    Case(
        "deep-nesting",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: " + "[" * 50 + "]" * 50 + "\n"),
        says=FILE_LINE_COL,
    ),
    Case(
        "5-mib",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: " + "x" * (5 << 20)),
        says=FILE_LINE_COL,
    ),
    Case(
        "wrong-type-priority",
        start("exp_001"),
        STATE,
        edit(QUEUE, "priority: medium", "priority: 3"),
        says=FILE_LINE_COL + "priority",
    ),
    Case(
        "wrong-type-status",
        start("exp_001"),
        STATE,
        edit(QUEUE, "status: draft", "status: [draft]"),
        says=FILE_LINE_COL,
    ),
    Case(
        "unknown-status",
        start("exp_001"),
        STATE,
        edit(QUEUE, "status: draft", "status: running"),
        says=FILE_LINE_COL + "status",
    ),
    Case(
        "invalid-utf8",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY.encode() + b"notes: \xff\n"),
        says=FILE_LINE_COL + ".*UTF-8",
    ),
    Case(
        "symlinked-state-file",
        start("exp_001"),
        STATE,
        symlink(QUEUE, "exp_002.yaml"),
        says=FILE_LINE_COL + ".*symlink",
    ),
    Case("empty-state-file", start("exp_001"), STATE, write(QUEUE, "")),
    Case("top-level-list", start("exp_001"), STATE, write(QUEUE, "- id\n- exp_001\n")),
    Case("id-mismatch", start("exp_001"), STATE, edit(QUEUE, "id: exp_001", "id: exp_002")),
    Case("unknown-field", start("exp_001"), STATE, write(QUEUE, ENTRY + "owner: root\n")),
    Case(
        "experiment-python-tag",
        ("exp", "show", "exp_001"),
        STATE,
        write(EXPERIMENT, "id: exp_001\nname: !!python/name:os.system\n"),
        says=FILE_LINE_COL + "tag",
    ),
    Case(
        "experiment-share-text",
        ("exp", "show", "exp_001"),
        STATE,
        edit(EXPERIMENT, "control_share: 0.5", "control_share: half"),
    ),
    Case(
        "settings-max-concurrent-0",
        start("exp_001"),
        STATE,
        edit("maia.yaml", "max_concurrent: 3", "max_concurrent: 0"),
        says="max_concurrent",
    ),
    Case(
        "settings-max-concurrent-negative",
        start("exp_001"),
        STATE,
        edit("maia.yaml", "max_concurrent: 3", "max_concurrent: -1"),
        says="max_concurrent",
    ),
    Case(
        "settings-max-concurrent-three",
        start("exp_001"),
        STATE,
        edit("maia.yaml", "max_concurrent: 3", 'max_concurrent: "three"'),
        says="max_concurrent",
    ),
    Case(
        "settings-max-concurrent-1e3",
        ("queue", "status"),
        STATE,
        edit("maia.yaml", "max_concurrent: 3", "max_concurrent: 1e3"),
        says="max_concurrent",
    ),
    Case(
        "settings-unknown-key",
        start("exp_001"),
        STATE,
        edit("maia.yaml", "max_concurrent: 3", "max_concurent: 3"),
    ),
    Case("settings-invalid-utf8", start("exp_001"), STATE, write("maia.yaml", b"alpha: \xfe\n")),
    Case("state-file-is-folder", start("exp_001"), STATE, replace_by_folder(QUEUE)),
    Case(
        "init-gitattributes-not-utf8",
        ("init",),
        STATE,
        write(".gitattributes", b"*.bin binary \xff\n"),
    ),
]


def setting(value: str, key: str = "alpha", default: str = "0.05") -> Setup:
    return edit("maia.yaml", f"{key}: {default}", f"{key}: {value}")


# Values that once gave tracebacks (exit 1) instead of exit 3 with file:line:column.
YAML_VALUES = [
    ".Inf", ".NaN", "-.INF", ".inf", "1e999", "0_7", "0x_", "0b2", "!!int abc", "!!float abc",
    "!!int 1.5", "!!bool maybe", "!!null x", "9" * 5000, "0x" + "F" * 5000, "!!map x",
    "!!seq xy", "!!str [1,2]", "!!str {a: 1}", "!!binary aGk=", "!!set {a}",
]  # fmt: skip
YAML_CASES = [
    Case(
        f"setting-{i:02d}-{v[:12]}",
        ("queue", "status"),
        STATE,
        setting(v),
        says=FILE_LINE_COL + r"(?!.*Node\()",
    )
    for i, v in enumerate(YAML_VALUES)
] + [
    Case(
        "nested-500-brackets-1kb",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: " + "[" * 500 + "]" * 500 + "\n"),
        says=FILE_LINE_COL + "nested deeper",
    ),
    Case(
        "nested-500-braces-in-settings",
        ("queue", "status"),
        STATE,
        setting("{a: " * 500 + "1" + "}" * 500),
        says=FILE_LINE_COL + "nested deeper",
    ),
    Case(
        "800-kb-flow-sequence",
        ("exp", "list"),
        STATE,
        write(QUEUE, ENTRY + "notes: [" + "1, " * 270_000 + "1]\n"),
        says=FILE_LINE_COL + "file is 810068 bytes, over the 32 KiB limit",
    ),
    Case(
        "6000-values-in-12-kb",
        ("exp", "show", "exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: [" + "1," * 6000 + "1]\n"),
        says=FILE_LINE_COL + "more than 1000 values",
    ),
    Case(
        "huge-hex-max-concurrent",
        ("queue", "status"),
        STATE,
        setting("0x" + "F" * 60, "max_concurrent", "3"),
        says=FILE_LINE_COL + "max_concurrent",
    ),
    Case(
        "control-share-infinite",
        ("exp", "show", "exp_001"),
        STATE,
        edit(EXPERIMENT, "control_share: 0.5", "control_share: .Inf"),
        says=FILE_LINE_COL + "'.Inf' is not a finite number",
    ),
    Case(
        "long-value-is-not-echoed",
        ("exp", "show", "exp_001"),
        STATE,
        edit(EXPERIMENT, "control_share: 0.5", "control_share: " + "x" * 5000),
        says=FILE_LINE_COL + r"control_share must be .*\(5000 characters\)",
    ),
    Case(
        "long-key-is-not-echoed",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "k" * 1000 + ": 1\n"),
        says=FILE_LINE_COL + "unknown field",
    ),
    Case(
        "anchor",
        start("exp_001"),
        STATE,
        write(QUEUE, ENTRY + "notes: &n x\n"),
        says=FILE_LINE_COL + "anchors",
    ),
]

ENVIRONMENT_CASES = [
    Case("env-GIT_DIR", start("exp_001"), USAGE, env={"GIT_DIR": "/tmp"}, says="GIT_DIR"),
    Case(
        "env-GIT_INDEX_FILE",
        start("exp_001"),
        USAGE,
        env={"GIT_INDEX_FILE": "/tmp/idx"},
        says="GIT_INDEX_FILE",
    ),
    Case("env-GIT_WORK_TREE", start("exp_001"), USAGE, env={"GIT_WORK_TREE": "/tmp"}),
    Case(
        "detached-head",
        start("exp_001"),
        USAGE,
        run_git("checkout", "-q", "--detach"),
        says="detached",
    ),
    Case(
        "rebase-in-progress",
        start("exp_001"),
        USAGE,
        touch_git("rebase-merge", True),
        says="rebase",
    ),
    Case("merge-in-progress", start("exp_001"), USAGE, touch_git("MERGE_HEAD"), says="merge"),
    Case("cherry-pick-in-progress", start("exp_001"), USAGE, touch_git("CHERRY_PICK_HEAD")),
]


# The token and the GitHub settings are checked before anything is pushed or sent.
GITHUB = {"GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "octo/demo"}
PROMOTE = ("exp", "promote", "exp_002", "--open-pr", "--force", "--note", "hostile")
GITHUB_CASES = [
    Case(
        f"github-timeout-{raw}",
        PROMOTE,
        USAGE,
        env={**GITHUB, "MAIA_GITHUB_TIMEOUT": raw},
        says="MAIA_GITHUB_TIMEOUT must be",
    )
    for raw in ("abc", "-1", "nan", "inf", "9" * 5000)
] + [
    Case(
        "github-api-plain-http",
        PROMOTE,
        USAGE,
        env={**GITHUB, "GITHUB_API_URL": "http://127.0.0.1:9/api"},
        says="never sent over plain http",
    ),
    Case(
        "github-api-with-credentials",
        PROMOTE,
        USAGE,
        env={**GITHUB, "GITHUB_API_URL": "https://user:pw@127.0.0.1:9/api"},
        says="must be https://HOST",
    ),
]


def record(*extra: str, user: str = "alice") -> tuple[str, ...]:
    return ("exp", "record", "exp_002", user, *extra)


# The arm the assignment gives alice in exp_002 is not this one.
WRONG_ARM = "treatment" if arm("exp_002", "alice") == "control" else "control"
# (Recording to an experiment that is not active is not an error: it exits 0 and says
# `recorded: false`, so that a pause never breaks an agent; see tests/test_runtime.py.)
RECORD_CASES = [
    Case("record-user-empty", record("--success", user=""), USAGE),
    Case("record-user-newline", record("--success", user="a\nb"), USAGE),
    Case("record-user-nul", record("--success", user="a\x00b"), USAGE),
    Case("record-quality-nan", record("--success", "--quality", "nan"), USAGE),
    Case("record-quality-over-100", record("--success", "--quality", "101"), USAGE),
    Case("record-tokens-negative", record("--success", "--tokens", "-1"), USAGE),
    Case("record-latency-inf", record("--success", "--latency-ms", "inf"), USAGE),
    Case("record-wrong-arm", record("--success", "--arm", WRONG_ARM), USAGE),
    Case("record-no-outcome", record(), USAGE),
    Case("record-writer-traversal", record("--success"), USAGE, env={"MAIA_WRITER": "../evil"}),
]

# Interaction-log lines that break the schema (NaN, invalid UTF-8, a torn last line, a quality of
# 150) are not refused input but data someone else wrote: tests/test_doctor_logs.py shows that the
# analysis counts the rest and names each by file and line, and so does `maia doctor`, with the
# repository unchanged.

# Options that click itself refuses: its usage errors must be one line too.
CLICK_CASES = [
    Case("click-unknown-option", ("exp", "start", "-rf"), USAGE, says="--help"),
    Case("click-share-out-of-range", new("--control-share", "1.5"), USAGE),
    Case("click-unknown-status", ("exp", "list", "--status", "bogus"), USAGE),
]

CASES = (
    ID_CASES
    + CLICK_CASES
    + STATE_CASES
    + YAML_CASES
    + ENVIRONMENT_CASES
    + GITHUB_CASES
    + RECORD_CASES
)


@pytest.fixture
def top(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.getbasetemp() / "rel-templates"
    source = template(
        root, "hostile", [new_args(None), new_args(None, "other"), ("exp", "start", "exp_002")]
    )
    return clone(source, tmp_path / "ws")


def refused(top: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``case`` and check: its exit code, one error line, and nothing changed."""
    if case.setup:
        case.setup(top)
    before = snapshot(top)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    result = maia_here(top, *case.args)
    monkeypatch.undo()
    assert (result.code, result.out) == (case.code, ""), result.err
    assert result.err.count("\n") == 1 and result.err.startswith("maia: error: "), result.err
    assert len(result.err) <= 300 + len("maia: error: \n"), result.err
    assert re.search(case.says, result.err), result.err
    assert snapshot(top) == before


def test_the_table_has_at_least_forty_rows() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused_before_any_side_effect(
    case: Case, top: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused(top, case, monkeypatch)


DOCTOR_CASES = [c for c in STATE_CASES[:4] + YAML_CASES if c.setup is not None] + [
    Case(
        "prompt-path-5000-chars",
        ("doctor",),
        1,
        edit(EXPERIMENT, "control: agents/helper.md", "control: " + "a/" * 2500 + "x.md"),
    ),
    Case(
        "symlinked-interactions-folder",
        ("doctor",),
        1,
        lambda top: (top / "experiments/exp_002/interactions").symlink_to("/tmp"),
    ),
    Case(
        "prompt-path-with-nul",
        ("doctor",),
        1,
        edit(EXPERIMENT, "control: agents/helper.md", 'control: "agents/\\0.md"'),
    ),
]


@pytest.mark.parametrize("case", DOCTOR_CASES, ids=[c.name for c in DOCTOR_CASES])
def test_doctor_diagnoses_every_hostile_file(case: Case, top: Path) -> None:
    assert case.setup is not None
    case.setup(top)
    before = snapshot(top)
    result = maia_here(top, "doctor")
    assert result.code == 1, result.out + result.err
    assert result.err == "" and "problem(s)" in result.out, result.out
    assert all(len(line) <= 300 for line in result.out.splitlines()), result.out
    assert snapshot(top) == before
    if case.name == "symlinked-interactions-folder":
        assert "experiments/exp_002/interactions: its interaction logs are not read" in result.out


# --- a read-only repository and a full disk ---------------------------------------------------


@contextmanager
def read_only(top: Path) -> Iterator[None]:
    """Make the repository read-only: chmod for a normal user; root ignores modes, so a
    read-only bind mount over the repository for root (skipped where mounting is not allowed)."""
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(top)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(top)], check=True)
        return
    mounted = subprocess.run(
        ["mount", "--bind", str(top), str(top)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"root, and a read-only bind mount is not allowed: {mounted.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(top)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(top)], check=True)


def test_a_read_only_repository(top: Path) -> None:
    before = snapshot(top)
    with read_only(top):
        result = maia_here(top, *start("exp_001"))
        assert result.code == FAILURE, result.err
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert "read-only" in result.err.lower() or "permission" in result.err.lower()
        assert snapshot(top) == before
        assert maia_here(top, "exp", "list").code == 0  # reading still works


@contextmanager
def tiny_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def fill(disk: Path, leave_blocks: int) -> None:
    """Fill the file system, then free ``leave_blocks`` blocks of 4 KiB."""
    filler = disk / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096) == 4096:
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - 4096 * leave_blocks))


@pytest.mark.parametrize("leave_blocks", [0, 1, 2, 3, 4, 5, 6, 8])
def test_a_full_disk_at_every_step(leave_blocks: int, top: Path, tmp_path: Path) -> None:
    """With a little more room each time, the command fails at a later step (the journal, a
    state file, git's objects, git's index) or succeeds.

    A full disk is refused before any side effect. With a little room, a step can succeed before
    one fails, and putting the old state back needs room too (git must rewrite its index): then
    the journal stays, exactly as after a crash, and the next command finishes the job.
    """
    with tiny_disk(tmp_path / "disk") as disk:
        ws = disk / "ws"
        shutil.copytree(top, ws, symlinks=True)
        head = git(ws, "rev-parse", "HEAD")
        fill(disk, leave_blocks)
        before = snapshot(ws)
        result = maia_here(ws, "exp", "pause", "exp_002")
        assert result.code in (0, FAILURE), result.err
        if result.code == FAILURE:
            assert result.err.count("\n") == 1 and "Traceback" not in result.err
            assert "space" in result.err.lower() or "write" in result.err.lower(), result.err
            assert git(ws, "rev-parse", "HEAD") == head
            left_journal = (ws / ".git" / "maia-journal.json").exists()
            assert left_journal or snapshot(ws) == before
            assert leave_blocks > 0 or snapshot(ws) == before
        (disk / ".filler").unlink()
        # Once there is room again, the next command needs no manual step.
        again = maia_here(ws, "exp", "start", "exp_001")
        assert again.code == 0, again.err
        status = git(ws, "status", "--porcelain", "--", "queue", "experiments", "maia.yaml")
        assert status == "" and not (ws / ".git" / "maia-journal.json").exists()
        assert "status: paused" in (ws / "queue/exp_002.yaml").read_text() or result.code != 0
