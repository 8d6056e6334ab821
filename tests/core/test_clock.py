"""Court time shown, UTC stored, durations read, and the clock tests stand still on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workflow.core import clock

CHICAGO = "America/Chicago"


def test_local_shows_an_instant_in_court_time() -> None:
    shown = clock.local(datetime(2025, 11, 21, 18, 0, tzinfo=UTC), CHICAGO)
    assert (shown.hour, shown.utcoffset()) == (12, timedelta(hours=-6))


@pytest.mark.parametrize(("seconds", "parts"), [
    (0, (0, 0, 0)), (59, (0, 0, 0)), (93_784, (1, 2, 3)), (-90_000.5, (1, 1, 0))])
def test_durations_split_into_whole_days_hours_minutes(seconds: float,
                                                       parts: tuple[int, int, int]) -> None:
    assert clock.duration_parts(seconds) == parts


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
