"""The polite loop over people, on an injected clock: the interval between requests, the
attempts per person, the pause after a challenge or block, where a run stops, and that no
A-number reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures_locator import Site
from workflow.core.errors import ConfigError
from workflow.places import locator
from workflow.places.locator import Answer, OdlsClient, Pace, RunReport, Wanted

START = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
FOUND = Answer("found", facility="BROADVIEW SERVICE STAGING", state="IL")
NOT_FOUND = Answer("not-found", detail="zero (0) matching records")
ERROR = Answer("error", detail="HTTP 502")
BLOCKED = Answer("blocked", detail="HTTP 429")


class Time:
    """A clock that moves only when someone sleeps (or a request takes time)."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


class Scripted:
    """A Locator answering each A-number from a script (the last answer kept), each request
    taking ``takes`` seconds of the fake clock."""

    def __init__(self, time: Time, scripts: dict[str, list[Answer]], takes: float = 0.0):
        self.time, self.scripts, self.takes = time, scripts, takes
        self.calls: list[tuple[str, datetime]] = []

    def look_up(self, a_number: str, country: str) -> Answer:
        self.calls.append((a_number, self.time.now))
        self.time.now += timedelta(seconds=self.takes)
        script = self.scripts[a_number]
        return script.pop(0) if len(script) > 1 else script[0]


def people(*a_numbers: str) -> list[Wanted]:
    return [Wanted(handle=index, a_number=a, country="Mexico")
            for index, a in enumerate(a_numbers, 1)]


def run(time: Time, scripts: dict[str, list[Answer]], pace: Pace | None = None,
        takes: float = 0.0, stop_at: datetime | None = None,
        ) -> tuple[RunReport, list[tuple[Hashable, str]], Scripted]:
    client = Scripted(time, scripts, takes)
    recorded: list[tuple[Hashable, str]] = []

    def record(person: Wanted, answer: Answer) -> None:
        recorded.append((person.handle, answer.kind))

    report = locator.look_up_politely(client, people(*scripts), record, pace=pace or Pace(),
                                      sleep=time.sleep, clock=time.clock, stop_at=stop_at)
    return report, recorded, client


def seconds_between(calls: list[tuple[str, datetime]]) -> list[float]:
    return [(b[1] - a[1]).total_seconds() for a, b in zip(calls, calls[1:], strict=False)]


def test_ten_seconds_between_people_by_default() -> None:
    time = Time()
    report, recorded, client = run(time, {"000000001": [FOUND], "000000002": [NOT_FOUND],
                                          "000000003": [FOUND]})
    assert recorded == [(1, "found"), (2, "not-found"), (3, "found")]
    assert seconds_between(client.calls) == [10.0, 10.0]
    assert time.sleeps == [10.0, 10.0]
    assert report.answers == {"found": 2, "not-found": 1}
    assert (report.requests, report.blocks, report.stopped, report.left) == (3, 0, None, 0)


def test_the_time_a_request_takes_counts_toward_the_interval() -> None:
    time = Time()
    _, _, client = run(time, {"000000001": [FOUND], "000000002": [FOUND], "000000003": [FOUND]},
                       pace=Pace(min_interval_seconds=12.5), takes=3.0)
    assert seconds_between(client.calls) == [12.5, 12.5]
    assert time.sleeps == [9.5, 9.5]


def test_a_slow_answer_is_not_followed_by_a_wait() -> None:
    time = Time()
    _, _, client = run(time, {"000000001": [FOUND], "000000002": [FOUND]}, takes=25.0)
    assert seconds_between(client.calls) == [25.0]
    assert time.sleeps == []


def test_an_error_is_asked_again_at_most_four_times_in_all() -> None:
    time = Time()
    report, recorded, client = run(time, {"000000001": [ERROR], "000000002": [FOUND]})
    assert [a for a, _ in client.calls] == ["000000001"] * 4 + ["000000002"]
    assert seconds_between(client.calls) == [10.0] * 4  # attempts are spaced like people
    assert recorded == [(1, "error"), (2, "found")]
    assert report.requests == 5


def test_an_error_then_an_answer_records_the_answer() -> None:
    time = Time()
    _, recorded, client = run(time, {"000000001": [ERROR, ERROR, FOUND]},
                              pace=Pace(max_attempts=3))
    assert len(client.calls) == 3
    assert recorded == [(1, "found")]


def test_an_error_asking_again_cannot_mend_is_not_asked_again() -> None:
    time = Time()
    _, recorded, client = run(time, {"000000001": [Answer("error", detail="A-number: bad",
                                                          retryable=False)]})
    assert len(client.calls) == 1
    assert recorded == [(1, "error")]


def test_not_found_is_recorded_as_not_found_and_asked_once() -> None:
    time = Time()
    _, recorded, client = run(time, {"000000001": [NOT_FOUND, FOUND]})
    assert len(client.calls) == 1
    assert recorded == [(1, "not-found")]


def test_a_block_pauses_thirty_minutes_then_asks_again() -> None:
    time = Time()
    report, recorded, client = run(time, {"000000001": [BLOCKED, FOUND], "000000002": [FOUND]})
    assert seconds_between(client.calls) == [1800.0, 10.0]
    assert recorded == [(1, "found"), (2, "found")]
    assert (report.blocks, report.paused_seconds, report.stopped) == (1, 1800.0, None)


