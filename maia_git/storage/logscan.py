"""Reading one interaction-log shard into per-user totals of each arm, fast.

The rules are those of ``core.interaction.check_line`` (arm included) and of
``storage.jsonl.read_lines`` (line numbers, blank lines, over-long and torn lines). A loop of
``json.loads`` + ``check_line`` costs about 5 us a line; this reader takes batches of a few
thousand lines instead (bench/bench_analyze.py has the numbers):

1. parse a batch with one JSON call on its lines joined into an array, when that provably equals
   parsing them one by one (``_parse_joined``), else line by line in C (``_parse_each``);
2. check it column by column with C-level ``map``/``set``/``min``/``max``
   (``core.logcolumns.Columns.valid``);
3. add the batch to each arm's per-user totals (``Columns.add_to``).

A batch that fails a check is split, down to a few lines that go through ``check_line`` one by
one: a bad line costs about 5 ms, is reported with its number, and is never counted.

Memory: one batch, the per-user totals (``stats.users``: they grow with the number of users),
and a set of 60-bit hashes of the interaction ids counted (about 90 bytes an id, measured), only
when lines carry an id.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from json import JSONDecoder
from json.scanner import make_scanner
from operator import eq, rshift
from typing import Any, BinaryIO

from maia_git.core.assign import ARMS, Split, arm_names
from maia_git.core.interaction import check_line
from maia_git.core.logcolumns import MISSING, Columns, present
from maia_git.stats.users import UserTotals
from maia_git.storage.jsonl import MAX_LINE_BYTES
from maia_git.storage.jsonl import _parse as parse_line  # read_lines' own per-line rules

CHUNK_BYTES = 1 << 20
MAX_PROBLEMS = 50
LEAF = 16  # a failing part this small is checked line by line
SPLIT = 8
TORN = "torn last line (no newline at the end of the file): not counted"


def _two_arms() -> dict[str, UserTotals]:
    return {arm: UserTotals() for arm in ARMS}


@dataclass
class ShardScan:
    """What one shard holds: per-user totals per arm (control first), its invalid lines, its
    repeated ids."""

    arms: dict[str, UserTotals] = field(default_factory=_two_arms)
    invalid: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, error): the first 50
    duplicates: int = 0
    ids: set[int] = field(default_factory=set)  # id_hashes of the interaction ids counted

    @classmethod
    def of(cls, split: Split, **parts: Any) -> ShardScan:
        """An empty scan with one totals per arm of ``split``."""
        return cls({arm: UserTotals() for arm in arm_names(split)}, **parts)

    @property
    def control(self) -> UserTotals:
        return self.arms["control"]

    @property
    def treatment(self) -> UserTotals:
        """The treatment of a two-arm experiment."""
        return self.arms["treatment"]

    def problem(self, line: int, error: str) -> None:
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((line, error))


def scan_shard(
    path: str | os.PathLike[str],
    experiment_id: str,
    control_share: Split = 0.5,
    seen: set[int] | None = None,
    pins: Mapping[str, str] | None = None,
) -> ShardScan:
    """Read one shard. A line whose interaction id is in ``seen`` (hashes of ids counted before,
    see ``id_hashes``) is a repeat; ``seen`` gains this shard's ids and is the result's ``ids``.
    ``control_share`` may be the Arms of an experiment with several treatments."""
    scan = ShardScan.of(control_share, ids=set() if seen is None else seen)
    reader = _Reader(scan, experiment_id, control_share, pins)
    with open(path, "rb") as file, _gc_paused():
        for first, item in raw_batches(file):
            if isinstance(item, str):
                scan.problem(first, item)
            else:
                reader.add(first, item)
    return scan


def id_hashes(ids: list[str]) -> list[int]:
    """Stable 60-bit hashes of valid interaction ids (no newline in them).

    At 60 bits a Python int takes 32 bytes instead of 48. Among a million distinct ids, two
    collide with a probability of about 4e-7; a collision would drop one line as a repeat.
    """
    if not ids:
        return []
    keys = "\n".join(ids).encode().split(b"\n")
    digests = array("Q", b"".join(map(_DIGEST, map(_BLAKE8, keys))))
    return list(map(rshift, digests, repeat(4)))


_BLAKE8 = partial(hashlib.blake2b, digest_size=8)
_DIGEST = hashlib.blake2b.digest


# ---- a file as batches of raw lines, numbered as read_lines numbers them ----


def raw_batches(
    file: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, list[bytes] | str]]:
    """Yield ``(first_line_number, lines)`` batches and ``(line_number, error)`` entries."""
    number, rest, skipping = 0, b"", False
    while chunk := file.read(CHUNK_BYTES):
        if skipping:  # inside a line already reported as too long
            end = chunk.find(b"\n")
            if end < 0:
                continue
            chunk, skipping = chunk[end + 1 :], False
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from _split_long(number + 1, lines, max_line_bytes)
        number += len(lines)
        if len(rest) > max_line_bytes:
            number += 1
            yield number, _too_long(max_line_bytes)
            rest, skipping = b"", True
    if rest:
        yield number + 1, TORN


def _split_long(
    first: int, lines: list[bytes], limit: int
) -> Iterator[tuple[int, list[bytes] | str]]:
    if not lines or max(map(len, lines)) <= limit:
        if lines:
            yield first, lines
        return
    start = 0
    for index, raw in enumerate(lines):
        if len(raw) > limit:
            if start < index:
                yield first + start, lines[start:index]
            yield first + index, _too_long(limit)
            start = index + 1
    if start < len(lines):
        yield first + start, lines[start:]


def _too_long(limit: int) -> str:
    return f"line longer than {limit} bytes: not read"


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsed lines hold no cycles and are dropped batch by batch, but the thousands of dicts of
    # each batch would set off a cyclic collection every 700 allocations (measured: 15-20%).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---- parsing a batch ----


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = JSONDecoder(parse_constant=_reject_constant)
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(_DECODER)  # type: ignore[arg-type]


def _optional_orjson() -> Callable[[bytes], Any] | None:
    # orjson parses about twice as fast (bench/bench_analyze.py); used only when installed.
    try:
        loads: Callable[[bytes], Any] = importlib.import_module("orjson").loads
    except ImportError:
        return None
    return loads


ORJSON = _optional_orjson()


def parse_batch(raws: list[bytes]) -> tuple[list[Any], list[int]]:
    """The values of the lines that parse on their own, and the offsets of those that do not."""
    values = _parse_joined(raws)
    if values is not None:
        return values, []
    return _parse_each(raws)


def _parse_joined(raws: list[bytes]) -> list[Any] | None:
    """All lines as one JSON array, or None when that could differ from parsing them one by one.

    Joined with ",\\n", a line boundary inside a string is an error (a raw newline), and so is one
    inside an object when the next line starts with "{" (a key must come there). Only inside an
    array may "{" come: so the batch must hold no "[", every line must start with "{" and end
    with "}", and the array must have one element per line.
    """
    joined = b",\n".join(raws)
    if (
        joined[:1] != b"{"
        or joined[-1:] != b"}"
        or joined.count(b"},\n{") != len(raws) - 1
        or b"[" in joined
    ):
        return None
    try:
        if ORJSON is not None:
            values = ORJSON(b"[" + joined + b"]")
        else:
            values = _DECODER.decode("[" + joined.decode("utf-8") + "]")
    except (ValueError, RecursionError):  # JSON and UTF-8 errors are ValueErrors
        return None
    return values if isinstance(values, list) and len(values) == len(raws) else None


def _parse_each(raws: list[bytes]) -> tuple[list[Any], list[int]]:
    values: list[Any] = []
    failed: list[int] = []
    start = 0
    while start < len(raws):
        before = len(values)
        # extend() keeps what it appended before an exception: the failing line is the next one.
        with suppress(ValueError, RecursionError):
            values.extend(_each(raws[start:]))
        bad = start + len(values) - before
        if bad < len(raws):
            failed.append(bad)
        start = bad + 1
    return values, failed


def _each(raws: list[bytes]) -> Iterator[Any]:
    if ORJSON is not None:
        return map(ORJSON, raws)
    return map(_whole_value, map(bytes.decode, raws))


def _whole_value(text: str) -> Any:
    """The JSON value that is all of ``text``, by the C scanner; raises ValueError, or
    StopIteration (nothing parses at the start), which ends the caller's map early."""
    value, end = _SCAN(text, 0)
    if end != len(text):
        raise ValueError("extra data after the value")
    return value


