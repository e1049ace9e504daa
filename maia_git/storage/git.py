"""The one place that runs git. Writes go through the git binary, never GitPython's index.

GitPython's ``index.add``/``index.commit`` lose acknowledged writes under concurrency (9-10 of
16 in a measured race); the git binary fails loudly instead, and ``git commit --only`` moves
HEAD with a compare-and-swap.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from maia_git import crash
from maia_git.core.escape import clip
from maia_git.errors import MaiaError, UsageError

# Variables that would point git somewhere other than the repository maia found.
_REFUSED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
)
_IN_PROGRESS = {
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or am",
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "BISECT_LOG": "a bisect",
}


class GitError(MaiaError):
    """A git command failed; the message is git's own first line of complaint."""


@dataclass(frozen=True)
class Repo:
    top: Path
    git_dir: Path

    def head_ref(self) -> str | None:
        """The branch HEAD points at (``refs/heads/main``), or None when detached."""
        text = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        return text[5:].strip() if text.startswith("ref:") else None

    def branch(self) -> str | None:
        ref = self.head_ref()
        return ref.removeprefix("refs/heads/") if ref else None


def check_environment(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    for name in _REFUSED_ENV:
        if environ.get(name):
            raise UsageError(f"{name} is set; maia works on the repository it finds: unset {name}")


def find_repo(start: Path) -> Repo:
    """Find the repository that ``start`` is in, the way git does, without running git."""
    check_environment()
    here = start.resolve()
    for folder in (here, *here.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return Repo(folder, dot)
        if dot.is_file():
            text = dot.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                return Repo(folder, (folder / text[7:].strip()).resolve())
    raise UsageError(
        f"not a git repository: {here} (create one with `git init`, then run `maia init`)"
    )


def check_committable(repo: Repo) -> None:
    """Refuse a detached HEAD or an operation in progress, before anything is written."""
    if repo.head_ref() is None:
        raise UsageError("HEAD is detached; check out a branch first (`git switch -c NAME`)")
    for name, what in _IN_PROGRESS.items():
        if (repo.git_dir / name).exists():
            raise UsageError(f"{what} is in progress; finish or abort it first")


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REFUSED_ENV}
    env["GIT_LITERAL_PATHSPECS"] = "1"
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def run(
    repo: Repo | Path,
    *args: str,
    stdin: bytes | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> str:
    """Run ``git args`` in the repository and return stdout; raise GitError on failure."""
    cwd = repo.top if isinstance(repo, Repo) else repo
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=env or git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise MaiaError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        raise GitError(_complaint(args, proc.stderr, proc.returncode))
    return proc.stdout.decode("utf-8", "replace")


def attempt(repo: Repo, *args: str) -> tuple[int, str, str]:
    """Run ``git args`` and return (exit code, stdout, stderr) without raising."""
    proc = subprocess.run(
        ["git", *args], cwd=repo.top, capture_output=True, env=git_env(), check=False
    )
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


FILE_MODES = ("100644", "100755")  # a regular file; a symlink (120000) or submodule is not


def tree_entries(repo: Repo, rev: str, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{path: (mode, object id)}`` of the entries ``rev`` has at ``paths`` (from the top of the
    repository), in one ``ls-tree``; a path it lacks, or an unknown ``rev``, is left out."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    code, out, _ = attempt(repo, "ls-tree", "-z", "--full-tree", rev, "--", *wanted)
    found: dict[str, tuple[str, str]] = {}
    for item in filter(None, out.split("\0")) if code == 0 else []:
        meta, _, name = item.partition("\t")
        mode, _kind, sha = meta.split()
        found[name] = (mode, sha)
    return found


def file_blobs(repo: Repo, rev: str, paths: Iterable[str]) -> dict[str, str | None]:
    """The blob id of each path at ``rev`` (None: not a regular file there), in one git call."""
    wanted = list(dict.fromkeys(paths))
    entries = tree_entries(repo, rev, wanted)
    return {
        path: entry[1] if (entry := entries.get(path)) and entry[0] in FILE_MODES else None
        for path in wanted
    }


def complaint(args: Sequence[str], stderr: str, stdout: str = "") -> str:
    """git's own first line of complaint, for a one-line error message."""
    return _complaint(args, (stderr or stdout).encode("utf-8"))


_LOCK_EXISTS = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def _complaint(args: Sequence[str], stderr: bytes, code: int | None = None) -> str:
    text = stderr.decode("utf-8", "replace")
    stale = _LOCK_EXISTS.search(text)
    if stale is not None:  # git's own text says "another git process" and gives 6 lines
        return (
            f"git {args[0]}: git's lock file {stale.group(1)} exists: another git command is "
            "working in this repository, or one was killed; when none is running, delete that "
            "file (`maia doctor` checks) and run the command again"
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    picked = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), None)
    first = picked or (lines[0] if lines else _silent_failure(code))
    return f"git {args[0]}: {clip(first, 200)}"


def _silent_failure(code: int | None) -> str:
    """Words for a git that failed without saying why (killed, or a hook that printed nothing)."""
    if code is not None and code < 0:
        return f"killed by signal {-code}, without a message"
    if code is not None:
        return f"failed with exit code {code}, without a message"
    return "failed without a message"


def commit_paths(repo: Repo, paths: Sequence[str], message: str, date: str | None = None) -> None:
    """Commit exactly ``paths`` (added, changed or deleted), leaving the user's other work alone.

    ``--only`` commits the working-tree content of these paths and keeps whatever else the user
    had staged staged; the ref update checks HEAD's old value, so a racing writer fails loudly.
    ``date`` (git's ``<epoch> +0000`` form) fixes the author and committer times, so the same
    change on the same parent by the same identity is the same commit (CI promotion reruns).
    """
    run(repo, "add", "-A", "-f", "--", *paths)
    crash.point("after_add")
    run(
        repo,
        "commit",
        "--only",
        "--no-verify",
        "-q",
        "-F",
        "-",
        "--",
        *paths,
        stdin=message.encode("utf-8"),
        env=dated(date),
    )


def dated(date: str | None) -> dict[str, str] | None:
    """The git environment with author and committer times fixed to ``date`` (None: now)."""
    if date is None:
        return None
    return {**git_env(), "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}


def has_commits(repo: Repo) -> bool:
    return run(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip() != ""
