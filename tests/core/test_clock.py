"""Court time in, UTC stored; DST gaps and overlaps refused rather than guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workflow.core import clock
from workflow.core.errors import BondtrackError

CHICAGO = "America/Chicago"


def test_noon_on_21_november_in_chicago_is_six_pm_utc() -> None:
    assert clock.parse_instant("2025-11-21 12:00", CHICAGO) == \
        datetime(2025, 11, 21, 18, 0, tzinfo=UTC)


def test_summer_court_time_uses_daylight_time() -> None:
    assert clock.parse_instant("2025-07-01 12:00", CHICAGO) == \
        datetime(2025, 7, 1, 17, 0, tzinfo=UTC)


def test_parsed_instants_are_aware_utc() -> None:
    value = clock.parse_instant("2025-11-21T12:00", CHICAGO)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2025-11-21T12:00:00-05:00", datetime(2025, 11, 21, 17, 0, tzinfo=UTC)),
     ("2025-11-21 18:00Z", datetime(2025, 11, 21, 18, 0, tzinfo=UTC)),
     ("2025-11-21T12:00+00:00", datetime(2025, 11, 21, 12, 0, tzinfo=UTC))],
)
def test_an_explicit_offset_wins_over_the_court_zone(text: str, expected: datetime) -> None:
    assert clock.parse_instant(text, CHICAGO) == expected


@pytest.mark.parametrize("text", ["2026-03-08 02:30", "2025-11-02 01:30"])
def test_a_wall_time_skipped_or_repeated_by_dst_is_refused(text: str) -> None:
    with pytest.raises(BondtrackError, match="DST change in America/Chicago: give an offset"):
        clock.parse_instant(text, CHICAGO)


def test_a_repeated_wall_time_with_an_offset_is_accepted() -> None:
    first = clock.parse_instant("2025-11-02 01:30-05:00", CHICAGO)
    second = clock.parse_instant("2025-11-02 01:30-06:00", CHICAGO)
    assert second - first == timedelta(hours=1)


def test_wall_times_next_to_the_dst_change_are_fine() -> None:
    assert clock.parse_instant("2026-03-08 03:00", CHICAGO) == \
        datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert clock.parse_instant("2025-11-02 02:00", CHICAGO) == \
        datetime(2025, 11, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["America/Chicgo", "Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(BondtrackError, match="unknown time zone"):
        clock.parse_instant("2025-11-21 12:00", zone)


@pytest.mark.parametrize("text", ["noon Friday", "11/21/2025 12:00", "2025-11-21 25:00", ""])
def test_text_that_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(BondtrackError, match="not a date and time"):
        clock.parse_instant(text, CHICAGO)


def test_local_shows_an_instant_in_court_time() -> None:
    shown = clock.local(datetime(2025, 11, 21, 18, 0, tzinfo=UTC), CHICAGO)
    assert (shown.hour, shown.utcoffset()) == (12, timedelta(hours=-6))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0d 00h 00m"), (59, "0d 00h 00m"), (86_400, "1d 00h 00m"), (93_784, "1d 02h 03m"),
     (3 * 86_400 + 23 * 3600 + 59 * 60, "3d 23h 59m"), (-3600, "-0d 01h 00m"),
     (-90_000.5, "-1d 01h 00m")],
)
def test_durations_read_as_days_hours_minutes(seconds: float, text: str) -> None:
    assert clock.describe_duration(seconds) == text


def test_a_fixed_clock_answers_one_instant_in_utc() -> None:
    chicago_noon = datetime(2025, 11, 21, 12, 0, tzinfo=timezone(timedelta(hours=-6)))
    fixed = clock.fixed(chicago_noon)
    assert fixed() == datetime(2025, 11, 21, 18, 0, tzinfo=UTC) and fixed().tzinfo is UTC


def test_a_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        clock.fixed(datetime(2025, 11, 21, 12, 0))


def test_set_clock_installs_a_clock_and_hands_back_the_old_one() -> None:
    instant = datetime(2025, 11, 21, 18, 0, tzinfo=UTC)
    previous = clock.set_clock(clock.fixed(instant))
    try:
        assert clock.now() == instant
    finally:
        clock.set_clock(previous)
    assert clock.now() != instant


def test_the_system_clock_is_aware_utc() -> None:
    before = datetime.now(UTC)
    assert before <= clock.system_clock() <= datetime.now(UTC)
