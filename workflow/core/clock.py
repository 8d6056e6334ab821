"""The one source of "now". Tests replace it to stand at exact instants."""

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.core.errors import BondtrackError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Clock = system_clock


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return _clock()


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` and return the previous one (tests restore it)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def fixed(instant: datetime) -> Clock:
    """A clock that always answers ``instant`` (which must be aware)."""
    if instant.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime")
    value = instant.astimezone(UTC)
    return lambda: value


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; an unknown one is a user error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BondtrackError(f"unknown time zone '{name}'"
                             " (use an IANA name such as America/Chicago)") from None


def local(instant: datetime, tz: str) -> datetime:
    """``instant`` as wall time in ``tz`` (for display only)."""
    return instant.astimezone(zone(tz))


def iso(instant: datetime | None, tz: str) -> str | None:
    """ISO 8601 with the zone's offset, e.g. ``2025-11-21T12:00:00-06:00``."""
    return local(instant, tz).isoformat() if instant is not None else None


def duration_parts(seconds: float) -> tuple[int, int, int]:
    """Whole days, hours and minutes in ``abs(seconds)``."""
    minutes = int(abs(seconds)) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return days, hours, minutes
