"""``maia exp assign`` and ``maia exp record``: the commands an agent runtime's scripts call."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from maia_git.cli.options import EXPERIMENT_ID, aliased, main_callback
from maia_git.cli.render import dry_run_option


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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per user: arm, prompt text, path, blob id, status, pinned, note.",
)
def assign(exp_id: str, users: tuple[str, ...], users_file: IO[str] | None, as_json: bool) -> None:
    """Print the arm of each user: one `user<TAB>arm` line per user.

    The arm is MD5("ID:USER") bucketed into 10,000 and compared with the control share (with
    several treatments, cut into the arms' shares in the order listed): the same user always
    gets the same arm, on every machine. While the experiment is not
    active every user gets control: the agent's prompt file as committed at HEAD.
    With --json, each line also holds the prompt to serve: the pinned text of the user's arm.

    \b
    Example:
      maia exp assign exp_001 alice@example.com bob@example.com
      cut -f1 users.tsv | maia exp assign exp_001 --users-file -
      maia exp assign exp_001 alice@example.com --json
    """
    # Only what assignment needs is imported: this command is on runtimes' hot path.
    from maia_git.core.ids import check_id
    from maia_git.errors import UsageError
    from maia_git.storage.git import find_repo
    from maia_git.storage.state import SETTINGS_FILE

    if not users and users_file is None:
        raise UsageError("give at least one USER or --users-file")
    check_id(exp_id)
    top = find_repo(Path.cwd()).top
    if not (top / SETTINGS_FILE).is_file():
        raise UsageError(f"{top} is not a maia workspace: run `maia init` there first")
    if as_json:
        _assign_json(top, exp_id, _users(users, users_file))
        return
    from maia_git.usecases.runtime import assignments

    out = sys.stdout
    batch: list[str] = []
    for user, arm in assignments(top, exp_id, _users(users, users_file)):
        batch.append(f"{user}\t{arm}\n")
        if len(batch) >= 4096:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))


def _assign_json(top: Path, exp_id: str, users: Iterator[str]) -> None:
    from maia_git.usecases.runtime import Runtime

    runtime = Runtime(top)
    encoded: dict[Any, str] = {}  # each answer's JSON, after its user id, encoded once
    out, batch = sys.stdout, []
    for user in users:
        served = runtime.prompt(exp_id, user)
        rest = encoded.get(served)
        if rest is None:
            rest = encoded[served] = json.dumps(served.to_dict(), ensure_ascii=False)[1:]
        batch.append(f'{{"user_id": {json.dumps(user, ensure_ascii=False)}, {rest}\n')
        if len(batch) >= 1024:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    runtime.close()


@click.command()
@click.argument("exp_id", metavar="ID", type=EXPERIMENT_ID)
@click.argument("user_id", metavar="USER", required=False, callback=main_callback("user", "USER"))
@aliased("user", "USER", "--user")
@click.option("--success", is_flag=True, help="The task was completed (this or --failure).")
@click.option("--failure", is_flag=True, help="The task was not completed (this or --success).")
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
    metavar="NAME",
    default=None,
    help="The arm the runtime used (control, treatment, or a treatment's name with several); "
    "refused if it is not the user's assignment.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the recorded line as JSON.")
@dry_run_option
def record(
    exp_id: str,
    user_id: str | None,
    success: bool,
    failure: bool,
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

    USER is the user the agent served; exactly one of --success and --failure is required.
    The writer is MAIA_WRITER or the host name. Only an active experiment takes records: for
    one that is not, nothing is written, and the command says `recorded: false` and why
    (exit 0, so that a paused experiment never breaks the agent's script).

    \b
    Example:
      maia exp record exp_001 alice@example.com --success --quality 87.5 \\
          --tokens 750 --latency-ms 3200 --interaction-id req-8812
    """
    from maia_git.core.interaction import to_line
    from maia_git.usecases.record_scored import record as run_record
    from maia_git.workspace import Workspace

    if user_id is None:
        raise click.UsageError("Missing argument 'USER'.")
    if success == failure:
        raise click.UsageError(
            "--success and --failure cannot be given together"
            if success
            else "Missing option: give --success or --failure."
        )
    done = run_record(
        Workspace.find(),
        exp_id,
        user_id,
        success,
        quality=quality,
        quality_from=quality_from,
        tokens_used=tokens,
        latency_ms=latency_ms,
        interaction_id=interaction_id,
        arm=arm,
        dry_run=dry_run,
    )
    line = done.result.record
    if line is None:
        if as_json:
            shown = {**done.result.to_dict(), **({"dry_run": True} if dry_run else {})}
            click.echo(json.dumps(shown, ensure_ascii=False))
        else:
            click.echo(f"recorded: false ({done.result.reason})")
    elif dry_run and as_json:
        click.echo(json.dumps({"dry_run": True, "shard": done.shard, "line": line}))
    elif dry_run:
        click.echo(f"dry run: would append to {done.shard}:\n{to_line(line).rstrip()}")
    elif as_json:
        click.echo(to_line(line).rstrip("\n"))
    else:
        click.echo(
            f"recorded {line['arm']} {'success' if success else 'failure'} for "
            f"{user_id} in {exp_id} (writer {done.writer}; `maia sync` commits it)"
        )
