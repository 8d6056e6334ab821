"""The one reader of dates and times: what staff type and spreadsheets carry, in court time;
day-first and DST-ambiguous times refused with a line saying why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workflow.core import dates
from workflow.core.errors import BondtrackError

CHICAGO = "America/Chicago"
TODAY = date(2025, 11, 20)


def chicago(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=dates.clock.zone(CHICAGO)).astimezone(UTC)


def test_noon_on_21_november_in_chicago_is_six_pm_utc() -> None:
    assert dates.parse_instant("2025-11-21 12:00", CHICAGO) == \
        datetime(2025, 11, 21, 18, 0, tzinfo=UTC)


def test_summer_court_time_uses_daylight_time() -> None:
    assert dates.parse_instant("2025-07-01 12:00", CHICAGO) == \
        datetime(2025, 7, 1, 17, 0, tzinfo=UTC)


def test_parsed_instants_are_aware_utc() -> None:
    value = dates.parse_instant("2025-11-21T12:00", CHICAGO)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2025-11-21T12:00:00-05:00", datetime(2025, 11, 21, 17, 0, tzinfo=UTC)),
     ("2025-11-21 18:00Z", datetime(2025, 11, 21, 18, 0, tzinfo=UTC)),
     ("2025-11-21T12:00+00:00", datetime(2025, 11, 21, 12, 0, tzinfo=UTC))],
)
def test_an_explicit_offset_wins_over_the_court_zone(text: str, expected: datetime) -> None:
    assert dates.parse_instant(text, CHICAGO) == expected


@pytest.mark.parametrize("text", ["2026-03-08 02:30", "2025-11-02 01:30"])
def test_a_wall_time_skipped_or_repeated_by_dst_is_refused(text: str) -> None:
    with pytest.raises(BondtrackError, match="DST change in America/Chicago: give an offset"):
        dates.parse_instant(text, CHICAGO)


def test_a_repeated_wall_time_with_an_offset_is_accepted() -> None:
    first = dates.parse_instant("2025-11-02 01:30-05:00", CHICAGO)
    second = dates.parse_instant("2025-11-02 01:30-06:00", CHICAGO)
    assert second - first == timedelta(hours=1)


def test_wall_times_next_to_the_dst_change_are_fine() -> None:
    assert dates.parse_instant("2026-03-08 03:00", CHICAGO) == \
        datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert dates.parse_instant("2025-11-02 02:00", CHICAGO) == \
        datetime(2025, 11, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["America/Chicgo", "Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(BondtrackError, match="unknown time zone"):
        dates.parse_instant("2025-11-21 12:00", zone)


@pytest.mark.parametrize("text", ["noon Friday", "2025-11-21 25:00", "", "11/21", "2025",
                                  "07-03-1985", "11/21/202"])
def test_text_that_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(BondtrackError, match="not a date"):
        dates.parse_instant(text, CHICAGO)


@pytest.mark.parametrize(("text", "expected", "day_only"), [
    ("11/13/2025 14:00", "2025-11-13 14:00", False),  # Excel's own US short date-time
    ("11/13/2025 2:00 PM", "2025-11-13 14:00", False),
    ("11/13/2025 2 pm", "2025-11-13 14:00", False),
    ("11/13/25", "2025-11-13 00:00", True),
    ("11/13/25 09:30", "2025-11-13 09:30", False),
    ("1/2/2026", "2026-01-02 00:00", True),
    ("Nov 13, 2025", "2025-11-13 00:00", True),
    ("13 November 2025 14:00", "2025-11-13 14:00", False),  # a month name is not ambiguous
    ("2025-11-13", "2025-11-13 00:00", True),
    ("2025-11-13T14:00:00", "2025-11-13 14:00", False),
    ("  11/13/2025   14:00 ", "2025-11-13 14:00", False),
    ("45974", "2025-11-13 00:00", True),  # an Excel serial day, as a CSV export writes it
    ("45974.5", "2025-11-13 12:00", False),
])
def test_every_way_staff_and_excel_write_a_date_is_read(text: str, expected: str,
                                                       day_only: bool) -> None:
    assert dates.parse_when(text, CHICAGO) == (chicago(expected), day_only)


@pytest.mark.parametrize("text", ["13/11/2025", "21/11/2025 14:00", "31/1/25"])
def test_a_day_first_date_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(dates.DateError, match="reads day-first.*month first"):
        dates.parse_when(text, CHICAGO)


@pytest.mark.parametrize("text", ["11.12.2025", "21.11.2025"])
def test_a_dotted_date_is_refused_as_day_first(text: str) -> None:
    with pytest.raises(dates.DateError, match="dotted date reads day-first"):
        dates.parse_when(text, CHICAGO)


def test_a_refusal_never_quotes_the_text_it_may_be_a_birth_date() -> None:
    for text in ("13/11/1980", "11.12.1980", "11/31/1980", "born 1980"):
        with pytest.raises(dates.DateError) as refused:
            dates.parse_day(text, today=TODAY)
        assert "1980" not in str(refused.value) and "13" not in str(refused.value)


def test_date_errors_are_user_errors_and_value_errors() -> None:
    with pytest.raises(BondtrackError):
        dates.parse_instant("soon", CHICAGO)
    with pytest.raises(ValueError):
        dates.parse_instant("soon", CHICAGO)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1985-03-07", date(1985, 3, 7)), ("3/7/1985", date(1985, 3, 7)),
     ("03/07/1985", date(1985, 3, 7)), (" 12/31/1999 ", date(1999, 12, 31)),
     ("1900-01-01", date(1900, 1, 1)), ("2025-11-20", TODAY), ("7 March 1985", date(1985, 3, 7)),
     ("3/7/85", date(1985, 3, 7)), ("1/2/60", date(1960, 1, 2)), ("11/20/25", TODAY),
     ("1985-03-07 00:00:00", date(1985, 3, 7)), ("31113", date(1985, 3, 7))],
)
def test_dates_of_birth_read_every_common_way(text: str, expected: date) -> None:
    assert dates.parse_day(text, today=TODAY, past=True) == expected


@pytest.mark.parametrize("text", ["2/30/1990", "1990-02-30", "2023-02-29", "1990-13-01",
                                  "0/10/1990", "yesterday", "1985"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        dates.parse_day(text, today=TODAY)


def test_a_date_in_the_future_or_before_1900_is_refused() -> None:
    with pytest.raises(ValueError, match="future"):
        dates.parse_day((TODAY + timedelta(days=1)).isoformat(), today=TODAY)
    with pytest.raises(ValueError, match="future"):
        dates.parse_day("1/2/30", today=TODAY)  # not a birth date: 2030 stays 2030
    with pytest.raises(ValueError, match="future"):
        dates.parse_day("2030-01-02", today=TODAY, past=True)  # four digits are what they say
    with pytest.raises(ValueError, match="before 1900"):
        dates.parse_day("12/31/1899", today=TODAY)


def test_a_custody_list_time_after_the_date_is_read_and_ignored() -> None:
    assert dates.parse_day("11/10/2025 8:00 AM", today=TODAY) == date(2025, 11, 10)
    assert dates.parse_day("2025-11-10T08:00:00", today=TODAY) == date(2025, 11, 10)
