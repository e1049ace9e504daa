"""Reading and writing maia's YAML state files.

Reading composes the node graph and builds plain Python values from it, refusing what a state file
never needs: tags (``!!python/object`` and friends), anchors and aliases (alias bombs), duplicate
keys, deep nesting and oversized files. Errors name ``file:line:column``.

Writing does not go through a YAML emitter: every string is written as a JSON string, which YAML
reads back as the same double-quoted scalar, so no value can change type on the way back
(``null``, ``1e3``, ``2024-01-01`` stay strings).
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maia_git.errors import StateFileError

MAX_BYTES = 1 << 20
MAX_DEPTH = 8
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "str",
    "tag:yaml.org,2002:map": "map",
    "tag:yaml.org,2002:seq": "seq",
}
Marks = dict[str, tuple[int, int]]


class StateDoc:
    """A loaded state file: its top-level mapping and where each top-level key's value starts."""

    def __init__(self, path: str, data: dict[str, Any], marks: Marks) -> None:
        self.path = path
        self.data = data
        self.marks = marks

    def where(self, key: str | None) -> str:
        """``file:line:column`` of the value of top-level ``key`` (or of the file's start)."""
        line, col = self.marks.get(key, (1, 1)) if key else (1, 1)
        return f"{self.path}:{line}:{col}"

    def error(self, key: str | None, message: str) -> StateFileError:
        return StateFileError(f"{self.where(key)}: {message}")


