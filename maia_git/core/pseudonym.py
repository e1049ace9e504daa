"""Pseudonymous user ids: HMAC-SHA256 of the user's id under a secret key.

Logs are committed, pushed and immutable, so a user's e-mail address in them can only be erased
by rewriting history. The runtime passes ``pseudonymous_id(user)`` wherever it would pass the
user's id (assignment and recording alike): the same user gets the same id and so the same arm,
and without the key nobody can tell whose id it is. The key must never be in the repository.
"""

from __future__ import annotations

import hashlib
import hmac

from maia_git.core.assign import check_user_id
from maia_git.errors import UsageError

MIN_KEY_BYTES = 16


def pseudonymous_id(user_id: str, key: str | bytes) -> str:
    """32 hex digits (128 bits) of HMAC-SHA256(key, user_id as UTF-8)."""
    secret = key.encode("utf-8") if isinstance(key, str) else key
    if len(secret) < MIN_KEY_BYTES:
        raise UsageError(
            f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes (got {len(secret)}); "
            'make one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    message = check_user_id(user_id).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
