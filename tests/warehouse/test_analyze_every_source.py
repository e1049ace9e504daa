"""`maia exp analyze` gives the same sums, statistics and decision through every source: git (the
fast reader), git with segments exported to Parquet, parquet on DuckDB and on chdb, and sql on
a DuckDB file and on PostgreSQL; bad lines and repeated ids included, every number to 1e-9."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus import reference, write_corpus

from conftest import Result, git, new_exp

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")

# What only the git reader has: its file-by-file report and cache counters.
GIT_ONLY = {"problems", "shards", "shards_read"}


def _analyze(
    maia: Callable[..., Result], top: Path, exp_id: str, *, keep: tuple[str, ...] = ()
) -> dict[str, Any]:
    result = maia("exp", "analyze", exp_id, "--json", cwd=top)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return {k: v for k, v in data.items() if k not in GIT_ONLY or k in keep}


def _same(got: Any, want: Any, where: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (where, got, want)
    else:
        assert got == want, (where, got, want)


def _settings(top: Path, text: str) -> None:
    path = top / "maia.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    git(top, "commit", "-q", "-am", "log source")


def _rows_named_by_their_values(
    maia: Callable[..., Result], top: Path, exp_id: str, problems: list[dict[str, Any]],
    rows: list[dict[str, Any]],
) -> None:  # fmt: skip
    """A query without segment, line and error: each bad row is named by its ts, user and
    interaction id, with the git reader's message for its line (a line that broke a field rule
    is a row of NULLs in the table, missing every field)."""
    (top / "events.sql").write_text(
        "SELECT ts, user_id, arm, success, quality_score, tokens, latency_ms, interaction_id, "
        "prompt_blob FROM events", encoding="utf-8")  # fmt: skip
    got = _analyze(maia, top, exp_id, keep=("problems",))["problems"]
    assert len(got) == min(50, len(problems))
    assert {p["file"] for p in got} == {"events.sql"} and {p["line"] for p in got} == {0}
    words = {(p["file"], p["line"]): p["error"] for p in problems}
    want = Counter(words[(r["segment"], r["line"])] if r["error"] is None
                   else "missing required field 'ts'" for r in rows
                   if (r["segment"], r["line"]) in words)  # fmt: skip
    assert Counter(p["error"] for p in got) == want
    blob = next(p for p in got if p["error"].startswith("prompt_blob "))
    assert blob["row"]["ts"].endswith("Z") and blob["row"]["user_id"].startswith("user-")
    shown = maia("exp", "analyze", exp_id, cwd=top).out  # first by ts: rows without one
    null = "events.sql (a row without ts, user_id or interaction_id): missing required field 'ts'"
    assert f"\n  {null}\n" in shown
    assert "no interaction logs yet" not in shown  # a warehouse source has no log files
    (top / "events.sql").write_text("SELECT * FROM events", encoding="utf-8")


def _parquet_from_elsewhere(
    maia: Callable[..., Result], top: Path, exp_id: str, events: Path, base: dict[str, Any],
    problems: list[dict[str, Any]],
) -> None:  # fmt: skip
    folder = top / "wh" / f"experiment={exp_id}" / "date=2026-03-01"
    folder.mkdir(parents=True)
    shutil.copy(events, folder / "events.parquet")  # with prompt_blob, segment, line, error
    settings = top / "maia.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("path: pq", "path: wh"), encoding="utf-8")
    shown = maia("logs", "sql", exp_id, cwd=top)
    assert shown.code == 0 and "prompt_blob AS b" in shown.out
    located = _analyze(maia, top, exp_id, keep=("problems",))
    assert located.pop("problems") == problems
    _same(located, base, "parquet with prompt_blob")
    settings.write_text(text, encoding="utf-8")


def _load_every_engine(rows: list[dict[str, Any]], tmp_path: Path, postgres_url: str) -> Path:
    """The rows as ``events.parquet``, as table ``events`` of a DuckDB file (returned), and
    loaded into the PostgreSQL server."""
    import duckdb
    from test_engines_agree import _duckdb_table, _load_postgres

    _duckdb_table(rows, tmp_path / "events.parquet")
    db = tmp_path / "events.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * FROM '{tmp_path / 'events.parquet'}'")
    _load_postgres(postgres_url, rows)
    return db


def test_every_source_gives_the_same_analysis(
    ws: Path,
    maia: Callable[..., Result],
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from test_engines_agree import _typed_rows

    from maia_git.storage import state

    top = ws
    exp_id = new_exp(maia, top)
    assert maia("exp", "start", exp_id, cwd=top).code == 0
    pins = {arm: pin.blob for arm, pin in state.load_experiment(top, exp_id).pins.items()}
    folder = top / "experiments" / exp_id / "interactions"
    files = write_corpus(folder, users=150, exp=exp_id, pins=pins)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "logs")
    want = reference(files, exp=exp_id, pins=pins)
    assert want["duplicates"] >= 4 and want["invalid"] >= 20

    base = _analyze(maia, top, exp_id, keep=("problems",))  # the git reader, no DuckDB
    problems = base.pop("problems")
    assert base["invalid_lines"] == want["invalid"]
    assert base["duplicate_lines"] == want["duplicates"]
    assert base["control"]["n"] == want["control"]["n"]
    assert base["control"]["successes"] == want["control"]["sums"]["completion"][1]
    for arm in ("control", "treatment"):  # the per-user sums, every metric
        assert base[arm]["users"] == want[arm]["users"]
        for metric, sums in want[arm]["sums"].items():
            assert list(base[arm]["sums"][metric].values()) == pytest.approx(list(sums)), metric

    rows = _typed_rows(files, f"experiments/{exp_id}/interactions/")  # with prompt_blob
    db = _load_every_engine(rows, tmp_path, postgres_url)

    assert maia("logs", "export", exp_id, "--to", "pq", cwd=top).code == 0
    exported = _analyze(maia, top, exp_id, keep=("problems",))
    # The second, limited query names the same lines, with the same words, as the git reader.
    assert exported.pop("problems") == problems and len(problems) == want["invalid"]
    _same(exported, base, "git+parquet")
    _settings(top, "logs:\n  source: parquet\n  path: pq\n")
    _same(_analyze(maia, top, exp_id), base, "parquet/duckdb")
    # Exported files hold no prompt_blob (it was checked as they were written); Parquet files
    # from elsewhere that have one get it checked, and `maia logs sql` shows the check.
    assert "prompt_blob" not in maia("logs", "sql", exp_id, cwd=top).out
    _parquet_from_elsewhere(maia, top, exp_id, tmp_path / "events.parquet", base, problems)
    ci = maia("ci", "analyze", "--json", cwd=top)  # every active experiment, from Parquet
    assert ci.code == 0, ci.err
    assert json.dumps(base["control"]["n"]) in ci.out and base["decision"] in ci.out
    (top / "events.sql").write_text("SELECT * FROM events", encoding="utf-8")
    git(top, "add", "events.sql")
    _settings(top, f"  experiments:\n    {exp_id}: {{source: sql, query: events.sql, "
                   "url_env: MAIA_TEST_DB}\n")  # fmt: skip
    missing = maia("exp", "analyze", exp_id, cwd=top)
    assert missing.code == 2 and "set MAIA_TEST_DB" in missing.err  # one clear line
    monkeypatch.setenv("MAIA_TEST_DB", f"duckdb://{db}")
    # The table has segment, line and error: the sample names the same lines, in the same words.
    located = _analyze(maia, top, exp_id, keep=("problems",))
    assert located.pop("problems") == problems
    _same(located, base, "sql/duckdb")
    monkeypatch.setenv("MAIA_TEST_DB", postgres_url)
    located = _analyze(maia, top, exp_id, keep=("problems",))
    assert located.pop("problems") == problems
    _same(located, base, "sql/postgres")
    _rows_named_by_their_values(maia, top, exp_id, problems, rows)
    shown = maia("logs", "sql", exp_id, "--dialect", "snowflake", cwd=top)
    assert shown.code == 0 and "FROM events" in shown.out and "ROW_NUMBER() OVER" in shown.out
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    text = (top / "maia.yaml").read_text(encoding="utf-8")
    (top / "maia.yaml").write_text(
        text.replace("source: sql, query: events.sql, url_env: MAIA_TEST_DB",
                     "source: parquet, path: pq, engine: chdb"), encoding="utf-8")  # fmt: skip
    git(top, "commit", "-q", "-am", "chdb")
    _same(_analyze(maia, top, exp_id), base, "parquet/chdb")


def test_three_arms_give_the_same_analysis_through_every_source(
    ws: Path,
    maia: Callable[..., Result],
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An experiment with two treatments: the git reader, its segments exported, parquet on
    DuckDB and chdb, sql on a DuckDB file and on PostgreSQL give the same analysis."""
    from test_engines_agree import _typed_rows

    from maia_git.storage import state

    top = ws
    for name in ("short", "formal"):
        (top / f"agents/helper_{name}.md").write_text(f"Be {name}.\n", encoding="utf-8")
    git(top, "add", "agents")
    git(top, "commit", "-q", "-m", "two candidate prompts")
    created = maia("exp", "new", "Tone", "--agent", "helper", "--control", "agents/helper.md",
                   "--treatment", "agents/helper_short.md", "--arm-name", "short",
                   "--treatment", "agents/helper_formal.md", "--arm-name", "formal",
                   "--share", "0.5", "--share", "0.3", "--share", "0.2", cwd=top)  # fmt: skip
    assert created.code == 0, created.err
    exp_id = created.out.split()[1]
    assert maia("exp", "start", exp_id, cwd=top).code == 0
    experiment = state.load_experiment(top, exp_id)
    split = experiment.assignment()
    pins = {arm: pin.blob for arm, pin in experiment.pins.items()}
    folder = top / "experiments" / exp_id / "interactions"
    files = write_corpus(folder, users=150, exp=exp_id, pins=pins, split=split)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "logs")
    want = reference(files, split, exp_id, pins)

    base = _analyze(maia, top, exp_id, keep=("problems",))  # the git reader
    problems = base.pop("problems")
    assert (base["invalid_lines"], base["duplicate_lines"]) == (want["invalid"], want["duplicates"])
    assert [a["name"] for a in base["arms"]] == ["control", "short", "formal"]
    for arm in base["arms"]:
        assert (arm["users"], arm["n"]) == (want[arm["name"]]["users"], want[arm["name"]]["n"])

    rows = _typed_rows(files, f"experiments/{exp_id}/interactions/")
    db = _load_every_engine(rows, tmp_path, postgres_url)

    assert maia("logs", "export", exp_id, "--to", "pq", cwd=top).code == 0
    exported = _analyze(maia, top, exp_id, keep=("problems",))
    assert exported.pop("problems") == problems
    _same(exported, base, "git+parquet")
    _settings(top, "logs:\n  source: parquet\n  path: pq\n")
    _same(_analyze(maia, top, exp_id), base, "parquet/duckdb")
    (top / "events.sql").write_text("SELECT * FROM events", encoding="utf-8")
    git(top, "add", "events.sql")
    _settings(top, f"  experiments:\n    {exp_id}: {{source: sql, query: events.sql, "
                   "url_env: MAIA_TEST_DB}\n")  # fmt: skip
    for url in (f"duckdb://{db}", postgres_url):
        monkeypatch.setenv("MAIA_TEST_DB", url)
        located = _analyze(maia, top, exp_id, keep=("problems",))
        assert located.pop("problems") == problems
        _same(located, base, f"sql {url.split(':')[0]}")
    sums = maia("logs", "sums", exp_id, "--json", cwd=top)
    assert [a["name"] for a in json.loads(sums.out)["arms"]] == ["control", "short", "formal"]
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    text = (top / "maia.yaml").read_text(encoding="utf-8")
    (top / "maia.yaml").write_text(
        text.replace("source: sql, query: events.sql, url_env: MAIA_TEST_DB",
                     "source: parquet, path: pq, engine: chdb"), encoding="utf-8")  # fmt: skip
    git(top, "commit", "-q", "-am", "chdb")
    _same(_analyze(maia, top, exp_id), base, "parquet/chdb")
