"""Putting this branch's own commits on top of the remote's, with plumbing only.

Nothing here touches the working tree, the index, HEAD or a branch: each local commit is
rebuilt in a private index (``GIT_INDEX_FILE`` under the git directory) on top of the remote tip,
with its message and author, and the new tip is returned. A change to a path carries over when
the remote left that path as the commit found it (or made the very same change); anything else is
a divergence, reported with the path and the commit's ``Maia-Transition`` trailers. New log
segments are new paths, so they never diverge.

maia's own state files (``queue/<id>.yaml``, ``experiments/<id>/experiment.yaml``) are merged
field by field when both sides changed them: a field only one side changed takes that side's
value, so a pause made here replays over a priority changed there. Where the commit's trailer
names a transition (``Maia-Transition: active->paused``), it replays only if the remote's entry
is still in the state it starts from; a field both sides changed differently is a divergence.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass

from maia_git.errors import MaiaError
from maia_git.storage import git
from maia_git.storage.branch import read_blob

ZERO = "0" * 40


class Diverged(MaiaError):
    """The remote changed a path that a local commit changes too, differently."""

    def __init__(self, path: str, commit: str, transition: str | None) -> None:
        self.path, self.commit, self.transition = path, commit, transition
        super().__init__(f"{path} changed both here and on the remote")


@dataclass(frozen=True)
class Change:
    path: str
    old_mode: str
    new_mode: str
    old: str  # blob ids; ZERO when absent
    new: str


def rev(repo: git.Repo, name: str) -> str | None:
    code, out, _ = git.attempt(repo, "rev-parse", "-q", "--verify", f"{name}^{{commit}}")
    return out.strip() if code == 0 else None


def is_ancestor(repo: git.Repo, older: str, newer: str) -> bool:
    return git.attempt(repo, "merge-base", "--is-ancestor", older, newer)[0] == 0


def changes(repo: git.Repo, parent: str, commit: str) -> list[Change]:
    out = git.run(repo, "diff-tree", "-r", "-z", "--no-renames", "--raw", parent, commit)
    fields = out.split("\0")
    found = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old, new, _status = meta[1:].split(" ")
        found.append(Change(path, old_mode, new_mode, old, new))
    return found


def blobs_at(repo: git.Repo, commit: str, paths: list[str]) -> dict[str, str]:
    """``{path: object id}`` of the paths that ``commit`` has."""
    return {path: sha for path, (_mode, sha) in git.tree_entries(repo, commit, paths).items()}


def onto(repo: git.Repo, base: str, local: str, tip: str) -> str:
    """``local``'s commits since ``base``, rebuilt on ``tip``; returns the new tip.

    Raises Diverged on the first path both sides changed differently, MaiaError when the local
    commits include a merge (rebuilding one is not maia's to decide).
    """
    listing = git.run(repo, "rev-list", "--reverse", "--parents", f"{base}..{local}").split("\n")
    env = git.git_env()
    env["GIT_INDEX_FILE"] = str(repo.git_dir / f"maia-replay-index-{os.getpid()}")
    try:
        for row in filter(None, listing):
            commit, *parents = row.split()
            if len(parents) != 1:
                raise MaiaError(f"commit {commit[:10]} is a merge; push it with git yourself")
            tip = _replay(repo, env, parents[0], commit, tip)
    finally:
        for leftover in (env["GIT_INDEX_FILE"], env["GIT_INDEX_FILE"] + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return tip


def _replay(repo: git.Repo, env: dict[str, str], parent: str, commit: str, tip: str) -> str:
    todo = changes(repo, parent, commit)
    theirs = blobs_at(repo, tip, [c.path for c in todo])
    apply = []
    for change in todo:
        there = theirs.get(change.path, ZERO)
        if there == change.new:
            continue  # the remote has it already (a retried push, the same change)
        if there != change.old:
            merged = _merge_state(repo, change, there, commit)
            if merged is None:
                raise Diverged(change.path, commit, _transitions(repo, commit))
            change = Change(change.path, change.old_mode, change.new_mode, change.old, merged)
        apply.append(change)
    if not apply:
        return tip
    git.run(repo, "read-tree", tip, env=env)
    for change in apply:
        if change.new == ZERO:
            git.run(repo, "update-index", "--force-remove", "--", change.path, env=env)
        else:
            info = f"{change.new_mode},{change.new},{change.path}"
            git.run(repo, "update-index", "--add", "--cacheinfo", info, env=env)
    tree = git.run(repo, "write-tree", env=env).strip()
    return _commit_like(repo, env, commit, tree, tip)


def _commit_like(repo: git.Repo, env: dict[str, str], commit: str, tree: str, parent: str) -> str:
    """A commit of ``tree`` on ``parent`` with ``commit``'s message and author."""
    raw = git.run(repo, "show", "-s", "--format=%an%x00%ae%x00%ad%x00%B", "--date=raw", commit)
    name, email, date, message = raw.split("\0", 3)
    author = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}
    return git.run(
        repo,
        "commit-tree",
        tree,
        "-p",
        parent,
        "-F",
        "-",
        stdin=message.rstrip("\n").encode("utf-8") + b"\n",
        env={**env, **author},
    ).strip()


