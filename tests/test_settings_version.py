"""maia.yaml's settings version: old files are named by doctor, migrated by `doctor --fix`, and
the experiments promoted under the per-interaction analysis are re-checked per user."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from maia_git.core.assign import arm
from maia_git.core.settings import Settings, parse_settings
from maia_git.stats.settings import DEFAULTS, SETTINGS_VERSION
from maia_git.storage import yamlio
from maia_git.usecases.init import settings_text
from maia_git.usecases.recording import Recorder
from maia_git.usecases.settings_migration import migrate

from conftest import git, new_exp

# maia.yaml as `maia init` wrote it before settings had a version.
VERSION_1 = (Path(__file__).parent / "data" / "maia-v1.yaml").read_bytes()


def _load(raw: bytes) -> Settings:
    settings, _, message = parse_settings(yamlio.loads(raw, "maia.yaml").data)
    assert settings is not None, message
    return settings


def test_a_new_workspace_is_at_the_current_version_and_defaults_are_the_stats_defaults() -> None:
    settings = _load(settings_text())

    assert settings.settings_version == SETTINGS_VERSION
    assert settings.analysis(0.5) == DEFAULTS
    assert Settings().analysis(0.5) == DEFAULTS


def test_a_file_without_a_version_is_version_one() -> None:
    assert _load(VERSION_1).settings_version == 1
    assert _load(b"min_samples: 40\n").settings_version == 1


def test_migration_changes_the_version_and_a_zero_margin_and_keeps_everything_else() -> None:
    text, changes = migrate(VERSION_1)

    before, after = _load(VERSION_1), _load(text)
    assert after.settings_version == SETTINGS_VERSION
    assert after.quality_margin == DEFAULTS.quality_margin
    assert (after.min_samples, after.sequential_tuning) == (before.min_samples, 1000.0)
    assert "now count users" in changes[0]
    assert b"# users per arm before a promotion can be decided" in text
    assert migrate(text) == (text, [])  # already current: nothing to do


def test_migration_keeps_a_chosen_margin_and_comments() -> None:
    raw = b"min_samples: 50  # ours\nquality_margin: 2 # agreed with the team\n"

    text, _ = migrate(raw)

    assert text.startswith(b"min_samples: 50  # ours\nquality_margin: 2 # agreed with the team\n")
    assert _load(text).quality_margin == 2.0 and _load(text).settings_version == 2


@pytest.fixture
def old_promoted(ws: Path, maia) -> tuple[Path, str]:
    """A version-1 workspace with an experiment promoted on per-interaction evidence: 40 users
    whose many interactions made the old analysis certain."""
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    (ws / "maia.yaml").write_bytes(VERSION_1)
    git(ws, "commit", "-q", "-am", "maia.yaml as version 0.1 wrote it")
    rng = random.Random(5)
    recorder = Recorder(ws, writer="runtime")
    for i in range(40):
        user = f"user-{i}"
        rate = 0.8 if arm(exp_id, user) == "treatment" else 0.45
        for _ in range(20):
            recorder.record(exp_id, user, rng.random() < rate, quality_score=rng.uniform(60, 90))
    recorder.close()
    assert maia("sync", cwd=ws).code == 0
    promoted = maia("exp", "promote", exp_id, "--force", "--reason", "old analysis", cwd=ws)
    assert promoted.code == 0, promoted.err
    return ws, exp_id


def test_doctor_names_the_old_version_and_rechecks_old_promotions(old_promoted, maia) -> None:
    ws, exp_id = old_promoted

    result = maia("doctor", "--json", cwd=ws)

    problems = json.loads(result.out)["problems"]
    by_check = {p["check"]: p for p in problems}
    assert result.code == 1
    assert "settings version 1" in by_check["settings"]["what"] and by_check["settings"]["fixable"]
    recheck = by_check["analysis"]
    assert recheck["where"] == f"experiments/{exp_id}/experiment.yaml"
    assert "promoted under the per-interaction analysis" in recheck["what"]
    assert f"{exp_id}: per user it decides keep_running" in recheck["what"]
    assert "of 30 users" in recheck["what"]


def test_doctor_fix_migrates_and_records_the_rechecks_in_its_commit(old_promoted, maia) -> None:
    ws, exp_id = old_promoted

    fixed = maia("doctor", "--fix", cwd=ws)
    after = maia("doctor", "--json", cwd=ws)

    assert "fixed: maia.yaml from settings version 1 to 2" in fixed.out, fixed.err
    assert _load((ws / "maia.yaml").read_bytes()).settings_version == SETTINGS_VERSION
    message = git(ws, "log", "-1", "--format=%B")
    assert "settings_version: 1 -> 2" in message
    assert f"re-checked {exp_id}: per user it decides keep_running" in message
    left = json.loads(after.out)["problems"]
    assert not [p for p in left if "settings version" in p["what"] or p["check"] == "analysis"]


def test_the_published_schema_of_maia_yaml_has_the_same_defaults() -> None:
    from maia_git.storage.schemas import shipped

    properties = shipped("maia")["properties"]
    defaults = Settings().to_dict()
    for key, rule in properties.items():
        if "default" in rule:
            assert rule["default"] == defaults[key], key
    assert properties["settings_version"]["enum"] == [1, SETTINGS_VERSION]
