"""Deterministic assignment of users to the control or treatment arm.

The rule is a cross-language contract (maia_git/spec/README.md); the repository ships test vectors
in ``maia_git/spec/assignment-vectors.csv`` that other runtimes check themselves against:

    bucket = int.from_bytes(md5(f"{experiment_id}:{user_id}".encode("utf-8")).digest()[:8], "big")
             % 10000
    arm    = "control" if bucket < round(control_share * 10000) else "treatment"

With more than one treatment (``arm_among``), the same bucket is cut into the arms' shares in
the order listed: arm i is the first whose cut ``round((share_0 + ... + share_i) * 10000)`` lies
above the bucket (the last arm's cut is 10000). With two arms this is the rule above.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from struct import Struct
from typing import Any, Literal

from maia_git.core.fields import ARM_PATTERN
from maia_git.core.ids import check_id
from maia_git.errors import UsageError

Arm = Literal["control", "treatment"]
CONTROL: Arm = "control"
TREATMENT: Arm = "treatment"
ARMS: tuple[Arm, Arm] = (CONTROL, TREATMENT)
BUCKETS = 10000

# The name of an arm of an experiment with several treatments.
ARM_NAME = re.compile(ARM_PATTERN)
MAX_ARMS = 10


@dataclass(frozen=True, slots=True)
class Arms:
    """The arms of an experiment with several treatments: names (control first) and shares."""

    names: tuple[str, ...]
    shares: tuple[float, ...]


# How an experiment splits its users: a two-arm experiment's control share, or its Arms.
Split = float | Arms


def arm_names(split: Split) -> tuple[str, ...]:
    return split.names if isinstance(split, Arms) else ARMS


# C0 controls (newline, tab, ...), DEL and the C1 controls: Unicode category Cc.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _md5_constructor() -> Any:
    # CPython's built-in MD5 (the module hashlib falls back to) hashes a short id about twice as
    # fast as OpenSSL's through hashlib, whose every copy() allocates an EVP context. Same digest:
    # the vectors in spec/ come from hashlib.
    try:
        return importlib.import_module("_md5").md5
    except ImportError:
        return partial(hashlib.md5, usedforsecurity=False)


_MD5 = _md5_constructor()

# The first 8 digest bytes as a big-endian unsigned integer, without slicing a new bytes object.
_FIRST_8_BYTES = Struct(">Q").unpack_from


def user_id_problem(user_id: Any) -> str | None:
    """Why ``user_id`` cannot be assigned, or None if it can."""
    if not isinstance(user_id, str):
        return f"must be a string, got {type(user_id).__name__}"
    if user_id.isprintable() and user_id:
        return None  # the common case, in one C call: no controls, no lone surrogates
    if not user_id:
        return "must not be empty"
    found = CONTROL_CHARS.search(user_id)
    if found:
        return f"contains a control character (U+{ord(found.group()):04X})"
    try:
        user_id.encode("utf-8")
    except UnicodeEncodeError as err:
        return f"is not valid Unicode ({err.reason})"
    return None


def check_user_id(user_id: str) -> str:
    """Return ``user_id`` if it can be assigned, else raise UsageError (exit 2)."""
    problem = user_id_problem(user_id)
    if problem:
        raise UsageError(f"invalid user id {str(user_id)[:70]!r}: {problem}")
    return user_id


def control_threshold(control_share: float) -> int:
    """Buckets below this number are control; ``control_share`` must be within [0, 1]."""
    if (
        isinstance(control_share, bool)
        or not isinstance(control_share, (int, float))
        or not 0 <= control_share <= 1
    ):
        raise UsageError(f"control share must be a number from 0 to 1, got {control_share!r}")
    # Python's round() halves to even; the vectors use 0.5, where every language agrees.
    return round(control_share * BUCKETS)


@lru_cache(maxsize=256)
def _prefix(experiment_id: str) -> Any:
    # Hashing "id:" once and copying the state per user is the fastest pure-Python way
    # (1.3-2.0 M users/s, measured); the cached object is only ever copied, never updated.
    return _MD5(f"{check_id(experiment_id)}:".encode())


def bucket(experiment_id: str, user_id: str) -> int:
    """The user's bucket in ``[0, 10000)`` for this experiment."""
    digest = _prefix(experiment_id).copy()
    digest.update(check_user_id(user_id).encode("utf-8"))
    return int(_FIRST_8_BYTES(digest.digest())[0] % BUCKETS)


