"""The warehouse workflow under bad or unlucky input: a segment written again at an exported
segment's path, an export destination that cannot be written, and query files, settings and
sources that are wrong in the ways a user's are. Each ends in a clear one-line error with its
documented exit code, or in the right numbers, never a traceback or lines silently lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Result, git, new_exp

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")


def _lines(exp_id: str, tag: str, users: int) -> str:
    from maia_git.core.assign import arm

    records = [
        {"ts": "2026-01-02T03:04:05Z", "user_id": f"{tag}{i}", "arm": arm(exp_id, f"{tag}{i}"),
         "success": i % 3 == 0, "interaction_id": f"{tag}-{i}"}
        for i in range(users)
    ]  # fmt: skip
    return "".join(json.dumps(r) + "\n" for r in records)


def _commit_segment(top: Path, exp_id: str, name: str, text: str) -> None:
    path = top / "experiments" / exp_id / "interactions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    git(top, "add", "-A", "experiments")
    git(top, "commit", "-q", "-m", f"segment {name}")


def _users(maia: Callable[..., Result], top: Path, exp_id: str) -> int:
    result = maia("exp", "analyze", exp_id, "--json", cwd=top)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    return int(data["control"]["users"] + data["treatment"]["users"])


def test_a_segment_written_again_at_an_exported_path_counts_and_exports(
    ws: Path, maia: Callable[..., Result]
) -> None:
    """A writer that reuses a file name after its first file was exported: the new file is
    new lines, read by the analysis and exported beside the first, which stays as it was."""
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 30))
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "b", 20))

    assert _users(maia, ws, exp_id) == 50
    dry = maia("logs", "export", exp_id, "--to", "pq", "--dry-run", "--json", cwd=ws)
    assert json.loads(dry.out)["experiments"][0]["segments"] == [
        f"experiments/{exp_id}/interactions/ext.jsonl"
    ]
    out = maia("logs", "export", exp_id, "--to", "pq", "--json", cwd=ws)
    assert out.code == 0, out.err
    assert json.loads(out.out)["experiments"][0]["rows"] == 20
    files = json.loads((ws / "experiments" / exp_id / "exported.json").read_text())["files"]
    assert len({f["parquet"] for f in files}) == 2  # the first file is not overwritten
    assert _users(maia, ws, exp_id) == 50
    assert git(ws, "status", "--porcelain", "--", "experiments") == ""
    # The first file restored from history is what was exported: not counted twice.
    segment = ws / "experiments" / exp_id / "interactions" / "ext.jsonl"
    segment.write_text(_lines(exp_id, "a", 30), encoding="utf-8")
    assert _users(maia, ws, exp_id) == 50


@pytest.mark.parametrize("where", ["afile", "afile/below"])
def test_an_export_destination_that_cannot_be_written_is_one_line(
    ws: Path, maia: Callable[..., Result], where: str
) -> None:
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 5))
    (ws / "afile").write_text("not a folder\n", encoding="utf-8")
    head = git(ws, "rev-parse", "HEAD")

    result = maia("logs", "export", exp_id, "--to", where, cwd=ws)

    assert result.code == 1
    assert result.err.startswith("maia: error: cannot write the exported logs")
    assert "afile" in result.err and len(result.err.strip().splitlines()) == 1
    assert git(ws, "rev-parse", "HEAD") == head
    assert (ws / "experiments" / exp_id / "interactions" / "ext.jsonl").is_file()
    assert not (ws / "experiments" / exp_id / "exported.json").exists()


def _with_query(top: Path, query: bytes, extra: str = "") -> None:
    (top / "queries").mkdir(exist_ok=True)
    (top / "queries" / "events.sql").write_bytes(query)
    path = top / "maia.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f"logs:\n  source: sql\n  query: queries/events.sql\n  url_env: MAIA_TEST_DB\n{extra}",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (b"SELECT \xff\xfe FROM events", "is not UTF-8 text"),
        (b"SELECT * FROM events WHERE " + b" OR ".join([b"user_id = 'u'"] * 30000), "larger"),
    ],
)
def test_a_binary_or_huge_query_file_is_refused(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, query: bytes,
    says: str,
) -> None:  # fmt: skip
    exp_id = new_exp(maia, ws)
    _with_query(ws, query)
    monkeypatch.setenv("MAIA_TEST_DB", f"duckdb:///{ws}/none.duckdb")
    for args in (("logs", "sums", exp_id), ("logs", "sql", exp_id), ("exp", "analyze", exp_id)):
        result = maia(*args, cwd=ws)
        assert result.code == 2, (args, result.err)
        assert says in result.err and "queries/events.sql" in result.err
        assert len(result.err.strip().splitlines()) == 1


def _sql_error(
    maia: Callable[..., Result], top: Path, exp_id: str, monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> Result:  # fmt: skip
    monkeypatch.setenv("MAIA_TEST_DB", url)
    result = maia("logs", "sums", exp_id, cwd=top)
    assert len(result.err.strip().splitlines()) == 1, result.err
    return result


@pytest.mark.parametrize(
    "url",
    [
        "host=db user=maia password=s3cret-pw dbname=app",  # a conninfo string, not a URL
        "postgresql://maia:s3cret-pw@[::1/app",  # libpq echoes a URL it cannot parse
        "postgresql://maia:s3cret-pw@%zz/app",
    ],
)
def test_a_bad_database_url_is_never_printed(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    pytest.importorskip("psycopg", reason="psycopg is not installed (maia-git[postgres])")
    exp_id = new_exp(maia, ws)
    _with_query(ws, b"SELECT * FROM events")
    result = _sql_error(maia, ws, exp_id, monkeypatch, url)
    assert result.code == (1 if url.startswith("postgresql:") else 2)
    assert result.err.startswith("maia: error: ") and "s3cret-pw" not in result.err


def _parquet_source(top: Path, path: str, engine: str = "duckdb") -> None:
    settings = top / "maia.yaml"
    text = settings.read_text(encoding="utf-8").split("\nlogs:\n")[0]
    settings.write_text(
        f"{text}\nlogs:\n  source: parquet\n  path: {path}\n  engine: {engine}\n",
        encoding="utf-8",
    )


def test_a_parquet_folder_that_does_not_exist_is_an_error_not_zero_users(
    ws: Path, maia: Callable[..., Result]
) -> None:
    exp_id = new_exp(maia, ws)
    _parquet_source(ws, "warehuose/logs")
    (ws / "warehouse" / "logs").mkdir(parents=True)
    result = maia("exp", "analyze", exp_id, cwd=ws)
    assert result.code == 2
    assert "warehuose/logs" in result.err and "does not exist" in result.err
    # An existing folder without this experiment's files yet: no logs, no error.
    _parquet_source(ws, "warehouse/logs")
    assert maia("exp", "analyze", exp_id, cwd=ws).code == 0


def _write_parquet(folder: Path, exp_id: str, select: str) -> None:
    import duckdb

    out = folder / f"experiment={exp_id}" / "date=2026-01-02" / "part.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet)")
    finally:
        con.close()


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_files_without_a_published_column_are_named(
    ws: Path, maia: Callable[..., Result], engine: str
) -> None:
    if engine == "chdb":
        pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    exp_id = new_exp(maia, ws)
    _write_parquet(ws / "pq", exp_id, "SELECT TIMESTAMPTZ '2026-01-02 03:04:05+00' AS ts, "
                   "'u1' AS user_id, 'control' AS arm, true AS success")  # fmt: skip
    _parquet_source(ws, "pq", engine)
    result = maia("logs", "sums", exp_id, cwd=ws)
    assert result.code == 2, result.err
    assert "quality_score, tokens, latency_ms, interaction_id" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_corrupt_parquet_file_read_by_chdb_says_why(
    ws: Path, maia: Callable[..., Result]
) -> None:
    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    exp_id = new_exp(maia, ws)
    bad = ws / "pq" / f"experiment={exp_id}" / "date=2026-01-02" / "part.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"garbage\n")
    _parquet_source(ws, "pq", "chdb")
    result = maia("logs", "sums", exp_id, cwd=ws)
    assert result.code == 1
    assert "Parquet file too short" in result.err
    assert len(result.err.strip().splitlines()) == 1


def _manifest_problem(ws: Path, maia: Callable[..., Result], text: str) -> Any:
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 5))
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0
    (ws / "experiments" / exp_id / "exported.json").write_text(text, encoding="utf-8")
    return exp_id, maia("exp", "analyze", exp_id, cwd=ws)


def test_a_manifest_that_is_not_json_is_located(ws: Path, maia: Callable[..., Result]) -> None:
    exp_id, result = _manifest_problem(ws, maia, '{"version": 1,\n "files": [}\n')
    assert result.code == 3
    assert result.err.startswith(f"maia: error: experiments/{exp_id}/exported.json:2:12: ")


def test_a_duckdb_statement_longer_than_the_timeout_is_stopped(
    ws: Path, maia: Callable[..., Result]
) -> None:
    """DuckDB has no statement timeout: maia interrupts it, as PostgreSQL's would stop it."""
    import duckdb

    from conftest import run_cli

    exp_id = new_exp(maia, ws)
    database = ws.parent / "events.duckdb"
    con = duckdb.connect(str(database))
    con.execute(
        "CREATE TABLE events AS SELECT TIMESTAMPTZ '2026-01-02 03:04:05+00' AS ts, 'u1' AS "
        "user_id, 'control' AS arm, true AS success, 1.0 AS quality_score, 1 AS tokens, "
        "1.0 AS latency_ms, 'i1' AS interaction_id"
    )
    con.close()
    # Rows without end: only the timeout stops this statement.
    _with_query(ws, b"SELECT e.* FROM events AS e, range(1000000000000000) AS r", "  timeout: 1\n")

    done = run_cli(["logs", "sums", exp_id], ws, {"MAIA_TEST_DB": f"duckdb:///{database}"})

    assert done.returncode == 1, done.stderr
    assert "ran longer than its timeout (1 s)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_report_names_a_row_without_ts_user_or_id_as_the_analysis_does(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("jinja2", reason="the report extra is not installed")
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    import duckdb

    exp_id = new_exp(maia, ws)
    database = ws.parent / "events.duckdb"
    con = duckdb.connect(str(database))
    con.execute(
        "CREATE TABLE events AS SELECT CAST(NULL AS TIMESTAMPTZ) AS ts, CAST(NULL AS VARCHAR) "
        "AS user_id, 'control' AS arm, true AS success, 1.0 AS quality_score, 1 AS tokens, "
        "1.0 AS latency_ms, CAST(NULL AS VARCHAR) AS interaction_id"
    )
    con.close()
    _with_query(ws, b"SELECT * FROM events")
    monkeypatch.setenv("MAIA_TEST_DB", f"duckdb:///{database}")
    said = "queries/events.sql (a row without ts, user_id or interaction_id)"
    assert said in maia("exp", "analyze", exp_id, cwd=ws).out

    result = maia("report", "--experiment", exp_id, "--out", str(ws.parent / "site"), cwd=ws)

    assert result.code == 0, result.err
    page = (ws.parent / "site" / f"experiment-{exp_id}.html").read_text(encoding="utf-8")
    assert f"<code>{said}</code>" in page


