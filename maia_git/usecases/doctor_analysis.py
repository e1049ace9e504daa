"""Doctor's checks of the analysis settings: a ``maia.yaml`` from before the per-user analysis,
and the experiments promoted under the old analysis, with their decision re-checked per user."""

from __future__ import annotations

from maia_git.errors import MaiaError
from maia_git.stats.settings import SETTINGS_VERSION
from maia_git.storage import git, state
from maia_git.usecases.doctor_model import Problem, Scan


def settings_version(scan: Scan) -> list[Problem]:
    if scan.settings is None or scan.settings.settings_version >= SETTINGS_VERSION:
        return []
    what = (
        f"maia.yaml is settings version {scan.settings.settings_version}: its min_samples and "
        "sequential_tuning counted interactions; the analysis now counts users (the unit that "
        "is randomised), and quality_margin is a non-inferiority margin"
    )
    fix = (
        f"`maia doctor --fix` sets settings_version: {SETTINGS_VERSION} (and a quality_margin of "
        "0 to the new default); check min_samples and sequential_tuning as numbers of users"
    )
    return [Problem("settings", state.SETTINGS_FILE, what, fix, fixable=True)]


def promoted_before(scan: Scan) -> list[Problem]:
    """While maia.yaml is at an older version, every promotion was decided the old way."""
    if scan.settings is None or scan.settings.settings_version >= SETTINGS_VERSION:
        return []
    return [_recheck(scan, exp_id) for exp_id in rechecked_ids(scan)]


def rechecked_ids(scan: Scan) -> list[str]:
    return sorted(i for i, e in scan.experiments.items() if e.winner == "treatment")


def recheck_line(scan: Scan, exp_id: str) -> str:
    """One line: what the per-user analysis decides for ``exp_id`` now."""
    from maia_git.usecases.analysis import analyze_experiment
    from maia_git.workspace import Workspace

    try:
        result = analyze_experiment(Workspace(git.Repo(scan.top, scan.git_dir)), exp_id)
    except MaiaError as err:
        return f"{exp_id}: cannot be re-analysed ({err})"
    reasons = "; ".join(r.message for r in result.reasons)
    return f"{exp_id}: per user it decides {result.decision}" + (f" ({reasons})" if reasons else "")


def _recheck(scan: Scan, exp_id: str) -> Problem:
    line = recheck_line(scan, exp_id)
    branch = scan.experiments[exp_id].promotion_branch or f"maia/promote/{exp_id}"
    return Problem(
        "analysis",
        state.experiment_rel(exp_id),
        f"promoted under the per-interaction analysis; re-checked: {line}",
        f"review the promotion ({branch}) against the per-user decision; "
        "`maia exp analyze " + exp_id + "` shows it in full",
    )
