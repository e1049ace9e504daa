"""A batch of parsed interaction-log lines checked and added up column by column.

``Columns.valid`` accepts a batch only if ``core.interaction.check_line`` accepts every line of
it (both follow the table of field rules in ``core.fields``), with C-level ``map``/``set``/
``min``/``max`` over one list per field instead of a Python loop per line; it may refuse valid
lines, which the caller then checks one by one. ``Columns.add_to`` adds the lines of one arm to
its per-user totals. ``storage.logscan`` reads the files and feeds these batches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from functools import partial
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import Any

from maia_git.core import fields
from maia_git.core.assign import Split, arm_names, assign_many
from maia_git.core.fields import BLOB_PATTERN, FIELDS, TS_PATTERN, Field
from maia_git.stats import users as U
from maia_git.stats.users import UserTotals


class _Missing:
    """An absent field: unlike an explicit null (which is invalid), absence is allowed."""


MISSING = _Missing()
present = partial(is_not, MISSING)


@dataclass
class Columns:
    """A batch of parsed lines as one list per field (MISSING where a line lacks the field)."""

    ts: list[Any]
    user_id: list[Any]
    arm: list[Any]
    success: list[Any]
    quality: list[Any]
    tokens: list[Any]
    latency: list[Any]
    ids: list[Any]
    blobs: list[Any]
    sparse: set[str] = field(init=False, default_factory=set)  # number columns some lines lack

    @classmethod
    def of(cls, values: list[Any]) -> Columns | None:
        if set(map(type, values)) != {dict}:
            return None
        return cls(*(list(map(dict.get, values, repeat(key), repeat(MISSING))) for key in _KEYS))

    def select(self, keep: list[bool]) -> Columns:
        picked = Columns(*(list(compress(getattr(self, f), keep)) for f in _FIELDS))
        picked.sparse = self.sparse
        return picked

    def valid(
        self, experiment_id: str, control_share: Split, pins: Mapping[str, str] | None = None
    ) -> bool:
        """True only if ``check_line`` accepts every line. (It may refuse valid lines, which
        then go through ``check_line``.) Cheap checks first: the arm check hashes users."""
        names = arm_names(control_share)
        return (
            all(self._holds(f, names) for f in _BY_COST)
            and self._blobs_served(pins, names)
            and self.arm == list(map(_ARM, assign_many(experiment_id, self.user_id, control_share)))
        )

    def _holds(self, f: Field, names: tuple[str, ...]) -> bool:
        """The rule of ``f`` (``core.fields``) on its whole column; an arm is one of ``names``."""
        column = getattr(self, f.column)
        if f.kind == fields.BOOLEAN:
            return set(map(type, column)) == {bool}
        if f.kind == fields.ARM:
            return set(map(type, column)) == {str} and set(column) <= set(names)
        if f.kind == fields.TEXT:
            return _texts(column, required=f.required)
        if f.kind in (fields.NUMBER, fields.INTEGER):
            assert f.low is not None and f.high is not None
            allowed = _REAL if f.kind == fields.NUMBER else _INT
            return self._numbers(f.column, allowed, f.low, f.high)
        if f.kind == fields.TIMESTAMP:
            return _timestamps(column)
        return f.kind == fields.BLOB  # with the pins, in _blobs_served

    def _blobs_served(self, pins: Mapping[str, str] | None, names: tuple[str, ...]) -> bool:
        """Each ``prompt_blob`` (optional) is a blob id, and with pins its arm's pinned one."""
        types = set(map(type, self.blobs))
        if types == {_Missing}:
            return True
        if not types <= _TEXT:
            return False
        if pins:
            allowed = {(arm, MISSING) for arm in names} | set(pins.items())
            return set(zip(self.arm, self.blobs, strict=True)) <= allowed
        return all(map(BLOB_PATTERN.fullmatch, filter(present, self.blobs)))

    def _numbers(self, name: str, allowed: frozenset[type], low: float, high: float) -> bool:
        column = getattr(self, name)
        types = set(map(type, column))
        if not types <= allowed:
            return False  # bool is a type of its own here: true is not a number in JSON
        if _Missing in types:
            self.sparse.add(name)
            column = list(filter(present, column))
        return not column or (low <= min(column) and max(column) <= high)

    def add_to(self, totals: UserTotals, mask: list[bool]) -> None:
        """Add the lines where ``mask`` is true to ``totals``, user by user."""
        rows = totals.row_of(list(compress(self.user_id, mask)))
        if not rows:
            return
        totals.add(U.N, rows)
        totals.add(U.SUCCESSES, compress(rows, compress(self.success, mask)))
        for name, count, total in _NUMBERS:
            values = list(compress(getattr(self, name), mask))
            picked = rows
            if name in self.sparse:
                keep = list(map(present, values))
                picked, values = list(compress(rows, keep)), list(compress(values, keep))
            totals.add(count, picked)
            totals.add(total, picked, values)


_KEYS = tuple(f.name for f in FIELDS)
_FIELDS = tuple(f.column for f in FIELDS)
# Cheap checks first: the timestamps take a regular expression call per line.
_COST = {fields.BOOLEAN: 0, fields.ARM: 1, fields.TEXT: 2, fields.NUMBER: 3, fields.INTEGER: 3,
         fields.BLOB: 4, fields.TIMESTAMP: 5}  # fmt: skip
_BY_COST = tuple(sorted(FIELDS, key=lambda f: _COST[f.kind]))
_NUMBERS = (("quality", U.QUALITY_N, U.QUALITY_SUM), ("tokens", U.TOKENS_N, U.TOKENS_SUM),
            ("latency", U.LATENCY_N, U.LATENCY_SUM))  # fmt: skip
_ARM = itemgetter(1)
_REAL = frozenset({int, float, _Missing})
_INT = frozenset({int, _Missing})
_TEXT = frozenset({str, _Missing})


def _texts(column: list[Any], *, required: bool) -> bool:
    types = set(map(type, column))
    if types == {str}:
        values = column
    elif not required and types <= _TEXT:
        values = list(filter(present, column))
    else:
        return False
    # user_id_problem's own fast path: non-empty and printable (no controls, no lone surrogates).
    return all(values) and all(map(str.isprintable, values))


def _timestamps(column: list[Any]) -> bool:
    if set(map(type, column)) != {str}:
        return False
    if all(map(_TS_TO_28.fullmatch, column)):
        return True  # days every month has
    return all(map(_TS.fullmatch, column)) and all(map(_calendar_date, set(map(_DATE, column))))


# TS_PATTERN without its capturing groups: the same language, 15% faster to match; and the
# same with days 01-28 only, which needs no calendar.
_TS = re.compile(TS_PATTERN.pattern.replace("(", "(?:"))
_DAYS, _DAYS_TO_28 = "-(?:0[1-9]|[12][0-9]|3[01])T", "-(?:0[1-9]|1[0-9]|2[0-8])T"
if _TS.pattern.count(_DAYS) != 1:
    raise ImportError("core.interaction.TS_PATTERN changed: update logcolumns' copy of its days")
_TS_TO_28 = re.compile(_TS.pattern.replace(_DAYS, _DAYS_TO_28))
_DATE = itemgetter(slice(0, 10))


def _calendar_date(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


if tuple(f.name for f in dataclass_fields(Columns))[: len(_FIELDS)] != _FIELDS:
    raise ImportError("Columns' lists must be in the order of core.fields.FIELDS")
