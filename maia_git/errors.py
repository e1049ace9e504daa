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


class UnknownExperiment(NotFound):
    """No experiment has this id; the CLI adds the ids the user may have meant."""

    def __init__(self, exp_id: str) -> None:
        super().__init__(f"unknown experiment {exp_id!r} (see `maia exp list`)")
        self.exp_id = exp_id


class PartialFailure(MaiaError):
    """A multi-step command failed after some steps were done: it says which, and how to finish.

    Rerunning the command is the way to finish: each step is idempotent, so the done ones are
    skipped or reused.
    """

    def __init__(self, error: MaiaError, done: list[str], finish: str) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code
        self.done = done
        self.finish = finish
