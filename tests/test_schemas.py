"""The JSON Schemas in the workspace: `maia init` writes them and points maia.yaml at them, they
accept every file maia writes and refuse what maia's loaders refuse, and `maia doctor` uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maia_git.core import jsonschema
from maia_git.errors import MaiaError
from maia_git.storage import schemas, state, yamlio

from conftest import new_exp


def test_init_writes_the_schemas_and_the_schema_line(ws: Path) -> None:
    first = (ws / "maia.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=.maia/schemas/maia.schema.json"
    for name in schemas.NAMES:
        assert (ws / schemas.rel(name)).read_bytes() == schemas.shipped_bytes(name)


def test_init_adds_the_schema_line_to_an_older_maia_yaml(ws: Path, maia) -> None:
    settings = ws / "maia.yaml"
    old = "max_concurrent: 2\n"
    settings.write_text(old, encoding="utf-8")
    (ws / schemas.rel("queue")).unlink()
    assert "absent or out of date" in maia("doctor", cwd=ws).out
    assert maia("init", cwd=ws).code == 0
    assert settings.read_text(encoding="utf-8") == schemas.MODELINE + old
    assert (ws / schemas.rel("queue")).is_file()
    assert "absent or out of date" not in maia("doctor", cwd=ws).out


def test_every_file_maia_writes_passes_its_schema(ws: Path, maia) -> None:
    new_exp(maia, ws)
    new_exp(maia, ws, "--note", "second", "--priority", "high")
    maia("exp", "start", "exp_001", cwd=ws)
    maia("exp", "start", "exp_002", cwd=ws)
    maia("exp", "pause", "exp_001", "--note", "why", cwd=ws)
    maia("exp", "complete", "exp_002", "--note", "done", cwd=ws)
    checked = 0
    for path in [ws / "maia.yaml", *ws.glob("queue/*.yaml"), *ws.glob("experiments/*/*.yaml")]:
        name = {"maia.yaml": "maia", "experiment.yaml": "experiment"}.get(path.name, "queue")
        data = yamlio.load(path, path.name).data
        assert jsonschema.errors(schemas.shipped(name), data) == [], path
        checked += 1
    assert checked == 5
    result = maia("doctor", "--json", cwd=ws)
    assert result.code == 0 and json.loads(result.out)["healthy"], result.out


GOOD_ENTRY = "id: exp_001\nagent: helper\nstatus: queued\npriority: high\n"


@pytest.mark.parametrize(
    "text",
    [
        GOOD_ENTRY,
        GOOD_ENTRY.replace("queued", "waiting"),
        GOOD_ENTRY.replace("high", "urgent"),
        GOOD_ENTRY.replace("helper", "Helper!"),
        GOOD_ENTRY + "colour: red\n",
        GOOD_ENTRY + "queued: yesterday\n",
        GOOD_ENTRY + 'queued: "2026-01-31T12:00:00Z"\n',
        GOOD_ENTRY + "notes: 3\n",
        GOOD_ENTRY + "reason: null\n",
        "id: exp_001\nagent: helper\nstatus: queued\n",
    ],
)
def test_the_queue_schema_refuses_what_the_loader_refuses(tmp_path: Path, text: str) -> None:
    ws = tmp_path  # the loader reads the file alone: no repository needed
    (ws / "queue").mkdir()
    (ws / "queue" / "exp_001.yaml").write_text(text, encoding="utf-8")
    try:
        state.load_entry(ws, "exp_001")
        loads = True
    except MaiaError:
        loads = False
    data = yamlio.load(ws / "queue" / "exp_001.yaml", "queue/exp_001.yaml").data
    assert (jsonschema.errors(schemas.shipped("queue"), data) == []) == loads
