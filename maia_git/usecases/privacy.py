"""The pseudonymous-id helper of the API, with its key from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from maia_git.core import pseudonym
from maia_git.errors import UsageError

KEY_VARIABLE = "MAIA_PSEUDONYM_KEY"


def pseudonymous_id(
    user_id: str, key: str | bytes | None = None, environ: Mapping[str, str] = os.environ
) -> str:
    """HMAC-SHA256 of ``user_id`` under ``key`` (default: ``$MAIA_PSEUDONYM_KEY``), 32 hex.

    Use it for assignment and recording alike: ``get_prompt(exp, pseudonymous_id(email))``.
    """
    if key is None:
        key = environ.get(KEY_VARIABLE)
        if not key:
            raise UsageError(
                f"set {KEY_VARIABLE} to a secret kept outside the repository (or pass key=)"
            )
    return pseudonym.pseudonymous_id(user_id, key)
