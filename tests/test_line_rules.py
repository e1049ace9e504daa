"""One table of field rules (core.fields) behind every reader; one decision through every door.

The shipped JSON Schema is generated from the table; the CI step summary's chart counts exactly
the lines the analysis counts, even in a log full of bad lines; and the CLI, the Python API and
`maia ci analyze` decide the same on the same logs, with maia.yaml's settings.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from maia_git import ABTestingFramework
from maia_git.core.assign import arm
from maia_git.usecases.ci import completion_series
from maia_git.usecases.recording import Recorder
from maia_git.workspace import Workspace

from conftest import git, new_exp

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_schema_is_generated_from_the_table() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_schema.py"), "--check"],
                          capture_output=True, text=True)  # fmt: skip

    assert done.returncode == 0, done.stdout


def _line(exp_id: str, user: str, **fields: object) -> bytes:
    record = {"ts": "2026-03-01T10:00:00Z", "user_id": user, "arm": arm(exp_id, user),
              "success": True} | fields  # fmt: skip
    return (json.dumps(record) + "\n").encode()


def _bad_log(exp_id: str) -> bytes:
    rng = random.Random(3)
    good = [_line(exp_id, f"u{i % 40}", success=rng.random() < 0.5,
                  ts=f"2026-03-{1 + i % 28:02d}T10:00:00Z") for i in range(200)]  # fmt: skip
    other = "treatment" if arm(exp_id, "u1") == "control" else "control"
    bad = [
        _line(exp_id, "u1", arm=other),  # not the user's assignment
        _line(exp_id, "u2", success="yes"),
        _line(exp_id, "u3", quality_score=150),
        _line(exp_id, "u4", tokens=-1),
        _line(exp_id, "u5", tokens=2**53),
        _line(exp_id, "u6", latency_ms=1e16),
        _line(exp_id, "u7", quality_score=None),
        _line(exp_id, "u8", ts="2026-02-30T10:00:00Z"),
        _line(exp_id, "u9", prompt_blob="not-a-blob"),
        _line(exp_id, "u14", user_id="", success=False),
        b'{"ts":"2026-03-01T10:00:00Z","user_id":"u10","arm":"control","success":NaN}\n',
        b"not json at all\n",
        b"[1, 2, 3]\n",
        _line(exp_id, "u11", interaction_id="i-1", success=False, ts="2026-03-02T00:00:00Z"),
        _line(exp_id, "u11", interaction_id="i-1", success=True, ts="2026-03-01T00:00:00Z"),
        _line(exp_id, "u12", extra_field={"nested": [1]}),
    ]
    lines = good + bad
    rng.shuffle(lines)
    return b"".join(lines) + b'{"ts":"2026-03-01T10:00:00Z","user_id":"u13"'  # torn last line


def test_the_chart_and_the_table_count_the_same_lines_in_a_log_full_of_bad_lines(
    ws: Path, maia
) -> None:
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    shard = ws / "experiments" / exp_id / "interactions" / "other-runtime.jsonl"
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_bytes(_bad_log(exp_id))

    table = json.loads(maia("exp", "analyze", exp_id, "--json", cwd=ws).out)
    chart = completion_series(Workspace.find(ws), exp_id)

    assert table["invalid_lines"] >= 14 and table["duplicate_lines"] == 1
    for side in ("control", "treatment"):
        assert chart["counted"][side] == [table[side]["n"], table[side]["successes"]], side
    last = table["control"]["successes"] / table["control"]["n"]
    assert chart["arms"]["control"][-1] == round(100 * last, 1)


def test_cli_api_and_ci_decide_the_same_on_the_same_logs(ws: Path, maia) -> None:
    # Settings other than the defaults, so that a door with defaults of its own would differ.
    settings = ws / "maia.yaml"
    text = settings.read_text(encoding="utf-8")
    for old, new in (("min_samples: 30", "min_samples: 25"),
                     ("sequential_tuning: 1000.0", "sequential_tuning: 300.0")):  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    settings.write_text(text, encoding="utf-8")
    git(ws, "commit", "-q", "-am", "settings")
    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    rng = random.Random(8)
    recorder = Recorder(ws, writer="runtime")
    for i in range(90):
        user = f"user-{i}"
        p = rng.betavariate(2, 2) * (1.4 if arm(exp_id, user) == "treatment" else 1.0)
        for _ in range(rng.randint(1, 12)):
            recorder.record(exp_id, user, rng.random() < min(p, 1.0),
                            quality_score=rng.uniform(60, 90))  # fmt: skip
    recorder.close()
    assert maia("sync", cwd=ws).code == 0

    cli = json.loads(maia("exp", "analyze", exp_id, "--json", cwd=ws).out)
    api = ABTestingFramework(ws).analyze_experiment(exp_id)
    ci_run = maia("ci", "analyze", "--json", cwd=ws)
    (ci,) = json.loads(ci_run.out)["results"]

    assert api is not None
    assert (cli["min_samples"], cli["sequential_tuning"]) == (25, 300.0)
    for key in ("decision", "p_value", "lift", "lift_ci", "quality_ci", "srm_p_value", "control",
                "treatment", "reasons"):  # fmt: skip
        assert api.analysis[key] == cli[key] == ci[key], key
    assert api.decision == cli["decision"]