# ---- checking and adding up a batch ----


class _Reader:
    """Adds batches to a ShardScan: column checks first, ``check_line`` for what they refuse."""

    def __init__(
        self,
        scan: ShardScan,
        experiment_id: str,
        control_share: Split,
        pins: Mapping[str, str] | None = None,
    ) -> None:
        self.scan = scan
        self.experiment_id = experiment_id
        self.control_share = control_share
        self.pins = pins
        self.found: list[tuple[int, str]] = []  # the batch's problems, put in order at its end

    def add(self, first: int, raws: list[bytes]) -> None:
        values, failed = parse_batch(raws)
        numbers: range | list[int] = range(first, first + len(raws))
        if failed:
            values, numbers = self._merge(first, raws, values, failed)
        self._check(numbers, values)
        for line, error in sorted(self.found):
            self.scan.problem(line, error)
        self.found.clear()

    def _merge(
        self, first: int, raws: list[bytes], values: list[Any], failed: list[int]
    ) -> tuple[list[Any], list[int]]:
        """Every line's value in order, the failed lines parsed by ``parse_line`` (which skips a
        blank line and says why a line is not JSON)."""
        merged: list[Any] = []
        numbers: list[int] = []
        parsed, bad = iter(values), set(failed)
        for offset, raw in enumerate(raws):
            value = parse_line(raw) if offset in bad else next(parsed)
            if isinstance(value, str):
                self.found.append((first + offset, value))
            elif value is not None:
                merged.append(value)
                numbers.append(first + offset)
        return merged, numbers

    def _check(self, numbers: range | list[int], values: list[Any]) -> None:
        """Add the batch whole if it passes; else split it in SPLIT parts and try each, down to
        LEAF lines taken one by one. (Eight parts, not two: a part that fails is checked again
        in pieces, so halving would check each line about twice, even for one bad line.)"""
        if not values or self._fast(values):
            return
        parts = _split(0, len(values))
        while parts:
            low, high = parts.pop()
            if high - low <= LEAF:
                self._leaf(numbers[low:high], values[low:high])
            elif not self._fast(values[low:high]):
                parts += _split(low, high)

    def _fast(self, values: list[Any]) -> bool:
        """Add the batch if every line is valid; otherwise change nothing and return False."""
        columns = Columns.of(values)
        if columns is None or not columns.valid(self.experiment_id, self.control_share, self.pins):
            return False
        keep = self._keep(columns.ids)
        if keep is not None:
            columns = columns.select(keep)
        for arm, totals in self.scan.arms.items():
            columns.add_to(totals, list(map(eq, columns.arm, repeat(arm))))
        return True

    def _keep(self, ids: list[Any]) -> list[bool] | None:
        """Which lines count (None: all of them): a repeated interaction id counts once."""
        if ids.count(MISSING) == len(ids):
            return None
        hashes = id_hashes(list(filter(present, ids)))
        seen = self.scan.ids
        if len(set(hashes)) == len(hashes) and seen.isdisjoint(hashes):
            seen.update(hashes)
            return None
        found = iter(hashes)
        return [value is MISSING or self._first_time(next(found)) for value in ids]

    def _first_time(self, hashed: int) -> bool:
        if hashed in self.scan.ids:
            self.scan.duplicates += 1
            return False
        self.scan.ids.add(hashed)
        return True

    def _leaf(self, numbers: range | list[int], values: list[Any]) -> None:
        """Lines one by one: ``check_line``'s verdict, then the first of each interaction id."""
        kept: list[tuple[int, dict[str, Any]]] = []
        for number, value in zip(numbers, values, strict=True):
            if isinstance(value, dict):
                problem = check_line(value, self.experiment_id, self.control_share, self.pins)
            else:  # read_lines' words for it
                problem = f"not a JSON object but {type(value).__name__}"
            if problem:
                self.found.append((number, problem))
                continue
            interaction_id = value.get("interaction_id")
            if interaction_id is None or self._first_time(id_hashes([interaction_id])[0]):
                kept.append((number, value))
        for _, value in kept:
            self.scan.arms[value["arm"]].add_record(
                value["user_id"],
                value["success"],
                *(_number(value.get(key)) for key in ("quality_score", "tokens", "latency_ms")),
            )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _split(low: int, high: int) -> list[tuple[int, int]]:
    """SPLIT parts of ``range(low, high)``, the first last (it is popped first)."""
    step = -(-(high - low) // SPLIT)
    return [(i, min(i + step, high)) for i in reversed(range(low, high, step))]
