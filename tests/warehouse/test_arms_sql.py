"""The statement with more than one treatment: the arm must be one of the experiment's, and the
user's own by ``core.assign.arm_among`` (the same bucket cut at the cumulative shares in the
arms' order); one row of sums per arm, equal on DuckDB, PostgreSQL and chdb to a reference
that assigns users with ``arm_among`` itself."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from corpus import PINS, assert_same, fold
from test_engines_agree import TABLE, _duckdb_table, _load_postgres

from maia_git.core.assign import arm_among, bucket, control_threshold, cuts
from maia_git.warehouse import engines, guard
from maia_git.warehouse.parquet import parse_source
from maia_git.warehouse.result import SourceSums
from maia_git.warehouse.sql import DIALECTS, aggregate_sql, arm_cuts, canonical_sql

pytest.importorskip("duckdb", reason="DuckDB is not installed (maia-git[duckdb])")
pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")

EXP = "exp_arms"
# Three arms with shares that do not fall on whole buckets (1/3: cuts at 3333 and 6667), and
# four named ones.
CASES = [
    (("control", "treatment_1", "treatment_2"), (1 / 3, 1 / 3, 1 / 3)),
    (("control", "terse", "verbose", "tools"), (0.4, 0.3, 0.2, 0.1)),
]


def _row(rng: random.Random, user: str, i: int, arm: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TABLE)
    row.update(ts=1_772_000_000_000_000 + rng.randrange(10**12), user_id=user, arm=arm,
               success=rng.random() < 0.5)  # fmt: skip
    if rng.random() < 0.7:
        row["quality_score"] = round(rng.uniform(0, 100), 3)
    if rng.random() < 0.6:
        row["tokens"] = rng.randrange(5000)
    if rng.random() < 0.5:
        row["latency_ms"] = rng.uniform(0, 9000)
    if rng.random() < 0.5:
        row["interaction_id"] = f"{user}-{i}"
    return {**row, **extra}


def corpus(names: tuple[str, ...], shares: tuple[float, ...], pins: dict[str, str]) -> tuple[
    list[dict[str, Any]], dict[str, Any]
]:  # fmt: skip
    """Typed rows of users in every arm, with rows in another arm than the user's, in no arm
    of the experiment, served another arm's prompt, and repeated ids; and the reference."""
    rng = random.Random(len(names))
    rows: list[dict[str, Any]] = []
    valid: list[dict[str, Any]] = []
    for u, user in enumerate([*(f"user-{u:04d}" for u in range(400)), *_edges(shares)]):
        own = arm_among(EXP, user, names, shares)
        for i in range(rng.randrange(1, 6)):
            row = _row(rng, user, i, own)
            if rng.random() < 0.3:
                row["prompt_blob"] = pins[own]
            rows.append(row)
            valid.append(row)
        other = names[(names.index(own) + 1) % len(names)]
        if u % 7 == 0:
            rows.append(_row(rng, user, 90, other))  # another arm than the user's
        if u % 11 == 0:
            rows.append(_row(rng, user, 91, own, prompt_blob=pins[other]))
        if u % 13 == 0:
            rows.append(_row(rng, user, 92, "treatment"))  # not an arm here
        if u % 17 == 0:  # a repeated id: a copy with an earlier ts and another outcome counts
            first = _row(rng, user, 93, own, interaction_id=f"dup-{u}")
            copy = {**first, "ts": first["ts"] - 1, "success": not first["success"]}
            rows += [first, copy]
            valid += [first, copy]
        if u % 19 == 0:  # a copy in the wrong arm does not count; the valid one does
            kept = _row(rng, user, 94, own, interaction_id=f"dup-arm-{u}")
            rows += [{**kept, "arm": other, "ts": kept["ts"] - 5}, kept]
            valid.append(kept)
    want = {"rows": len(rows), "invalid": len(rows) - len(valid)} | fold(valid, EXP, names)
    return rows, want


def _edges(shares: tuple[float, ...]) -> list[str]:
    """Users whose bucket lies on either side of each cut: one bucket off, and they move."""
    wanted = {c + d for c in cuts(shares)[:-1] for d in (-1, 0)}
    found: dict[int, str] = {}
    for k in range(10**6):
        user = f"edge-{k}"
        b = bucket(EXP, user)
        if b in wanted and b not in found:
            found[b] = user
            if len(found) == len(wanted):
                break
    return sorted(found.values())


