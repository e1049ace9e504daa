"""Doctor's checks of the append-only files: interaction logs and score files.

A line that breaks the schema is never counted by the analysis; doctor names each one by file and
line so that the writer can be fixed. These files are never rewritten by maia, so there is no
automatic repair: the fix is the user's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia_git.core.ids import is_valid_id
from maia_git.storage import git
from maia_git.usecases.doctor_model import Problem, Scan

SHOWN = 20  # problems listed per kind of file; the rest are counted


def interaction_logs(scan: Scan) -> list[Problem]:
    """Every log line follows the schema and every shard belongs to a known experiment."""
    from maia_git.usecases.analysis import arms_stats
    from maia_git.workspace import Workspace

    folder = scan.top / "experiments"
    if not folder.is_dir() or scan.settings is None:
        return []
    ws = Workspace(git.Repo(scan.top, scan.git_dir))
    found: list[Problem] = []
    hidden = 0
    for exp_dir in sorted(p for p in folder.iterdir() if (p / "interactions").is_dir()):
        exp_id = exp_dir.name
        if not is_valid_id(exp_id) or exp_id not in scan.queued:
            found.append(
                Problem(
                    "logs",
                    f"experiments/{exp_id}/interactions",
                    (f"interaction logs for {exp_id!r}, which has no queue entry"),
                    "remove the folder, or create the experiment it belongs to",
                )
            )
            continue
        found += _odd_shard_names(exp_id, exp_dir)
        _, logs = arms_stats(ws, exp_id)
        for p in logs.problems[: max(0, SHOWN - len(found))]:
            found.append(_unread(p) if p.line == 0 else _bad_line(p))
        hidden += logs.invalid_lines - min(len(logs.problems), SHOWN)
    if hidden > 0:
        found.append(
            Problem(
                "logs",
                "experiments",
                f"{hidden} more invalid log line(s)",
                "`maia exp analyze ID --json` lists them per experiment",
            )
        )
    return found


def _bad_line(p: Any) -> Problem:
    return Problem(
        "logs",
        f"{p.file}:{p.line}",
        f"log line breaks the schema and is not counted: {p.error}",
        "fix the writer; correct or delete the line by hand",
    )


def _unread(p: Any) -> Problem:
    """A whole file or folder that is not read: a link (never followed), not a regular file."""
    return Problem(
        "logs",
        p.file,
        f"its interaction logs are not read ({p.error})",
        "put the log files themselves in the repository: links are never followed",
    )


def _odd_shard_names(exp_id: str, exp_dir: Path) -> list[Problem]:
    """Files under ``interactions/`` that are not read: neither segments nor ``*.jsonl``.

    A file another program is still writing has another name until it is complete, so this is
    a note, not an error, until it is renamed.
    """
    folder = exp_dir / "interactions"
    if folder.is_symlink():
        return []  # not read at all: interaction_logs reports the link
    odd = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not p.is_dir() and not p.name.endswith(".jsonl") and not p.name.startswith(".")
    )[:SHOWN]
    return [
        Problem(
            "logs",
            f"experiments/{exp_id}/interactions/{name}",
            "not a log segment (`*.jsonl`); it is not read",
            "rename it to end in .jsonl once it is complete, or remove it",
        )
        for name in odd
    ]


def changed_segments(scan: Scan) -> list[Problem]:
    """Committed segments (and score files) whose working-tree content is no longer committed.

    A sealed segment never changes. A shard from before segments that only has lines appended
    is moved into a new segment by the next ``maia sync``; any other change is the user's.
    """
    repo = git.Repo(scan.top, scan.git_dir)
    if not git.has_commits(repo):
        return []
    out = git.run(
        repo, "diff", "--name-only", "-z", "HEAD", "--", "experiments", "scores", check=False
    )
    found = []
    for rel in filter(None, out.split("\0")):
        parts = rel.split("/")
        if parts[0] == "experiments" and parts[2:] == ["exported.json"]:
            found.append(_changed_manifest(rel))
            continue
        is_log = parts[0] == "experiments" and len(parts) >= 4 and parts[2] == "interactions"
        if not rel.endswith(".jsonl") or not (is_log or parts[0] == "scores"):
            continue
        appended = _only_appended(repo, rel)
        found.append(
            Problem(
                "logs" if is_log else "scores",
                rel,
                "lines were appended to a committed log file"
                if appended
                else "a committed log file was changed or deleted; sealed files never change",
                "run `maia sync`: it moves the new lines into a new segment"
                if appended
                else f"put it back with `git checkout HEAD -- {rel}`",
            )
        )
    return found


def _changed_manifest(rel: str) -> Problem:
    """Without its committed manifest an analysis no longer reads the exported logs (or
    reads other files): it counts fewer lines, or other ones, without an error."""
    return Problem(
        "logs",
        rel,
        "the committed record of exported logs was changed or deleted; the analysis reads "
        "the Parquet files it lists",
        f"put it back with `git checkout HEAD -- {rel}`",
    )


def _only_appended(repo: git.Repo, rel: str) -> bool:
    path = repo.top / rel
    if not path.is_file():
        return False
    committed = git.run(repo, "cat-file", "blob", f"HEAD:{rel}", check=False).encode("utf-8")
    with open(path, "rb") as handle:
        return handle.read(len(committed)) == committed and path.stat().st_size > len(committed)


def score_files(scan: Scan) -> list[Problem]:
    """Every score line is a valid score record."""
    from maia_git.storage.scores import read_scores

    loaded = read_scores(
        git.Repo(scan.top, scan.git_dir),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(9999, 1, 1, tzinfo=UTC),
    )
    found = []
    for text in loaded.problems[:SHOWN]:
        where, _, why = text.partition(": ")
        found.append(
            Problem(
                "scores",
                where,
                f"score line is not counted: {why}",
                "correct or delete the line by hand",
            )
        )
    if len(loaded.problems) > SHOWN:
        found.append(
            Problem(
                "scores",
                "scores",
                f"{len(loaded.problems) - SHOWN} more invalid score line(s)",
                "fix them like the ones above",
            )
        )
    return found


# A user id that looks like an e-mail address: `"user_id": "name@domain.tld"` in a log line.
_EMAIL_ID = re.compile(rb'"user_id"\s*:\s*"[^"\\@\s]+@[^"\\@\s]+\.[A-Za-z]{2,}"')


def user_ids_pseudonymous(scan: Scan) -> list[Problem]:
    """No log holds user ids that look like e-mail addresses: logs are pushed and immutable."""
    from maia_git.storage.segments import log_files

    repo = git.Repo(scan.top, scan.git_dir)
    found: list[Problem] = []
    for exp_id in sorted(i for i in scan.queued if is_valid_id(i)):
        found += _email_ids(repo, log_files(repo, exp_id).files)
    return found


def _email_ids(repo: git.Repo, files: list[str]) -> list[Problem]:
    from maia_git.storage.segments import shown

    found: list[Problem] = []
    for rel in files:  # segments are repo-relative, unsynced records absolute
        try:
            data = (repo.top / rel).read_bytes()
        except OSError:
            continue  # interaction_logs reports what cannot be read
        hits = list(_EMAIL_ID.finditer(data))
        if hits:
            line = data.count(b"\n", 0, hits[0].start()) + 1
            found.append(
                Problem(
                    "privacy",
                    f"{shown(repo, rel)}:{line}",
                    f"{len(hits)} log line(s) have user ids that look like e-mail addresses",
                    "log a pseudonymous id instead (maia_git.pseudonymous_id, see "
                    "docs/privacy.md); committed lines can only be erased by rewriting history",
                )
            )
    return found