@pytest.mark.parametrize("change", ["delete", "edit"])
def test_doctor_flags_a_changed_or_deleted_export_manifest(
    ws: Path, maia: Callable[..., Result], change: str
) -> None:
    """Without its manifest, an analysis silently reads none of the exported lines."""
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 5))
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0
    assert maia("doctor", cwd=ws).code == 0
    path = ws / "experiments" / exp_id / "exported.json"
    if change == "delete":
        path.unlink()
    else:
        path.write_text(json.dumps({**json.loads(path.read_text()), "files": []}))

    result = maia("doctor", cwd=ws)

    assert result.code == 1
    rel = f"experiments/{exp_id}/exported.json"
    assert f"{rel}: the committed record of exported logs was changed or deleted" in result.out
    assert f"git checkout HEAD -- {rel}" in result.out


def test_an_unknown_or_invalid_experiment_is_said_as_everywhere_else(
    ws: Path, maia: Callable[..., Result]
) -> None:
    new_exp(maia, ws)
    for args in (("logs", "export", "exp_009", "--to", "pq"), ("logs", "sums", "exp_009")):
        result = maia(*args, cwd=ws)
        assert result.code == 2
        assert result.err.startswith("maia: error: unknown experiment 'exp_009'"), result.err
    for args in (("logs", "sums", "Bad id"), ("logs", "sql", "Bad id")):
        result = maia(*args, cwd=ws)
        assert result.code == 2
        assert result.err.startswith("maia: error: invalid experiment id 'Bad id'"), result.err


