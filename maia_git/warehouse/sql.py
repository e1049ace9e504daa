"""The one SQL statement that turns interaction rows into per-arm sums, in every dialect.

It is written once (below, in DuckDB's dialect) and translated by sqlglot. Given rows with the
published columns (``ts`` a timestamp, ``user_id``, ``arm``, ``success`` a boolean,
``quality_score``, ``tokens``, ``latency_ms`` numbers, ``interaction_id``; NULL where a line lacks
an optional field), it applies the line rules of ``core.interaction.check_line``, then:

1. ``users``: each distinct user's bucket, MD5 of ``"<experiment>:<user>"`` as in
   ``core.assign``: the first 16 hex digits are a 64-bit big-endian number, taken modulo 10000
   digit by digit (each digit times 16^k mod 10000), which every engine can do exactly in
   integers. Hashing once per user, not per row.
2. ``ranked``: a repeated interaction id counts once: of the valid rows that share it, the one
   that sorts first by (ts, success, quality_score, tokens, latency_ms, the user's hash of
   step 1), absent values first. Byte-identical copies, the usual case, make the choice moot;
   the order makes it the same in every engine and in the git reader.
3. ``per_user``: each user's totals; ``per_arm``: CONTRACT's sums over users, and one row
   (``arm`` = '*') with the number of rows read and of valid rows.

Only those rows come back: three at most, whatever the size of the data.
"""

from __future__ import annotations

from typing import Any

from maia_git.core.assign import control_threshold
from maia_git.core.ids import check_id

DIALECTS = ("duckdb", "postgres", "clickhouse", "bigquery", "snowflake", "trino")
RUN_DIALECTS = ("duckdb", "postgres", "clickhouse")  # run in the tests; the others are golden
COLUMNS = ("ts", "user_id", "arm", "success", "quality_score", "tokens", "latency_ms",
           "interaction_id")  # fmt: skip
METRICS = ("completion", "quality", "tokens", "latency")
SUMS = ("units", "num", "den", "num2", "den2", "numden")
# quality_line_sumsq: the sum of squared scores over lines, which the interaction-level quality
# test of stats.ArmStats needs.
RESULT = ("arm", "users", "n", *(f"{m}_{s}" for m in METRICS for s in SUMS),
          "quality_line_sumsq", "rows", "valid")  # fmt: skip

SOURCE = "maia_source"  # the placeholder table the source query replaces
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # core.assign.CONTROL_CHARS: Unicode category Cc
_MAX_DOUBLE = "1.7976931348623157e308"  # x <= this: finite (NaN and infinity fail)

# The line rules per column, as SQL over the typed columns of ``typed`` (a NULL required field
# fails). core/interaction.py FIELD_CHECKS holds the same rules for JSON lines; a test checks the
# two name the same fields.
FIELD_RULES: dict[str, str] = {
    "ts": "ts IS NOT NULL",
    "user_id": f"LENGTH(user_id) > 0 AND NOT REGEXP_MATCHES(user_id, '{_CONTROL}')",
    "arm": "arm IN ('control', 'treatment')",
    "success": "success IS NOT NULL",
    "quality_score": "q IS NULL OR (q >= 0 AND q <= 100)",
    "tokens": f"t IS NULL OR (t >= 0 AND t <= {_MAX_DOUBLE} AND t = FLOOR(t))",
    "latency_ms": f"l IS NULL OR (l >= 0 AND l <= {_MAX_DOUBLE})",
    "interaction_id": f"iid IS NULL OR (LENGTH(iid) > 0 AND NOT REGEXP_MATCHES(iid, '{_CONTROL}'))",
}

# 16^k mod 10000 for the hex digit k places from the right of a 16-digit number.
_WEIGHTS = [pow(16, 15 - i, 10000) for i in range(16)]


def _bucket(hex_md5: str) -> str:
    digits = (
        f"(STRPOS('0123456789abcdef', SUBSTRING({hex_md5}, {i + 1}, 1)) - 1) * {w}"
        for i, w in enumerate(_WEIGHTS)
    )
    return "(" + " + ".join(digits) + ") % 10000"


def _ok() -> str:
    return " AND ".join(f"({rule})" for rule in FIELD_RULES.values())


def _metric(name: str, x: str, y: str) -> str:
    sums = (
        f"SUM(CASE WHEN {y} > 0 THEN 1 ELSE 0 END)",
        f"SUM({x})",
        f"SUM({y})",
        f"SUM({x} * {x})",
        f"SUM({y} * {y})",
        f"SUM({x} * {y})",
    )
    return ", ".join(
        f"CAST(COALESCE({s}, 0) AS DOUBLE) AS {name}_{k}" for s, k in zip(sums, SUMS, strict=True)
    )


