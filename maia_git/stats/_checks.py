"""Checks on arguments: misuse raises UsageError (exit 2) with one clear line."""

from __future__ import annotations

import math
import operator

from maia_git.errors import UsageError


def count(name: str, value: object) -> int:
    """Return ``value`` as an int >= 0; bools and fractions are refused."""
    if isinstance(value, bool):
        raise UsageError(f"{name} must be a whole number, not {value!r}")
    try:
        whole = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise UsageError(f"{name} must be a whole number, not {value!r}") from None
    if whole < 0:
        raise UsageError(f"{name} must not be negative (got {whole})")
    return whole


def number(name: str, value: object) -> float:
    """Return ``value`` as a finite float."""
    if isinstance(value, bool | str | bytes):
        raise UsageError(f"{name} must be a number, not {value!r}")
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(result):
        raise UsageError(f"{name} must be a finite number (got {value!r})")
    return result


def non_negative(name: str, value: object) -> float:
    result = number(name, value)
    if result < 0:
        raise UsageError(f"{name} must not be negative (got {result:g})")
    return result


def open_unit(name: str, value: object) -> float:
    """Return ``value`` if it lies strictly between 0 and 1 (alpha, power, shares)."""
    result = number(name, value)
    if not 0.0 < result < 1.0:
        raise UsageError(f"{name} must be between 0 and 1, exclusive (got {result:g})")
    return result


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or infinity: undefined numbers are written as null."""
    if value is None or not math.isfinite(value):
        return None
    return value
