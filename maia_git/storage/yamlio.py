"""Reading and writing maia's YAML state files.

State files arrive in pull requests, so reading assumes they may be hostile. Before ruamel.yaml
composes anything, limits are checked: the file's size, then (while scanning its tokens, which
is linear and not recursive) its nesting depth and its number of nodes, so a bomb is refused in
milliseconds instead of exhausting the stack or the CPU. The node graph is then built into plain
Python values, refusing what a state file never needs: tags other than the plain ones, a tag that
does not fit its node (``!!map x``, ``!!str [1, 2]``), anchors and aliases, duplicate keys,
non-string keys, numbers that are not finite or longer than ``MAX_NUMBER`` characters. Every
refusal is a StateFileError naming ``file:line:column``.

Files in exactly the shape ``dumps`` writes are read by ``yamlfast`` instead, which agrees with
this path wherever it answers (a property test checks it).

Writing does not go through a YAML emitter: every string is written as a JSON string, which YAML
reads back as the same double-quoted scalar, so no value can change type on the way back
(``null``, ``1e3``, ``2024-01-01`` stay strings). Characters that YAML would read differently
inside quotes (line breaks other than ``\\n``, DEL, C1 controls, a BOM) are written as escapes.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maia_git.core.escape import clip, reason, shown
from maia_git.errors import StateFileError, UsageError
from maia_git.storage.yamlfast import AMBIGUOUS, PLAIN_OK, Marks, fast_load

MAX_BYTES = 32 << 10  # state files are a few hundred bytes (a long hypothesis: a few KiB)
MAX_DEPTH = 8
MAX_NODES = 1_000  # ruamel.yaml (pure Python) scans about 10,000 tokens a second
MAX_NUMBER = 64  # characters of a number (Python refuses ints over 4,300 digits)
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


def load(path: Path, shown_as: str) -> StateDoc:
    """Load the mapping in ``path``; ``shown_as`` is the name used in error messages."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise StateFileError(f"{shown_as}:1:1: file is missing") from None
    except OSError as err:
        raise StateFileError(f"{shown_as}:1:1: cannot read it ({reason(err)})") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise StateFileError(f"{shown_as}:1:1: not a regular file (symlinks are refused)")
    if info.st_size > MAX_BYTES:
        raise StateFileError(f"{shown_as}:1:1: file is {_too_big(info.st_size)}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise StateFileError(f"{shown_as}:1:1: cannot read it ({reason(err)})") from None
    return loads(raw, shown_as)


def _too_big(size: int) -> str:
    return f"{size} bytes, over the {MAX_BYTES >> 10} KiB limit of a state file"


def loads(raw: bytes, shown_as: str) -> StateDoc:
    if len(raw) > MAX_BYTES:
        raise StateFileError(f"{shown_as}:1:1: file is {_too_big(len(raw))}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line, col = _position(raw, err.start)
        raise StateFileError(f"{shown_as}:{line}:{col}: not valid UTF-8 ({err.reason})") from None
    # The line reader answers only where the limits surely hold (a line holds at most a key, a
    # value and the start of a block), so that it never accepts what the full path refuses.
    small = 3 * (text.count("\n") + 1) + 1 <= MAX_NODES
    quick = fast_load(text) if small else None
    if quick is not None:
        return StateDoc(shown_as, *quick)
    return full_load(text, shown_as)


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def full_load(text: str, shown_as: str) -> StateDoc:
    """The ruamel.yaml path: limits, compose, build (what ``loads`` does for any other text)."""
    node = _compose(text, shown_as)
    if node is None:
        raise StateFileError(f"{shown_as}:1:1: file is empty; expected a mapping")
    data = _Builder(shown_as).build(node, 0)
    if not isinstance(data, dict):
        line, col = _mark(node)
        raise StateFileError(f"{shown_as}:{line}:{col}: expected a mapping at the top level")
    marks = {key.value: _mark(value) for key, value in node.value}
    return StateDoc(shown_as, data, marks)


@contextmanager
def _yaml_errors(shown_as: str) -> Iterator[None]:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        yield
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = clip((err.problem or err.context or "invalid YAML").strip(), 160)
        raise StateFileError(f"{shown_as}:{line}:{col}: {problem}") from None
    except YAMLError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid YAML"
        raise StateFileError(f"{shown_as}:1:1: {clip(first, 160)}") from None


def _compose(text: str, shown_as: str) -> Any:
    from ruamel.yaml import YAML

    with _yaml_errors(shown_as):
        _check_limits(text, shown_as)
        return YAML(typ="rt", pure=True).compose(io.StringIO(text))


def _check_limits(text: str, shown_as: str) -> None:
    """Refuse deep nesting and too many nodes from the token stream, before composing."""
    from ruamel.yaml import YAML
    from ruamel.yaml import tokens as t

    opening = (
        t.FlowSequenceStartToken,
        t.FlowMappingStartToken,
        t.BlockSequenceStartToken,
        t.BlockMappingStartToken,
    )
    closing = (t.FlowSequenceEndToken, t.FlowMappingEndToken, t.BlockEndToken)
    depth = nodes = 0
    for token in YAML(typ="rt", pure=True).scan(io.StringIO(text)):
        if isinstance(token, opening):
            depth += 1
            nodes += 1
            if depth > MAX_DEPTH + 1:
                raise _at(shown_as, token, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(token, closing):
            depth -= 1
        elif isinstance(token, t.ScalarToken | t.AliasToken):
            nodes += 1
        if nodes > MAX_NODES:
            raise _at(shown_as, token, f"more than {MAX_NODES} values in one state file")


def _at(shown_as: str, token: Any, message: str) -> StateFileError:
    mark = token.start_mark
    return StateFileError(f"{shown_as}:{mark.line + 1}:{mark.column + 1}: {message}")


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, shown_as: str) -> None:
        self.shown_as = shown_as
        self.seen: set[int] = set()

    def fail(self, node: Any, message: str) -> StateFileError:
        line, col = _mark(node)
        return StateFileError(f"{self.shown_as}:{line}:{col}: {message}")

    def build(self, node: Any, depth: int) -> Any:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        if id(node) in self.seen or getattr(node, "anchor", None):
            raise self.fail(node, "anchors and aliases are not allowed in state files")
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        tag = str(getattr(node.tag, "value", node.tag))
        kind = _PLAIN_TAGS.get(tag)
        shown_tag = tag.replace("tag:yaml.org,2002:", "!!")
        if kind is None:
            raise self.fail(node, f"tag {clip(shown_tag, 40)} is not allowed in state files")
        expected = {"map": MappingNode, "seq": SequenceNode}.get(kind, ScalarNode)
        if not isinstance(node, expected):
            raise self.fail(node, f"tag {shown_tag} does not fit a {_node_kind(node)}")
        if kind == "map":
            return self.build_map(node, depth)
        if kind == "seq":
            return [self.build(item, depth + 1) for item in node.value]
        try:
            return _scalar(kind, node.value)
        except ValueError as err:
            raise self.fail(node, str(err)) from None

    def build_map(self, node: Any, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if not isinstance(key, str):
                raise self.fail(key_node, f"keys must be strings, not {shown(key)}")
            if key in out:
                raise self.fail(key_node, f"duplicate key {shown(key)}")
            out[key] = self.build(value_node, depth + 1)
        return out


def _node_kind(node: Any) -> str:
    name = type(node).__name__
    return {"MappingNode": "mapping", "SequenceNode": "sequence"}.get(name, "plain value")


_TRUE, _FALSE = {"true", "yes", "on", "y"}, {"false", "no", "off", "n"}
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_BASED = re.compile(r"([-+]?)0([xob])([0-9a-fA-F]+)")


def _scalar(kind: str, text: str) -> Any:
    """The value of a scalar; ValueError says why it has none (the caller adds the place)."""
    if kind == "str":
        return text
    if kind == "null":
        if text not in ("", "~", "null", "Null", "NULL"):
            raise ValueError(f"{shown(text)} is not null")
        return None
    if kind == "bool":
        lowered = text.lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{shown(text)} is not true or false")
        return lowered in _TRUE
    if len(text) > MAX_NUMBER:
        raise ValueError(f"a number of {len(text)} characters (the limit is {MAX_NUMBER})")
    return _int(text) if kind == "int" else _float(text)


def _int(text: str) -> int:
    plain = text.replace("_", "")
    if _DECIMAL.fullmatch(plain):
        return int(plain)
    based = _BASED.fullmatch(plain)
    if based:
        try:
            value = int(based[3], {"x": 16, "o": 8, "b": 2}[based[2]])
        except ValueError:
            value = None
        if value is not None:
            return -value if based[1] == "-" else value
    raise ValueError(f"{shown(text)} is not a whole number (write it as 7, -7, 0x1f or 0o17)")


def _float(text: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{shown(text)} is not a finite number")
    return value


# --- writing ----------------------------------------------------------------------------------


def dumps(data: Mapping[str, Any]) -> bytes:
    """Serialise a mapping (values: scalars, lists of scalars, mappings of these)."""
    lines: list[str] = []
    _dump_mapping(data, "", lines)
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise UsageError(f"the state file would be {_too_big(len(raw))}: shorten its text")
    return raw


def _dump_mapping(data: Mapping[str, Any], indent: str, lines: list[str]) -> None:
    for name, value in data.items():
        key = _key(name)
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:" if value else f"{indent}{key}: {{}}")
            _dump_mapping(value, indent + "  ", lines)
        elif isinstance(value, list | tuple):
            lines.append(f"{indent}{key}:" if value else f"{indent}{key}: []")
            lines.extend(f"{indent}  - {_scalar_text(v)}" for v in value)
        else:
            lines.append(f"{indent}{key}: {_scalar_text(value)}")


# What YAML reads differently even inside double quotes, written as \u escapes: characters
# outside its printable set (DEL, C1 controls, surrogates, U+FFFE/U+FFFF), the line breaks it
# folds (U+0085, U+2028, U+2029; a raw one would also read differently after an end-of-line
# conversion) and a byte order mark.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _key(key: str) -> str:
    return key if PLAIN_OK.fullmatch(key) and not AMBIGUOUS.fullmatch(key) else _quote(key)


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value, allow_nan=False)
    text = str(value)
    if PLAIN_OK.fullmatch(text) and not AMBIGUOUS.fullmatch(text):
        return text
    return _quote(text)
