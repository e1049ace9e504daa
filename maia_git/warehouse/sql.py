"""The one SQL statement that turns interaction rows into per-arm sums, in every dialect.

It is written once (below, in DuckDB's dialect) and translated by sqlglot. Given rows with the
published columns (``ts`` a timestamp, ``user_id``, ``arm``, ``success`` a boolean,
``quality_score``, ``tokens``, ``latency_ms`` numbers, ``interaction_id``, and ``prompt_blob``
if the source has it; NULL where a line lacks an optional field), it applies the line rules of
``core.interaction.check_line`` (generated from the table of ``core.fields``, with the
experiment's arms and pins), in as few passes over the rows as the rules allow:

1. ``checked``: each row's field rules (all but the user id's, which depend on the user alone).
   It is inlined (``NOT MATERIALIZED``), not stored: reading the source again costs an engine
   less than writing every row aside and reading it back, measured on DuckDB and PostgreSQL.
2. ``repeated``, ``copies``, ``ranked``: a repeated interaction id counts once: of the valid
   rows that share it, the one that sorts first by (ts, success, quality_score, tokens,
   latency_ms, the hash of the user below), absent values first. Finding the repeated ids is
   one grouping by id, of the id column alone: an id on two rows, valid or not, is a
   candidate, and its rows (``copies``) are joined to it and ranked in the window, invalid
   ones last, so that only a valid row can rank first (an id with one valid row ranks it
   first, so the wider list changes no count). Every other row streams straight into the
   per-user totals past a ``NOT IN`` of that (usually empty) list, a test of its id alone:
   PostgreSQL puts a filter's expressions and a column's apart, so a filter that asked
   whether the row is valid judged every row twice. Byte-identical copies, the usual case,
   make the choice moot; the order makes it the same in every engine and in the git reader.
3. ``per_user``: each (arm, user)'s totals, rows with an arm that is not the experiment's
   grouped under ``*``.
4. ``judged``: each (arm, user) row's bucket, MD5 of ``"<experiment>:<user>"`` as in
   ``core.assign``: the first 16 hex digits are a 64-bit big-endian number, taken modulo 10000
   and cut into the arms' shares as ``core.assign.arm_among`` does (``arm_cuts``);
   DuckDB and PostgreSQL read the hexadecimal themselves, other engines digit by digit (each
   digit times 16^k mod 10000), which every engine can do exactly in integers; once per user
   and arm, not per row, and with no join back. A user's totals under an arm that is not
   theirs (or a user id with a control character) are invalid lines, not counted: ``good``
   says which totals count.
5. ``per_arm``: the per-arm sums the per-user analysis reads (users, n, and units, num, den,
   num2, den2, numden of completion, quality, tokens and latency), the rows read and the valid
   ones, grouped by arm and ``good``. ``good`` is a grouping key so that every engine computes
   it, and the hash under it, once per row: PostgreSQL inlines a subquery's expressions into
   each use, and nine sums each judging their row hashed every user nine times. The last step
   keeps the rows read of both groups and every other sum of the ``good`` one.

Only those rows come back: one per arm and ``*``, whatever the size of the data. When some
rows are invalid, ``problems_sql`` fetches the first few of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from maia_git.core import fields
from maia_git.core.assign import ARMS, BUCKETS, control_threshold, cuts
from maia_git.core.ids import check_id
from maia_git.errors import UsageError
from maia_git.warehouse.rows import sql_string

DIALECTS = ("duckdb", "postgres", "clickhouse", "bigquery", "snowflake", "trino")
RUN_DIALECTS = ("duckdb", "postgres", "clickhouse")  # run in the tests; the others are golden
COLUMNS = ("ts", "user_id", "arm", "success", "quality_score", "tokens", "latency_ms",
           "interaction_id")  # fmt: skip
METRICS = ("completion", "quality", "tokens", "latency")
SUMS = ("units", "num", "den", "num2", "den2", "numden")
RESULT = ("arm", "users", "n", *(f"{m}_{s}" for m in METRICS for s in SUMS), "rows", "valid")

SOURCE = "maia_source"  # the placeholder table the source query replaces
# Dialects that read ``AS NOT MATERIALIZED``; the others inline a CTE themselves (ClickHouse)
# or choose on their own, and do not parse the hint.
_INLINE_HINT = ("duckdb", "postgres")
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # core.assign.CONTROL_CHARS: Unicode category Cc

# Each field's column in ``typed`` (the others keep their names).
COLUMN = {"quality_score": "q", "tokens": "t", "latency_ms": "l", "interaction_id": "iid",
           "prompt_blob": "b"}  # fmt: skip
BLOB = "prompt_blob"  # read only from a source that returns it (``canonical_sql``'s ``blobs``)


def _col(field: fields.Field) -> str:
    return COLUMN.get(field.name, field.name)


def _optional(field: fields.Field, rule: str) -> str:
    """A NULL optional field is an absent one, which every rule allows."""
    return rule if field.required else f"{_col(field)} IS NULL OR ({rule})"


def _present(field: fields.Field) -> str:
    return f"{_col(field)} IS NOT NULL"


def _text_rule(field: fields.Field) -> str:
    col = _col(field)
    return _optional(field, f"LENGTH({col}) > 0 AND NOT REGEXP_MATCHES({col}, '{_CONTROL}')")


def _number_rule(field: fields.Field) -> str:
    """A number's bounds (and wholeness): absent, or within [low, high] (NaN fails every
    comparison here, infinity the bound)."""
    col = _col(field)
    parts = [f"{col} >= {field.low!r}", f"{col} <= {field.high!r}"]
    if field.kind == fields.INTEGER:
        parts.append(f"{col} = FLOOR({col})")
    return f"{col} IS NULL OR ({' AND '.join(parts)})"


def _blob_rule(field: fields.Field, blobs: Mapping[str, str], arms: Sequence[str]) -> str:
    """A blob id (``core.fields.BLOB_PATTERN``, whole), and with pins its arm's pinned one: a
    line served another prompt does not count (``core.interaction.check_line``)."""
    col = _col(field)
    whole = "^" + fields.BLOB_PATTERN.pattern.replace("(?:", "(") + "$"
    rule = f"REGEXP_MATCHES({col}, '{whole}')"
    if blobs:
        pinned = " ".join(f"WHEN {sql_string(a)} THEN {sql_string(blobs[a])}"
                          for a in arms if a in blobs)  # fmt: skip
        rule += f" AND {col} = CASE arm {pinned} END"
    return _optional(field, rule)


def _arm_rule(arms: Sequence[str]) -> str:
    return f"arm IN ({', '.join(map(sql_string, arms))})"


def field_rules(
    blobs: Mapping[str, str] | None = None, arms: Sequence[str] = ARMS
) -> dict[str, str]:
    """The line rules per field, as SQL over the columns of ``typed``, derived from the one
    table of field rules (``core.fields``) as ``core.interaction.FIELD_CHECKS`` is (a test
    checks both name the same fields). A NULL required field fails. ``blobs`` (``{arm: pinned
    blob id}``) checks ``prompt_blob``; None leaves it out, for a source without the column."""
    by_kind: dict[str, Callable[[fields.Field], str]] = {
        fields.TIMESTAMP: _present,
        fields.TEXT: _text_rule,
        fields.ARM: lambda f: _arm_rule(arms),
        fields.BOOLEAN: _present,
        fields.NUMBER: _number_rule,
        fields.INTEGER: _number_rule,
        fields.BLOB: lambda f: _blob_rule(f, blobs or {}, arms),
    }
    return {
        f.name: by_kind[f.kind](f)
        for f in fields.FIELDS
        if f.kind != fields.BLOB or blobs is not None
    }


_USER = next(f for f in fields.FIELDS if f.name == "user_id")

# 16^k mod 10000 for the hex digit k places from the right of a 16-digit number.
_WEIGHTS = [pow(16, 15 - i, 10000) for i in range(16)]


def _bucket(hex_md5: str) -> str:
    """The portable bucket: digit by digit, in integers every engine has."""
    digits = (
        f"(STRPOS('0123456789abcdef', SUBSTRING({hex_md5}, {i + 1}, 1)) - 1) * {w}"
        for i, w in enumerate(_WEIGHTS)
    )
    return "(" + " + ".join(digits) + ") % 10000"


def _duckdb_bucket(hex_md5: str) -> str:
    """The same number, read as one unsigned 64-bit hexadecimal literal (DuckDB): the canonical
    text's, which ``translate`` swaps for the target dialect's."""
    return f"(CAST('0x' || SUBSTRING({hex_md5}, 1, 16) AS UBIGINT) % 10000)"


# The same number where a dialect reads hexadecimal itself: digit by digit it costs PostgreSQL
# more than the rest of the statement. Two 32-bit halves: (hi * 2^32 + lo) mod 10000 is
# ((hi mod 10000) * (2^32 mod 10000) + lo) mod 10000, below 2^63 all along.
_HALF = "CAST(CAST('x' || SUBSTRING(h, {start}, 8) AS BIT(32)) AS BIGINT)"
_NATIVE_BUCKETS = {
    "duckdb": _duckdb_bucket("h"),
    "postgres": f"((({_HALF.format(start=1)} % 10000) * {2**32 % 10000} + "
    f"{_HALF.format(start=9)}) % 10000)",
}


def _row_ok(blobs: Mapping[str, str] | None, arms: Sequence[str] = ARMS) -> str:
    """Every rule but the user id's, which ``users`` checks once per distinct user."""
    rules = (rule for name, rule in field_rules(blobs, arms).items() if name != "user_id")
    return " AND ".join(f"({rule})" for rule in rules)