def _zeros() -> str:
    return ", ".join(f"CAST(0 AS DOUBLE) AS {m}_{s}" for m in METRICS for s in SUMS)


def canonical_sql(experiment_id: str, control_share: float) -> str:
    """The statement in DuckDB's dialect, reading the table ``maia_source``."""
    prefix = check_id(experiment_id) + ":"
    threshold = control_threshold(control_share)
    order = "ts, success, q NULLS FIRST, t NULLS FIRST, l NULLS FIRST, h"
    return f"""
WITH typed AS (
  SELECT ts, user_id, arm, success, CAST(quality_score AS DOUBLE) AS q,
    CAST(tokens AS DOUBLE) AS t, CAST(latency_ms AS DOUBLE) AS l, interaction_id AS iid
  FROM {SOURCE}
), checked AS (
  SELECT *, COALESCE({_ok()}, FALSE) AS ok FROM typed
), users AS (
  SELECT user_id, h,
    CASE WHEN {_bucket("h")} < {threshold} THEN 'control' ELSE 'treatment' END AS assigned
  FROM (SELECT user_id, MD5(CONCAT('{prefix}', user_id)) AS h
        FROM (SELECT DISTINCT user_id FROM checked WHERE ok) AS d) AS hashed
), valid AS (
  SELECT c.user_id, c.arm, c.success, c.q, c.t, c.l, c.iid, c.ts, a.h
  FROM checked AS c JOIN users AS a ON c.user_id = a.user_id AND c.arm = a.assigned
  WHERE c.ok
), ranked AS (
  SELECT user_id, arm, success, q, t, l,
    CASE WHEN iid IS NULL THEN 1
      ELSE ROW_NUMBER() OVER (PARTITION BY iid ORDER BY {order}) END AS copy
  FROM valid
), per_user AS (
  SELECT arm, user_id, COUNT(*) AS un, SUM(CASE WHEN success THEN 1 ELSE 0 END) AS us,
    COUNT(q) AS uqn, COALESCE(SUM(q), 0) AS uqs, COUNT(t) AS utn, COALESCE(SUM(t), 0) AS uts,
    COUNT(l) AS uln, COALESCE(SUM(l), 0) AS uls, COALESCE(SUM(q * q), 0) AS uqq
  FROM ranked WHERE copy = 1
  GROUP BY arm, user_id
)
SELECT arm, CAST(COUNT(*) AS BIGINT) AS users, CAST(SUM(un) AS BIGINT) AS n,
  {_metric("completion", "us", "un")},
  {_metric("quality", "uqs", "uqn")},
  {_metric("tokens", "uts", "utn")},
  {_metric("latency", "uls", "uln")},
  CAST(COALESCE(SUM(uqq), 0) AS DOUBLE) AS quality_line_sumsq,
  CAST(0 AS BIGINT) AS "rows", CAST(0 AS BIGINT) AS valid
FROM per_user GROUP BY arm
UNION ALL
SELECT '*' AS arm, CAST(0 AS BIGINT) AS users, CAST(0 AS BIGINT) AS n, {_zeros()},
  CAST(0 AS DOUBLE) AS quality_line_sumsq,
  CAST((SELECT COUNT(*) FROM checked) AS BIGINT) AS "rows",
  CAST((SELECT COUNT(*) FROM valid) AS BIGINT) AS valid
"""


def aggregate_sql(
    dialect: str, experiment_id: str, control_share: float, source: Any, *, pretty: bool = False
) -> str:
    """The statement for ``dialect``, reading ``source``: a sqlglot expression (a checked query,
    see ``guard``) or a table name."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(canonical_sql(experiment_id, control_share), read="duckdb")
    replacement = source if isinstance(source, exp.Expression) else exp.to_table(source)
    for table in list(tree.find_all(exp.Table)):
        if table.name == SOURCE:
            if isinstance(replacement, exp.Table):
                table.replace(replacement.copy())
            else:
                table.replace(exp.Subquery(this=replacement.copy(), alias=exp.TableAlias(
                    this=exp.to_identifier("src"))))  # fmt: skip
    if dialect == "snowflake":
        _anchor_regexps(tree)
    return tree.sql(dialect=dialect, pretty=pretty, comments=False)


def _anchor_regexps(tree: Any) -> None:
    """Snowflake's REGEXP_LIKE matches the whole subject; the rules ask "contains"."""
    from sqlglot import exp

    for node in list(tree.find_all(exp.RegexpLike)):
        pattern = node.expression
        if isinstance(pattern, exp.Literal):
            node.set("expression", exp.Literal.string(f".*{pattern.this}.*"))
            node.set("flag", exp.Literal.string("s"))
