"""The small JSON Schema checker, and the shipped schemas against the rules maia's loaders apply."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from maia_git.core import jsonschema
from maia_git.core.settings import Settings
from maia_git.storage import schemas, state

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z]+$"},
        "n": {"type": "integer", "minimum": 1, "maximum": 9},
        "share": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "kind": {"enum": ["a", "b", None]},
        "note": {"type": ["string", "null"], "minLength": 1},
    },
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"id": "ok", "n": 3, "share": 0.5, "kind": None, "note": None}, None),
        ({}, "/: 'id' is required"),
        ({"id": "A"}, "/id: 'A' does not match ^[a-z]+$"),
        ({"id": "a", "n": True}, "/n: must be integer, not True"),
        ({"id": "a", "n": 10}, "/n: 10 is outside the range (maximum 9)"),
        ({"id": "a", "share": 1}, "/share: 1 is outside the range (exclusiveMaximum 1)"),
        ({"id": "a", "share": float("nan")}, "/share: must be a finite number"),
        ({"id": "a", "kind": "c"}, "/kind: must be one of 'a', 'b', None"),
        ({"id": "a", "note": ""}, "/note: must not be empty"),
        ({"id": "a", "extra": 1}, "/extra: not a known key"),
        ([], "/: must be object, not []"),
    ],
)
def test_errors(value: object, error: str | None) -> None:
    assert jsonschema.errors(SCHEMA, value) == ([] if error is None else [error])


def test_an_unsupported_keyword_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="oneOf"):
        jsonschema.errors({"oneOf": []}, 1)


def test_the_schemas_know_exactly_the_keys_maia_reads() -> None:
    settings = set(schemas.shipped("maia")["properties"])
    assert settings == {f.name for f in dataclasses.fields(Settings)}
    assert set(schemas.shipped("queue")["properties"]) == set(state._ENTRY_FIELDS)
    assert set(schemas.shipped("experiment")["properties"]) == set(state._EXPERIMENT_FIELDS)
    assert schemas.shipped("queue")["required"] == list(state._ENTRY_REQUIRED)
    assert schemas.shipped("experiment")["required"] == list(state._EXPERIMENT_REQUIRED)


def test_the_schemas_are_json_schema_2020_12(tmp_path: Path) -> None:
    for name in schemas.NAMES:
        data = json.loads(schemas.shipped_bytes(name))
        assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.errors(data, {})  # only keywords the checker knows
