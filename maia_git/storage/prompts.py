"""Prompt files in git: whether they are committed, their blob ids at a commit, the commit that
started an experiment, and blob text read once per process."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from maia_git.storage import git


def blobs_at(repo: git.Repo, rev: str, paths: Iterable[str]) -> dict[str, str | None]:
    """The blob id of each path at ``rev`` (None: not a regular file there), in one git call."""
    return git.file_blobs(repo, rev, paths)


def changed_since_head(repo: git.Repo, paths: Iterable[str]) -> dict[str, str]:
    """``{path: "untracked" | "modified"}`` for each path whose file is not what HEAD holds
    (edited, staged but not committed, or never committed)."""
    wanted = list(dict.fromkeys(paths))
    out = git.run(repo, "status", "--porcelain", "-z", "--untracked-files=all", "--", *wanted)
    changed: dict[str, str] = {}
    records = out.split("\0")
    for item in records:
        if len(item) > 3 and item[3:] in wanted:
            changed[item[3:]] = "untracked" if item[:2] in ("??", "!!") else "modified"
    head = blobs_at(repo, "HEAD", wanted) if git.has_commits(repo) else dict.fromkeys(wanted)
    for path, blob in head.items():
        if blob is None:
            changed.setdefault(path, "untracked")
    return changed


def start_commit(repo: git.Repo, exp_id: str) -> str | None:
    """The commit that moved ``exp_id`` out of draft (its ``draft->queued`` trailer), or None."""
    code, out, _ = git.attempt(
        repo,
        "log",
        "-z",
        "--format=%H%n%B",
        "-F",
        f"--grep=Maia-Experiment: {exp_id}",
        "--",
        f"queue/{exp_id}.yaml",
    )
    found = None
    for record in filter(None, out.split("\0")) if code == 0 else []:
        sha, _, body = record.strip("\n").partition("\n")
        lines = [ln.strip() for ln in body.splitlines()]
        pairs = pairwise(lines)
        if (f"Maia-Experiment: {exp_id}", "Maia-Transition: draft->queued") in pairs:
            found = sha  # newest first: the last one found is the oldest
    return found


class BlobCache:
    """Blob text by id, read with ``git cat-file`` once per process: a blob never changes."""

    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self._text: dict[str, str] = {}

    def text(self, blob: str) -> str:
        cached = self._text.get(blob)
        if cached is None:
            # Text as UTF-8; an undecodable byte becomes U+FFFD rather than failing a runtime.
            cached = self._text[blob] = git.run(self.repo, "cat-file", "blob", blob)
        return cached
