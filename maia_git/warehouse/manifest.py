"""The committed record of an experiment's exported segments: ``experiments/<id>/exported.json``.

    {"version": 1, "root": "<folder, or s3://bucket/prefix>",
     "files": [{"segment": "experiments/<id>/interactions/...jsonl", "blob": "<git blob id>",
                "parquet": "experiment=<id>/date=<day>/<name>.parquet", "rows": 123,
                "bytes": 4567, "sha256": "<hex>"}, ...],
     "unique_ids": "<hex>"}

The segment's blob id says which committed bytes were exported; the Parquet file's SHA-256 and
size let every later analysis check it reads exactly what was exported, so an analysis of
exported logs is as reproducible as one of logs in git.

``unique_ids``, when present, says that export found no interaction id on two rows of the
listed files; it holds ``file_set`` of the files it was checked over, so it speaks for exactly
those files: a manifest whose list changed any other way (two exports merged by hand, say) no
longer matches, and the analysis groups every id again. With it, an analysis groups only the ids
of the rows still in git, the only ones a repeat can involve.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maia_git.errors import MaiaError, StateFileError, UsageError
from maia_git.warehouse import objstore
from maia_git.warehouse.parquet import file_sha256

VERSION = 1


def rel(exp_id: str) -> str:
    return f"experiments/{exp_id}/exported.json"


def exists(top: Path, exp_id: str) -> bool:
    return (top / rel(exp_id)).is_file()


def empty(root: str) -> dict[str, Any]:
    return {"version": VERSION, "root": root, "files": []}


def load(top: Path, exp_id: str) -> dict[str, Any]:
    path = top / rel(exp_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return empty("")
    except json.JSONDecodeError as err:  # where the JSON breaks, as every state file says
        raise StateFileError(
            f"{rel(exp_id)}:{err.lineno}:{err.colno}: not a readable manifest ({err.msg})"
        ) from None
    except (OSError, ValueError) as err:
        raise StateFileError(f"{rel(exp_id)}:1:1: not a readable manifest ({err})") from None
    if not _valid(data):
        raise StateFileError(f"{rel(exp_id)}:1:1: not a maia export manifest (version {VERSION})")
    _check_root(exp_id, data["root"])
    return data  # type: ignore[no-any-return]


def _check_root(exp_id: str, root: str) -> None:
    """A URL root that does not parse was not written by maia: the manifest is invalid (exit
    3, naming it), not the command's input."""
    if objstore.is_url(root):
        try:
            objstore.parse(root)
        except UsageError as err:
            raise StateFileError(f"{rel(exp_id)}:1:1: root {err}") from None


def _valid(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return False
    files = data.get("files")
    keys = {"segment": str, "blob": str, "parquet": str, "rows": int, "bytes": int, "sha256": str}
    return (
        isinstance(data.get("root"), str)
        and isinstance(data.get("unique_ids", ""), str)
        and isinstance(files, list)
        and all(
            isinstance(f, dict) and all(isinstance(f.get(k), t) for k, t in keys.items())
            for f in files
        )
    )


def file_set(entries: list[dict[str, Any]]) -> str:
    """A digest of which files (by content) a list names, in any order."""
    digest = hashlib.sha256()
    for sha in sorted(entry["sha256"] for entry in entries):
        digest.update(sha.encode("ascii") + b"\n")
    return digest.hexdigest()


def not_exported(
    data: dict[str, Any], rels: list[str], blob_ids: Callable[[list[str]], Mapping[str, str]]
) -> list[str]:
    """``rels`` without the segments the manifest lists. A file at a listed path is that
    segment only if it is the listed blob (``blob_ids`` of the files at listed paths): a writer
    may have reused the name for new lines."""
    done = {(entry["segment"], entry["blob"]) for entry in data["files"]}
    listed = {segment for segment, _ in done}
    again = [rel for rel in rels if rel in listed]
    blobs = blob_ids(again) if again else {}
    return [rel for rel in rels if (rel, blobs.get(rel)) not in done]


def ids_unique(data: dict[str, Any]) -> bool:
    """True when export found no interaction id on two rows of exactly the listed files."""
    return bool(data["files"]) and data.get("unique_ids") == file_set(data["files"])


def dumps(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


def root_path(top: Path, root: str) -> str:
    """The root as a path or URL (relative roots are the repository's)."""
    return objstore.parse(root).url if objstore.is_url(root) else str((top / root).resolve())


@contextmanager
def verified_files(
    top: Path, data: dict[str, Any], have: Mapping[str, Path] | None = None
) -> Iterator[list[str]]:
    """Every exported file as a local path for the engine, each checked against its recorded
    size and hash first (a missing or changed file: MaiaError, exit 1).

    Files in a bucket are downloaded once, hashed as they arrive, into a private temporary
    folder that the engine then reads, removed afterwards: what is analysed is exactly what was
    checked, and each object crosses the network once. ``have``: files of this export still at
    hand, already hashed as they were written, by their ``parquet`` name."""
    root = root_path(top, data["root"])
    if not objstore.is_url(root):
        yield [_checked_local(f"{root.rstrip('/')}/{entry['parquet']}", entry)
               for entry in data["files"]]  # fmt: skip
        return
    where = objstore.parse(root)
    with tempfile.TemporaryDirectory(prefix="maia-exported-") as tmp:
        yield _fetched(where, data["files"], Path(tmp), have or {})


def _checked_local(where: str, entry: dict[str, Any]) -> str:
    path = Path(where)
    if not path.is_file():
        raise MaiaError(f"exported logs missing: {where} (listed in the manifest)")
    if path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
        raise MaiaError(f"exported logs changed since export: {where}")
    return where


def _fetched(
    where: objstore.Location, entries: list[dict[str, Any]], tmp: Path, have: Mapping[str, Path]
) -> list[str]:
    fs = None
    found: list[str] = []
    for i, entry in enumerate(entries):
        if entry["parquet"] in have:
            found.append(str(have[entry["parquet"]]))
            continue
        if fs is None:
            fs = objstore.filesystem()
            objstore.check_bucket(fs, where)
        local = tmp / f"{i}.parquet"
        got = objstore.fetch(fs, where, entry["parquet"], local, limit=entry["bytes"])
        if got != (entry["bytes"], entry["sha256"]):
            raise MaiaError(f"exported logs changed since export: {where.url_of(entry['parquet'])}")
        found.append(str(local))
    return found
