"""The ``maia`` command: a lazy group of subcommands and the one error handler."""

from __future__ import annotations

import contextlib
import errno
import os
import sys

import click

from maia_git import __version__
from maia_git.cli.lazy import LazyGroup
from maia_git.cli.terminal import escaped_output
from maia_git.errors import MaiaError

C = "maia_git.cli"


@click.group(
    cls=LazyGroup,
    lazy={
        "init": f"{C}.init_cmd:init",
        "exp": f"{C}.exp:exp",
        "queue": f"{C}.queue_cmd:queue",
        "score": f"{C}.score_cmd:score",
        "sync": f"{C}.sync_cmd:sync",
        "ci": f"{C}.ci_cmd:ci",
        "doctor": f"{C}.doctor_cmd:doctor",
        "demo": f"{C}.demo_cmd:demo",
        "report": f"{C}.report_cmd:report",
        "logs": f"{C}.logs_cmd:logs",
        "completion": f"{C}.completion_cmd:completion",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="maia")
def cli() -> None:
    """Git-native A/B experiments on LLM agent prompts.

    State is YAML and JSONL in this repository; every change is one git commit.

    \b
    Example:
      maia init && maia exp new "Shorter prompt" --agent helper \\
          --control agents/helper.md --treatment agents/helper_v2.md
    """


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected errors print one line on stderr and exit with their code."""
    if sys.stdin is None:  # started with stdin closed: read it as empty
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (lives as long as we do)
    try:
        with escaped_output():
            code = cli.main(args=argv, prog_name="maia", standalone_mode=False)
            sys.stdout.flush()
    except MaiaError as err:
        _error(f"{err}{_hint(err)}")
        _partial(err)
        return err.exit_code
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help() if err.ctx else "")
        return 0
    except click.exceptions.Abort:
        click.echo("maia: aborted", err=True)
        return 130
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "maia"
        _error(f"{err.format_message()} (see `{where} --help`)")
        return err.exit_code
    except click.ClickException as err:
        _error(err.format_message())
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EIO, errno.EBADF):
            raise
        _quiet_stdout()
        click.echo(f"maia: error: cannot write the output: {err.strerror}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("maia: interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def _error(message: str) -> None:
    """One line on stderr: controls escaped, at most 300 characters, whatever the message holds."""
    from maia_git.core.escape import line

    click.echo(line(f"maia: error: {message or 'failed, and gave no reason'}"), err=True)


def _hint(err: MaiaError) -> str:
    """The ids an unknown experiment id may have meant, computed only on this error path."""
    from maia_git.errors import UnknownExperiment

    if not isinstance(err, UnknownExperiment):
        return ""
    from maia_git.cli.options import did_you_mean

    return did_you_mean(err.exp_id)


def _partial(err: MaiaError) -> None:
    """After a multi-step command failed part way: what it did, and how to finish."""
    from maia_git.errors import PartialFailure

    if isinstance(err, PartialFailure):
        from maia_git.core.escape import line

        for step in err.done:
            click.echo(line(f"maia: done before the failure: {step}"), err=True)
        click.echo(line(f"maia: to finish, fix the cause and run again: {err.finish}"), err=True)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit cannot fail a second time."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
