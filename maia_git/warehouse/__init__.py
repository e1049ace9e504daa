"""Analysis where the logs live: Parquet files or a SQL warehouse.

The aggregation (per user, then per arm) runs inside the engine as one SQL statement and only a
few rows of sums come back (``sql.aggregate_sql``); git keeps the experiment, the settings, the
manifest of exported data and every decision. Everything here needs optional packages
(``maia-git[duckdb]``, ``[postgres]``, ``[warehouse]``), imported only when a source needs them.
"""
