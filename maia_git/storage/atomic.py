"""Atomic file replacement: a reader sees the old file or the new one, never a mix."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from maia_git.core.escape import reason
from maia_git.errors import MaiaError


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, and ``os.replace`` it in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise MaiaError(f"cannot write {path}: {reason(err)}") from None


def check_inside(top: Path, rel: str) -> None:
    """Refuse a path whose folders inside the repository are symlinks or not folders.

    A symlinked ``queue/`` or ``interactions/`` would send maia's writes outside the repository.
    """
    from maia_git.errors import StateFileError

    here = top
    parts = rel.split("/")
    for i, part in enumerate(parts):
        here = here / part
        last = i == len(parts) - 1
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise StateFileError(
                f"{'/'.join(parts[: i + 1])}:1:1: is a symlink; maia refuses to write through it"
            )
        if not last and not stat.S_ISDIR(mode):
            raise StateFileError(f"{'/'.join(parts[: i + 1])}:1:1: is not a folder")
        if last and stat.S_ISDIR(mode):
            raise StateFileError(f"{rel}:1:1: is a folder, not a file")
