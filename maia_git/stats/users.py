"""Per-user partial sums of one arm: what the log reader accumulates and the cache keeps.

A user's interactions may be spread over several log files (one per writer), so the per-arm
sums of squares cannot be formed file by file. What does add up across files is each user's own
totals: interactions, successes, and the count and sum of each optional number. This holds them
for every user of an arm, in eight ``array('d')`` columns indexed by a row per user (64 bytes a
user, plus the user id and its slot in a dict), and turns them into the arm's ``ArmStats``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from operator import mul

from maia_git.errors import UsageError
from maia_git.stats.arm import ArmStats
from maia_git.stats.ratio import RatioSums

COLUMNS = ("n", "successes", "quality_n", "quality_sum", "tokens_n", "tokens_sum", "latency_n",
           "latency_sum")  # fmt: skip
N, SUCCESSES, QUALITY_N, QUALITY_SUM, TOKENS_N, TOKENS_SUM, LATENCY_N, LATENCY_SUM = range(8)


class UserTotals:
    """Rows of per-user totals; ``rows[user_id]`` is the user's index into every column."""

    __slots__ = ("columns", "rows")

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.columns: list[array[float]] = [array("d") for _ in COLUMNS]

    def __len__(self) -> int:
        return len(self.rows)

    def row_of(self, users: list[str]) -> list[int]:
        """Each user's row, new users added with zeros (C-level map for the known ones)."""
        rows = self.rows
        new = set(users).difference(rows)
        if new:
            start = len(rows)
            rows.update(zip(sorted(new), range(start, start + len(new)), strict=True))
            zeros = array("d", bytes(8 * len(new)))
            for column in self.columns:
                column.extend(zeros)
        return list(map(rows.__getitem__, users))

    def add(self, column: int, rows: Iterable[int], values: Iterable[float] | None = None) -> None:
        """Add ``values`` (1 each if None) to ``column`` at ``rows`` (a repeated row adds twice)."""
        target = self.columns[column]
        if values is None:
            for row in rows:
                target[row] += 1.0
        else:
            for row, value in zip(rows, values):  # noqa: B905 - callers pass equal lengths
                target[row] += value

    def add_record(
        self,
        user: str,
        success: bool,
        quality: float | None = None,
        tokens: float | None = None,
        latency: float | None = None,
        *,
        sign: float = 1.0,
    ) -> None:
        """Add one interaction of ``user`` (``sign`` -1: take one away that was added)."""
        row = self.row_of([user])[0]
        cols = self.columns
        cols[N][row] += sign
        cols[SUCCESSES][row] += sign * float(success)
        for count, total, value in ((QUALITY_N, QUALITY_SUM, quality),
                                    (TOKENS_N, TOKENS_SUM, tokens),
                                    (LATENCY_N, LATENCY_SUM, latency)):  # fmt: skip
            if value is not None:
                cols[count][row] += sign
                cols[total][row] += sign * value

    def merge(self, other: UserTotals) -> None:
        """Add ``other``'s users into these (a user in both gets the sum of their totals)."""
        users = list(other.rows)
        mine = self.row_of(users)
        theirs = list(other.rows.values())
        for target, source in zip(self.columns, other.columns, strict=True):
            for row, value in zip(mine, map(source.__getitem__, theirs), strict=True):
                if value:
                    target[row] += value

    def to_bytes(self) -> bytes:
        """user count, ids' byte length, the ids (UTF-8, newline-separated: a valid user id has
        no control character), then each column; native byte order (a cache keys on it)."""
        ids = "\n".join(self.rows).encode()
        head = array("Q", [len(self.rows), len(ids)]).tobytes()
        return b"".join([head, ids, *(column.tobytes() for column in self.columns)])

    @classmethod
    def from_bytes(cls, data: bytes) -> UserTotals:
        """Read ``to_bytes``'s output; ValueError if it is not exactly that."""
        if len(data) < 16:
            raise ValueError("malformed per-user totals")
        head = array("Q")
        head.frombytes(data[:16])
        count, size = head
        ids = data[16 : 16 + size].decode().split("\n") if count else []
        if len(ids) != count or len(data) != 16 + size + 8 * len(COLUMNS) * count:
            raise ValueError("malformed per-user totals")
        totals = cls()
        totals.rows = dict(zip(ids, range(count), strict=True))
        if len(totals.rows) != count:
            raise ValueError("a user id repeats")
        offset = 16 + size
        for column in totals.columns:
            column.frombytes(data[offset : offset + 8 * count])
            offset += 8 * count
        return totals

    def arm_stats(self) -> ArmStats:
        """The arm's four ratio metrics: completion, quality, tokens, latency."""
        c = self.columns
        return ArmStats(
            _sums(c[SUCCESSES], c[N]),
            _sums(c[QUALITY_SUM], c[QUALITY_N]),
            _sums(c[TOKENS_SUM], c[TOKENS_N]),
            _sums(c[LATENCY_SUM], c[LATENCY_N]),
        )


def _sums(num: array[float], den: array[float]) -> RatioSums:
    """A user with y_u = 0 adds 0 to every sum, so only ``units`` needs them left out."""
    units = len(den) - den.count(0.0)
    return RatioSums(
        units,
        sum(num),
        sum(den),
        sum(map(mul, num, num)),
        sum(map(mul, den, den)),
        sum(map(mul, num, den)),
    )


def totals_of(records: Iterable[Mapping[str, object]]) -> UserTotals:
    """Fold log records (checked ones: see ``core.interaction.check_line``) per user."""
    totals = UserTotals()
    for r in records:
        user, success = r.get("user_id"), r.get("success")
        if not isinstance(user, str) or not user:
            raise UsageError(f"a record's 'user_id' must be a non-empty string, not {user!r}")
        if success is not True and success is not False:
            raise UsageError(f"a record's 'success' must be true or false, not {success!r}")
        totals.add_record(
            user, success, *(_optional(r, key) for key in ("quality_score", "tokens", "latency_ms"))
        )
    return totals


def _optional(record: Mapping[str, object], key: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"a record's {key!r} must be a number, not {value!r}")
    return float(value)