def _metric(name: str, x: str, y: str, prefix: str = "") -> str:
    sums = (
        f"SUM(CASE WHEN {y} > 0 THEN 1 ELSE 0 END)",
        f"SUM({x})",
        f"SUM({y})",
        f"SUM({x} * {x})",
        f"SUM({y} * {y})",
        f"SUM({x} * {y})",
    )
    return ", ".join(
        f"CAST(COALESCE({s}, 0) AS DOUBLE) AS {prefix}{name}_{k}"
        for s, k in zip(sums, SUMS, strict=True)
    )


# How a statement splits the users: a two-arm experiment's control share, or with several
# treatments each arm's share, aligned with the arm names.
Split = float | Sequence[float]


def arm_cuts(split: Split, arms: Sequence[str] = ARMS) -> list[tuple[str, int]]:
    """Each arm, control first, with the bucket below which a user not in an earlier arm is
    in it: ``core.assign.control_threshold`` for two arms, ``core.assign.cuts`` (the
    cumulative shares, the rule of ``arm_among``) for more."""
    if isinstance(split, int | float):
        if len(arms) != 2:
            raise UsageError(f"{len(arms)} arms need a share each, not one control share")
        return [(arms[0], control_threshold(split)), (arms[1], BUCKETS)]
    if len(split) != len(arms):
        raise UsageError(f"{len(arms)} arms need {len(arms)} shares, not {len(split)}")
    return list(zip(arms, cuts(split), strict=True))


