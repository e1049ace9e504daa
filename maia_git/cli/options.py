"""Options shared by the commands, so that one concept has one name everywhere.

Free text is ``--note``, the user is the ``USER`` argument, the priority is ``--priority`` and
tokens are ``--tokens``. The spellings of version 0.1 (``--reason``, ``--outcome``, ``--notes``,
``--user``, a positional priority) still work for one release: they are hidden from ``--help``
and print a warning that names the new spelling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])


class PriorityType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """high, medium or low, refused in the same words as the Python API refuses it."""

    name = "high|medium|low"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from maia_git.usecases.experiments import parse_priority

        return str(parse_priority(value))

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(p) for p in ("high", "medium", "low") if p.startswith(incomplete)]


PRIORITY = PriorityType()
_ALIASED = "maia.aliased"


def _given(ctx: click.Context, dest: str) -> dict[str, Any]:
    given: dict[str, Any] = ctx.meta.setdefault(_ALIASED, {}).setdefault(dest, {})
    return given


def _record(ctx: click.Context, dest: str, spelling: str, value: Any) -> Any:
    """Remember which spelling gave ``dest`` a value; two spellings at once are refused."""
    given = _given(ctx, dest)
    if value is None or value == ():
        return given.get("value")
    if given:
        raise click.UsageError(
            f"{given['spelling']} and {spelling} are the same option; give it once", ctx
        )
    given.update(spelling=spelling, value=value)
    return value


def aliased(dest: str, main: str, *old: str) -> Callable[[F], F]:
    """Hidden options ``old`` that fill the parameter ``dest`` whose spelling is ``main``.

    The main parameter must be declared with ``callback=main_callback(dest, main)``: click
    processes the parameters given on the command line first, so the main one, when it was not
    given, is processed after its alias and takes the alias's value.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None:
            return
        click.echo(
            f"maia: warning: {param.opts[0]} is now {main}; the old spelling goes in the "
            "next release",
            err=True,
        )
        _record(ctx, dest, param.opts[0], value)

    def decorate(f: F) -> F:
        for spelling in old:
            f = click.option(
                spelling,
                f"_old_{spelling.strip('-').replace('-', '_')}",
                default=None,
                hidden=True,
                expose_value=False,
                callback=callback,
            )(f)
        return f

    return decorate


def main_callback(dest: str, main: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        return _record(ctx, dest, main, value)

    return callback


def note_option(help_text: str, *old: str) -> Callable[[F], F]:
    """``--note TEXT``: the one spelling of free text kept with a change."""

    def decorate(f: F) -> F:
        f = aliased("note", "--note", *old)(f)
        return click.option(
            "--note",
            "note",
            default=None,
            metavar="TEXT",
            help=help_text,
            callback=main_callback("note", "--note"),
        )(f)

    return decorate


def priority_option(default: str | None, help_text: str) -> Callable[[F], F]:
    return click.option(
        "--priority",
        type=PRIORITY,
        default=default,
        show_default=default is not None,
        help=help_text,
        callback=main_callback("priority", "--priority"),
    )


def legacy_priority_argument(f: F) -> F:
    """``queue priority ID LEVEL`` of version 0.1: LEVEL is now ``--priority LEVEL``."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None:
            return
        click.echo(
            "maia: warning: the priority is now given as --priority LEVEL; the positional "
            "form goes in the next release",
            err=True,
        )
        _record(ctx, "priority", "the LEVEL argument", PRIORITY.convert(value, param, ctx))

    return click.argument(
        "legacy_level", required=False, expose_value=False, callback=callback, metavar=""
    )(f)


class ExperimentIdType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """An experiment id; an invalid one gets the ids it may have meant (``2`` -> exp_002)."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from maia_git.core.ids import check_id
        from maia_git.errors import UsageError

        try:
            return check_id(str(value))
        except UsageError:
            hint = did_you_mean(str(value))
            if hint:  # `2` is no valid id, but exp_002 exists: say that, not why `2` is invalid
                raise UsageError(f"unknown experiment {str(value)!r}{hint}") from None
            raise

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        try:
            from maia_git.storage import state
            from maia_git.workspace import Workspace

            ids = state.queue_ids(Workspace.find().top)
        except Exception:  # no workspace here: nothing to offer
            return []
        return [CompletionItem(i) for i in ids if i.startswith(incomplete)]


EXPERIMENT_ID = ExperimentIdType()


def did_you_mean(wanted: str) -> str:
    """`` (did you mean exp_002?)`` for the experiments of the workspace here, or ``""``.

    Only on the error path, and never an error itself: a hint that cannot be computed is left out.
    """
    try:
        from maia_git.usecases.views import similar_ids
        from maia_git.workspace import Workspace

        matches = similar_ids(Workspace.find(), wanted)
    except Exception:  # a missing hint must not hide the real error
        return ""
    if not matches:
        return ""
    return f"; did you mean {' or '.join(matches)}?"
