"""Random sequences of commands against a real workspace, checked against a simple model."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from maia_git.cli.main import main
from maia_git.storage import state

RANK = {"high": 0, "medium": 1, "low": 2}
MAX = 2
ALLOWED = {
    "start": {"draft": "queued"},
    "pause": {"active": "paused", "queued": "paused"},
    "resume": {"paused": "queued"},
    "complete": {"active": "completed", "paused": "completed"},
    "cancel": {
        "draft": "cancelled",
        "queued": "cancelled",
        "active": "cancelled",
        "paused": "cancelled",
    },
}


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.top = Path(tempfile.mkdtemp(prefix="maia-stateful-"))

        def run(*args: str) -> None:
            subprocess.run(["git", *args], cwd=self.top, check=True, capture_output=True)

        run("init", "-q", "-b", "main")
        (self.top / "p").mkdir()
        (self.top / "p/c.md").write_text("c\n")
        (self.top / "p/t.md").write_text("t\n")
        run("add", "-A")
        run("commit", "-qm", "init")
        assert self.maia("init") == 0
        settings_file = self.top / "maia.yaml"
        settings_file.write_text(
            settings_file.read_text().replace("max_concurrent: 3", f"max_concurrent: {MAX}")
        )
        run("commit", "-qam", "max")
        self.model: dict[str, dict[str, object]] = {}
        self.clock = 0

    def teardown(self) -> None:
        shutil.rmtree(self.top, ignore_errors=True)

    def maia(self, *args: str) -> int:
        old = Path.cwd()
        os.chdir(self.top)
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                return main(list(args))
        finally:
            os.chdir(old)

    # -- the model's scheduler, written independently of maia_git.core.schedule
    def fill_slots(self) -> None:
        while True:
            active = [e for e in self.model.values() if e["status"] == "active"]
            busy = {e["agent"] for e in active}
            waiting = [
                (RANK[str(e["priority"])], e["queued"], i)
                for i, e in self.model.items()
                if e["status"] == "queued" and e["agent"] not in busy
            ]
            if len(active) >= MAX or not waiting:
                return
            self.model[min(waiting)[2]]["status"] = "active"

    @precondition(lambda self: len(self.model) < 8)
    @rule(
        agent=st.sampled_from(["a", "b", "c"]), priority=st.sampled_from(["high", "medium", "low"])
    )
    def new(self, agent: str, priority: str) -> None:
        code = self.maia(
            "exp",
            "new",
            "x",
            "--agent",
            agent,
            "--control",
            "p/c.md",
            "--treatment",
            "p/t.md",
            "--priority",
            priority,
        )
        assert code == 0
        exp_id = f"exp_{len(self.model) + 1:03d}"
        self.model[exp_id] = {"status": "draft", "priority": priority, "agent": agent, "queued": 0}

    @precondition(lambda self: self.model)
    @rule(data=st.data(), event=st.sampled_from(sorted(ALLOWED)))
    def event(self, data: st.DataObject, event: str) -> None:
        exp_id = data.draw(st.sampled_from(sorted(self.model)))
        before = str(self.model[exp_id]["status"])
        code = self.maia("exp", event, exp_id)
        after = ALLOWED[event].get(before)
        if after is None:
            assert code == 4
            return
        assert code == 0
        self.model[exp_id]["status"] = after
        if after == "queued":
            self.clock += 1
            self.model[exp_id]["queued"] = self.clock
        self.fill_slots()

    @precondition(lambda self: self.model)
    @rule(data=st.data(), level=st.sampled_from(["high", "medium", "low"]))
    def priority(self, data: st.DataObject, level: str) -> None:
        exp_id = data.draw(st.sampled_from(sorted(self.model)))
        code = self.maia("queue", "priority", exp_id, "--priority", level)
        if self.model[exp_id]["status"] != "queued":
            assert code == 4
            return
        assert code == 0
        self.model[exp_id]["priority"] = level

    @invariant()
    def files_agree_with_model(self) -> None:
        entries = state.load_entries(self.top)
        assert {i: str(e.status) for i, e in entries.items()} == {
            i: e["status"] for i, e in self.model.items()
        }
        assert {i: str(e.priority) for i, e in entries.items()} == {
            i: e["priority"] for i, e in self.model.items()
        }

    @invariant()
    def capacity_and_no_idle_slot(self) -> None:
        entries = state.load_entries(self.top).values()
        active = [e for e in entries if str(e.status) == "active"]
        assert len(active) <= MAX
        busy = {e.agent for e in active}
        eligible = [e for e in entries if str(e.status) == "queued" and e.agent not in busy]
        assert not (len(active) < MAX and eligible), "a free slot while an eligible one waits"

    @invariant()
    def committed_equals_working_tree(self) -> None:
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "queue", "experiments"],
            cwd=self.top,
            capture_output=True,
            text=True,
        ).stdout
        assert dirty == ""


QueueMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueStateful = QueueMachine.TestCase
