"""Warehouse sources: `maia exp analyze` over Parquet (DuckDB) and PostgreSQL against the
engine's own bare per-user aggregation of the same rows, same run.

    python bench/bench_warehouse.py [--interactions N] [--users U] [--runs R] [--ids all|none]
                                    [--no-postgres] [--exported] [--out FILE]

Defaults: 10,000,000 interactions from 1,000,000 users, every line with a distinct
interaction id (``--ids all``: the dedupe's worst case) or none (``--ids none``).

Timed as real processes, interleaved round-robin after one warm-up each, median reported:

- ``maia exp analyze ID --json``, the whole command (start, settings, the one statement with
  every line rule, the statistics, output);
- the bare query: a process that imports the engine's driver, runs the per-user then per-arm
  GROUP BY with the same sums and no rules, and exits ("bare query plus process start"); the
  engine's own time for that query is reported beside it;
- the bare query and the engine's own check for repeated interaction ids (``GROUP BY
  interaction_id HAVING COUNT(*) > 1``), one after the other in one process: the least any
  exact analysis of rows whose ids may repeat must do. Finding repeats among distinct ids is
  a grouping of every id, which costs an engine about as much as the bare query itself, so
  ``ratio_checked`` (maia against this) is reported beside ``ratio``.

Every process runs with Python's bytecode cache on, as an installed package does (pip compiles
it at install); an environment's ``PYTHONDONTWRITEBYTECODE`` is dropped.

With ``--exported``, a third source: the same file as ``maia logs export`` leaves it, listed in
the experiment's manifest with its hash and, when maia's own check finds no id on two rows,
``unique_ids`` (the analysis then groups no id: nothing is left in git). The benchmark writes
that manifest itself, with maia's functions, because exporting 10,000,000 lines through the JSON
reader would take longer than the measurement; the segment it names does not exist.

Target: maia's whole command within 1.5x of the bare query plus process start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from maia_git.warehouse.engines import WORK_MEM  # noqa: E402
from maia_git.warehouse.sql import _bucket  # noqa: E402

PY = sys.executable
EXP = "exp_001"
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip

BARE = """SELECT arm, COUNT(*) AS users, SUM(n),
  SUM(s), SUM(s * s), SUM(n * n), SUM(s * n), SUM(qs), SUM(qn), SUM(qs * qs), SUM(qn * qn),
  SUM(qs * qn), SUM(tsum), SUM(tn), SUM(tsum * tsum), SUM(tn * tn), SUM(tsum * tn), SUM(ls),
  SUM(ln), SUM(ls * ls), SUM(ln * ln), SUM(ls * ln)
FROM (SELECT arm, user_id, COUNT(*) AS n, SUM(CASE WHEN success THEN 1 ELSE 0 END) AS s,
        SUM(quality_score) AS qs, COUNT(quality_score) AS qn,
        SUM(CAST(tokens AS DOUBLE PRECISION)) AS tsum, COUNT(tokens) AS tn,
        SUM(latency_ms) AS ls, COUNT(latency_ms) AS ln
      FROM {source} GROUP BY arm, user_id) AS per_user
