"""Reading state files in exactly the shape ``yamlio.dumps`` writes, without YAML.

Every transaction reads a few state files; this line reader spares it the YAML import and parse.
It answers only for text it is sure of and returns None for anything else, which then goes through
ruamel.yaml (``yamlio``): where it answers, it must agree with ruamel.yaml on the value and on
where each top-level value starts. tests/storage/test_yamlfast.py checks that on generated
documents (unicode line separators, controls, quoting, comments, anchors, tabs, long keys).

What it accepts, and nothing more:
- lines separated by ``\\n`` only, made of printable characters (no tab, no C0/C1 control, no
  U+2028/U+2029/U+0085 line break, no BOM, no surrogate, no U+FFFE/U+FFFF);
- blank lines and comment lines starting with ``#`` in the first column;
- ``key: token``, ``key:`` followed by ``  - token`` items or ``  name: token`` children, and
  ``key: []`` / ``key: {}``; keys are ASCII names of at most 64 characters, not YAML words;
- one level deeper: a child ``  name:`` followed by ``    sub: token`` grandchildren (at least
  one), as the pinned prompts of an experiment are written;
- tokens: ``null``, ``true``, ``false``, short integers and decimals, plain ASCII words that YAML
  reads as strings, and double-quoted JSON strings without ``\\/`` or ``\\u`` escapes.
"""

from __future__ import annotations

import json
import re
from typing import Any

Marks = dict[str, tuple[int, int]]

_SAFE = re.compile(
    "[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
_TOP = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,63}):(?: (.*))?")
_CHILD = re.compile(r"  (?:- (.*)|([A-Za-z_][A-Za-z0-9_]{0,63}): (.*))")
_CHILD_OPEN = re.compile(r"  ([A-Za-z_][A-Za-z0-9_]{0,63}):")
_GRANDCHILD = re.compile(r"    ([A-Za-z_][A-Za-z0-9_]{0,63}): (.*)")
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,15})\.[0-9]{1,17}")
# Plain words YAML reads as strings (shared with the writer, which quotes everything else).
PLAIN_OK = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
AMBIGUOUS = re.compile(
    r"(?i)(y|n|yes|no|true|false|on|off|null|nan|inf|[0-9][0-9_]*e[0-9]+|0[xob].*)"
)
_WORDS: dict[str, Any] = {"null": None, "true": True, "false": False, "[]": [], "{}": {}}
_NO_VALUE = object()


def fast_load(text: str) -> tuple[dict[str, Any], Marks] | None:
    """(data, marks) of ``text`` if it is in the shape above, else None."""
    if not _SAFE.fullmatch(text):
        return None
    data: dict[str, Any] = {}
    marks: Marks = {}
    open_key: str | None = None
    opened: list[str] = []
    inner: dict[str, Any] | None = None  # the open child mapping that grandchildren go into
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if open_key is not None and line.startswith("   "):
            grandchild = _GRANDCHILD.fullmatch(line) if inner is not None else None
            if grandchild is None or inner is None or not _add_to(inner, grandchild):
                return None
            continue
        if inner is not None and not inner:
            return None  # "  name:" with nothing under it: YAML's null
        inner = None
        opening = _CHILD_OPEN.fullmatch(line) if open_key is not None else None
        if opening is not None and open_key is not None:
            current = data[open_key]
            name = opening.group(1)
            if (
                isinstance(current, list)
                or (current and name in current)
                or AMBIGUOUS.fullmatch(name)
            ):
                return None
            inner = {}
            data[open_key] = {**(current or {}), name: inner}
            marks.setdefault(open_key, (number, 3))
            continue
        child = _CHILD.fullmatch(line) if open_key is not None else None
        if child is not None and open_key is not None:
            if not _add_child(data, open_key, child):
                return None
            marks.setdefault(open_key, (number, 3))
            continue
        top = _TOP.fullmatch(line)
        if top is None or top.group(1) in data or AMBIGUOUS.fullmatch(top.group(1)):
            return None
        key, token = top.group(1), top.group(2)
        if token is None:
            data[key], open_key = None, key
            opened.append(key)
            continue
        value = _scalar(token)
        if value is _NO_VALUE or (isinstance(value, list | dict) and value):
            return None
        data[key], open_key = (list(value) if isinstance(value, list) else value), None
        if isinstance(value, dict):
            data[key] = {}
        marks[key] = (number, len(key) + 3)
    if inner is not None and not inner:
        return None
    if not data or any(data[key] is None for key in opened):
        return None  # "key:" with nothing under it: YAML's null sits wherever the next token is
    return data, marks


def _scalar(token: str) -> Any:
    if token.startswith('"'):
        if len(token) < 2 or not token.endswith('"') or "\\/" in token or "\\u" in token:
            return _NO_VALUE  # JSON and YAML differ on "\/" and on surrogate escapes
        try:
            value = json.loads(token)
        except ValueError:
            return _NO_VALUE
        return value if isinstance(value, str) else _NO_VALUE
    if token in _WORDS:
        return _WORDS[token]
    if _INT.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token):
        return float(token)
    if PLAIN_OK.fullmatch(token) and not AMBIGUOUS.fullmatch(token):
        return token
    return _NO_VALUE


def _add_to(inner: dict[str, Any], grandchild: re.Match[str]) -> bool:
    name, value = grandchild.group(1), _scalar(grandchild.group(2))
    if value is _NO_VALUE or isinstance(value, list | dict) or name in inner:
        return False
    if AMBIGUOUS.fullmatch(name):
        return False
    inner[name] = value
    return True


def _add_child(data: dict[str, Any], key: str, child: re.Match[str]) -> bool:
    item, name, token = child.group(1), child.group(2), child.group(3)
    current = data[key]
    if item is not None:
        value = _scalar(item)
        if value is _NO_VALUE or isinstance(value, list | dict) or isinstance(current, dict):
            return False
        data[key] = [*(current or []), value]
        return True
    value = _scalar(token)
    if value is _NO_VALUE or isinstance(value, list | dict) or isinstance(current, list):
        return False
    if (current is not None and name in current) or AMBIGUOUS.fullmatch(name):
        return False
    data[key] = {**(current or {}), name: value}
    return True
