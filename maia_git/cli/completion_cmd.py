"""``maia completion bash|zsh|fish``: the shell's completion script, from click's own."""

from __future__ import annotations

import click

from maia_git.cli.render import emit_json, json_option

SHELLS = ("bash", "zsh", "fish")
INSTALL = {
    "bash": 'eval "$(maia completion bash)"     # in ~/.bashrc',
    "zsh": 'eval "$(maia completion zsh)"      # in ~/.zshrc',
    "fish": "maia completion fish > ~/.config/fish/completions/maia.fish",
}


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@json_option
def completion(shell: str, as_json: bool) -> None:
    """Print the completion script for a shell: commands, options and experiment states.

    \b
    Example:
      eval "$(maia completion bash)"                 # add this line to ~/.bashrc
      maia completion fish > ~/.config/fish/completions/maia.fish
    """
    from click.shell_completion import get_completion_class

    from maia_git.cli.main import cli

    cls = get_completion_class(shell)
    assert cls is not None  # the three shells are built into click
    script = cls(cli, {}, "maia", "_MAIA_COMPLETE").source()
    if as_json:
        emit_json({"shell": shell, "script": script, "install": INSTALL[shell]})
    else:
        click.echo(script)
