"""Moving the checked-out branch to a descendant commit, crash-safe, without a checkout.

``git read-tree -m -u OLD NEW`` updates the index and the working tree for exactly the paths
that differ between the two commits, and refuses (changing nothing) when the user has changes
in any of them; ``git update-ref`` then moves the branch only if it is still at OLD. A journal
(``.git/maia/advance.json``) written first lets the next maia command finish a move that a kill
interrupted, so HEAD, the index and the files never stay out of step.
"""

from __future__ import annotations

import json

from maia_git import crash
from maia_git.errors import MaiaError
from maia_git.storage import git
from maia_git.storage.atomic import write_atomic

JOURNAL = "maia/advance.json"


def can_advance(repo: git.Repo, old: str, new: str) -> str | None:
    """None if the working tree can follow from ``old`` to ``new``; else git's reason."""
    code, _, err = git.attempt(repo, "read-tree", "-m", "-u", "-n", old, new)
    return None if code == 0 else git.complaint(["read-tree"], err)


def advance(repo: git.Repo, branch: str, old: str, new: str) -> None:
    """Point ``branch`` (checked out, at ``old``) at ``new`` and bring the files along."""
    record = {"branch": branch, "old": old, "new": new}
    write_atomic(repo.git_dir / JOURNAL, json.dumps(record).encode("utf-8"))
    crash.point("after_advance_journal")
    git.run(repo, "read-tree", "-m", "-u", old, new)
    crash.point("after_read_tree")
    git.run(repo, "update-ref", "-m", "maia: sync --push", f"refs/heads/{branch}", new, old)
    crash.point("after_update_ref")
    (repo.git_dir / JOURNAL).unlink(missing_ok=True)


def recover(repo: git.Repo) -> bool:
    """Finish a move a kill interrupted; return True if there was one."""
    path = repo.git_dir / JOURNAL
    try:
        record = json.loads(path.read_bytes())
        branch, old, new = (str(record[k]) for k in ("branch", "old", "new"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return True
    ref = f"refs/heads/{branch}"
    at = git.run(repo, "rev-parse", "-q", "--verify", ref, check=False).strip()
    if at == old and repo.head_ref() == ref:
        if can_advance(repo, old, new) is None:
            git.run(repo, "read-tree", "-m", "-u", old, new)
        elif _only_ours(repo, old, new):
            # Killed inside read-tree: some files already hold NEW's content, the index OLD's.
            git.run(repo, "read-tree", "--reset", "-u", old, new)
        else:
            raise MaiaError(
                "a sync was interrupted while bringing in the remote's changes, and files it "
                "touches have been changed since; commit or stash them and run `maia sync` again"
            )
        git.run(repo, "update-ref", "-m", "maia: sync --push", ref, new, old)
    path.unlink(missing_ok=True)
    return True


def _only_ours(repo: git.Repo, old: str, new: str) -> bool:
    """Whether every path that differs between the commits holds the content of one of them."""
    raw = git.run(repo, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", old, new)
    fields = raw.split("\0")
    for meta, path in zip(fields[0:-1:2], fields[1::2], strict=True):
        # ":old-mode new-mode old-blob new-blob status": an all-zero id is "no file on that side"
        wanted = {None if set(sha) == {"0"} else sha for sha in meta.split()[2:4]}
        target = repo.top / path
        if not target.exists():
            if None not in wanted:
                return False
            continue
        here = git.attempt(repo, "hash-object", "--no-filters", "--", path)[1].strip()
        if here not in wanted:
            return False
    return True
