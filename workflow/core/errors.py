"""The only errors users see: each message is one line and names no person.

Messages may carry internal ids, case numbers, file names, line numbers and
column names, never names, A-numbers or dates of birth: they end up in
terminals, logs and bug reports.
"""

import os


class BondtrackError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits 1."""


class ConfigError(BondtrackError):
    """The configuration file or an environment variable is wrong."""


class NotFoundError(BondtrackError):
    """An order, person or facility that does not exist."""


class TransitionError(BondtrackError):
    """A move the stage table forbids, or one missing what it requires."""


class ConflictError(BondtrackError):
    """Someone else changed the record between our read and our write."""


class ValidationError(BondtrackError):
    """An input file or value failed validation; ``problems`` lists every one."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def debugging() -> bool:
    """BONDTRACK_DEBUG=1: let other errors through whole, tracebacks and all."""
    return bool(os.environ.get("BONDTRACK_DEBUG"))


def public(exc: BaseException, where: str | None = None) -> BondtrackError:
    """What may be shown, logged or stored of ``exc``: ours whole; any other only its kind,
    since its message or chained cause may quote a value (the one policy of every edge)."""
    if isinstance(exc, BondtrackError):
        return exc
    return BondtrackError(f"internal error{f' in {where}' if where else ''} ({type(exc).__name__})")
