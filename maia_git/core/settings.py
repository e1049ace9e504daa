"""Workspace settings (``maia.yaml``): defaults, and checking a loaded mapping against them.

The analysis settings' defaults are ``stats.settings.DEFAULTS``: written there once, used by the
stats layer, the use cases, the CLI and the API alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from maia_git.core.escape import shown
from maia_git.core.logsource import logs_problem
from maia_git.stats import settings as analysis_settings
from maia_git.stats.settings import DEFAULTS, METHODS, SETTINGS_VERSION


@dataclass(frozen=True)
class Settings:
    max_concurrent: int = 3
    one_active_per_agent: bool = True
    min_samples: int = DEFAULTS.min_samples
    min_lift: float = DEFAULTS.min_lift
    alpha: float = DEFAULTS.alpha
    method: str = DEFAULTS.method
    sequential_tuning: float = DEFAULTS.sequential_tuning
    quality_margin: float = DEFAULTS.quality_margin
    srm_alpha: float = DEFAULTS.srm_alpha
    tokens_margin: float | None = DEFAULTS.tokens_margin
    latency_margin: float | None = DEFAULTS.latency_margin
    min_chance_to_win: float = DEFAULTS.min_chance_to_win
    max_expected_loss: float = DEFAULTS.max_expected_loss
    remote: str = "origin"
    lock_timeout: float = 30.0
    rubric: Mapping[str, Any] | str | None = None
    logs: Mapping[str, Any] | None = None  # where logs are read from (core/logsource.py)

    settings_version: int = SETTINGS_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def analysis(
        self, control_share: float, method: str | None = None
    ) -> analysis_settings.Settings:
        """The stats layer's settings for an experiment with this ``control_share``."""
        return analysis_settings.Settings(
            method=method or self.method,
            alpha=self.alpha,
            min_samples=self.min_samples,
            min_lift=self.min_lift,
            quality_margin=self.quality_margin,
            control_share=control_share,
            srm_alpha=self.srm_alpha,
            sequential_tuning=self.sequential_tuning,
            tokens_margin=self.tokens_margin,
            latency_margin=self.latency_margin,
            min_chance_to_win=self.min_chance_to_win,
            max_expected_loss=self.max_expected_loss,
        )


COMMENTS = {
    "max_concurrent": "experiments active at once (the queue starts the next when a slot frees)",
    "one_active_per_agent": "at most one active experiment per agent (they would confound)",
    "min_samples": "users per arm before a promotion can be decided",
    "min_lift": "relative completion-rate lift the treatment must exceed (0.15 = 15%)",
    "alpha": "significance level",
    "method": "sequential (safe to re-check on every push), fixed (one planned look) or bayesian "
    "(chance to beat control; see docs/analysis.md before choosing it)",
    "sequential_tuning": "planned total users (both arms); the sequential interval is tightest "
    "there",
    "quality_margin": "quality points the treatment may trail control by (non-inferiority)",
    "srm_alpha": "sample-ratio-mismatch is flagged below this p-value",
    "tokens_margin": "tokens per interaction the treatment may add (0.1 = +10%); null: report only",
    "latency_margin": "latency per interaction the treatment may add (0.2 = +20%); null: report "
    "only",
    "min_chance_to_win": "bayesian method: the chance to beat control must exceed this",
    "max_expected_loss": "bayesian method: the expected loss of choosing the treatment, relative "
    "to control's rate, must be below this (0.0025 = 0.25%)",
    "remote": "the remote that promotion branches are pushed to",
    "lock_timeout": "seconds to wait for the workspace lock",
    "settings_version": "2: min_samples and sequential_tuning count users (1 counted interactions)",
}


def _positive_int(v: Any, most: int = 10**9) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 < v <= most


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _level(v: Any) -> bool:
    # A significance level: the tests' quantiles are computed down to 1e-12, not beyond.
    return _number(v) and 1e-12 <= v <= 0.5


