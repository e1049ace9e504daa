"""Checking a source query from the repository before it runs with warehouse credentials.

A query file is repository content, and CI runs it with the warehouse's credentials, so it is
treated as hostile: it must parse (sqlglot, in the engine's dialect) as exactly one SELECT (set
operations of SELECTs included) that writes nothing, locks nothing and calls no function that
reads files, changes settings or reaches other servers. What runs is sqlglot's regeneration of
that tree wrapped in maia's statement, never the text as written, so nothing can hide after a
semicolon. The engine adds its own walls (``engines``): DuckDB without external access beyond
the configured data, PostgreSQL in a read-only transaction with a statement timeout.
"""

from __future__ import annotations

from typing import Any

from maia_git.errors import UsageError

# Functions a SELECT could use to escape a read-only session (by lower-case name). The engine's
# own settings are the wall; this list stops the known ways through it earlier and with a
# clear message.
FORBIDDEN_FUNCTIONS = frozenset({
    # PostgreSQL: files, large objects, settings, other servers, signals, sleeping
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import",
    "lo_export", "lo_get", "lo_put", "lo_from_bytea", "set_config", "current_setting",
    "dblink", "dblink_exec", "dblink_connect", "pg_terminate_backend", "pg_cancel_backend",
    "pg_reload_conf", "pg_sleep", "pg_sleep_for", "pg_sleep_until", "query_to_xml",
    "pg_advisory_lock", "pg_notify",
    # DuckDB: files, settings, extensions, the environment
    "read_text", "read_blob", "read_csv", "read_csv_auto", "read_json", "read_json_auto",
    "read_ndjson", "glob", "getenv", "duckdb_settings", "query",
    "query_table", "sniff_csv", "read_parquet", "parquet_scan", "parquet_metadata",
    "parquet_schema",
    # ClickHouse: table functions reaching files, URLs or other servers
    "file", "url", "s3", "hdfs", "remote", "remotesecure", "mysql", "postgresql", "executable",
    "jdbc", "odbc", "sqlite", "input",
})  # fmt: skip


def check_query(text: str, dialect: str, *, allow: frozenset[str] = frozenset()) -> Any:
    """The sqlglot tree of ``text`` if it is one read-only SELECT, else UsageError (exit 2).

    ``allow`` names forbidden functions the caller itself put in (a Parquet reader over the
    configured folder)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as err:
        first = str(err).splitlines()[0] if str(err) else "cannot parse"
        raise UsageError(f"the source query does not parse as {dialect} SQL: {first}") from None
    if len(statements) != 1:
        raise UsageError(f"the source query must be one SELECT statement, not {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise UsageError(f"the source query must be a SELECT, not {tree.key.upper()}")
    for node in tree.walk():
        _check_node(node, exp, allow)
    return tree


_WRITES = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Copy",
           "Into", "Lock", "Set", "Use", "Pragma", "Attach", "Detach", "Transaction", "Commit",
           "Rollback", "TruncateTable", "Grant", "Revoke", "Install", "Load", "Export")  # fmt: skip


def _check_node(node: Any, exp: Any, allow: frozenset[str]) -> None:
    for name in _WRITES:
        kind = getattr(exp, name, None)
        if kind is not None and isinstance(node, kind):
            raise UsageError(f"the source query may only read: {node.key.upper()} is refused")
    if isinstance(node, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in FORBIDDEN_FUNCTIONS and name not in allow:
            raise UsageError(f"the source query may not call {name}()")
    if isinstance(node, exp.Table):
        func = node.this
        if isinstance(func, exp.Func):
            _check_node(func, exp, allow)
        elif "/" in node.name or node.name.startswith(("'", '"')):
            raise UsageError("the source query may not read files by name")
