"""A JSON Schema (draft 2020-12) checker for the small part of the language maia's schemas use:
type, enum, properties, required, additionalProperties (true, false or a schema),
propertyNames, minProperties, maxProperties, minimum, maximum, exclusiveMinimum,
exclusiveMaximum, minLength and pattern. A schema using anything else is
refused, so a schema can never be taken as checked when it was not."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_KNOWN = {
    "$schema", "$id", "title", "description", "default", "type", "enum", "properties",
    "required", "additionalProperties", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "pattern", "propertyNames", "minProperties", "maxProperties",
}  # fmt: skip
_TYPES = {
    "object": lambda v: isinstance(v, Mapping),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
}


def errors(schema: Mapping[str, Any], value: Any, where: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema``, each as ``/pointer: what is wrong``."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"schema keywords not supported here: {', '.join(sorted(unknown))}")
    at = where or "/"
    if "type" in schema and not _typed(schema["type"], value):
        return [f"{at}: must be {_names(schema['type'])}, not {_shown(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: must be one of {', '.join(_shown(v) for v in schema['enum'])}"]
    if isinstance(value, Mapping):
        return _object(schema, value, where)
    return _scalar(schema, value, at)


def _object(schema: Mapping[str, Any], value: Mapping[str, Any], where: str) -> list[str]:
    found = [f"{where or '/'}: {key!r} is required" for key in schema.get("required", ())
             if key not in value]  # fmt: skip
    if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", math.inf):
        found.append(f"{where or '/'}: {len(value)} keys, outside the range")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if "propertyNames" in schema:
            found += errors(schema["propertyNames"], key, f"{where}/{key}")
        if key in properties:
            found += errors(properties[key], item, f"{where}/{key}")
        elif extra is False:
            found.append(f"{where}/{key}: not a known key")
        elif isinstance(extra, Mapping):
            found += errors(extra, item, f"{where}/{key}")
    return found


def _scalar(schema: Mapping[str, Any], value: Any, at: str) -> list[str]:
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return [f"{at}: must not be empty"]
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return [f"{at}: {_shown(value)} does not match {schema['pattern']}"]
    if _TYPES["number"](value):
        if not math.isfinite(value):
            return [f"{at}: must be a finite number"]
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in schema and not _within(key, value, schema[key]):
                return [f"{at}: {value!r} is outside the range ({key} {schema[key]!r})"]
    return []


def _within(key: str, value: float, bound: float) -> bool:
    if key == "minimum":
        return value >= bound
    if key == "maximum":
        return value <= bound
    return value > bound if key == "exclusiveMinimum" else value < bound


def _typed(wanted: str | list[str], value: Any) -> bool:
    names = [wanted] if isinstance(wanted, str) else wanted
    return any(_TYPES[name](value) for name in names)


def _names(wanted: str | list[str]) -> str:
    return wanted if isinstance(wanted, str) else " or ".join(wanted)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