def test_a_longer_pause_is_kept_and_a_shorter_one_refused() -> None:
    time = Time()
    _, _, client = run(time, {"000000001": [BLOCKED, FOUND]},
                       pace=Pace(block_pause_minutes=45))
    assert seconds_between(client.calls) == [2700.0]
    with pytest.raises(ConfigError, match="at least 30"):
        Pace(block_pause_minutes=29.9)


def test_a_longer_wait_the_site_asks_for_is_kept() -> None:
    time = Time()
    _, _, client = run(time, {
        "000000001": [Answer("blocked", detail="HTTP 429", retry_after_seconds=3600), FOUND],
        "000000002": [Answer("blocked", detail="HTTP 429", retry_after_seconds=60), FOUND]})
    assert seconds_between(client.calls) == [3600.0, 10.0, 1800.0]


def test_still_blocked_after_the_last_attempt_stops_the_run() -> None:
    time = Time()
    report, recorded, client = run(time, {"000000001": [FOUND], "000000002": [BLOCKED],
                                          "000000003": [FOUND], "000000004": [FOUND]})
    assert [a for a, _ in client.calls] == ["000000001"] + ["000000002"] * 4
    assert seconds_between(client.calls) == [10.0, 1800.0, 1800.0, 1800.0]
    assert recorded == [(1, "found"), (2, "blocked")]
    assert (report.blocks, report.stopped, report.left) == (4, "blocked", 2)
    assert time.now == START + timedelta(seconds=10 + 3 * 1800)  # no pause after the last


def test_a_run_stops_before_a_person_past_its_end() -> None:
    time = Time()
    report, recorded, _ = run(time, {"000000001": [FOUND], "000000002": [FOUND],
                                     "000000003": [FOUND], "000000004": [FOUND]},
                              stop_at=START + timedelta(seconds=15))
    assert recorded == [(1, "found"), (2, "found")]
    assert (report.stopped, report.left) == ("time", 2)


def test_a_pause_that_would_pass_the_end_stops_the_run_instead() -> None:
    time = Time()
    report, recorded, client = run(time, {"000000001": [BLOCKED], "000000002": [FOUND]},
                                   stop_at=START + timedelta(minutes=20))
    assert len(client.calls) == 1
    assert recorded == [(1, "blocked")]
    assert (report.stopped, report.left, time.sleeps) == ("blocked", 1, [])


def test_a_client_that_raises_is_an_error_that_quotes_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BONDTRACK_DEBUG", raising=False)

    class Broken:
        def look_up(self, a_number: str, country: str) -> Answer:
            raise KeyError(a_number)

    answers: list[Answer] = []
    locator.look_up_politely(Broken(), people("000000001"), lambda _, a: answers.append(a),
                             pace=Pace(max_attempts=2), sleep=Time().sleep, clock=Time().clock)
    assert answers == [Answer("error", detail="internal error in the locator client (KeyError)")]


def test_the_loop_over_the_real_client_and_the_replica(locator_site: Site) -> None:
    """Found, a false zero, a challenge and then the answer, an internal error twice and then
    the answer: each person recorded once, with what the site finally said."""
    locator_site.answer("000000001", "found:101")
    locator_site.answer("000000002", "zero")
    locator_site.answer("000000003", "challenge", "found:202")
    locator_site.answer("000000004", "internal", "internal", "no-facility")
    time = Time()
    recorded: dict[object, Answer] = {}
    ua = locator.user_agent("ops@example.org")
    with OdlsClient(locator_site.url, user_agent=ua, timeout_seconds=20) as client:
        report = locator.look_up_politely(
            client, people("000000001", "00000002", "A000-000-003", "000000004"),
            lambda person, answer: recorded.__setitem__(person.handle, answer),
            pace=Pace(), sleep=time.sleep, clock=time.clock)
    assert {h: a.kind for h, a in recorded.items()} == {
        1: "found", 2: "not-found", 3: "found", 4: "in-custody-no-facility"}
    assert recorded[3].field_office == "MIAMI FIELD OFFICE"
    assert [r.form["a_number"] for r in locator_site.asked()] == [
        "000000001", "000000002", "000000003", "000000003", "000000004", "000000004",
        "000000004"]
    assert time.sleeps == [10.0, 10.0, 1800.0, 10.0, 10.0, 10.0]
    assert (report.requests, report.blocks) == (7, 1)
    assert {r.user_agent for r in locator_site.requests} == {ua}


def test_no_a_number_in_any_log_line(locator_site: Site, caplog) -> None:  # type: ignore[no-untyped-def]
    for a_number, script in (("000000011", "internal"), ("000000012", "found:101"),
                             ("000000013", "timeout"), ("000000014", "429")):
        locator_site.answer(a_number, script)
    time = Time()
    caplog.set_level(logging.DEBUG)
    wanted = people("000000011", "000000012", "000000013", "000000014")
    # 000000013's request times out: 2 s, ample for the others' answers on a loaded machine.
    with OdlsClient(locator_site.url, user_agent="bondtrack/test", timeout_seconds=2) as client:
        locator.look_up_politely(client, wanted, lambda *_: None, pace=Pace(max_attempts=2),
                                 sleep=time.sleep, clock=time.clock)
    assert "pausing look-ups for 30 minutes" in caplog.text
    assert "locator run: 4 looked up" in caplog.text
    for person in wanted:
        assert person.a_number not in caplog.text
        assert person.a_number not in repr(person)
