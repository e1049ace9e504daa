"""``maia exp assign`` and ``maia exp record``: the commands an agent runtime's scripts call."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO

import click


def _users(given: tuple[str, ...], handle: IO[str] | None) -> Iterator[str]:
    from maia_git.errors import UsageError

    yield from given
    if handle is None:
        return
    try:
        for line in handle:
            user = line.rstrip("\r\n")
            if user:
                yield user
    except UnicodeDecodeError:
        raise UsageError("--users-file is not valid UTF-8") from None


@click.command()
@click.argument("exp_id", metavar="ID")
@click.argument("users", nargs=-1, metavar="USER...")
@click.option(
    "--users-file",
    type=click.File("r", encoding="utf-8-sig"),
    default=None,
    help="Read user ids, one per line, from FILE ('-' for stdin); streamed.",
)
def assign(exp_id: str, users: tuple[str, ...], users_file: IO[str] | None) -> None:
    """Print the arm of each user: one `user<TAB>arm` line per user.

    The arm is MD5("ID:USER") bucketed into 10,000 and compared with the control share:
    the same user always gets the same arm, on every machine.

    \b
    Example:
      maia exp assign exp_001 alice@example.com bob@example.com
      cut -f1 users.tsv | maia exp assign exp_001 --users-file -
    """
    # Only what assignment needs is imported: this command is on runtimes' hot path.
    from pathlib import Path

    from maia_git.core.assign import assign_many
    from maia_git.core.ids import check_id
    from maia_git.errors import UsageError
    from maia_git.storage.git import find_repo
    from maia_git.storage.state import SETTINGS_FILE, control_share

    if not users and users_file is None:
        raise UsageError("give at least one USER or --users-file")
    check_id(exp_id)
    top = find_repo(Path.cwd()).top
    if not (top / SETTINGS_FILE).is_file():
        raise UsageError(f"{top} is not a maia workspace: run `maia init` there first")
    share = control_share(top, exp_id)
    out = sys.stdout
    batch: list[str] = []
    for user, arm in assign_many(exp_id, _users(users, users_file), share):
        batch.append(f"{user}\t{arm}\n")
        if len(batch) >= 4096:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))


@click.command()
@click.argument("exp_id", metavar="ID")
@click.option("--user", "user_id", required=True, help="The user the agent served.")
@click.option("--success/--failure", default=None, help="Whether the task was completed.")
@click.option("--quality", type=float, default=None, help="Quality score, 0-100.")
@click.option(
    "--quality-from",
    "quality_from",
    default=None,
    metavar="FILE",
    help="Score this response description (JSON, '-' for stdin) and use the score.",
)
@click.option("--tokens", type=int, default=None, help="Tokens used (>= 0).")
@click.option("--latency-ms", type=float, default=None, help="Latency in milliseconds (>= 0).")
@click.option("--interaction-id", default=None, help="Unique id; a repeat is counted once.")
@click.option(
    "--arm",
    type=click.Choice(["control", "treatment"]),
    default=None,
    help="The arm the runtime used; refused if it is not the user's assignment.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the recorded line as JSON.")
@click.option(
    "--dry-run", is_flag=True, help="Check everything and print the line; append nothing."
)
def record(
    exp_id: str,
    user_id: str,
    success: bool | None,
    quality: float | None,
    quality_from: str | None,
    tokens: int | None,
    latency_ms: float | None,
    interaction_id: str | None,
    arm: str | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Append one interaction to this writer's log (no commit; `maia sync` commits).

    The writer is MAIA_WRITER or the host name. Only active experiments accept records.

    \b
    Example:
      maia exp record exp_001 --user alice@example.com --success --quality 87.5 \\
          --tokens 750 --latency-ms 3200 --interaction-id req-8812
    """
    from maia_git.core.ids import check_id
    from maia_git.core.interaction import to_line
    from maia_git.errors import UsageError
    from maia_git.usecases.recording import Recorder
    from maia_git.workspace import Workspace

    if success is None:
        raise UsageError("say --success or --failure")
    if quality is not None and quality_from is not None:
        raise UsageError("give --quality or --quality-from, not both")
    check_id(exp_id)
    ws = Workspace.find()
    recorder = Recorder(ws.top, git_dir=ws.repo.git_dir)
    if quality_from is not None:
        # Everything else is checked before the response is scored and its score kept.
        recorder.record(
            exp_id,
            user_id,
            success,
            tokens=tokens,
            latency_ms=latency_ms,
            interaction_id=interaction_id,
            arm=arm,
            dry_run=True,
        )
        from maia_git.usecases.scores import quality_from_file

        known = recorder.experiment(exp_id)
        response_id = interaction_id or f"{exp_id}-{user_id}"
        if dry_run:  # score it, but keep nothing
            from maia_git.usecases.scores import score_file

            quality = score_file(ws, quality_from, known.agent, response_id, save=False).overall
        else:
            quality = quality_from_file(ws, quality_from, known.agent, response_id)
    line = recorder.record(
        exp_id,
        user_id,
        success,
        quality_score=quality,
        tokens=tokens,
        latency_ms=latency_ms,
        interaction_id=interaction_id,
        arm=arm,
        dry_run=dry_run,
    )
    recorder.close()
    if dry_run:
        from maia_git.storage.segments import shown

        shard = shown(ws.repo, str(recorder.shard(exp_id)))
        click.echo(f"dry run: would append to {shard}:\n{to_line(line).rstrip()}")
        return
    if as_json:
        click.echo(to_line(line).rstrip("\n"))
    else:
        click.echo(
            f"recorded {line['arm']} {'success' if success else 'failure'} for "
            f"{user_id} in {exp_id} (writer {recorder.writer}; `maia sync` commits it)"
        )
