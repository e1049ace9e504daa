"""The rules of a valid interaction-log line, written once: one row per field.

Every reader derives its checks from this table: ``core.interaction.check_line`` (a line at a
time), ``core.logcolumns`` (a batch, column by column), the published JSON Schema
(``maia_git/spec/interaction.schema.json`` is ``schema()``, which a test checks) and, through
``check_line``, the chart of the CI step summary. So the analysis, the chart and a runtime written
in another language agree on which lines count. Two rules relate a line to its experiment and
cannot be a schema's: the arm is the user's assignment, and a ``prompt_blob`` is its arm's pin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# RFC 3339 date-time in UTC: "Z" or "+00:00" ("-00:00" means "offset unknown", so it is refused).
TS_PATTERN = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|\+00:00)"
)
# An arm's name: control, treatment, or a name an experiment with several treatments gives.
ARM_PATTERN = "[a-z][a-z0-9_]{0,31}"
# A git object id: SHA-1 (40 hex digits) or SHA-256 (64), lower case as git prints them.
BLOB_PATTERN = re.compile("[0-9a-f]{40}(?:[0-9a-f]{24})?")

# A count of tokens is exact in a double up to 2^53, and a latency of 1e15 ms is 31,000 years:
# within these bounds no per-user or per-arm sum of the analysis can overflow.
MAX_TOKENS = (1 << 53) - 1
MAX_LATENCY_MS = 1e15

TIMESTAMP, TEXT, ARM, BOOLEAN, NUMBER, INTEGER, BLOB = (
    "timestamp", "text", "arm", "boolean", "number", "integer", "blob"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the JSON key
    column: str  # its column in ``core.logcolumns.Columns``
    kind: str
    required: bool
    description: str
    low: float | None = None  # numbers: inclusive bounds
    high: float | None = None


FIELDS: tuple[Field, ...] = (
    Field("ts", "ts", TIMESTAMP, True,
          "When the interaction happened: an RFC 3339 timestamp in UTC ('Z' or '+00:00')."),
    Field("user_id", "user_id", TEXT, True,
          "The user the interaction belongs to, as given to the assignment."),
    Field("arm", "arm", ARM, True,
          "The user's assignment in this experiment: control or treatment; in an experiment with "
          "several treatments, control or one of the treatments' names ([a-z][a-z0-9_]{0,31}, "
          "as experiment.yaml lists them)."),
    Field("success", "success", BOOLEAN, True, "Whether the task was completed."),
    Field("quality_score", "quality", NUMBER, False,
          "Quality of the response, 0-100 (the rubric score).", 0, 100),
    Field("tokens", "tokens", INTEGER, False, "Tokens used.", 0, MAX_TOKENS),
    Field("latency_ms", "latency", NUMBER, False, "Response time in milliseconds.", 0,
          MAX_LATENCY_MS),
    Field("interaction_id", "ids", TEXT, False,
          "Unique id of the interaction; a repeated one is counted once."),
    Field("prompt_blob", "blobs", BLOB, False,
          "The git blob id of the prompt the user was served (maia's API fills it in). The "
          "analysis does not count a line whose blob is not the prompt its arm pinned when the "
          "experiment started, which a schema cannot express."),
)  # fmt: skip

REQUIRED = tuple(f.name for f in FIELDS if f.required)
DESCRIPTION = (
    "One line of a log file under experiments/<id>/interactions/ (any *.jsonl file there, at an"
    "y depth): one JSON object, UTF-8, ending with a newline. Fields not named here are allowed"
    " and ignored, so a newer writer's extra field never makes an older reader drop the line. O"
    "ptional fields are left out, never null. The arm must also be one of the experiment's arms "
    "and equal the user's assignment (see assignment-vectors.csv), which a schema cannot expres"
    "s."
)


def bound(value: float) -> str:
    """A bound as messages and docs write it: 100, 9007199254740991, 1e15."""
    if (value == int(value) and abs(value) < 1e15) or value == MAX_TOKENS:
        return str(int(value))
    return f"{value:.0e}".replace("e+", "e")


def schema() -> dict[str, Any]:
    """The JSON Schema of a log line (draft 2020-12), as ``spec/interaction.schema.json``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:maia-git:spec:interaction:1",
        "title": "maia-git interaction log line",
        "description": DESCRIPTION,
        "type": "object",
        "required": list(REQUIRED),
        "properties": {
            f.name: {"description": f.description, **_SCHEMA[f.kind](f)} for f in FIELDS
        },
        "additionalProperties": True,
        "$defs": {
            "text": {
                "type": "string",
                "minLength": 1,
                "not": {"$ref": "#/$defs/hasControlCharacter"},
            },
            "hasControlCharacter": {
                "description": (
                    "Contains a C0 control (newline, tab, ...), DEL or a C1 control. An "
                    "unanchored search, so regex engines that let '$' match before a final "
                    "newline agree."
                ),
                "pattern": "[\\u0000-\\u001f\\u007f-\\u009f]",
            },
        },
    }


def _bounds(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.low is not None:
        out["minimum"] = int(f.low) if f.low == int(f.low) else f.low
    if f.high is not None:
        out["maximum"] = int(f.high) if f.high == int(f.high) else f.high
    return out


_SCHEMA: dict[str, Callable[[Field], dict[str, Any]]] = {
    TIMESTAMP: lambda f: {
        "type": "string",
        "format": "date-time",
        "pattern": f"^{TS_PATTERN.pattern}$",
        "not": {"$ref": "#/$defs/hasControlCharacter"},
    },
    TEXT: lambda f: {"$ref": "#/$defs/text"},
    ARM: lambda f: {"type": "string", "pattern": f"^{ARM_PATTERN}$"},
    BOOLEAN: lambda f: {"type": "boolean"},
    NUMBER: lambda f: {"type": "number", **_bounds(f)},
    INTEGER: lambda f: {"type": "integer", **_bounds(f)},
    # Plain groups: "(?:" is not in every regular-expression dialect that validators use.
    BLOB: lambda f: {"type": "string", "pattern": f"^{BLOB_PATTERN.pattern.replace('(?:', '(')}$"},
}
