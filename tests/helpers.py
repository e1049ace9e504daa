"""Test helpers: a byte-level snapshot of a repository, to prove a command changed nothing."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def snapshot(top: Path) -> dict[str, str]:
    """HEAD, every ref, the index's entries and every working-tree file's content hash."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=top, capture_output=True, text=True).stdout

    snap = {
        "HEAD": git("rev-parse", "HEAD").strip(),
        "head-ref": git("symbolic-ref", "-q", "HEAD").strip(),
        "refs": git("for-each-ref", "--format=%(refname) %(objectname)"),
        "index": git("ls-files", "-s"),
    }
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            snap[rel] = "symlink:" + str(path.readlink())
        elif path.is_file():
            snap[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            snap[rel] = "dir"
    return snap