def load(path: Path, shown: str) -> StateDoc:
    """Load the mapping in ``path``; ``shown`` is the name used in error messages."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise StateFileError(f"{shown}:1:1: file is missing") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise StateFileError(f"{shown}:1:1: not a regular file (symlinks are refused)")
    if info.st_size > MAX_BYTES:
        raise StateFileError(f"{shown}:1:1: file is {info.st_size} bytes, over the 1 MiB limit")
    raw = path.read_bytes()
    return loads(raw, shown)


def loads(raw: bytes, shown: str) -> StateDoc:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise StateFileError(f"{shown}:1:1: not valid UTF-8 ({err.reason})") from None
    quick = _fast_load(text)
    if quick is not None:
        return StateDoc(shown, *quick)
    node = _compose(text, shown)
    if node is None:
        raise StateFileError(f"{shown}:1:1: file is empty; expected a mapping")
    builder = _Builder(shown)
    data = builder.build(node, 0)
    if not isinstance(data, dict):
        line, col = _mark(node)
        raise StateFileError(f"{shown}:{line}:{col}: expected a mapping at the top level")
    marks = {key.value: _mark(value) for key, value in node.value}
    return StateDoc(shown, data, marks)


def _compose(text: str, shown: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="rt", pure=True).compose(io.StringIO(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (err.problem or err.context or "invalid YAML").strip()
        raise StateFileError(f"{shown}:{line}:{col}: {problem}") from None
    except YAMLError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid YAML"
        raise StateFileError(f"{shown}:1:1: {first}") from None


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.seen: set[int] = set()

    def fail(self, node: Any, message: str) -> StateFileError:
        line, col = _mark(node)
        return StateFileError(f"{self.shown}:{line}:{col}: {message}")

    def build(self, node: Any, depth: int) -> Any:
        if id(node) in self.seen:
            raise self.fail(node, "anchors and aliases are not allowed in state files")
        self.seen.add(id(node))
        if getattr(node, "anchor", None):
            raise self.fail(node, "anchors and aliases are not allowed in state files")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        tag = str(getattr(node.tag, "value", node.tag))
        kind = _PLAIN_TAGS.get(tag)
        if kind is None:
            shown_tag = tag.replace("tag:yaml.org,2002:", "!!")
            raise self.fail(node, f"tag {shown_tag} is not allowed in state files")
        if kind == "map":
            return self.build_map(node, depth)
        if kind == "seq":
            return [self.build(item, depth + 1) for item in node.value]
        return _scalar(kind, node.value)

    def build_map(self, node: Any, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if not isinstance(key, str):
                raise self.fail(key_node, f"keys must be strings, not {key!r}")
            if key in out:
                raise self.fail(key_node, f"duplicate key {key!r}")
            out[key] = self.build(value_node, depth + 1)
        return out


def _scalar(kind: str, text: str) -> Any:
    if kind == "str":
        return text
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        return int(text.replace("_", ""), 0) if not text.lstrip("+-").isdigit() else int(text)
    value = float(text.replace("_", "").replace(".inf", "inf").replace(".nan", "nan"))
    return value


# --- reading what ``dumps`` writes, without YAML ------------------------------------------------
#
# Files in exactly the shape ``dumps`` writes (and comments, blank lines) are read line by line:
# it spares every transaction the YAML import and parse. Anything else, including every error, goes
# through the full YAML path above; a property test checks both paths agree.

_TOP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_CHILD = re.compile(r"  (?:- (.*)|([A-Za-z_][A-Za-z0-9_]*): (.*))")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_NO_VALUE = object()


def _fast_scalar(token: str) -> Any:
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except ValueError:
            return _NO_VALUE
        # JSON and YAML differ on "\/" and on surrogate escapes: leave those to YAML.
        plain_escapes = "\\/" not in token and "\\u" not in token
        return value if isinstance(value, str) and plain_escapes else _NO_VALUE
    if token in _WORDS:
        return _WORDS[token]
    if _INT.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token):
        return float(token)
    if _PLAIN_OK.fullmatch(token) and not _AMBIGUOUS.fullmatch(token):
        return token
    return _NO_VALUE


_WORDS: dict[str, Any] = {"null": None, "true": True, "false": False, "[]": [], "{}": {}}


def _fast_load(text: str) -> tuple[dict[str, Any], Marks] | None:
    data: dict[str, Any] = {}
    marks: Marks = {}
    open_key: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        child = _CHILD.fullmatch(line) if open_key is not None else None
        if child is not None and open_key is not None:
            if not _add_child(data, open_key, child):
                return None
            marks.setdefault(open_key, (number, 3))
            continue
        top = _TOP.fullmatch(line)
        if top is None or top.group(1) in data or _AMBIGUOUS.fullmatch(top.group(1)):
            return None
        key, token = top.group(1), top.group(2)
        if token is None:
            data[key], open_key = None, key
            continue
        value = _fast_scalar(token)
        if value is _NO_VALUE or (isinstance(value, list | dict) and value):
            return None
        data[key], open_key = (list(value) if isinstance(value, list) else value), None
        if isinstance(value, dict):
            data[key] = {}
        marks[key] = (number, len(key) + 3)
    return (data, marks) if data else None


def _add_child(data: dict[str, Any], key: str, child: re.Match[str]) -> bool:
    item, name, token = child.group(1), child.group(2), child.group(3)
    current = data[key]
    if item is not None:
        value = _fast_scalar(item)
        if value is _NO_VALUE or isinstance(value, list | dict) or isinstance(current, dict):
            return False
        data[key] = [*(current or []), value]
        return True
    value = _fast_scalar(token)
    if value is _NO_VALUE or isinstance(value, list | dict) or isinstance(current, list):
        return False
    if (current is not None and name in current) or _AMBIGUOUS.fullmatch(name):
        return False
    data[key] = {**(current or {}), name: value}
    return True


# --- writing ----------------------------------------------------------------------------------

_PLAIN_OK = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_AMBIGUOUS = re.compile(
    r"(?i)(y|n|yes|no|true|false|on|off|null|nan|inf|[0-9][0-9_]*e[0-9]+|0[xob].*)"
)


def dumps(data: Mapping[str, Any]) -> bytes:
    """Serialise a flat mapping (values: scalars, lists of scalars, flat mappings)."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"{key}:" if value else f"{key}: {{}}")
            lines.extend(f"  {_key(k)}: {_scalar_text(v)}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            lines.append(f"{key}:" if value else f"{key}: []")
            lines.extend(f"  - {_scalar_text(v)}" for v in value)
        else:
            lines.append(f"{key}: {_scalar_text(value)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# What YAML may not hold even inside quotes (outside its printable set), written as \u escapes.
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _key(key: str) -> str:
    return key if _PLAIN_OK.fullmatch(key) and not _AMBIGUOUS.fullmatch(key) else _quote(key)


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value, allow_nan=False)
    text = str(value)
    if _PLAIN_OK.fullmatch(text) and not _AMBIGUOUS.fullmatch(text):
        return text
    return _quote(text)