def _assign(users: str, prefix: str, cut: Sequence[tuple[str, int]]) -> str:
    """Each row of ``users`` (a subquery with a ``user_id`` column), all its columns kept, with
    the user's hash ``h``, the user id rule ``user_ok`` and the ``assigned`` arm."""
    hashed = f"SELECT *, MD5(CONCAT('{prefix}', user_id)) AS h FROM ({users}) AS d"
    if len(cut) == 2:
        (first, below), (second, _) = cut
        first_arm, other = sql_string(first), sql_string(second)
        choice = f"CASE WHEN {_duckdb_bucket('h')} < {below} THEN {first_arm} ELSE {other} END"
    else:  # the bucket once per row, then cut in the arms' order
        whens = " ".join(f"WHEN bk < {below} THEN {sql_string(name)}" for name, below in cut[:-1])
        choice = f"CASE {whens} ELSE {sql_string(cut[-1][0])} END"
        hashed = f"SELECT *, {_duckdb_bucket('h')} AS bk FROM ({hashed}) AS m"
    return f"""
  SELECT *, COALESCE({_text_rule(_USER)}, FALSE) AS user_ok,
    {choice} AS assigned
  FROM ({hashed}) AS hashed"""


def _among(fresh: str | None) -> str:
    if fresh is None:
        return ""
    return f" AND iid IN (SELECT interaction_id FROM ({fresh}) AS fresh)"


def _per_arm_result() -> str:
    """The result columns (``RESULT``) from ``per_arm``'s two rows per arm: the rows read by
    both, every other sum by the one of the users whose totals count (``good``)."""
    whole = ("users", "n", "rows", "valid")
    columns = []
    for name in RESULT[1:]:
        total = f"s_{name}" if name == "rows" else f"CASE WHEN good THEN s_{name} ELSE 0 END"
        kind = "BIGINT" if name in whole else "DOUBLE"
        alias = '"rows"' if name == "rows" else name
        columns.append(f"CAST(SUM({total}) AS {kind}) AS {alias}")
    return ",\n  ".join(columns)


def _typed(blobs: Mapping[str, str] | None) -> str:
    """The published columns, numbers as doubles; ``prompt_blob`` when the source has it."""
    blob = f", {BLOB} AS b" if blobs is not None else ""
    return f"""SELECT ts, user_id, arm, success, CAST(quality_score AS DOUBLE) AS q,
    CAST(tokens AS DOUBLE) AS t, CAST(latency_ms AS DOUBLE) AS l, interaction_id AS iid{blob}"""


