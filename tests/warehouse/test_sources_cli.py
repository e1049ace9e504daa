"""`maia logs export` and `maia logs sums`: the sums of committed logs read by DuckDB, then of
the same logs exported, then with a new segment beside the exported ones, each equal to the
independent reference; a changed export and a hostile query file are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus import reference, write_corpus

from conftest import Result, git, new_exp

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")


class _Got:
    """A ``maia logs sums --json`` answer in the shape ``corpus.assert_same`` reads."""

    def __init__(self, data: dict[str, Any]) -> None:
        from maia_git.warehouse.result import ArmSums

        self.rows = data["rows"]
        self.invalid = data["invalid_lines"]
        self.duplicates = data["duplicate_lines"]
        self.fetched = data["rows_fetched"]
        for arm in ("control", "treatment"):
            a = data[arm]
            metrics = {m: tuple(s.values()) for m, s in a["sums"].items()}
            setattr(self, arm, ArmSums(a["users"], a["n"], metrics))  # type: ignore[arg-type]


def _sums(maia: Callable[..., Result], top: Path, exp_id: str) -> _Got:
    result = maia("logs", "sums", exp_id, "--json", cwd=top)
    assert result.code == 0, result.err
    return _Got(json.loads(result.out))


def _settings(top: Path, logs: str) -> None:
    path = top / "maia.yaml"
    path.write_text(path.read_text(encoding="utf-8") + logs, encoding="utf-8")
    git(top, "commit", "-q", "-am", "log source")


@pytest.fixture
def logged(ws: Path, maia: Callable[..., Result]) -> tuple[Path, str, dict[str, Any]]:
    """A workspace with an experiment whose two committed segments hold the corpus."""
    from corpus import assert_same

    exp_id = new_exp(maia, ws)
    # Not started: no pins, so a prompt_blob needs only the form of a blob id.
    files = write_corpus(ws / "experiments" / exp_id / "interactions", exp=exp_id, pins={})
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "logs")
    want = reference(files, exp=exp_id, pins={})
    assert_same(_sums(maia, ws, exp_id), want)  # the git source, read by DuckDB
    return ws, exp_id, want


def test_export_then_every_source_agrees(
    logged: tuple[Path, str, dict[str, Any]], maia: Callable[..., Result], tmp_path: Path
) -> None:
    from corpus import assert_same

    top, exp_id, want = logged
    segments = sorted((top / "experiments" / exp_id / "interactions").glob("*.jsonl"))
    kept = tmp_path / "kept"
    kept.mkdir()
    copies = [kept / s.name for s in segments]
    for s, c in zip(segments, copies, strict=True):
        c.write_bytes(s.read_bytes())
    first = segments[0].relative_to(top).as_posix()
    (top / "warehouse").mkdir()
    out = maia("logs", "export", exp_id, "--to", "warehouse", "--json", cwd=top)
    assert out.code == 0, out.err
    exported = json.loads(out.out)["experiments"][0]
    assert sorted(exported["segments"]) == [s.relative_to(top).as_posix() for s in segments]
    assert not (top / first).exists()
    manifest = json.loads((top / "experiments" / exp_id / "exported.json").read_text())
    assert [f["segment"] for f in manifest["files"]] == exported["segments"]
    assert sum(f["rows"] for f in manifest["files"]) == want["rows"]
    assert "exported.json" in git(top, "show", "--stat", "HEAD")
    assert git(top, "status", "--porcelain", "--", "experiments") == ""
    got = _sums(maia, top, exp_id)
    assert_same(got, want)
    assert got.fetched == 3

    # A new segment after the export: its users' lines join theirs from the Parquet files.
    later = write_corpus(tmp_path / "later", seed=11, users=40, exp=exp_id, pins={})[0]
    segment = top / "experiments" / exp_id / "interactions" / "c-writer.jsonl"
    segment.write_bytes(later.read_bytes())
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "more logs")
    both = reference([*copies, segment], exp=exp_id, pins={})
    assert_same(_sums(maia, top, exp_id), both)
    out = maia("logs", "export", exp_id, "--to", "warehouse", cwd=top)
    assert out.code == 0 and "exported 1 segment" in out.out
    assert_same(_sums(maia, top, exp_id), both)
    want = both


def test_a_changed_parquet_file_is_refused(
    logged: tuple[Path, str, dict[str, Any]], maia: Callable[..., Result]
) -> None:
    top, exp_id, _ = logged
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=top).code == 0
    victim = next((top / "pq").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes() + b"x")
    result = maia("logs", "sums", exp_id, cwd=top)
    assert result.code == 1
    assert "changed since export" in result.err


def _sql_source(top: Path, exp_id: str, query: str) -> None:
    (top / "queries").mkdir(exist_ok=True)
    (top / "queries" / "events.sql").write_text(query, encoding="utf-8")
    git(top, "add", "queries")
    _settings(top, "logs:\n  source: sql\n  query: queries/events.sql\n  url_env: MAIA_TEST_DB\n")


def test_a_hostile_query_file_is_refused_before_connecting(
    logged: tuple[Path, str, dict[str, Any]],
    maia: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    top, exp_id, _ = logged
    _sql_source(top, exp_id, "SELECT 1; DROP TABLE events;\n")
    monkeypatch.setenv("MAIA_TEST_DB", "postgresql://nobody@/nowhere?host=/nonexistent")
    result = maia("logs", "sums", exp_id, cwd=top)
    assert result.code == 2
    assert "one SELECT" in result.err


def test_synced_segments_export_and_pending_records_still_count(
    ws: Path, maia: Callable[..., Result]
) -> None:
    """Records made by the runtime, sealed by `maia sync`, exported; then records not yet synced:
    the analysis reads the Parquet files, the pending records, and agrees with the reader."""
    import random

    from maia_git.api import ABTestingFramework

    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    rng = random.Random(3)
    framework = ABTestingFramework(ws)

    def record(count: int, tag: str) -> None:
        for i in range(count):
            framework.record_interaction(
                exp_id, f"u{rng.randrange(40)}", rng.random() < 0.5,
                quality_score=rng.uniform(0, 100), tokens_used=rng.randrange(900),
                interaction_id=f"{tag}-{i % 150}",  # some ids repeat
            )  # fmt: skip

    record(200, "a")
    assert maia("sync", cwd=ws).code == 0
    record(60, "b")
    before = maia("exp", "analyze", exp_id, "--json", cwd=ws)
    framework.close()
    exported = maia("logs", "export", exp_id, "--to", "pq", "--json", cwd=ws)
    assert exported.code == 0, exported.err
    assert json.loads(exported.out)["experiments"][0]["rows"] == 200
    after = maia("exp", "analyze", exp_id, "--json", cwd=ws)
    mine, theirs = json.loads(after.out), json.loads(before.out)
    from test_analyze_every_source import _same

    for key in ("control", "treatment", "duplicate_lines", "invalid_lines", "decision"):
        _same(mine[key], theirs[key], key)
    assert theirs["duplicate_lines"] > 0


def test_a_line_served_another_prompt_counts_as_invalid_before_and_after_export(
    ws: Path, maia: Callable[..., Result]
) -> None:
    from maia_git.api import ABTestingFramework
    from maia_git.storage import state
    from maia_git.usecases.recording import Recorder

    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    framework = ABTestingFramework(ws)
    for i in range(40):
        assert framework.record_interaction(exp_id, f"u{i}", i % 2 == 0, interaction_id=f"i{i}")
    framework.close()
    pending = Recorder(ws).shard(exp_id)
    line = json.loads(pending.read_text().splitlines()[0])
    other = "treatment" if line["arm"] == "control" else "control"
    stray = {**line, "interaction_id": "stray",
             "prompt_blob": state.load_experiment(ws, exp_id).pins[other].blob}  # fmt: skip
    with pending.open("a") as f:
        f.write(json.dumps(stray) + "\n")
    assert maia("sync", cwd=ws).code == 0
    before = json.loads(maia("exp", "analyze", exp_id, "--json", cwd=ws).out)
    exported = maia("logs", "export", exp_id, "--to", "pq", "--json", cwd=ws)
    assert exported.code == 0, exported.err
    after = json.loads(maia("exp", "analyze", exp_id, "--json", cwd=ws).out)
    assert before["invalid_lines"] == after["invalid_lines"] == 1
    for arm in ("control", "treatment"):
        assert before[arm]["n"] == after[arm]["n"]
    assert before["control"]["n"] + before["treatment"]["n"] == 40


def _write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _manifest(top: Path, exp_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((top / "experiments" / exp_id / "exported.json").read_text())
    return data


def test_ids_known_unique_in_exports_still_meet_their_copies(
    ws: Path, maia: Callable[..., Result], tmp_path: Path
) -> None:
    """Export records that no two exported rows share an id, for exactly those files; a copy
    of an exported id that is still in git counts once (the earlier copy), and once the
    exports themselves hold a repeat, the record goes and every id is grouped again."""
    import random

    from corpus import assert_same, good

    from maia_git.warehouse import manifest

    exp_id = new_exp(maia, ws)
    rng = random.Random(5)
    folder = ws / "experiments" / exp_id / "interactions"
    records = [good(rng, f"user-{u:03d}", i, exp_id, interaction_id=f"id-{u}-{i}")
               for u in range(60) for i in range(rng.randrange(1, 6))]  # fmt: skip
    records += [good(rng, "user-nid", i, exp_id) for i in range(5)]  # ids only on some lines
    first = _write_lines(folder / "a-writer.jsonl", records[::2])
    second = _write_lines(folder / "b-writer.jsonl", records[1::2])
    kept = [_write_lines(tmp_path / p.name, records[k::2]) for k, p in enumerate([first, second])]
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "logs")
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0
    data = _manifest(ws, exp_id)
    assert data["unique_ids"] == manifest.file_set(data["files"]) and manifest.ids_unique(data)
    assert_same(_sums(maia, ws, exp_id), reference(kept, exp=exp_id, pins={}))

    # Still in git: an exact copy of an exported line, and an earlier copy of another with a
    # different outcome (that one counts); the exported rows alone hold no repeat.
    copied, changed = records[0], records[3]
    earlier = {**changed, "ts": "2026-02-01T00:00:00Z", "success": not changed["success"]}
    later = _write_lines(folder / "c-writer.jsonl", [copied, earlier])
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "copies")
    want = reference([*kept, later], exp=exp_id, pins={})
    assert want["duplicates"] == 2
    assert_same(_sums(maia, ws, exp_id), want)

    # Exported too: now two exported rows share an id, so the record is dropped, and the
    # counts stay right.
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0
    data = _manifest(ws, exp_id)
    assert "unique_ids" not in data and not manifest.ids_unique(data)
    assert_same(_sums(maia, ws, exp_id), want)


def test_a_unique_ids_record_speaks_for_its_own_files_only() -> None:
    """Two manifests merged by hand keep neither's record: it names the files it checked."""
    from maia_git.warehouse import manifest

    a = [{"sha256": "a" * 64}, {"sha256": "b" * 64}]
    data = {"files": a, "unique_ids": manifest.file_set(a)}
    assert manifest.ids_unique(data)
    assert manifest.ids_unique({**data, "files": a[::-1]})  # the order does not matter
    assert not manifest.ids_unique({**data, "files": [*a, {"sha256": "c" * 64}]})
    assert not manifest.ids_unique({**data, "files": a[:1]})
    assert not manifest.ids_unique({"files": a})
