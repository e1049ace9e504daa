"""The promotion rule's parameters: the one place where every analysis default is written.

The workspace settings (``core.settings``), the use cases, the CLI and the Python API all take
their analysis defaults from ``Settings()``; nothing else writes a default for them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from maia_git.errors import UsageError
from maia_git.stats import _checks

METHODS = ("sequential", "fixed", "bayesian")

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
    # Cost guardrails: how much more per interaction the treatment may cost (0.1 = +10%); None:
    # reported, never blocking. With min_lift 0.15, +10% tokens still lowers the tokens spent per
    # completed task (1.10 / 1.15 < 1). Latency is noisier (heavy tails) and a tighter margin
    # would hold back most winners for thousands of users; +20% is still a change users notice
    # only rarely. docs/analysis.md gives the users each margin needs.
    tokens_margin: float | None = 0.10
    latency_margin: float | None = 0.20
    # The bayesian method's promotion rule (stats.bayes): the chance to beat control above
    # min_chance_to_win and the expected loss of choosing the treatment below max_expected_loss
    # (relative to control's completion rate: 0.0025 is a quarter of a percent of it).
    min_chance_to_win: float = 0.95
    max_expected_loss: float = 0.0025

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r}: use one of {', '.join(METHODS)}")
        checked: dict[str, float | None] = {
            "alpha": _checks.open_unit("alpha", self.alpha),
            "min_samples": _checks.count("min_samples", self.min_samples),
            "min_lift": _checks.number("min_lift", self.min_lift),
            "quality_margin": _checks.non_negative("quality_margin", self.quality_margin),
            "control_share": _checks.open_unit("control_share", self.control_share),
            "srm_alpha": _checks.open_unit("srm_alpha", self.srm_alpha),
            "sequential_tuning": _checks.number("sequential_tuning", self.sequential_tuning),
            "min_chance_to_win": _checks.open_unit("min_chance_to_win", self.min_chance_to_win),
            "max_expected_loss": _checks.non_negative("max_expected_loss", self.max_expected_loss),
            "tokens_margin": _margin("tokens_margin", self.tokens_margin),
            "latency_margin": _margin("latency_margin", self.latency_margin),
        }
        if self.sequential_tuning <= 0:
            raise UsageError(f"sequential_tuning must be positive (got {self.sequential_tuning})")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _margin(name: str, value: object) -> float | None:
    return None if value is None else _checks.non_negative(name, value)


NAMES = tuple(f.name for f in fields(Settings))
DEFAULTS = Settings()