def arm(experiment_id: str, user_id: str, control_share: float = 0.5) -> Arm:
    """The user's arm: the same on every machine and in every language."""
    threshold = control_threshold(control_share)
    return CONTROL if bucket(experiment_id, user_id) < threshold else TREATMENT


def arm_of(experiment_id: str, user_id: str, split: Split) -> str:
    """The user's arm under ``split``: ``arm`` for two arms, ``arm_among`` for more."""
    if isinstance(split, Arms):
        return arm_among(experiment_id, user_id, split.names, split.shares)
    return arm(experiment_id, user_id, split)


def assign_many(
    experiment_id: str, users: Iterable[str], control_share: Split = 0.5
) -> Iterator[tuple[str, str]]:
    """Yield ``(user_id, arm)`` for each user, lazily, in constant memory.

    The experiment id and share are checked at once; a bad user id raises when it is reached,
    after the users before it have been yielded. ``control_share`` may be the Arms of an
    experiment with several treatments.
    """
    if isinstance(control_share, Arms):
        bounds = cuts(control_share.shares)
        return _assign_among(_prefix(experiment_id).copy, bounds, control_share.names, users)
    return _assign(_prefix(experiment_id).copy, control_threshold(control_share), users)


def _assign_among(
    copy: Any, bounds: list[int], names: tuple[str, ...], users: Iterable[str]
) -> Iterator[tuple[str, str]]:
    first_8 = _FIRST_8_BYTES
    for user in users:
        if not (user and user.isprintable()):
            check_user_id(user)
        digest = copy()
        digest.update(user.encode())
        yield user, names[bisect_right(bounds, first_8(digest.digest())[0] % BUCKETS)]


def _assign(copy: Any, threshold: int, users: Iterable[str]) -> Iterator[tuple[str, Arm]]:
    first_8 = _FIRST_8_BYTES
    for user in users:
        # isprintable() is one C call that is true for nearly every real id; only the rest
        # (empty, controls, but also ZWJ emoji or NBSP, which are fine) take the full check.
        if not (user and user.isprintable()):
            check_user_id(user)
        digest = copy()
        digest.update(user.encode())  # str.encode() is UTF-8, and faster without the argument
        yield user, CONTROL if first_8(digest.digest())[0] % BUCKETS < threshold else TREATMENT


def cuts(shares: Sequence[float]) -> list[int]:
    """The buckets' upper cut of each arm, in order: ``round(cumulative share * 10000)``, the
    last 10000. Shares must be positive and add up to 1."""
    if len(shares) < 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1 for v in shares
    ):
        raise UsageError(f"arm shares must be two or more numbers between 0 and 1, not {shares!r}")
    if abs(sum(shares) - 1.0) > 1e-9:
        raise UsageError(f"arm shares must add up to 1, not {sum(shares):g}")
    bounds, total = [], 0.0
    for share in shares[:-1]:
        total += share
        bounds.append(round(total * BUCKETS))
    return [*bounds, BUCKETS]


def arm_among(
    experiment_id: str, user_id: str, names: Sequence[str], shares: Sequence[float]
) -> str:
    """The user's arm among ``names`` (control first) cut by ``shares`` in the order listed."""
    if len(names) != len(shares):
        raise UsageError(f"{len(names)} arms need {len(names)} shares, not {len(shares)}")
    found = bucket(experiment_id, user_id)
    return names[bisect_right(cuts(shares), found)]
