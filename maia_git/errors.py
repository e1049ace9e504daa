"""The error hierarchy: each class carries the exit code the CLI returns for it."""

from __future__ import annotations


class MaiaError(Exception):
    """A maia error that is expected: printed as one line, no traceback."""

    exit_code = 1


class UsageError(MaiaError):
    """Bad input or usage (an id, a path, a value out of range)."""

    exit_code = 2


class StateFileError(MaiaError):
    """A state file is invalid; the message starts with file:line:column."""

    exit_code = 3


class TransitionError(MaiaError):
    """An event that the experiment's current state does not allow."""

    exit_code = 4


class LockTimeout(MaiaError):
    """The workspace lock could not be taken in time."""

    exit_code = 75


class NotFound(UsageError):
    """An experiment, agent or file that does not exist."""
