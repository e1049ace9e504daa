from __future__ import annotations

from maia_git.cli.main import entry

entry()