def _transitions(repo: git.Repo, commit: str) -> str | None:
    body = git.run(repo, "show", "-s", "--format=%B", commit)
    found = [
        line.split(":", 1)[1].strip()
        for line in body.splitlines()
        if line.startswith("Maia-Transition:")
    ]
    return ", ".join(found) or None


_QUEUE_FILE = re.compile(r"queue/([a-z0-9][a-z0-9_-]*)\.yaml")
_EXPERIMENT_FILE = re.compile(r"experiments/[a-z0-9][a-z0-9_-]*/experiment\.yaml")


def _merge_state(repo: git.Repo, change: Change, theirs: str, commit: str) -> str | None:
    """The blob of a field-by-field merge of a maia state file, or None if it cannot merge."""
    from maia_git.errors import MaiaError as _Error
    from maia_git.storage import yamlio

    queue_file = _QUEUE_FILE.fullmatch(change.path)
    if not (queue_file or _EXPERIMENT_FILE.fullmatch(change.path)):
        return None
    if ZERO in (change.old, change.new, theirs):
        return None
    try:
        base, mine, other = (
            yamlio.loads(read_blob(repo, blob), change.path).data
            for blob in (change.old, change.new, theirs)
        )
    except _Error:
        return None
    if not all(isinstance(d, dict) for d in (base, mine, other)):
        return None
    if queue_file:
        arrow = _transition_of(repo, commit, queue_file.group(1))
        if arrow and other.get("status") != arrow.split("->")[0]:
            return None  # the transition is no longer legal on the remote's state
    merged = {}
    for key in [*mine, *(k for k in other if k not in mine)]:
        b, m, t = base.get(key, _ABSENT), mine.get(key, _ABSENT), other.get(key, _ABSENT)
        if m == t or t == b:
            value = m
        elif m == b:
            value = t
        else:
            return None  # both sides changed this field, differently
        if value is not _ABSENT:
            merged[key] = value
    data = yamlio.dumps(merged)
    return git.run(repo, "hash-object", "-w", "--stdin", stdin=data).strip()


_ABSENT = object()


def _transition_of(repo: git.Repo, commit: str, exp_id: str) -> str | None:
    """The ``Maia-Transition`` the commit's trailers pair with ``Maia-Experiment: exp_id``."""
    from maia_git.core.messages import trailers

    pairs = trailers(git.run(repo, "show", "-s", "--format=%B", commit))
    for (key, value), (next_key, arrow) in itertools.pairwise(pairs):
        if key == "Maia-Experiment" and value == exp_id and next_key == "Maia-Transition":
            return arrow
    return None
