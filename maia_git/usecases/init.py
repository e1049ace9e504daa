"""``maia init``: make the current git repository a workspace, in one commit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from maia_git.core.settings import COMMENTS, Settings
from maia_git.errors import StateFileError
from maia_git.storage import git, schemas
from maia_git.storage.atomic import check_inside
from maia_git.storage.state import SETTINGS_FILE
from maia_git.workspace import Workspace

GITATTRIBUTES = (
    "# maia: interaction logs and scores are append-only, one shard per writer; a union merge\n"
    "# keeps both sides' lines, so shards never conflict.\n"
    "experiments/*/interactions/*.jsonl merge=union\n"
    "scores/**/*.jsonl merge=union\n"
)
WORKFLOW = ".github/workflows/maia-analyze.yml"
KEEP = ("agents/.gitkeep", "experiments/.gitkeep", "queue/.gitkeep", "scores/.gitkeep")


@dataclass
class InitResult:
    top: str
    written: list[str] = field(default_factory=list)


def settings_text() -> bytes:
    lines = [
        schemas.MODELINE.rstrip("\n"),  # editors check the file against the schema
        "# maia-git settings. Every setting is written out with its default.",
        "",
    ]
    for key, value in Settings().to_dict().items():
        if key in ("rubric", "logs"):
            continue
        lines.append(f"# {COMMENTS[key]}")
        shown = '""' if value == "" else str(value).lower() if isinstance(value, bool) else value
        lines.append(f"{key}: {shown}")
    lines += [
        "",
        "# The scoring rubric: leave out for the default (see docs/scoring.md).",
        "# rubric:",
        "#   task_completion: 40",
        "",
        "# Where interaction logs are read from: git (the default), parquet or sql",
        "# (see docs/warehouse.md).",
        "# logs:",
        "#   source: git",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def workflow_text(branch: str | None = None) -> bytes:
    """The analysis workflow, triggered by pushes to ``branch`` (the one checked out)."""
    text = resources.files("maia_git").joinpath("templates/maia-analyze.yml").read_bytes()
    if branch and branch != "main":
        text = text.replace(b"branches: [main]", f"branches: [{json.dumps(branch)}]".encode())
    return text


def init(ws: Workspace, github: bool = False, dry_run: bool = False) -> InitResult:
    with ws.transaction() as tx:
        wanted: dict[str, bytes] = {SETTINGS_FILE: settings_text()}
        for keep in KEEP:
            wanted[keep] = b""
        wanted[".gitattributes"] = _gitattributes(ws)
        for name in schemas.NAMES:
            wanted[schemas.rel(name)] = schemas.shipped_bytes(name)
        settings = ws.top / SETTINGS_FILE
        add_line = settings.is_file() and not _has_modeline(settings.read_bytes())
        if add_line:  # only the schema line is added: the settings are the user's
            wanted[SETTINGS_FILE] = schemas.MODELINE.encode() + settings.read_bytes()
        if github:
            wanted[WORKFLOW] = workflow_text(ws.repo.branch())
        result = InitResult(str(ws.top))
        tracked = _tracked(ws, list(wanted))
        for rel, data in wanted.items():
            path = ws.top / rel
            check_inside(ws.top, rel)  # a folder or symlink where a file goes is refused
            if (
                rel in (SETTINGS_FILE, WORKFLOW)
                and path.exists()
                and not (rel == SETTINGS_FILE and add_line)
            ):
                continue  # the user's settings and workflow are theirs: init only adds
            if rel in KEEP and any(p.name != ".gitkeep" for p in path.parent.glob("*")):
                continue
            if not path.exists() or path.read_bytes() != data or rel not in tracked:
                tx.write(rel, data)
                result.written.append(rel)
        if result.written and not dry_run:
            tx.commit("maia: init workspace\n\nMaia-Init: " + ", ".join(result.written) + "\n")
        elif dry_run:
            tx.files.clear()
    return result


def _has_modeline(data: bytes) -> bool:
    return b"yaml-language-server:" in data.split(b"\n", 1)[0]


def _gitattributes(ws: Workspace) -> bytes:
    path = ws.top / ".gitattributes"
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
    except UnicodeDecodeError:
        raise StateFileError(".gitattributes:1:1: not valid UTF-8; fix or remove it") from None
    except IsADirectoryError:
        raise StateFileError(".gitattributes:1:1: is a folder, not a file") from None
    missing = [
        ln
        for ln in GITATTRIBUTES.splitlines()
        if ln and not ln.startswith("#") and ln not in current.splitlines()
    ]
    if not missing:
        return current.encode("utf-8")
    sep = "" if not current or current.endswith("\n") else "\n"
    return (current + sep + GITATTRIBUTES).encode("utf-8")


def _tracked(ws: Workspace, paths: list[str]) -> set[str]:
    """Which of ``paths`` git tracks (one ls-files for all of them)."""
    return set(filter(None, git.run(ws.repo, "ls-files", "-z", "--", *paths).split("\0")))
