"""The remote that pushes go to: one check, one message, one exit code for every command."""

from __future__ import annotations

from maia_git.errors import UsageError
from maia_git.storage import git
from maia_git.workspace import Workspace


def require_remote(ws: Workspace) -> str:
    """The URL of the configured remote; a missing one is refused before anything changes."""
    remote = ws.settings.remote
    code, url, _ = git.attempt(ws.repo, "remote", "get-url", remote)
    if code != 0:
        raise UsageError(
            f"no remote {remote!r} to push to: add one (`git remote add {remote} URL`) "
            "or name another in maia.yaml (remote:)"
        )
    return url.strip()
