"""The statement as each dialect gets it: BigQuery, Snowflake and Trino (which the tests cannot
run) are compared with reviewed golden files, and every dialect's text must parse back.

After a deliberate change: ``python tests/warehouse/test_sql_golden.py`` rewrites the files;
review the diff before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from maia_git.core.interaction import FIELD_CHECKS
from maia_git.warehouse.sql import DIALECTS, aggregate_sql, field_rules

pytest.importorskip("sqlglot", reason="sqlglot is not installed (maia-git[duckdb])")

GOLDEN = Path(__file__).parent / "golden"
QUERY = "SELECT * FROM analytics.agent_interactions WHERE experiment = 'exp_001'"
# The prompts exp_001 pinned at start (a `SELECT *` may return prompt_blob: it is checked).
PINS = {"control": "3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
        "treatment": "9daeafb9864cf43055ae93beb0afd6c7d144bfa4"}  # fmt: skip


def generated(dialect: str) -> str:
    from maia_git.warehouse.guard import check_query

    source = check_query(QUERY, dialect)
    return aggregate_sql(dialect, "exp_001", 0.5, source, blobs=PINS, pretty=True) + "\n"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_statement_matches_its_golden_file(dialect: str) -> None:
    want = (GOLDEN / f"{dialect}.sql").read_text(encoding="utf-8")
    assert generated(dialect) == want


@pytest.mark.parametrize("dialect", DIALECTS)
def test_statement_parses_back_in_its_dialect(dialect: str) -> None:
    import sqlglot

    statements = sqlglot.parse(generated(dialect), read=dialect)
    assert len(statements) == 1


def test_the_sql_rules_cover_every_field_of_a_line() -> None:
    assert set(field_rules({})) == set(FIELD_CHECKS)
    assert set(field_rules(PINS)) == set(FIELD_CHECKS)
    # A source without a prompt_blob column: every rule but that one.
    assert set(field_rules(None)) == set(FIELD_CHECKS) - {"prompt_blob"}


def test_the_documented_statement_is_the_generated_one() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "warehouse.md").read_text(encoding="utf-8")
    block = doc.split("```sql\n")[-1].split("```")[0]
    assert block == generated("postgres")


def test_snowflake_regexps_search_not_match() -> None:
    """Snowflake's REGEXP_LIKE must match the whole text: the rules are widened to search, and
    one anchored at both ends loses its anchors."""
    text = generated("snowflake")
    assert "REGEXP_LIKE(user_id, '.*[" in text and "'s')" in text
    assert "REGEXP_LIKE(b, '[0-9a-f]{40}([0-9a-f]{24})?', 's')" in text


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    for name in DIALECTS:
        (GOLDEN / f"{name}.sql").write_text(generated(name), encoding="utf-8")