def test_a_segment_staged_but_not_committed_is_skipped(
    ws: Path, maia: Callable[..., Result]
) -> None:
    """`git add` is not a commit: a new file only staged, or a committed one changed and
    staged, is not what git holds; exported and removed, its committed lines would be lost."""
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "kept.jsonl", _lines(exp_id, "a", 30))
    folder = ws / "experiments" / exp_id / "interactions"
    (folder / "kept.jsonl").write_text(_lines(exp_id, "a", 3), encoding="utf-8")
    (folder / "new.jsonl").write_text(_lines(exp_id, "b", 3), encoding="utf-8")
    git(ws, "add", "-A", "experiments")

    out = maia("logs", "export", exp_id, "--to", "pq", "--json", cwd=ws)

    assert out.code == 0, out.err
    done = json.loads(out.out)["experiments"][0]
    assert done["segments"] == []
    rel = f"experiments/{exp_id}/interactions"
    assert sorted(done["skipped"]) == [f"{rel}/kept.jsonl", f"{rel}/new.jsonl"]
    assert not (ws / "experiments" / exp_id / "exported.json").exists()


def test_a_logs_setting_left_empty_is_the_git_source(ws: Path, maia: Callable[..., Result]) -> None:
    """`logs:` uncommented alone from the written maia.yaml is null, which its schema allows."""
    settings = ws / "maia.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "\n# logs:\n" in text
    settings.write_text(text.replace("\n# logs:\n", "\nlogs:\n"), encoding="utf-8")
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 6))

    assert _users(maia, ws, exp_id) == 6
    assert maia("doctor", cwd=ws).code == 0


