"""``maia sync``: seal the records not yet synced into new segments, commit them, and push.

With ``push``, the push (``usecases.push``) runs in the same lock, after a check that stops a
diverged sync before it changes anything.

Runtimes append to pending files in the git directory (``storage.segments``); sync seals them
into new segment files and commits those, under the lock, in one commit: a sync only ever adds
files, so the repository grows with the log, not its square. Files that other programs dropped
into ``interactions/`` as ``*.jsonl`` are committed as they are. Every step can be killed: the next
sync finishes or undoes it without losing or doubling a line (``storage.sealing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from maia_git.errors import MaiaError, PartialFailure
from maia_git.storage import git, sealing, segments
from maia_git.usecases import push as pushing
from maia_git.usecases.remote import require_remote
from maia_git.workspace import Transaction, Workspace


@dataclass
class SyncResult:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    pushed: bool = False
    attempts: int = 0
    message: str = ""
    migrated: list[str] = field(default_factory=list)  # shards from before segments


def _status(ws: Workspace) -> list[tuple[str, str]]:
    """``(status, path)`` of the files under experiments/ and scores/ that differ from HEAD."""
    out = git.run(
        ws.repo,
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        "--no-renames",
        "--",
        "experiments",
        "scores",
    )
    return [(item[:2], item[3:]) for item in filter(None, out.split("\0"))]


def _is_log_file(path: str) -> bool:
    """A log file under interactions/, or a month file of scores from before segments."""
    parts = path.split("/")
    is_log = len(parts) >= 4 and parts[0] == "experiments" and parts[2] == "interactions"
    is_score = len(parts) == 3 and _legacy_stream(path, "any") is not None
    return path.endswith(".jsonl") and (is_log or is_score)


def foreign_files(ws: Workspace) -> list[str]:
    """New ``*.jsonl`` files other programs completed under interactions/ (or scores/)."""
    return sorted(
        p
        for code, p in _status(ws)
        if code == "??" and _is_log_file(p) and not (ws.top / p).is_symlink()
    )


def _legacy_stream(path: str, writer: str) -> str | None:
    """The stream a shard from before segments continues in (None: not such a shard)."""
    parts = path.split("/")
    if len(parts) == 4 and parts[0] == "experiments":
        stream = segments.log_stream(parts[1], parts[3].removesuffix(".jsonl"))
    elif len(parts) == 3 and parts[0] == "scores":
        stream = segments.score_stream(parts[1], parts[2].removesuffix(".jsonl"), writer)
    else:
        return None
    return stream if segments.is_stream(stream) else None


def migrate_shards(ws: Workspace, writer: str) -> list[str]:
    """Move lines appended to committed shards from before segments into pending files."""
    moved = []
    for code, path in _status(ws):
        stream = _legacy_stream(path, writer)
        if code.strip() == "M" and stream and sealing.migrate(ws.repo, path, stream):
            moved.append(path)
    return moved


def preview(ws: Workspace) -> list[str]:
    """What a sync would commit: pending streams (by name) and new foreign files."""
    streams = sorted({s for s, p in segments.all_pending(ws.repo.git_dir) if p.stat().st_size})
    return [*streams, *foreign_files(ws)]


def sync(ws: Workspace, push: bool = False, dry_run: bool = False) -> SyncResult:
    from maia_git.usecases.recording import writer_name

    result = SyncResult()
    if push:  # the same refusal, before anything is committed, as `exp promote --push`
        require_remote(ws)
    with ws.transaction() as tx:
        sealing.recover(ws.repo)
        if dry_run:
            result.files = preview(ws)
            return result
        if push:
            pushing.check(ws)  # diverged: stop before anything changes
        result.migrated = migrate_shards(ws, writer_name())
        sealing.rotate(ws.repo.git_dir)
        _seal_and_commit(ws, tx, result)
        if push:
            try:
                result.attempts = pushing.push(ws)
            except MaiaError as err:
                if result.files:
                    done = [f"committed {result.lines} new line(s) in {len(result.files)} file(s)"]
                    raise PartialFailure(err, done, "maia sync --push") from None
                raise
            result.pushed = True
    return result


def _seal_and_commit(ws: Workspace, tx: Transaction, result: SyncResult) -> None:
    planned = sealing.plan(ws.repo, datetime.now(UTC))
    foreign = foreign_files(ws)
    result.files = sorted([*planned.rels, *foreign])
    result.lines = planned.lines + sum(_count_lines(ws, p) for p in foreign)
    if not result.files:
        sealing.finish(ws.repo.git_dir, planned)  # empty rotated files only
        return
    sealing.begin(ws.repo.git_dir, planned)
    try:
        sealing.write(ws.top, planned)
        tx.appended = result.files
        result.message = _message(result.files, result.lines)
        tx.commit(result.message)
    except BaseException:
        sealing.recover(ws.repo)  # the segments go; their records stay pending
        raise
    sealing.finish(ws.repo.git_dir, planned)


def _count_lines(ws: Workspace, rel: str) -> int:
    with open(ws.top / rel, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _message(files: list[str], lines: int) -> str:
    experiments = sorted({p.split("/")[1] for p in files if p.startswith("experiments/")})
    return (
        f"maia: sync {lines} line(s) in {len(files)} new file(s)\n\n"
        + "".join(f"Maia-Experiment: {e}\n" for e in experiments)
        + f"Maia-Sync: {len(files)} file(s)\n"
    )