@pytest.mark.parametrize(("names", "shares"), CASES)
def test_every_engine_matches_the_reference(
    names: tuple[str, ...], shares: tuple[float, ...], tmp_path: Path, postgres_url: str
) -> None:
    pins = {arm: f"{k + 1:x}" * 40 for k, arm in enumerate(names)}
    rows, want = corpus(names, shares, pins)
    assert all(want[arm]["users"] > 20 for arm in names)  # every arm has users
    assert want["invalid"] > 50 and want["duplicates"] > 10
    out = tmp_path / "arms.parquet"
    _duckdb_table(rows, out)

    con = engines.duckdb_connect(allowed_paths=[str(out)])
    duck = aggregate_sql("duckdb", EXP, shares, parse_source("duckdb", str(out)), blobs=pins,
                         arms=names)  # fmt: skip
    got = SourceSums.from_rows(engines.run_duckdb(con, duck), names)
    assert_same(got, want, names=names)
    assert got.fetched == len(names) + 1  # one row per arm, and the rows in none

    _load_postgres(postgres_url, rows)
    query = guard.check_query("SELECT * FROM events", "postgres")
    pg = aggregate_sql("postgres", EXP, shares, query, blobs=pins, arms=names)
    assert_same(SourceSums.from_rows(engines.run_postgres(postgres_url, pg, 60), names), want,
                names=names)  # fmt: skip

    pytest.importorskip("chdb", reason="chdb is not installed (maia-git[warehouse])")
    ch = aggregate_sql("clickhouse", EXP, shares, parse_source("chdb", str(out)), blobs=pins,
                       arms=names)  # fmt: skip
    assert_same(SourceSums.from_rows(engines.run_chdb(ch), names), want, names=names)


def test_two_arms_keep_the_two_arm_statement() -> None:
    """Two arms given as shares are the control share's statement, character for character."""
    for share in (0.5, 0.3, 0.12345):
        text = canonical_sql(EXP, share, PINS)
        assert canonical_sql(EXP, (share, 1 - share), PINS) == text
        assert arm_cuts((share, 1 - share)) == [("control", control_threshold(share)),
                                                ("treatment", 10000)]  # fmt: skip


def test_shares_must_fit_the_arms() -> None:
    from maia_git.errors import UsageError

    with pytest.raises(UsageError, match="3 arms need 3 shares"):
        canonical_sql(EXP, (0.5, 0.5), arms=("control", "a", "b"))
    with pytest.raises(UsageError, match="need a share each"):
        canonical_sql(EXP, 0.5, arms=("control", "a", "b"))
    with pytest.raises(UsageError, match="add up to 1"):
        canonical_sql(EXP, (0.5, 0.3, 0.3), arms=("control", "a", "b"))


def test_the_rows_of_several_arms_read_back() -> None:
    """A row for an arm the experiment does not have is an error, not a silent drop."""
    from maia_git.errors import MaiaError
    from maia_git.warehouse.sql import RESULT

    row = ["treatment_1", 1, 1, *([0.0] * (len(RESULT) - 5)), 1, 1]
    got = SourceSums.from_rows([row], ("control", "treatment_1", "treatment_2"))
    assert got.arms["treatment_1"].users == 1 and got.control.users == 0
    assert got.to_dict()["arms"][1]["name"] == "treatment_1"
    with pytest.raises(MaiaError, match="unknown arm 'treatment_1'"):
        SourceSums.from_rows([row])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_several_arms_translate_to_every_dialect(dialect: str) -> None:
    """The engines the tests cannot run get the same cuts, each arm a literal once."""
    import sqlglot

    names, shares = CASES[1]
    text = aggregate_sql(dialect, EXP, shares, "events", blobs=PINS, arms=names)
    assert len(sqlglot.parse(text, read=dialect)) == 1
    for name, below in arm_cuts(shares, names)[:-1]:
        assert f"< {below} THEN '{name}'" in text
    assert f"ELSE '{names[-1]}' END" in text
