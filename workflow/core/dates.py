"""The one reader of dates and times as staff type them and spreadsheets carry them.

Every reader (class list, history, apply, custody lists) and every ``--at``/``--date``/
``--deadline`` option and web form goes through here. The rules:

- ISO 8601 (``2025-11-21``, ``2025-11-21 12:00``, ``2025-11-21T12:00:00-06:00``), US
  month-first (``11/21/2025``, ``11/21/25``), month names (``Nov 21, 2025``), a 12- or
  24-hour time after the date (``11/13/2025 2:00 PM``, ``11/13/2025 14:00``), and Excel
  serial day numbers (``45982``, five digits: 1927 to 2173) as a CSV export writes them.
- The tool reads US dates month first. A slashed date whose first number is above 12
  (``13/11/2025``) is day-first and refused with a line saying so, never silently swapped;
  dotted dates (``11.12.2025``) are day-first in most of the world and refused too. No
  message quotes the text: it may be a date of birth.
- A wall time is in the zone given (the court's), unless the text carries an offset; a time
  that a DST change skips or repeats is refused rather than guessed.
- A day alone means that day: ``parse_when`` says so, so a caller can keep it in order
  with the events of the same day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from workflow.core import clock
from workflow.core.errors import BondtrackError

if TYPE_CHECKING:
    from dateutil.parser import parserinfo

NOT_A_DATE = ("not a date (use YYYY-MM-DD, M/D/YYYY or M/D/YY, with a 12- or 24-hour time"
              " if any; court time unless an offset is given)")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_NUMERIC = re.compile(r"^(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})\b")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
# Two defaults that differ in every field: a field that comes out different was not given.
_LOW, _HIGH = datetime(2000, 1, 1, 0, 0, 0), datetime(2001, 2, 2, 1, 1, 1)


@cache
def _us() -> parserinfo:
    """dateutil's rules, month first; loaded on the first date that is not ISO (`status`
    and every ISO date never pay for it)."""
    from dateutil.parser import parserinfo

    return parserinfo(dayfirst=False, yearfirst=False)


class DateError(BondtrackError, ValueError):
    """Text that is not a date this tool reads; the message says why in one line.

    A user error at an edge, and a ``ValueError`` to a reader that collects each cell's
    problem."""


def _refuse_day_first(text: str) -> None:
    numeric = _NUMERIC.match(text)
    if numeric is None:
        return
    first, separator, _, last = numeric.groups()
    if separator == "-" and len(first) == 4:
        return
    if separator == ".":
        raise DateError("a dotted date reads day-first in most of the world: write it as"
                        " M/D/YYYY or YYYY-MM-DD")
    if separator == "-" or len(first) > 2 or len(last) not in (2, 4):
        raise DateError(NOT_A_DATE)
    if int(first) > 12:
        raise DateError("reads day-first (the first number is above 12); this tool reads"
                        " dates month first (M/D/YYYY): write it that way or as YYYY-MM-DD")


@lru_cache(maxsize=65536)  # a spreadsheet holds a few dozen days, each on thousands of rows
def read(text: str) -> tuple[datetime, bool]:
    """``text`` → (the date and time it names, naive unless it carries an offset; whether it
    gave a time of day). Raises ``DateError`` with a one-line reason."""
    text = " ".join(str(text).split())
    if not text:
        raise DateError(NOT_A_DATE)
    if _SERIAL.match(text):
        serial = _EXCEL_EPOCH + timedelta(days=float(text))
        return serial.replace(microsecond=0), "." in text
    try:  # the common case first, and the fastest
        value = datetime.fromisoformat(text)
        return value, len(text) > 10
    except ValueError:
        pass
    _refuse_day_first(text)
    from dateutil.parser import parse

    try:
        low = parse(text, _us(), default=_LOW)
        high = parse(text, _us(), default=_HIGH)
    except (ValueError, OverflowError):
        raise DateError(NOT_A_DATE) from None
    if (low.year, low.month, low.day) != (high.year, high.month, high.day):
        raise DateError(NOT_A_DATE)  # a month and day without a year, a year alone, ...
    return low, low.hour == high.hour


def parse_day(text: str, *, today: date, past: bool = False) -> date:
    """A date (any time after it is ignored), not in the future nor before 1900.

    ``past``: a two-digit year names the latest such year not after today (a birth date
    written ``1/2/60`` is 1960).
    """
    value = read(text)[0].date()
    numeric = _NUMERIC.match(text.strip())
    two_digit_year = numeric is not None and numeric[2] == "/" and len(numeric[4]) == 2
    if past and two_digit_year and value > today:
        value = value.replace(year=value.year - 100)
    if value > today:
        raise DateError("is in the future")
    if value.year < 1900:
        raise DateError("is before 1900")
    return value


def parse_when(text: str, tz: str) -> tuple[datetime, bool]:
    """A date, or a date and time → (aware UTC, whether it was a day only).

    A day alone is the start of that day in ``tz``.
    """
    value, timed = read(text)
    return _in_zone(value, tz), not timed


def parse_instant(text: str, tz: str) -> datetime:
    """A date and time in zone ``tz`` (or with its own offset) → aware UTC; a day alone is
    its start."""
    return parse_when(text, tz)[0]


def _in_zone(value: datetime, tz: str) -> datetime:
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    court = clock.zone(tz)
    first, second = value.replace(tzinfo=court, fold=0), value.replace(tzinfo=court, fold=1)
    if first.utcoffset() != second.utcoffset():
        raise DateError(
            f"{value:%Y-%m-%d %H:%M} is skipped or repeated by a DST change in {tz}: give an offset"
        )
    return first.astimezone(UTC)