GROUP BY arm"""

# The repeated ids of the same rows, found the cheapest exact way the engines offer.
REPEATS = """SELECT interaction_id FROM {source} WHERE interaction_id IS NOT NULL
GROUP BY interaction_id HAVING COUNT(*) > 1"""

# Each statement given (the bare query, then maybe the repeat check) runs in turn; the time of
# the first is printed.
DUCKDB_BARE = (
    "import sys, time, duckdb; con = duckdb.connect(); "
    "con.execute('SET enable_progress_bar = false'); t = time.perf_counter(); "
    "con.execute(sys.argv[1]).fetchall(); print(time.perf_counter() - t); "
    "[con.execute(q).fetchall() for q in sys.argv[2:]]"
)
PG_BARE = (  # with the work_mem maia's own session sets (``engines.WORK_MEM``)
    "import sys, time, psycopg; "
    f"con = psycopg.connect(sys.argv[1], options='-c work_mem={WORK_MEM}'); "
    "t = time.perf_counter(); "
    "con.execute(sys.argv[2]).fetchall(); print(time.perf_counter() - t); "
    "[con.execute(q).fetchall() for q in sys.argv[3:]]"
)


def generate(folder: Path, interactions: int, users: int, ids: str) -> Path:
    """Seeded synthetic rows as zstd Parquet in the export layout; arms are the assignment."""
    import duckdb

    out = folder / f"experiment={EXP}" / "date=2026-03-01"
    out.mkdir(parents=True)
    path = out / "part-0.parquet"
    iid = "'i' || i" if ids == "all" else "CAST(NULL AS VARCHAR)"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"CREATE TABLE u AS SELECT u AS k, 'user-' || u AS user_id FROM range({users}) r(u)"
    )
    bucket = _bucket(f"md5(concat('{EXP}:', user_id))")
    con.execute(f"CREATE TABLE ua AS SELECT k, user_id, CASE WHEN {bucket} < 5000 "
                "THEN 'control' ELSE 'treatment' END AS arm FROM u")  # fmt: skip
    con.execute(f"""COPY (
      SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_microseconds(i * 1000) AS ts,
        ua.user_id, ua.arm, (hash(i) % 100) < 55 AS success,
        CASE WHEN i % 10 < 7 THEN (hash(i * 3) % 10001) / 100.0 END AS quality_score,
        CASE WHEN i % 5 < 3 THEN CAST(hash(i * 5) % 5000 AS BIGINT) END AS tokens,
        CASE WHEN i % 2 = 0 THEN (hash(i * 7) % 900000) / 100.0 END AS latency_ms,
        {iid} AS interaction_id, 'experiments/{EXP}/interactions/bench.jsonl' AS segment,
        i + 1 AS line, CAST(NULL AS VARCHAR) AS error
      FROM range({interactions}) r(i) JOIN ua ON ua.k = hash(i * 11) % {users}
    ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)""")
    con.close()
    return path


def workspace(top: Path) -> None:
    top.mkdir()
    for args in (["git", "init", "-q", "-b", "main"],):
        subprocess.run(args, cwd=top, check=True, env=ENV)
    (top / "agents").mkdir()
    (top / "agents" / "a.md").write_text("a\n")
    (top / "agents" / "b.md").write_text("b\n")
    subprocess.run(["git", "add", "-A"], cwd=top, check=True, env=ENV)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=top, check=True, env=ENV)
    maia(top, "init")
    maia(top, "exp", "new", "bench", "--agent", "a", "--control", "agents/a.md",
         "--treatment", "agents/b.md")  # fmt: skip


def maia(top: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([PY, "-m", "maia_git", *args], cwd=top, env=env or ENV,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"maia {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.strip()[:300]}")
    return wall, proc.stdout


def compare(
    name: str, top: Path, env: dict[str, str], bare: list[str], repeats: str, runs: int
) -> dict[str, Any]:
    """``bare``: the command that runs the bare query; with ``repeats`` appended, it runs the
    repeat check after it."""
    analyze = [PY, "-m", "maia_git", "exp", "analyze", EXP, "--json"]
    walls: dict[str, list[float]] = {"maia": [], "bare": [], "checked": []}
    engine: list[float] = []
    result: dict[str, Any] = {}
    for round_ in range(runs + 1):  # the first round warms the file cache and is dropped
        wall, out = timed(analyze, top, env)
        bare_wall, bare_out = timed(bare, top, env)
        checked_wall, _ = timed([*bare, repeats], top, env)
        if round_:
            walls["maia"].append(wall)
            walls["bare"].append(bare_wall)
            walls["checked"].append(checked_wall)
            engine.append(float(bare_out.strip()))
        result = json.loads(out)
    maia_s, bare_s = statistics.median(walls["maia"]), statistics.median(walls["bare"])
    checked_s = statistics.median(walls["checked"])
    row = {
        "source": name,
        "maia_s": round(maia_s, 3),
        "bare_query_plus_start_s": round(bare_s, 3),
        "bare_engine_s": round(statistics.median(engine), 3),
        "bare_and_repeat_check_plus_start_s": round(checked_s, 3),
        "ratio": round(maia_s / bare_s, 2),
        "ratio_checked": round(maia_s / checked_s, 2),
        "target": "<= 1.5",
        "n": result["control"]["n"] + result["treatment"]["n"],
        "invalid_lines": result["invalid_lines"],
        "duplicate_lines": result["duplicate_lines"],
        "decision": result["decision"],
    }
    print(json.dumps(row), flush=True)
    return row


def as_exported(top: Path, root: Path, parquet: Path, rows: int) -> bool:
    """The experiment's manifest listing ``parquet`` as an export would; True if it records
    unique ids."""
    from maia_git.warehouse import manifest
    from maia_git.warehouse.parquet import file_sha256, ids_repeat

    entry = {"segment": f"experiments/{EXP}/interactions/bench.jsonl", "blob": "0" * 40,
             "parquet": parquet.relative_to(root).as_posix(), "rows": rows,
             "bytes": parquet.stat().st_size, "sha256": file_sha256(parquet)}  # fmt: skip
    data: dict[str, Any] = {"version": manifest.VERSION, "root": str(root), "files": [entry]}
    if not ids_repeat([str(parquet)]):
        data["unique_ids"] = manifest.file_set(data["files"])
    (top / manifest.rel(EXP)).write_bytes(manifest.dumps(data))
    return "unique_ids" in data


def load_postgres(url: str, parquet: Path, folder: Path) -> None:
    import duckdb
    import psycopg

    csv = folder / "rows.csv"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        columns = "ts, user_id, arm, success, quality_score, tokens, latency_ms, interaction_id"
        con.execute(f"COPY (SELECT {columns} FROM read_parquet('{parquet}', "
                    f"hive_partitioning = false)) TO '{csv}' (HEADER false)")  # fmt: skip
    with psycopg.connect(url) as con:
        con.execute("CREATE TABLE events (ts timestamptz, user_id text, arm text, success boolean,"
                    " quality_score double precision, tokens bigint, latency_ms double precision,"
                    " interaction_id text)")  # fmt: skip
        with con.cursor() as cur, cur.copy("COPY events FROM STDIN (FORMAT csv)") as copy, \
                open(csv, "rb") as handle:  # fmt: skip
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("VACUUM ANALYZE events")
    csv.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ids", choices=("all", "none"), default="all")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--exported", action="store_true", help="also the exported-logs source")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="maia-bench-wh-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        parquet = generate(folder / "pq", args.interactions, args.users, args.ids)
        print(f"generated {args.interactions:,} rows in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)  # fmt: skip
        top = folder / "ws"
        workspace(top)
        settings = top / "maia.yaml"
        base = settings.read_text()
        settings.write_text(base + f"logs:\n  source: parquet\n  path: {folder / 'pq'}\n")
        source = f"read_parquet('{parquet}', hive_partitioning = false)"
        bare, repeats = BARE.format(source=source), REPEATS.format(source=source)
        rows.append(compare("parquet/duckdb", top, ENV, [PY, "-c", DUCKDB_BARE, bare],
                            repeats, args.runs))  # fmt: skip
        if not args.no_postgres:
            from pgserver import running_postgres

            with running_postgres() as url:
                start = time.perf_counter()
                load_postgres(url, parquet, folder)
                print(f"loaded PostgreSQL in {time.perf_counter() - start:.1f} s",
                      file=sys.stderr)  # fmt: skip
                (top / "events.sql").write_text("SELECT * FROM events\n")
                settings.write_text(base + "logs:\n  source: sql\n  query: events.sql\n"
                                    "  url_env: MAIA_BENCH_DB\n")  # fmt: skip
                env = {**ENV, "MAIA_BENCH_DB": url}
                bare_pg = [PY, "-c", PG_BARE, url, BARE.format(source="events")]
                rows.append(compare("sql/postgres", top, env, bare_pg,
                                    REPEATS.format(source="events"), args.runs))  # fmt: skip
        if args.exported:
            unique = as_exported(top, folder / "pq", parquet, args.interactions)
            settings.write_text(base)  # the git source, with the manifest
            name = "exported/duckdb" + (" (unique_ids)" if unique else "")
            rows.append(compare(name, top, ENV, [PY, "-c", DUCKDB_BARE, bare], repeats,
                                args.runs))  # fmt: skip
    report = {"interactions": args.interactions, "users": args.users, "ids": args.ids,
              "runs": args.runs, "cpus": os.cpu_count(), "loadavg_start": load_start,
              "loadavg_end": os.getloadavg(), "rows": rows}  # fmt: skip
    print(f"load average: start {load_start}, end {os.getloadavg()}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
