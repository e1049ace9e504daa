"""The documentation speaks only of what is in the repository: no file that is not there, no
document that is not shipped, no tracker numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TOP = Path(__file__).parent.parent
DOCS = [TOP / "README.md", TOP / "bench" / "README.md", *sorted((TOP / "docs").glob("*.md"))]
ABSENT = re.compile(
    r"DESIGN\.md|NOTES\.md|STYLE\.md|Phase 4|phase4|\bissue \d+|\bissues? #\d+", re.I
)
# A path of this repository in backticks: it must exist.
REPO_PATH = re.compile(r"`((?:docs|maia_git|tests|bench|scripts|\.github)/[\w./-]+)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(TOP).as_posix())
def test_docs_name_nothing_that_is_not_in_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not ABSENT.findall(text), ABSENT.findall(text)
    missing = [p for p in REPO_PATH.findall(text) if not (TOP / p).exists()]
    assert not missing, missing