@pytest.mark.parametrize(("timeout", "code"), [("0.5", 0), ("0", 3), ("86401", 3)])
def test_a_timeout_is_refused_as_its_message_says(
    ws: Path, maia: Callable[..., Result], timeout: str, code: int
) -> None:
    (ws / "pq").mkdir()
    exp_id = new_exp(maia, ws)
    settings = ws / "maia.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + f"logs:\n  source: parquet\n  path: pq\n  timeout: {timeout}\n",
        encoding="utf-8",
    )
    result = maia("logs", "sums", exp_id, cwd=ws)
    assert result.code == code, result.err
    if code:
        assert "timeout must be a number of seconds above 0, at most 86400" in result.err


def test_ci_analyze_of_a_warehouse_source_points_to_the_analysis_for_invalid_rows(
    ws: Path, maia: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """maia doctor reads segments in git only: it cannot list a warehouse's invalid rows."""
    import duckdb

    exp_id = new_exp(maia, ws)
    assert maia("exp", "start", exp_id, cwd=ws).code == 0
    lines = [json.loads(line) for line in _lines(exp_id, "a", 8).splitlines()]
    database = ws.parent / "events.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE events (ts TIMESTAMPTZ, user_id VARCHAR, arm VARCHAR, success "
                "BOOLEAN, quality_score DOUBLE, tokens BIGINT, latency_ms DOUBLE, "
                "interaction_id VARCHAR)")  # fmt: skip
    for r in [*lines, {**lines[0], "arm": "neither", "interaction_id": "bad"}]:
        values = [r["ts"], r["user_id"], r["arm"], r["success"], r["interaction_id"]]
        con.execute("INSERT INTO events VALUES (?, ?, ?, ?, NULL, NULL, NULL, ?)", values)
    con.close()
    _with_query(ws, b"SELECT * FROM events")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "sql source")
    monkeypatch.setenv("MAIA_TEST_DB", f"duckdb:///{database}")

    shown = maia("ci", "analyze", cwd=ws)
    as_json = maia("ci", "analyze", "--json", cwd=ws)

    assert shown.code == 0, shown.err
    assert f"not counted (`maia exp analyze {exp_id}` shows them)" in shown.out
    result = json.loads(as_json.out)["results"][0]
    assert result["experiment_id"] == exp_id and result["invalid_lines"] == 1
    assert result["control"]["users"] + result["treatment"]["users"] == 8


def test_an_experiment_named_twice_is_exported_once(ws: Path, maia: Callable[..., Result]) -> None:
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 4))

    out = maia("logs", "export", exp_id, exp_id, "--to", "pq", "--json", cwd=ws)

    assert out.code == 0, out.err
    assert [e["rows"] for e in json.loads(out.out)["experiments"]] == [4]
    message = git(ws, "log", "-1", "--format=%B")
    assert message.startswith(f"Export 1 log segment(s) of {exp_id} to Parquet")
    assert message.count("Maia-Experiment:") == 1


def test_an_experiment_with_nothing_to_export_is_not_said_exported(
    ws: Path, maia: Callable[..., Result]
) -> None:
    exp_id = new_exp(maia, ws)
    _commit_segment(ws, exp_id, "ext.jsonl", _lines(exp_id, "a", 4))
    assert maia("logs", "export", exp_id, "--to", "pq", cwd=ws).code == 0

    again = maia("logs", "export", exp_id, "--to", "pq", cwd=ws)

    assert again.code == 0, again.err
    assert again.out == (
        "no committed log segments to export (`maia sync` commits them)\n"
        f"{exp_id}: nothing to export\n"
    )


@pytest.mark.parametrize(("engine", "dialect"), [("duckdb", "duckdb"), ("chdb", "clickhouse")])
def test_logs_sql_json_names_the_dialect_it_printed(
    ws: Path, maia: Callable[..., Result], engine: str, dialect: str
) -> None:
    exp_id = new_exp(maia, ws)
    (ws / "pq").mkdir()
    _parquet_source(ws, "pq", engine)

    shown = maia("logs", "sql", exp_id, "--json", cwd=ws)
    asked = maia("logs", "sql", exp_id, "--json", "--dialect", "trino", cwd=ws)

    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["dialect"] == dialect
    assert json.loads(shown.out)["sql"] == maia("logs", "sql", exp_id, cwd=ws).out.rstrip("\n")
    assert json.loads(asked.out)["dialect"] == "trino"
