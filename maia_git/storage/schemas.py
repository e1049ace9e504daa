"""The JSON Schemas of maia's YAML files, shipped in the package (``maia_git/spec``).

``maia init`` copies them into the workspace (``.maia/schemas/``) so that an editor finds them
from ``maia.yaml``'s first line on any machine, and ``maia doctor`` checks the files with them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("maia", "experiment", "queue")
FOLDER = ".maia/schemas"
MODELINE = f"# yaml-language-server: $schema={FOLDER}/maia.schema.json\n"


def rel(name: str) -> str:
    """Where the workspace keeps the schema ``name``."""
    return f"{FOLDER}/{name}.schema.json"


def shipped_bytes(name: str) -> bytes:
    return resources.files("maia_git").joinpath(f"spec/{name}.schema.json").read_bytes()


def shipped(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shipped_bytes(name))
    return data
