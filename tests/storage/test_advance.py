"""Finishing a branch move that a kill interrupted inside ``git read-tree``: some files already
hold the new commit's content while the index still has the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.errors import MaiaError
from maia_git.storage import advance
from maia_git.storage.git import find_repo
from tests.conftest import git


def _two_commits(top: Path) -> tuple[str, str]:
    """OLD (a, b, gone) and NEW (a and b changed, gone deleted, c added); HEAD back at OLD."""
    for name in ("a.txt", "b.txt", "gone.txt"):
        (top / name).write_text(f"old {name}\n")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "old")
    old = git(top, "rev-parse", "HEAD").strip()
    for name in ("a.txt", "b.txt"):
        (top / name).write_text(f"new {name}\n")
    (top / "c.txt").write_text("new c\n")
    git(top, "rm", "-q", "gone.txt")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "new")
    new = git(top, "rev-parse", "HEAD").strip()
    git(top, "reset", "-q", "--hard", old)
    return old, new


def _journal(top: Path, old: str, new: str) -> None:
    branch = git(top, "symbolic-ref", "--short", "HEAD").strip()
    record = {"branch": branch, "old": old, "new": new}
    (top / ".git" / "maia").mkdir(exist_ok=True)
    (top / ".git" / advance.JOURNAL).write_text(json.dumps(record))


def test_a_move_killed_part_way_through_the_files_is_finished(repo: Path) -> None:
    old, new = _two_commits(repo)
    # read-tree had written a.txt and c.txt and removed gone.txt, then the process died
    (repo / "a.txt").write_text("new a.txt\n")
    (repo / "c.txt").write_text("new c\n")
    (repo / "gone.txt").unlink()
    _journal(repo, old, new)

    assert advance.recover(find_repo(repo)) is True

    assert git(repo, "rev-parse", "HEAD").strip() == new
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "b.txt").read_text() == "new b.txt\n"
    assert not (repo / advance.JOURNAL).exists()


def test_a_file_changed_by_the_user_since_stops_the_move_and_keeps_it(repo: Path) -> None:
    old, new = _two_commits(repo)
    (repo / "a.txt").write_text("the user's own edit\n")
    (repo / "c.txt").write_text("new c\n")
    _journal(repo, old, new)

    with pytest.raises(MaiaError, match="changed since"):
        advance.recover(find_repo(repo))

    assert git(repo, "rev-parse", "HEAD").strip() == old
    assert (repo / "a.txt").read_text() == "the user's own edit\n"
