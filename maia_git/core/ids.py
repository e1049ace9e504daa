"""Identifiers: experiment ids, agent names and writer names.

One pattern for all three: ``^[a-z0-9][a-z0-9_-]{0,63}$``, minus names that git,
the file system or YAML would treat as something else.
"""

from __future__ import annotations

import re

from maia_git.errors import UsageError

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# Names git gives meaning to (refs and pseudo-refs, in any case), names Windows refuses as file
# names, and plain scalars that YAML 1.1 or 1.2 resolves to something other than a string.
_RESERVED = frozenset(
    {
        "head",
        "fetch_head",
        "orig_head",
        "merge_head",
        "cherry_pick_head",
        "revert_head",
        "bisect_head",
        "auto_merge",
        "stash",
        "refs",
        "objects",
        "hooks",
        "info",
        "con",
        "prn",
        "aux",
        "nul",
        "clock",
        *(f"com{i}" for i in range(10)),
        *(f"lpt{i}" for i in range(10)),
        "null",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "nan",
        "inf",
    }
)
_YAML_NUMBER_OR_DATE = re.compile(
    r"[0-9][0-9_]*|0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*e[0-9]+|"
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|[0-9][0-9_]*(:[0-5]?[0-9])+"
)


def check_id(value: str, kind: str = "experiment id") -> str:
    """Return ``value`` if it is a valid identifier, else raise UsageError (exit 2)."""
    shown = value if len(value) <= 70 and value.isprintable() else repr(value[:70])
    if not ID_PATTERN.fullmatch(value):
        raise UsageError(
            f"invalid {kind} {shown!r}: use 1-64 of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        )
    if value in _RESERVED or _YAML_NUMBER_OR_DATE.fullmatch(value):
        raise UsageError(f"invalid {kind} {shown!r}: the name is reserved; choose another")
    return value


def is_valid_id(value: str) -> bool:
    try:
        check_id(value)
    except UsageError:
        return False
    return True


def sanitise_writer(raw: str) -> str:
    """Turn a host name (or any string) into a valid writer name."""
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.lower()).strip("-_")[:64]
    if not name or not is_valid_id(name):
        name = f"w-{name}"[:64].rstrip("-_") or "writer"
    return name


# Free text (names, hypotheses, notes, reasons) goes into YAML and commit messages: it must be
# valid Unicode without control characters other than tab and newline.
_BAD_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def check_text(value: str, what: str, limit: int = 10_000) -> str:
    """Return ``value`` if it is acceptable free text, else raise UsageError (exit 2)."""
    found = _BAD_TEXT.search(value)
    if found is not None:
        char = found.group()
        kind = (
            "bytes that are not UTF-8"
            if "\ud800" <= char <= "\udfff"
            else (f"the control character {char!r}")
        )
        raise UsageError(f"the {what} contains {kind}")
    if len(value) > limit:
        raise UsageError(f"the {what} is {len(value)} characters long; the limit is {limit}")
    return value
