"""The Python API's reading of an analysis: enough data yet, significant, and the winner.

The rules live here, not in the API adapter: an experiment has a result only once every arm has
``min_samples`` users; it is significant when the configured method's p-value is below
``alpha`` (under the bayesian method, which has no p-value: when the chance to beat control is
above ``min_chance_to_win`` or below one minus it); the treatment wins when the analysis
decides ``promote``, and control wins when the difference is significant and goes its way.
With several treatments the reading is that of one of them (``arm``): the winner, else the
one with the highest lift; its p-value is corrected for the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maia_git.workspace import Workspace


@dataclass(frozen=True)
class Verdict:
    enough: bool
    significant: bool
    winner: str | None
    analysis: dict[str, Any]
    arm: str = "treatment"  # the treatment read (several treatments: the winner or the best)


def verdict(ws: Workspace, exp_id: str, method: str | None = None) -> Verdict:
    from maia_git.usecases.analysis import analyze_experiment

    data = analyze_experiment(ws, exp_id, method).to_dict()
    # The settings the analysis ran with (maia.yaml's, through one settings object).
    if "arms" in data:
        return _several(data)
    enough = min(data["control"]["users"], data["treatment"]["users"]) >= data["min_samples"]
    return _read(data, data, enough)


def _several(data: dict[str, Any]) -> Verdict:
    enough = min(a["users"] for a in data["arms"]) >= data["min_samples"]
    comparisons = data["comparisons"]
    named = [c for c in comparisons if c["arm"] == data["winner"]]
    best = named[0] if named else max(comparisons, key=_lift)
    found = _read(data | best, data, enough)
    winner = data["winner"] if data["decision"] == "promote" else found.winner
    return Verdict(enough, found.significant, winner, data, best["arm"])


def _lift(comparison: dict[str, Any]) -> float:
    lift = comparison.get("lift")
    return float("-inf") if lift is None else float(lift)


def _read(view: dict[str, Any], data: dict[str, Any], enough: bool) -> Verdict:
    p_value, lift = view.get("p_value"), view.get("lift")
    significant = p_value is not None and p_value < data["alpha"]
    chance = view.get("chance_to_win")
    if chance is not None:
        bar = data["min_chance_to_win"]
        significant = chance > bar or chance < 1.0 - bar
    winner = None
    if data["decision"] == "promote":
        winner = "treatment"
    elif significant and lift is not None and lift < 0:
        winner = "control"
    return Verdict(enough, significant, winner, data)
