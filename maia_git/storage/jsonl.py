"""Append-only JSONL files: appending safely from many processes, and reading leniently.

Appending: each line is one ``os.write`` on a descriptor opened with ``O_APPEND``, so the kernel
places every write at the end of the file as one piece; lines from concurrent processes never tear
or interleave. Each write holds a shared ``flock`` on the file and first checks that the path still
names that file: ``maia sync`` renames a file of unsynced records away and then takes the lock
exclusively, after which no writer can add to the renamed file, so sealing it loses nothing
(``storage.segments``). Reading: every bad line becomes an error entry with its line
number, so one broken line never stops the rest (maia_git/spec/interaction.schema.json).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from maia_git.core.escape import reason
from maia_git.errors import MaiaError, NotFound

# O_NOFOLLOW: never append through a symlink; O_NONBLOCK: a FIFO in a shard's place fails at
# once instead of hanging (it means nothing for a regular file).
_FLAGS = os.O_APPEND | os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
_CHUNK = 1 << 20
MAX_LINE_BYTES = 1 << 20


@dataclass
class _Shard:
    fd: int
    identity: tuple[int, int]  # (st_dev, st_ino) of the file the descriptor writes to
    torn: bool  # the file ended without a newline when it was opened


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _ends_without_newline(path: str, identity: tuple[int, int]) -> bool:
    """Whether the file ends in a torn line, left by a writer that died mid-line.

    A live writer's append can be caught half copied, so a missing newline must persist for a
    few milliseconds before it counts as torn; if it is misjudged all the same, the only cost is
    an empty line, which readers skip.
    """
    # The append descriptor is write-only, so look through a second one, on the same file.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        for attempt in range(4):
            st = os.fstat(fd)
            if _identity(st) != identity or st.st_size == 0:
                return False
            if os.pread(fd, 1, st.st_size - 1) == b"\n":
                return False
            if attempt < 3:
                time.sleep(0.005)
        return True
    finally:
        os.close(fd)


class Appender:
    """Appends whole lines; keeps one descriptor per file, for speed, until ``close()``."""

    def __init__(self) -> None:
        self._shards: dict[str, _Shard] = {}

    def __enter__(self) -> Appender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, path: str | os.PathLike[str], line: str) -> None:
        """Append ``line``, which must end with its only newline, as one write."""
        data = line.encode("utf-8")
        if len(data) < 2 or data.find(b"\n") != len(data) - 1:
            raise ValueError("a JSONL record must be one line ending with a newline")
        key = os.path.abspath(path)
        for _ in range(8):
            shard = self._shard(key)
            fcntl.flock(shard.fd, fcntl.LOCK_SH)
            if not self._current(key, shard):
                # Renamed away by a sync (or replaced): write to the file now at this path.
                fcntl.flock(shard.fd, fcntl.LOCK_UN)
                self._drop(key)
                continue
            if shard.torn:
                # Finish the line a crashed writer left, in the same write as our record: a
                # second process doing the same only adds an empty line, which readers skip.
                data = b"\n" + data
            try:
                self._write(shard, data)
            except OSError as err:
                # Reopen next time, so that a torn end is found and finished first.
                self._drop(key)
                raise MaiaError(f"cannot append to {key}: {reason(err)}") from err
            fcntl.flock(shard.fd, fcntl.LOCK_UN)
            shard.torn = False
            return
        raise MaiaError(f"cannot append to {key}: it keeps being replaced")

    def close(self) -> None:
        shards, self._shards = self._shards, {}
        for shard in shards.values():
            os.close(shard.fd)

    def _shard(self, key: str) -> _Shard:
        shard = self._shards.get(key)
        if shard is None:
            shard = self._shards[key] = self._open(key)
        return shard

    @staticmethod
    def _current(key: str, shard: _Shard) -> bool:
        """Whether ``key`` still names the file the descriptor writes to."""
        try:
            return _identity(os.stat(key)) == shard.identity
        except OSError:
            return False  # gone or unreadable: reopening says which

    def _open(self, key: str) -> _Shard:
        try:
            os.makedirs(os.path.dirname(key), exist_ok=True)
            fd = os.open(key, _FLAGS, 0o644)
        except OSError as err:
            raise MaiaError(f"cannot open {key} for appending: {reason(err)}") from err
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise MaiaError(f"cannot append to {key}: not a regular file")
        identity = _identity(st)
        return _Shard(fd, identity, _ends_without_newline(key, identity))

    @staticmethod
    def _write(shard: _Shard, data: bytes) -> None:
        written = os.write(shard.fd, data)
        while written < len(data):
            # A regular file writes short only when the disk or a limit is full: the next
            # write then fails with the reason.
            more = os.write(shard.fd, data[written:])
            if more == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written += more

    def _drop(self, key: str) -> None:
        shard = self._shards.pop(key, None)
        if shard is not None:
            os.close(shard.fd)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _parse(raw: bytes) -> dict[str, Any] | str | None:
    """A parsed object, an error message, or None for a blank line (skipped: it holds no data)."""
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start + 1}"
    except ValueError as err:
        if not raw.strip():
            return None
        return f"invalid JSON: {err}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__}"
    return value


def read_lines(
    path: str | os.PathLike[str], max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Yield ``(line_number, object)`` for each line, or ``(line_number, error message)``.

    Line numbers start at 1. Invalid UTF-8 or JSON, NaN or Infinity, a value that is not an
    object, a line longer than ``max_line_bytes`` and a last line without a newline (torn by a
    crash) are errors; blank lines are skipped. Memory stays bounded by the longest line.
    """
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with below, inside the generator
    except FileNotFoundError as err:
        raise NotFound(f"{path}: no such file") from err
    with file:
        number = 0
        rest = b""
        skipping = False  # inside a line already reported as too long
        while chunk := file.read(_CHUNK):
            if skipping:
                end = chunk.find(b"\n")
                if end < 0:
                    continue
                chunk, skipping = chunk[end + 1 :], False
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for raw in lines:
                number += 1
                parsed = _parse(raw) if len(raw) <= max_line_bytes else _too_long(max_line_bytes)
                if parsed is not None:
                    yield number, parsed
            if len(rest) > max_line_bytes:
                number += 1
                yield number, _too_long(max_line_bytes)
                rest, skipping = b"", True
        if rest:
            yield number + 1, "torn last line (no newline at the end of the file): not counted"


def _too_long(limit: int) -> str:
    return f"line longer than {limit} bytes: not read"
