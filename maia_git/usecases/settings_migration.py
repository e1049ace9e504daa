"""Bringing ``maia.yaml`` to the current settings version (``maia doctor --fix``).

Version 1 (no ``settings_version`` key) counted interactions: ``min_samples`` was interactions
per arm, ``sequential_tuning`` total interactions, and ``quality_margin: 0`` meant "quality not
significantly worse". Version 2 counts users, and the quality guardrail is a non-inferiority
test, where a margin of 0 would demand better quality; so a margin of 0 becomes the default.
The numbers of ``min_samples`` and ``sequential_tuning`` are kept: they now count users.

The file is edited line by line at the positions the YAML parser reports, comments kept, and the
result is parsed again: it must give the same settings but for the keys changed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from maia_git.core.settings import COMMENTS, Settings, parse_settings
from maia_git.errors import MaiaError
from maia_git.stats.settings import DEFAULTS, SETTINGS_VERSION
from maia_git.storage import yamlio


def migrate(raw: bytes, shown: str = "maia.yaml") -> tuple[bytes, list[str]]:
    """The file at the current version, and what changed (nothing if it is current)."""
    doc = yamlio.loads(raw, shown)
    before, key, message = parse_settings(doc.data)
    if before is None:
        raise doc.error(key, message)
    if before.settings_version == SETTINGS_VERSION:
        return raw, []
    lines = raw.decode("utf-8").split("\n")
    changes: dict[str, Any] = {"settings_version": SETTINGS_VERSION}
    if before.quality_margin == 0.0:
        changes["quality_margin"] = DEFAULTS.quality_margin
    done = []
    for name, value in changes.items():
        if name in doc.marks:
            line, col = doc.marks[name]
            rest = lines[line - 1][col - 1 :]
            comment = rest[rest.index(" #") :] if " #" in rest else ""
            lines[line - 1] = lines[line - 1][: col - 1] + f"{value}{comment}"
        else:
            if lines and lines[-1] == "":
                lines.pop()
            lines += [f"# {COMMENTS[name]}", f"{name}: {value}", ""]
        done.append(f"{name}: {getattr(before, name)} -> {value}")
    lines = [_OLD_COMMENTS.get(line, line) for line in lines]
    text = "\n".join(lines).encode("utf-8")
    _check(text, replace(before, **changes), shown)
    return text, [_summary(before), *done]


# The comments ``maia init`` wrote in version 1, as they read now.
_OLD_COMMENTS = {
    "# interactions per arm before a promotion can be decided": f"# {COMMENTS['min_samples']}",
    "# planned total interactions (both arms); the sequential interval is tightest there": (
        f"# {COMMENTS['sequential_tuning']}"
    ),
}


def _check(text: bytes, want: Settings, shown: str) -> None:
    got, _, message = parse_settings(yamlio.loads(text, shown).data)
    if got != want:
        raise MaiaError(f"cannot migrate {shown} safely ({message or 'it reads differently'})")


def _summary(before: Settings) -> str:
    return (
        f"maia.yaml from settings version {before.settings_version} to {SETTINGS_VERSION}: "
        f"min_samples ({before.min_samples}) and sequential_tuning "
        f"({before.sequential_tuning:g}) now count users, not interactions"
    )
