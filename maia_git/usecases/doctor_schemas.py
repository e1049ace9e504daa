"""``maia doctor``'s schema check: maia.yaml, the queue files and the experiment definitions
against the JSON Schemas shipped in the package (the ones editors use through maia.yaml's
first line). A file that does not load at all is reported by ``files_load`` already."""

from __future__ import annotations

from pathlib import Path

from maia_git.core import jsonschema
from maia_git.core.settings import RETIRED
from maia_git.errors import MaiaError
from maia_git.storage import schemas, state, yamlio
from maia_git.usecases.doctor_model import Problem, Scan, problem


def files_match_schemas(scan: Scan) -> list[Problem]:
    broken = {p.where.split(":")[0] for p in scan.broken}
    found: list[Problem] = []
    for name, rel in _files(scan.top):
        if rel in broken:
            continue
        try:
            data = yamlio.load(scan.top / rel, rel).data
        except (MaiaError, OSError):
            continue  # a file that changed since the scan: the next doctor run sees it
        if name == "maia":  # a retired setting has a check of its own
            data = {k: v for k, v in data.items() if k not in RETIRED}
        for error in jsonschema.errors(schemas.shipped(name), data):
            found.append(problem("schema", rel, "schema", error=error, name=name))
    return found


def schema_copies(scan: Scan) -> list[str]:
    """Notes for schema copies an editor would miss: absent or older than this maia's."""
    stale = [
        schemas.rel(name)
        for name in schemas.NAMES
        if not (scan.top / schemas.rel(name)).is_file()
        or (scan.top / schemas.rel(name)).read_bytes() != schemas.shipped_bytes(name)
    ]
    if not stale:
        return []
    return [f"{', '.join(stale)}: absent or out of date; `maia init` writes them"]


def _files(top: Path) -> list[tuple[str, str]]:
    files = [("maia", state.SETTINGS_FILE)] if (top / state.SETTINGS_FILE).is_file() else []
    files += [("queue", f"queue/{p.name}") for p in sorted(top.glob("queue/*.yaml"))]
    files += [
        ("experiment", p.relative_to(top).as_posix())
        for p in sorted(top.glob("experiments/*/experiment.yaml"))
    ]
    return [(name, rel) for name, rel in files if not Path(rel).name.startswith(".")]
