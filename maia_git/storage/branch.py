"""Building a commit on another branch without touching the user's checkout.

A private index (``GIT_INDEX_FILE`` under the git directory) is loaded from the parent commit,
the changed files are written as blobs and entered into it, and ``commit-tree`` makes the commit;
``update-ref`` then moves the branch only if it still points where we expect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from maia_git.storage import git

ZERO = "0" * 40


def _env(repo: git.Repo) -> dict[str, str]:
    env = git.git_env()
    env["GIT_INDEX_FILE"] = str(repo.git_dir / f"maia-index-{os.getpid()}")
    return env


def blob_of(repo: git.Repo, rev: str, path: str) -> str | None:
    """The blob id of the file ``path`` at ``rev``; None when absent, a folder or a symlink."""
    return git.file_blobs(repo, rev, [path])[path]


def read_blob(repo: git.Repo, blob: str) -> bytes:
    import subprocess

    return subprocess.run(
        ["git", "cat-file", "blob", blob],
        cwd=repo.top,
        check=True,
        capture_output=True,
        env=git.git_env(),
    ).stdout


def ref_sha(repo: git.Repo, ref: str) -> str | None:
    code, out, _ = git.attempt(repo, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
    return out.strip() if code == 0 else None


def commit_on(
    repo: git.Repo,
    parent: str,
    files: Mapping[str, bytes],
    message: str,
    date: str | None = None,
) -> str:
    """A new commit whose tree is ``parent``'s with ``files`` replaced; returns its id.

    With ``date`` the commit's times are fixed, so rebuilding it gives the same commit."""
    env = _env(repo)
    if date is not None:
        env.update({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    index = env["GIT_INDEX_FILE"]
    try:
        git.run(repo, "read-tree", parent, env=env)
        for path, data in files.items():
            blob = git.run(
                repo, "hash-object", "-w", "--stdin", "--path", path, stdin=data, env=env
            ).strip()
            git.run(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git.run(repo, "write-tree", env=env).strip()
        return git.run(
            repo,
            "commit-tree",
            tree,
            "-p",
            parent,
            "-F",
            "-",
            stdin=message.encode("utf-8"),
            env=env,
        ).strip()
    finally:
        for leftover in (index, index + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def move_branch(repo: git.Repo, branch: str, new: str, old: str | None) -> None:
    """Point ``refs/heads/<branch>`` at ``new`` if it is still at ``old`` (None: absent)."""
    git.run(repo, "update-ref", "-m", "maia: promote", f"refs/heads/{branch}", new, old or ZERO)


def blocking_ref(repo: git.Repo, branch: str) -> str | None:
    """A branch whose name is a folder of ``branch`` (``maia`` blocks ``maia/promote/x``)."""
    parts = branch.split("/")
    for i in range(1, len(parts)):
        name = "/".join(parts[:i])
        if ref_sha(repo, f"refs/heads/{name}") is not None:
            return name
    return None