def canonical_sql(
    experiment_id: str, split: Split, blobs: Mapping[str, str] | None = None,
    arms: Sequence[str] = ARMS, fresh: str | None = None,
) -> str:  # fmt: skip
    """The statement in DuckDB's dialect, reading the table ``maia_source``; with ``blobs``
    (``{arm: pinned blob id}``, maybe empty), the source's ``prompt_blob`` is checked too.
    ``arms`` (control first) and ``split`` (see ``arm_cuts``): one result row per arm.

    ``fresh``: a SELECT with an ``interaction_id`` column, for a source whose other rows are
    known to share no interaction id (exported files, ``manifest.ids_unique``). An id on two
    rows then has one among ``fresh``'s, so only those ids are grouped, not every row's."""
    prefix = check_id(experiment_id) + ":"
    cut = arm_cuts(split, arms)
    order = "ts, success, q NULLS FIRST, t NULLS FIRST, l NULLS FIRST, u.h"
    valid = "COALESCE(u.user_ok AND f.arm = u.assigned, FALSE)"
    counted = "row_ok AND copy = 1"
    group = f"CASE WHEN {_arm_rule(arms)} THEN arm ELSE '*' END"
    sums = ("un", "us", "uqn", "uqs", "utn", "uts", "uln", "uls", "uok")
    return f"""
WITH typed AS NOT MATERIALIZED (
  {_typed(blobs)}
  FROM {SOURCE}
), checked AS NOT MATERIALIZED (
  SELECT *, COALESCE({_row_ok(blobs, arms)}, FALSE) AS row_ok FROM typed
), repeated AS (
  SELECT iid FROM typed WHERE iid IS NOT NULL{_among(fresh)}
  GROUP BY iid HAVING COUNT(*) > 1
), copies AS (
  SELECT c.ts, c.user_id, c.arm, c.success, c.q, c.t, c.l, c.iid, c.row_ok
  FROM checked AS c JOIN repeated AS r ON c.iid = r.iid
), repeated_users AS ({_assign("SELECT DISTINCT user_id FROM copies WHERE row_ok", prefix, cut)}
), ranked AS (
  SELECT c.user_id, c.arm, c.success, c.q, c.t, c.l, c.row_ok, 1 AS copy
  FROM checked AS c
  WHERE c.iid IS NULL OR c.iid NOT IN (SELECT iid FROM repeated)
  UNION ALL
  SELECT f.user_id, f.arm, f.success, f.q, f.t, f.l, f.row_ok,
    ROW_NUMBER() OVER (PARTITION BY f.iid
      ORDER BY CASE WHEN NOT f.row_ok THEN 2 WHEN {valid} THEN 0 ELSE 1 END, {order}) AS copy
  FROM copies AS f LEFT JOIN repeated_users AS u ON f.user_id = u.user_id
), per_user AS (
  SELECT {group} AS grp, user_id, COUNT(*) AS ur,
    COUNT(*) FILTER (WHERE row_ok) AS uok,
    COUNT(*) FILTER (WHERE {counted}) AS un,
    COUNT(*) FILTER (WHERE {counted} AND success) AS us,
    COUNT(CASE WHEN {counted} THEN q END) AS uqn,
    COALESCE(SUM(CASE WHEN {counted} THEN q END), 0) AS uqs,
    COUNT(CASE WHEN {counted} THEN t END) AS utn,
    COALESCE(SUM(CASE WHEN {counted} THEN t END), 0) AS uts,
    COUNT(CASE WHEN {counted} THEN l END) AS uln,
    COALESCE(SUM(CASE WHEN {counted} THEN l END), 0) AS uls
  FROM ranked GROUP BY {group}, user_id
), judged AS (
  SELECT grp, COALESCE(user_ok AND grp = assigned, FALSE) AS good, {", ".join(("ur", *sums))}
  FROM ({_assign("SELECT * FROM per_user", prefix, cut)}) AS a
), per_arm AS (
  SELECT grp, good, SUM(CASE WHEN un > 0 THEN 1 ELSE 0 END) AS s_users, SUM(un) AS s_n,
    {_metric("completion", "us", "un", "s_")},
    {_metric("quality", "uqs", "uqn", "s_")},
    {_metric("tokens", "uts", "utn", "s_")},
    {_metric("latency", "uls", "uln", "s_")},
    SUM(ur) AS s_rows, SUM(uok) AS s_valid
  FROM judged GROUP BY grp, good
)
SELECT grp AS arm, {_per_arm_result()}
FROM per_arm GROUP BY grp
"""


