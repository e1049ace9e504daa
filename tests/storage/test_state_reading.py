"""Every reader of a state file goes through the one parser: no line is read by a pattern.

A multi-line quoted text can hold a line that looks like a field. Read with a regular expression,
``control_share: 0.1`` inside a hypothesis once made assignment use 0.1 while analysis used 0.5,
and ``status: completed`` inside notes hid an active experiment from the scheduler.
"""

from __future__ import annotations

from pathlib import Path

from maia_git.core.models import Status
from maia_git.storage import state

EXPERIMENT = (
    'id: exp_001\nname: Shorter\nhypothesis: "It helps.\ncontrol_share: 0.1\nreally"\n'
    "control: agents/a.md\ntreatment: agents/b.md\ncontrol_share: 0.5\n"
)
ENTRY = (
    'id: exp_001\nagent: helper\nnotes: "moved on\nstatus: completed\nby hand"\n'
    "status: active\npriority: medium\n"
)


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "experiments/exp_001").mkdir(parents=True)
    (tmp_path / "queue").mkdir()
    (tmp_path / state.experiment_rel("exp_001")).write_text(EXPERIMENT, encoding="utf-8")
    (tmp_path / state.queue_rel("exp_001")).write_text(ENTRY, encoding="utf-8")
    return tmp_path


def test_a_share_line_inside_a_quoted_hypothesis_is_not_the_share(tmp_path: Path) -> None:
    top = workspace(tmp_path)

    experiment = state.load_experiment(top, "exp_001")

    assert experiment.hypothesis == "It helps. control_share: 0.1 really"
    assert experiment.control_share == 0.5
    assert state.control_share(top, "exp_001") == 0.5  # what assignment uses


def test_a_status_line_inside_quoted_notes_is_not_the_status(tmp_path: Path) -> None:
    top = workspace(tmp_path)

    running = state.load_entries(top, finished=False)

    assert list(running) == ["exp_001"] and running["exp_001"].status is Status.ACTIVE
    assert state.load_entries(top)["exp_001"].notes == "moved on status: completed by hand"
