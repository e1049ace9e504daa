from __future__ import annotations

import click

from maia_git.cli.lazy import LazyGroup

M = "maia_git.cli"


@click.group(
    cls=LazyGroup,
    lazy={
        "new": f"{M}.exp_lifecycle:new",
        "start": f"{M}.exp_lifecycle:start",
        "pause": f"{M}.exp_lifecycle:pause",
        "resume": f"{M}.exp_lifecycle:resume",
        "complete": f"{M}.exp_lifecycle:complete",
        "cancel": f"{M}.exp_lifecycle:cancel",
        "show": f"{M}.exp_show:show",
        "list": f"{M}.exp_show:list_",
        "log": f"{M}.exp_show:log",
        "assign": f"{M}.exp_record:assign",
        "record": f"{M}.exp_record:record",
        "analyze": f"{M}.exp_analyze:analyze",
        "plan": f"{M}.exp_analyze:plan",
        "promote": f"{M}.exp_promote:promote",
    },
)
def exp() -> None:
    """Create, run, inspect, analyse and promote experiments.

    \b
    Example:
      maia exp new "Shorter prompt" --agent helper \\
          --control agents/helper.md --treatment agents/helper_v2.md
      maia exp start exp_001
    """
