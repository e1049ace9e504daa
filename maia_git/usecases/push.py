"""Pushing the current branch, safe by construction: never a rebase, a merge or a detached HEAD.

Inside the workspace lock: fetch the remote branch; if it moved on, rebuild this branch's own
commits on top of it with plumbing (``storage.replay``: a private index, nothing checked out);
push that commit; only then move the local branch to it with a compare-and-swap and bring the
changed files along (``storage.advance``). A kill at any point leaves the branch at its old commit
or at the new one, and the next sync converges. A path both sides changed differently stops the
push with one line naming the experiment; a concurrent push is retried with backoff.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from maia_git import crash
from maia_git.errors import MaiaError
from maia_git.storage import advance, git, replay
from maia_git.workspace import Workspace

ATTEMPTS = 8
_RETRY = (
    "fetch first",
    "non-fast-forward",
    "stale info",
    "cannot lock ref",
    "failed to lock",
    "failed to update ref",
    "incorrect old value",
)


class DivergedError(MaiaError):
    """This branch and the remote's changed the same file differently."""


@dataclass(frozen=True)
class Plan:
    local: str
    tip: str | None  # the remote branch, None if it does not exist yet
    new: str  # what to push: local, or local's commits rebuilt on tip


def _target(ws: Workspace) -> tuple[str, str]:
    branch = ws.repo.branch()
    if branch is None:
        raise MaiaError("HEAD is detached; cannot push")
    return ws.settings.remote, branch


def fetch(ws: Workspace, remote: str, branch: str) -> str | None:
    """The remote branch's commit, fetched into ``refs/remotes/<remote>/<branch>``."""
    spec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    code, _, err = git.attempt(ws.repo, "fetch", "--no-tags", "-q", remote, spec)
    if code != 0:
        if "couldn't find remote ref" in err:
            return None
        raise MaiaError(f"push to {remote} failed: {git.complaint(['fetch'], err)}")
    crash.point("after_fetch")
    return replay.rev(ws.repo, f"refs/remotes/{remote}/{branch}")


def plan(ws: Workspace, remote: str, branch: str) -> Plan:
    """What to push; raises MaiaError (one line) when local and remote diverged."""
    local = replay.rev(ws.repo, "HEAD")
    if local is None:
        raise MaiaError("nothing to push: the branch has no commit yet")
    tip = fetch(ws, remote, branch)
    if tip is None or replay.is_ancestor(ws.repo, tip, local):
        return Plan(local, tip, local)
    base = git.run(ws.repo, "merge-base", local, tip, check=False).strip()
    if not base:
        raise MaiaError(f"{remote}/{branch} shares no history with {branch}; nothing was pushed")
    try:
        return Plan(local, tip, replay.onto(ws.repo, base, local, tip))
    except replay.Diverged as err:
        raise DivergedError(_diverged(err, remote)) from None


def _diverged(err: replay.Diverged, remote: str) -> str:
    parts = err.path.split("/")
    exp = None
    if parts[0] == "queue" and len(parts) == 2:
        exp = parts[1].removesuffix(".yaml")
    elif parts[0] == "experiments" and len(parts) > 2:
        exp = parts[1]
    what = f"{exp}: " if exp else ""
    here = f" ({err.transition} here)" if err.transition else ""
    return (
        f"{what}{err.path} changed differently on {remote} and here{here}, in commit "
        f"{err.commit[:10]}; nothing was pushed or changed: bring the two together with git "
        "(or undo one side), then `maia sync --push` again"
    )


def check(ws: Workspace) -> None:
    """Stop before anything changes if the push would find the branches diverged.

    Any other trouble (no remote, no network) is left for ``push`` to report after the sync.
    """
    remote, branch = _target(ws)
    try:
        plan(ws, remote, branch)
    except DivergedError:
        raise
    except MaiaError:
        pass


def push(ws: Workspace) -> int:
    """Push the branch (inside the caller's transaction); returns the attempts it took."""
    remote, branch = _target(ws)
    for attempt in range(1, ATTEMPTS + 1):
        planned = plan(ws, remote, branch)
        crash.point("after_replay")
        if planned.new != planned.local:
            reason = advance.can_advance(ws.repo, planned.local, planned.new)
            if reason is not None:
                raise MaiaError(
                    f"{remote} changed files that have uncommitted changes here ({reason}); "
                    "commit or stash them, then `maia sync --push` again"
                )
        if planned.new != planned.tip:
            code, out, err = git.attempt(
                ws.repo, "push", "--porcelain", remote, f"{planned.new}:refs/heads/{branch}"
            )
            if code != 0:
                if attempt < ATTEMPTS and _retryable(out, err):
                    time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
                    continue
                raise MaiaError(f"push to {remote} failed: {rejection(out, err)}")
            crash.point("after_push")
        if planned.new != planned.local:
            advance.advance(ws.repo, branch, planned.local, planned.new)
        return attempt
    raise MaiaError(f"push to {remote} failed after {ATTEMPTS} attempts")  # pragma: no cover


def _retryable(out: str, err: str) -> bool:
    rejected = [ln for ln in out.splitlines() if ln.startswith("!")]
    text = " ".join(rejected) + " " + err
    return any(word in text for word in _RETRY)


def rejection(out: str, err: str) -> str:
    """The remote's own reason: the rejected ref's summary and the remote's messages."""
    rejected = [ln.split("\t") for ln in out.splitlines() if ln.startswith("!")]
    reasons = [fields[2].strip() for fields in rejected if len(fields) > 2]
    said = [ln[len("remote:") :].strip() for ln in err.splitlines() if ln.startswith("remote:")]
    said = [s for s in said if s]
    text = "; ".join(reasons + said)
    return text or git.complaint(["push"], err, out)