def problems_sql(
    experiment_id: str, split: Split, blobs: Mapping[str, str] | None, *,
    located: bool, limit: int, arms: Sequence[str] = ARMS,
) -> str:  # fmt: skip
    """The first ``limit`` invalid rows, with the typed columns (``warehouse.problems`` says
    why each does not count, in the git reader's words): a second, limited query, run only
    when the sums found invalid rows. ``located``: the source has ``segment``, ``line`` and
    ``error`` (exported logs), which come back too and order the rows; otherwise the rows are
    ordered by their own values, timestamp and user first."""
    prefix = check_id(experiment_id) + ":"
    cut = arm_cuts(split, arms)
    users = "SELECT DISTINCT user_id FROM typed WHERE user_id IS NOT NULL"
    names = [*PROBLEM_COLUMNS, *(["b"] if blobs is not None else [])]
    extra = ", segment, line, error" if located else ""
    if located:
        order = "c.segment, c.line"
    else:
        first = ("ts", "user_id", "iid")
        keys = [*first, *(n for n in names if n not in first)]
        order = ", ".join(f"c.{n} NULLS FIRST" for n in keys)
    return f"""
WITH typed AS (
  {_typed(blobs)}{extra}
  FROM {SOURCE}
), checked AS (
  SELECT *, COALESCE({_row_ok(blobs, arms)}, FALSE) AS row_ok FROM typed
), users AS ({_assign(users, prefix, cut)}
)
SELECT {", ".join(f"c.{n}" for n in names)}{extra.replace(", ", ", c.")}
FROM checked AS c LEFT JOIN users AS a ON c.user_id = a.user_id
WHERE NOT COALESCE(c.row_ok AND a.user_ok AND c.arm = a.assigned, FALSE)
ORDER BY {order}
LIMIT {int(limit)}
"""


# The typed columns ``problems_sql`` returns first (then ``b`` if read, then the location).
PROBLEM_COLUMNS = ("ts", "user_id", "arm", "success", "q", "t", "l", "iid")


def on_source(canonical: str, source_sql: str) -> str:
    """A canonical text reading a SELECT maia wrote itself (no user text) instead of
    ``maia_source``, for DuckDB as it is, without sqlglot, whose import and parse cost more
    than a small experiment's whole query."""
    return canonical.replace(f"FROM {SOURCE}", f"FROM ({source_sql}) AS src", 1)


def aggregate_sql(
    dialect: str, experiment_id: str, split: Split, source: Any, *,
    blobs: Mapping[str, str] | None = None, arms: Sequence[str] = ARMS, pretty: bool = False,
) -> str:  # fmt: skip
    """The statement for ``dialect``, reading ``source``: a sqlglot expression (a checked query,
    see ``guard``) or a table name; ``blobs``, ``arms`` as in ``canonical_sql``."""
    canonical = canonical_sql(experiment_id, split, blobs, arms)
    return translate(canonical, dialect, source, pretty)


def translate(canonical: str, dialect: str, source: Any, pretty: bool = False) -> str:
    """A canonical text (DuckDB's dialect, reading ``maia_source``) for ``dialect``, reading
    ``source``: a sqlglot expression or a table name."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(canonical, read="duckdb")
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
    _native_bucket(tree, dialect)
    if dialect not in _INLINE_HINT:
        for cte in tree.find_all(exp.CTE):
            cte.set("materialized", None)
    return tree.sql(dialect=dialect, pretty=pretty, comments=False)


def _native_bucket(tree: Any, dialect: str) -> None:
    """DuckDB's bucket (the canonical text's) as ``dialect`` computes it best."""
    import sqlglot

    if dialect == "duckdb":
        return
    duckdb_form = sqlglot.parse_one(_duckdb_bucket("h"), read="duckdb")
    if dialect in _NATIVE_BUCKETS:
        native = sqlglot.parse_one(_NATIVE_BUCKETS[dialect], read=dialect)
    else:
        native = sqlglot.parse_one(_bucket("h"), read="duckdb")
    for node in list(tree.find_all(type(duckdb_form))):
        if node == duckdb_form:
            node.replace(native.copy())


def _anchor_regexps(tree: Any) -> None:
    """Snowflake's REGEXP_LIKE matches the whole subject: a rule that asks "contains" is
    widened, one anchored at both ends loses its anchors."""
    from sqlglot import exp

    for node in list(tree.find_all(exp.RegexpLike)):
        pattern = node.expression
        if isinstance(pattern, exp.Literal):
            text = pattern.this
            whole = text.startswith("^") and text.endswith("$")
            node.set("expression", exp.Literal.string(text[1:-1] if whole else f".*{text}.*"))
            node.set("flag", exp.Literal.string("s"))
