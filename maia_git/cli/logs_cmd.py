"""``maia logs``: where interaction logs live beyond the repository (docs/warehouse.md)."""

from __future__ import annotations

import click

from maia_git.cli.render import emit_json


@click.group()
def logs() -> None:
    """Export logs to Parquet, and see the SQL an analysis runs on a warehouse.

    \b
    Example:
      maia logs export --to /data/maia-logs
      maia logs sql exp_001 --dialect bigquery
    """


@logs.command()
@click.argument("exp_ids", nargs=-1, metavar="[EXP_ID]...")
@click.option(
    "--to", "root", metavar="FOLDER|s3://BUCKET/PREFIX",
    help="Parquet folder or S3 bucket (default: maia.yaml's logs path).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="List the segments that would be exported.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def export(exp_ids: tuple[str, ...], root: str | None, dry_run: bool, as_json: bool) -> None:
    """Move committed log segments to zstd Parquet files and commit a manifest in their place.

    Afterwards `maia exp analyze` reads the Parquet files (checked against the manifest's
    hashes) and the segments still in git together. A bucket needs maia-git[s3] and the AWS
    variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL) in the
    environment. Git history keeps the exported segments: see docs/warehouse.md to shrink a
    repository.

    \b
    Example:
      maia logs export exp_001 --to /data/maia-logs
      maia logs export exp_001 --to s3://my-bucket/maia-logs
    """
    from maia_git.usecases.export import export_logs
    from maia_git.workspace import Workspace

    results = export_logs(Workspace.find(), list(exp_ids), root, dry_run=dry_run)
    if as_json:
        emit_json({"experiments": [r.to_dict() for r in results], "dry_run": dry_run})
        return
    if dry_run:
        click.echo("dry run: nothing was changed")
    if not any(r.segments for r in results):
        click.echo("no committed log segments to export (`maia sync` commits them)")
    for r in results:
        verb = "would export" if dry_run else "exported"
        rows = "" if dry_run else f" ({r.rows} line(s))"
        if not r.segments:  # nothing was written: not "exported 0 segment(s)"
            click.echo(f"{r.exp_id}: nothing to export")
        else:
            click.echo(f"{r.exp_id}: {verb} {len(r.segments)} segment(s){rows}")
        for rel in r.skipped:
            click.echo(f"  skipped {rel}: not committed, or changed since (run `maia sync`)")


@logs.command()
@click.argument("exp_id")
@click.option("--dialect", type=click.Choice(
    ["duckdb", "postgres", "clickhouse", "bigquery", "snowflake", "trino"]),
    help="Translate for this engine (default: the experiment's source's).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the statement in a JSON object.")
def sql(exp_id: str, dialect: str | None, as_json: bool) -> None:
    """Print the one SQL statement that aggregates the experiment's logs in the engine.

    For a `sql` source it wraps the repository's query file; run it yourself on any engine
    with `--dialect`.

    \b
    Example:
      maia logs sql exp_001 --dialect snowflake
    """
    from maia_git.usecases.warehouse import default_dialect, statement
    from maia_git.workspace import Workspace

    ws = Workspace.find()
    text = statement(ws, exp_id, dialect)
    if as_json:
        shown = dialect or default_dialect(ws, exp_id)
        emit_json({"experiment_id": exp_id, "dialect": shown, "sql": text})
    else:
        click.echo(text)


@logs.command()
@click.argument("exp_id")
@click.option("--json", "as_json", is_flag=True, help="Print the sums as JSON.")
def sums(exp_id: str, as_json: bool) -> None:
    """Run the aggregation on the experiment's log source and print the per-arm sums.

    \b
    Example:
      MAIA_WAREHOUSE_URL=postgresql://reader@db/app maia logs sums exp_001 --json
    """
    from maia_git.usecases.warehouse import rules_of, source_of, source_sums
    from maia_git.workspace import Workspace

    ws = Workspace.find()
    result = source_sums(ws, rules_of(ws, exp_id))
    if as_json:
        emit_json({"experiment": exp_id, "source": source_of(ws, exp_id).to_dict()}
                  | result.to_dict())  # fmt: skip
        return
    for arm, a in result.arms.items():
        click.echo(f"{arm}: {a.users} user(s), {a.n} interaction(s)")
    click.echo(f"rows read: {result.rows}, invalid: {result.invalid}, "
               f"repeated ids: {result.duplicates}, rows fetched: {result.fetched}")  # fmt: skip
