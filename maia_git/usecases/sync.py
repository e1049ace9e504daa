"""``maia sync``: commit the new interaction-log and score lines, and optionally push.

Logs are appended outside transactions; sync commits whatever shards changed, in one commit
under the lock. With ``push`` it pushes, and when the remote has moved on it rebases and tries
again: shards are per writer and merge as a union, so the rebase never conflicts on them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from maia_git.errors import MaiaError
from maia_git.storage import git
from maia_git.workspace import Workspace

PUSH_ATTEMPTS = 5


@dataclass
class SyncResult:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    pushed: bool = False
    attempts: int = 0
    message: str = ""


def changed_logs(ws: Workspace) -> list[str]:
    """Repository-relative paths of log and score shards that differ from HEAD."""
    out = git.run(
        ws.repo,
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        "--no-renames",
        "--",
        "experiments",
        "scores",
    )
    paths = []
    for item in filter(None, out.split("\0")):
        path = item[3:]
        parts = path.split("/")
        is_log = len(parts) == 4 and parts[0] == "experiments" and parts[2] == "interactions"
        is_score = len(parts) >= 3 and parts[0] == "scores"
        if path.endswith(".jsonl") and (is_log or is_score):
            paths.append(path)
    return sorted(paths)


def _settle(ws: Workspace, paths: list[str]) -> None:
    """Let in-flight appends finish, so no commit holds half a line.

    An append is one write(2); a reader can still catch it half copied. A shard that keeps
    lacking its final newline was left torn by a killed writer: end the torn line, so it stays
    one invalid line instead of swallowing the next record.
    """
    for rel in paths:
        path = ws.top / rel
        for _ in range(20):
            if _last_byte(path) in (b"\n", b""):
                break
            time.sleep(0.005)
        else:
            with open(path, "ab") as handle:
                handle.write(b"\n")


def _last_byte(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return b""
            handle.seek(-1, os.SEEK_END)
            return handle.read(1)
    except FileNotFoundError:
        return b""


def _committed_sizes(ws: Workspace, paths: list[str]) -> dict[str, int]:
    """Each path's size at HEAD (absent: not there)."""
    if not git.has_commits(ws.repo):
        return {}
    listing = git.run(ws.repo, "ls-tree", "-l", "-z", "HEAD", "--", *paths)
    sizes = {}
    for row in filter(None, listing.split("\0")):
        meta, _, name = row.partition("\t")
        sizes[name] = int(meta.split()[3])
    return sizes


def _new_lines(ws: Workspace, paths: list[str], before: dict[str, int]) -> int:
    """Lines appended since HEAD: newlines past each shard's committed size (append-only)."""
    total = 0
    for rel in paths:
        with open(ws.top / rel, "rb") as handle:
            handle.seek(before.get(rel, 0))
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total


def sync(ws: Workspace, push: bool = False, dry_run: bool = False) -> SyncResult:
    result = SyncResult()
    with ws.transaction() as tx:
        result.files = changed_logs(ws)
        if result.files and not dry_run:
            _settle(ws, result.files)
            before = _committed_sizes(ws, result.files)
            tx.appended = result.files
            experiments = sorted(
                {p.split("/")[1] for p in result.files if p.startswith("experiments/")}
            )
            result.message = (
                f"maia: sync {len(result.files)} log file(s)\n\n"
                + "".join(f"Maia-Experiment: {e}\n" for e in experiments)
                + f"Maia-Sync: {len(result.files)} file(s)\n"
            )
            result.lines = _new_lines(ws, result.files, before)
            tx.commit(result.message)
        if push and not dry_run:
            try:
                result.attempts = push_with_rebase(ws)
            except MaiaError as err:
                if result.files:
                    raise MaiaError(f"committed {result.lines} new line(s), but {err}") from None
                raise
            result.pushed = True
    return result


def push_with_rebase(ws: Workspace, attempts: int = PUSH_ATTEMPTS) -> int:
    """Push the current branch; on a non-fast-forward rejection, rebase and retry."""
    remote = ws.settings.remote
    branch = ws.repo.branch()
    if branch is None:
        raise MaiaError("HEAD is detached; cannot push")
    for attempt in range(1, attempts + 1):
        code, out, err = git.attempt(
            ws.repo, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}"
        )
        if code == 0:
            return attempt
        behind = any(
            line.startswith("!") and ("fetch first" in line or "non-fast-forward" in line)
            for line in out.splitlines()
        )
        if attempt == attempts or not behind:
            raise MaiaError(f"push to {remote} failed: {git.complaint(['push'], err, out)}")
        git.run(
            ws.repo,
            "-c",
            "rebase.autoStash=true",
            "pull",
            "--rebase",
            "--no-edit",
            "-q",
            remote,
            branch,
        )
    return attempts