def _margin(v: Any) -> bool:
    return v is None or (_number(v) and 0 <= v <= 100)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_concurrent": (lambda v: _positive_int(v, 1000), "a whole number from 1 to 1000"),
    "one_active_per_agent": (lambda v: isinstance(v, bool), "true or false"),
    "min_samples": (_positive_int, "a whole number from 1 to 1e9"),
    "min_lift": (lambda v: _number(v) and 0 <= v <= 100, "a number from 0 to 100 (0.15 = 15%)"),
    "alpha": (_level, "a number from 1e-12 to 0.5"),
    "method": (lambda v: v in METHODS, f"one of: {', '.join(METHODS)}"),
    "sequential_tuning": (
        lambda v: _number(v) and 1 <= v <= 1e9,
        "a number of users from 1 to 1e9",
    ),
    "quality_margin": (lambda v: _number(v) and 0 <= v <= 100, "a number from 0 to 100"),
    "srm_alpha": (_level, "a number from 1e-12 to 0.5"),
    "tokens_margin": (_margin, "a number from 0 to 100 (0.1 = +10%), or null"),
    "latency_margin": (_margin, "a number from 0 to 100 (0.2 = +20%), or null"),
    "min_chance_to_win": (lambda v: _number(v) and 0.5 <= v < 1, "a number from 0.5 to 1 (< 1)"),
    "max_expected_loss": (lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1"),
    "remote": (lambda v: isinstance(v, str) and bool(v) and not v.startswith("-"), "a name"),
    "lock_timeout": (lambda v: _number(v) and 0 <= v <= 86400, "a number of seconds, 0 to 86400"),
    "rubric": (lambda v: v is None or isinstance(v, Mapping | str), "a mapping or a file name"),
    "logs": (lambda v: logs_problem(v) is None, "a log source (see docs/warehouse.md)"),
    "settings_version": (lambda v: v in (1, SETTINGS_VERSION), f"1 or {SETTINGS_VERSION}"),
}


# Settings that older versions read and this one ignores (so their files still load), with why.
RETIRED = {
    "github_api_url": "ignored: the GitHub API URL comes only from the environment "
    "(GITHUB_API_URL, else https://api.github.com), never from repository content",
}


def parse_settings(data: Mapping[str, Any]) -> tuple[Settings | None, str | None, str]:
    """Check ``data``; return (settings, None, "") or (None, bad_key, message)."""
    known = {f.name for f in fields(Settings)}
    data = {k: v for k, v in data.items() if k not in RETIRED}
    for key, value in data.items():
        if key not in known:
            return None, key, f"unknown setting {shown(key)} (known: {', '.join(sorted(known))})"
        if key == "logs" and logs_problem(value):
            return None, key, str(logs_problem(value))
        check, expected = _CHECKS[key]
        if not check(value):
            return None, key, f"{key} must be {expected}, not {shown(value)}"
    values: dict[str, Any] = {
        k: (float(v) if k in _FLOATS and v is not None else v) for k, v in data.items()
    }
    # A file without the key was written before settings had versions: version 1.
    values.setdefault("settings_version", 1)
    return Settings(**values), None, ""


_FLOATS = {"min_lift", "alpha", "quality_margin", "srm_alpha", "lock_timeout", "sequential_tuning",
           "tokens_margin", "latency_margin", "min_chance_to_win", "max_expected_loss"}  # fmt: skip


def lock_timeout_from(raw: str) -> float:
    """``MAIA_LOCK_TIMEOUT`` checked like the setting; ValueError names what is wrong."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"MAIA_LOCK_TIMEOUT must be a number of seconds, not {shown(raw)}"
        ) from None
    if not (math.isfinite(value) and 0 <= value <= 86400):
        raise ValueError(f"MAIA_LOCK_TIMEOUT must be from 0 to 86400 seconds, not {shown(raw)}")
    return value
