"""Times, durations, stages, money and a person's history as people read them: one formatting
module for the browser, CLI tables and e-mails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflow.core import display

NOON_CST = datetime(2025, 11, 21, 18, 0, tzinfo=UTC)


def test_court_times_read_with_weekday_and_zone() -> None:
    assert display.moment(NOON_CST, "America/Chicago") == "Fri 21 Nov 2025, 12:00 CST"
    assert display.moment("2025-07-01T12:00:00.123456-05:00", "America/Chicago") == \
        "Tue 1 Jul 2025, 12:00 CDT"
    assert display.moment(NOON_CST, "America/Phoenix") == "Fri 21 Nov 2025, 11:00 MST"
    assert display.moment(None, "America/Chicago") == ""


@pytest.mark.parametrize(("instant", "tz", "text"), [
    # The last CDT second and the first CST minute of 2 Nov 2025, at exact instants.
    (datetime(2025, 11, 2, 6, 59, tzinfo=UTC), "America/Chicago", "Sun 2 Nov 2025, 01:59 CDT"),
    (datetime(2025, 11, 2, 7, 0, tzinfo=UTC), "America/Chicago", "Sun 2 Nov 2025, 01:00 CST"),
    (datetime(2026, 3, 8, 7, 59, tzinfo=UTC), "America/Chicago", "Sun 8 Mar 2026, 01:59 CST"),
    (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), "America/Chicago", "Sun 8 Mar 2026, 03:00 CDT"),
    (datetime(2025, 7, 4, 16, 0, tzinfo=UTC), "America/New_York", "Fri 4 Jul 2025, 12:00 EDT"),
    (datetime(2025, 7, 4, 16, 0, tzinfo=UTC), "UTC", "Fri 4 Jul 2025, 16:00 UTC"),
    # A zone with no letters for its time reads as an offset from UTC, never a bare "-03".
    (datetime(2025, 7, 4, 16, 0, tzinfo=UTC), "America/Sao_Paulo", "Fri 4 Jul 2025, 13:00 UTC-03"),
])
def test_instants_read_in_their_zone_across_daylight_saving(instant: datetime, tz: str,
                                                           text: str) -> None:
    assert display.moment(instant, tz) == text
    assert display.moment(instant.isoformat(), tz) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 min"), (45 * 60, "45 min"), (3 * 3600, "3 h"), (3 * 3600 + 5 * 60, "3 h 5 min"),
    (2 * 86400 + 4 * 3600 + 59 * 60, "2 d 4 h"), (-3 * 3600, "3 h"), (380 * 86400, "380 d"),
])
def test_durations_read_as_their_two_largest_units(seconds: float, text: str) -> None:
    assert display.span(seconds) == text


def test_ages_and_time_left_read_as_durations() -> None:
    assert display.ago(3 * 3600 + 59) == "3 h ago"
    assert display.ago(2 * 86400 + 4 * 3600) == "2 d 4 h ago"
    assert display.ago(30) == "just now"
    assert display.time_left(27 * 3600) == "time left 1 d 3 h"
    assert display.time_left(-380 * 86400) == "past the deadline by 380 d"


def test_stages_read_as_words_from_the_stage_table() -> None:
    assert display.stage("BOND_SET") == "Bond set"
    assert display.stage("NOT_IN_CUSTODY") == "Not in custody"
    assert display.stage(None) == ""


@pytest.mark.parametrize(("count", "text"), [(0, "0 moves"), (1, "1 move"), (2, "2 moves")])
def test_plurals_are_right(count: int, text: str) -> None:
    assert display.plural(count, "move") == text
    assert display.plural(1, "person", "people") == "1 person"


def test_a_history_reads_as_sentences() -> None:
    events = [
        {"kind": "imported", "payload": {}},
        {"kind": "locate", "payload": {"facility": "KRO"}},
        {"kind": "bond", "payload": {"amount_cents": 150_000, "changed": ["amount_cents",
                                                                          "obligor_name"]}},
        {"kind": "bond", "payload": {"amount_cents": 300_000,
                                     "changed": ["amount_cents", "obligor_name"]}},
        {"kind": "post", "payload": {"method": "cebonds", "receipt": True}},
        {"kind": "release", "payload": {"reason": "recognizance",
                                        "imposed": {"bond_cents": 500_000}}},
    ]
    assert display.history(events) == [
        "imported",
        "located at KRO",
        "bond set at $1,500; obligor recorded",
        "bond amount changed from $1,500 to $3,000; obligor changed",
        "bond posted by cebonds, with an I-305 receipt",
        "release: imposed by ICE: bond: $5,000; reason: recognizance",
    ]
    for sentence in display.history(events):
        assert "[" not in sentence and "True" not in sentence and "_" not in sentence


def test_a_time_in_a_history_reads_in_court_time() -> None:
    events = [{"kind": "hearing-added", "payload": {"at": "2026-07-14T14:00:00+00:00",
                                                    "court": "chicago"}}]
    assert display.history(events, "America/Chicago") == [
        "hearing added: at: Tue 14 Jul 2026, 09:00 CDT; court: chicago"]
