"""``maia logs export``: committed log segments to Parquet, a manifest in their place.

In one transaction: each committed, unmodified segment of the experiment is written as one
zstd Parquet file under ``<root>/experiment=<id>/date=<day>/``, the manifest
(``warehouse.manifest``) gains its entry, and the segment leaves the working tree; one commit
records both. The Parquet files are written (and hashed) before anything is committed, so a
failure leaves the segments where they were. The root is a folder or ``s3://bucket/prefix``
(written in a temporary folder, then uploaded). Git history still holds the exported segments:
docs/warehouse.md says how to shrink a repository that must lose them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maia_git.core.escape import reason
from maia_git.core.ids import check_id
from maia_git.errors import MaiaError, UnknownExperiment, UsageError
from maia_git.storage import git, segments, state
from maia_git.usecases.pins import pinned_blobs
from maia_git.warehouse import manifest, objstore
from maia_git.warehouse.parquet import Written, ids_repeat, write_segment
from maia_git.workspace import Workspace

_DAY = re.compile(r"/(\d{4}-\d{2}-\d{2})/")


@dataclass
class Exported:
    exp_id: str
    segments: list[str] = field(default_factory=list)
    rows: int = 0
    skipped: list[str] = field(default_factory=list)  # not committed, or changed since

    def to_dict(self) -> dict[str, object]:
        return {"experiment": self.exp_id, "segments": self.segments, "rows": self.rows,
                "skipped": self.skipped}  # fmt: skip


def export_logs(
    ws: Workspace, exp_ids: list[str], root: str | None, *, dry_run: bool = False,
    now: datetime | None = None,
) -> list[Exported]:  # fmt: skip
    """Export every committed segment of ``exp_ids`` (all experiments when empty) to ``root``
    (a folder or ``s3://bucket/prefix``; default: the parquet path of maia.yaml's ``logs``
    setting)."""
    today = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    with ws.transaction() as tx:
        target = root or _configured_root(ws)
        if objstore.is_url(target):
            objstore.parse(target)  # a bad URL is refused before anything, a dry run too
        ids = list(dict.fromkeys(check_id(i) for i in exp_ids)) or _all_with_logs(ws.top)
        for exp_id in ids:
            if not state.has_experiment(ws.top, exp_id):
                raise UnknownExperiment(exp_id)
        results = [_plan(ws, exp_id) for exp_id in ids]
        if dry_run or not any(r.segments for r in results):
            return results
        for result in results:
            _export_one(ws, tx, result, target, today)
        names = ", ".join(r.exp_id for r in results if r.segments)
        total = sum(len(r.segments) for r in results)
        trailers = "".join(f"\nMaia-Experiment: {r.exp_id}" for r in results if r.segments)
        tx.commit(f"Export {total} log segment(s) of {names} to Parquet\n{trailers}\n")
    return results


def _configured_root(ws: Workspace) -> str:
    logs = ws.settings.logs or {}
    path = logs.get("path") if logs.get("source") == "parquet" else None
    if not isinstance(path, str):
        raise UsageError(
            "say where to export: --to FOLDER or s3://BUCKET/PREFIX, or a parquet source in "
            "maia.yaml"
        )
    return path


def _all_with_logs(top: Path) -> list[str]:
    return sorted(p.name for p in (top / "experiments").glob("*") if _segments(top, p.name))


def _segments(top: Path, exp_id: str) -> list[str]:
    """Sealed segments in the working tree (records not yet synced are not exported)."""
    return segments.segment_files(top, state.interactions_rel(exp_id)).files


def _plan(ws: Workspace, exp_id: str) -> Exported:
    """The segments to export: tracked, committed and unchanged since (the rest are skipped)."""
    result = Exported(exp_id)
    folder = state.interactions_rel(exp_id)
    dirty = set(git.run(ws.repo, "ls-files", "-m", "-o", "-z", "--", folder).split("\0"))
    # Staged but not committed (new, or changed since): the index is not a commit.
    dirty |= set(git.run(ws.repo, "diff", "--cached", "--name-only", "-z", "HEAD", "--",
                         folder).split("\0"))  # fmt: skip
    tracked = set(git.run(ws.repo, "ls-files", "-z", "--", folder).split("\0"))
    committed = tracked - dirty
    exported = manifest.load(ws.top, exp_id)

    def committed_blobs(again: list[str]) -> dict[str, str]:
        """Only a committed file has a blob to compare (the others are skipped below)."""
        ours = [rel for rel in again if rel in committed]
        return _blob_ids(ws, ours) if ours else {}  # no paths: ls-files would list them all

    rels = manifest.not_exported(exported, _segments(ws.top, exp_id), committed_blobs)
    for rel in rels:
        (result.segments if rel in committed else result.skipped).append(rel)
    return result


def _export_one(ws: Workspace, tx: object, result: Exported, root: str, today: str) -> None:
    data = manifest.load(ws.top, result.exp_id)
    if objstore.is_url(root):
        root = objstore.parse(root).url
    if data["files"] and data["root"] != root:
        raise UsageError(
            f"{result.exp_id} was exported to {data['root']}; export it there again (--to)"
        )
    data["root"] = root
    base = manifest.root_path(ws.top, root)
    with _target(base) as (folder, upload):
        blobs = _blob_ids(ws, result.segments)
        pinned = pinned_blobs(ws.repo, result.exp_id)
        written_here: dict[str, Path] = {}
        used = {entry["parquet"] for entry in data["files"]}
        for rel in result.segments:
            day = _DAY.search(rel)
            name = rel.split("/interactions/", 1)[1].removesuffix(".jsonl").replace("/", "__")
            part = f"experiment={result.exp_id}/date={day[1] if day else today}/{name}.parquet"
            if part in used:  # never over a file the manifest lists
                part = part.removesuffix(".parquet") + f"-{blobs[rel][:12]}.parquet"
            used.add(part)
            written = _written(ws.top / rel, rel, folder / part, pinned)
            if upload is not None:
                upload(folder / part, part)
                written_here[part] = folder / part
            data["files"].append({"segment": rel, "blob": blobs[rel], "parquet": part,
                                  "rows": written.rows, "bytes": written.size,
                                  "sha256": written.sha256})  # fmt: skip
            result.rows += written.rows
            tx.delete(rel)  # type: ignore[attr-defined]
        _note_unique_ids(ws, data, written_here)
    tx.write(manifest.rel(result.exp_id), manifest.dumps(data))  # type: ignore[attr-defined]


def _written(segment: Path, rel: str, out: Path, pins: dict[str, str]) -> Written:
    try:
        return write_segment(segment, rel, out, pins)
    except OSError as err:
        where = err.filename or out
        raise MaiaError(f"cannot write the exported logs: {where}: {reason(err)}") from None


@contextmanager
def _target(base: str) -> Iterator[tuple[Path, Callable[[Path, str], None] | None]]:
    """Where the Parquet files are written, and for a bucket how each is then uploaded.

    A bucket's files are written (and hashed) in a temporary folder and uploaded one by one;
    the bucket is checked first, so a missing bucket, a refused key or an unreachable endpoint
    stops the export before any file is written. An upload replaces an object whole or not at
    all; one that fails stops the export with nothing committed (files uploaded before it are
    listed by no manifest, and the next export writes them again)."""
    if not objstore.is_url(base):
        yield Path(base), None
        return
    where = objstore.parse(base)
    fs = objstore.filesystem()
    objstore.check_bucket(fs, where)
    with tempfile.TemporaryDirectory(prefix="maia-export-") as tmp:
        yield Path(tmp), lambda local, part: objstore.upload(fs, local, where, part)


def _note_unique_ids(ws: Workspace, data: dict[str, Any], have: dict[str, Path]) -> None:
    """Check every listed file, old and new, for an interaction id on two rows; record the
    answer for exactly those files (``manifest.ids_unique``)."""
    data.pop("unique_ids", None)
    with manifest.verified_files(ws.top, data, have) as files:
        if not ids_repeat(files):
            data["unique_ids"] = manifest.file_set(data["files"])


def _blob_ids(ws: Workspace, rels: list[str]) -> dict[str, str]:
    out = git.run(ws.repo, "ls-files", "-s", "-z", "--", *rels)
    blobs = {}
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        blobs[path] = meta.split()[1]
    return blobs
