"""The promotion rule's parameters: the one place where every analysis default is written.

The workspace settings (``core.settings``), the use cases, the CLI and the Python API all take
their analysis defaults from ``Settings()``; nothing else writes a default for them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from maia_git.errors import UsageError
from maia_git.stats import _checks

METHODS = ("sequential", "fixed")

# Version 2: min_samples and sequential_tuning count users (version 1 counted interactions).
SETTINGS_VERSION = 2


@dataclass(frozen=True, slots=True)
class Settings:
    """Built checked: misuse raises UsageError (exit 2)."""

    method: str = "sequential"
    alpha: float = 0.05
    min_samples: int = 30  # users per arm
    min_lift: float = 0.15
    quality_margin: float = 5.0  # quality points (0-100 scale) the treatment may trail by
    control_share: float = 0.5
    srm_alpha: float = 0.001
    sequential_tuning: float = 1000.0  # users in both arms at which the sequence is tightest

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r}: use one of {', '.join(METHODS)}")
        checked = {
            "alpha": _checks.open_unit("alpha", self.alpha),
            "min_samples": _checks.count("min_samples", self.min_samples),
            "min_lift": _checks.number("min_lift", self.min_lift),
            "quality_margin": _checks.non_negative("quality_margin", self.quality_margin),
            "control_share": _checks.open_unit("control_share", self.control_share),
            "srm_alpha": _checks.open_unit("srm_alpha", self.srm_alpha),
            "sequential_tuning": _checks.number("sequential_tuning", self.sequential_tuning),
        }
        if checked["sequential_tuning"] <= 0:
            raise UsageError(f"sequential_tuning must be positive (got {self.sequential_tuning})")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NAMES = tuple(f.name for f in fields(Settings))
DEFAULTS = Settings()
