"""Pace, medians, projection and per-person risk: the pure math, then the event log read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from tests.fixtures_flows import (
    DEADLINE,
    STARTED,
    Freeze,
    ids_by_index,
    order_in,
    seed_order,
    walk,
)
from tests.support import Cli
from workflow.core import config
from workflow.orders import deadlines
from workflow.orders.deadlines import Risk
from workflow.places import facilities
from workflow.record import db
from workflow.views import reports

NOW = DEADLINE - timedelta(hours=24)  # STARTED + 171 h
TYPICAL = {"INTAKE": 3.0, "LOCATING": 5.0, "LOCATED": 4.0, "BOND_SET": 11.0, "BOND_POSTED": 144.0}


# ---------------------------------------------------------------- pure math


def test_pace_counts_only_the_window() -> None:
    times = [NOW - timedelta(hours=h) for h in (0, 1, 23.9, 24, 30)]
    assert deadlines.pace_per_hour(times, NOW, 24) == pytest.approx(3 / 24)


def test_pace_ignores_times_after_now() -> None:
    assert deadlines.pace_per_hour([NOW + timedelta(minutes=1)], NOW, 24) == 0


def test_window_is_the_orders_life_when_shorter_but_at_least_an_hour() -> None:
    assert deadlines.pace_window(NOW, 24, NOW - timedelta(hours=5)) == 5
    assert deadlines.pace_window(NOW, 24, NOW - timedelta(minutes=10)) == 1
    assert deadlines.pace_window(NOW, 24, NOW - timedelta(days=9)) == 24


def test_median_per_open_stage_ignores_resolved_stages() -> None:
    stays = [("INTAKE", 1), ("INTAKE", 3), ("INTAKE", 2), ("LOCATING", 4), ("LOCATING", 6),
             ("RELEASED", 500)]
    assert deadlines.median_hours(stays) == {"INTAKE": 2, "LOCATING": 5}


def test_slowest_stage_is_the_longest_median() -> None:
    assert deadlines.slowest({"INTAKE": 2, "BOND_SET": 9.5, "LOCATED": 3}) == ("BOND_SET", 9.5)
    assert deadlines.slowest({}) == (None, None)


def test_projection_adds_what_the_pace_delivers_in_the_time_left() -> None:
    assert deadlines.projected_resolved(100, 500, pace=10, seconds_left=3 * 3600) == 130
    assert deadlines.projected_resolved(100, 20, pace=10, seconds_left=3 * 3600) == 120


def test_past_the_deadline_nobody_more_is_projected() -> None:
    assert deadlines.projected_resolved(100, 50, pace=10, seconds_left=0) == 100
    assert deadlines.projected_resolved(100, 50, pace=10, seconds_left=-60) == 100


@given(resolved=st.integers(0, 10_000), outstanding=st.integers(0, 10_000),
       pace=st.floats(0, 1000), seconds_left=st.integers(-10**7, 10**7))
def test_projection_stays_between_resolved_and_covered(
        resolved: int, outstanding: int, pace: float, seconds_left: int) -> None:
    projected = deadlines.projected_resolved(resolved, outstanding, pace, seconds_left)
    assert resolved <= projected <= resolved + outstanding


def test_hours_needed_adds_the_rest_of_the_stage_and_the_later_stages() -> None:
    assert deadlines.hours_needed("BOND_SET", 1, TYPICAL) == 10 + 144
    assert deadlines.hours_needed("BOND_POSTED", 44, TYPICAL) == 100
    assert deadlines.hours_needed("INTAKE", 0, TYPICAL) == 3 + 5 + 4 + 11 + 144


def test_overdue_time_counts_as_that_much_more_to_come() -> None:
    on_time = deadlines.hours_needed("LOCATING", 5, TYPICAL)
    stuck = deadlines.hours_needed("LOCATING", 25, TYPICAL)
    assert stuck - on_time == 20


def test_risk_score_is_need_over_time_left_and_ranks_past_the_deadline() -> None:
    assert deadlines.risk_score(12, 24 * 3600) == 0.5
    assert deadlines.risk_score(48, 24 * 3600) == 2
    assert deadlines.risk_score(10, -3600) > deadlines.risk_score(5, -3600) > 1


def test_typical_hours_fall_back_to_the_configured_limits() -> None:
    limits = {"INTAKE": 12.0, "LOCATING": 24.0, "LOCATED": 12.0, "BOND_SET": 24.0,
              "BOND_POSTED": 8.0}
    assert deadlines.typical_hours({"LOCATED": 2.5}, limits) == {**limits, "LOCATED": 2.5}


def test_most_at_risk_first_ties_by_id() -> None:
    risks = [Risk(i, "INTAKE", None, 1.0, None, score) for i, score in
             [(5, 2.0), (3, 9.0), (4, 2.0), (9, 0.1)]]
    assert [r.detainee_id for r in deadlines.most_at_risk(risks, 3)] == [3, 4, 5]
    assert deadlines.most_at_risk(risks, 0) == []


# ---------------------------------------------------------------- the event log


@pytest.fixture
def scenario(database: db.Database, tmp_path: Path) -> tuple[int, list[int]]:
    """Ten people with known stays (hours after STARTED); see the expected numbers below."""
    order_id = seed_order(database, 10, tmp_path)
    ids = ids_by_index(database, order_id)
    walk(database, ids[0], [("search", 1), ("locate", 3), ("set_bond", 7), ("post_bond", 17),
                            ("release", 160)])
    walk(database, ids[1], [("search", 2), ("locate", 6), ("set_bond", 8), ("post_bond", 20),
                            ("release", 165)])
    walk(database, ids[2], [("search", 3), ("locate", 9), ("release", 100)])
    walk(database, ids[3], [("depart", 170)])
    walk(database, ids[4], [("search", 4)])
    walk(database, ids[5], [("exclude", 5)])
    walk(database, ids[7], [("search", 1), ("locate", 150)], facility="KROME")
    # ids[6], ids[8], ids[9] never moved: INTAKE for 171 h.
    return order_id, ids


def test_stage_stays_come_from_consecutive_stage_changes(
        database: db.Database, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.read() as session:
        stays = deadlines.stage_stays(session, order_in(session, order_id), NOW)
    by_stage: dict[str, list[float]] = {}
    for stage, hours in stays:
        by_stage.setdefault(stage, []).append(round(hours, 6))
    assert sorted(by_stage["INTAKE"]) == [1, 1, 2, 3, 4, 5, 170]
    assert sorted(by_stage["LOCATING"]) == [2, 4, 6, 149]
    assert sorted(by_stage["LOCATED"]) == [2, 4, 91]
    assert sorted(by_stage["BOND_SET"]) == [10, 12]
    assert sorted(by_stage["BOND_POSTED"]) == [143, 145]


def test_projection_of_the_scenario(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.read() as session:
        result = deadlines.projection(session, order_in(session, order_id), NOW, settings)
    assert result.median_hours_by_stage == pytest.approx(TYPICAL)
    assert (result.covered, result.resolved, result.outstanding) == (9, 4, 5)
    assert result.window_hours == 24
    assert result.pace_per_hour == pytest.approx(3 / 24)  # releases at +160, +165; departure +170
    assert result.projected_resolved == 7
    assert result.at_risk == 2
    assert result.slowest_stage == "BOND_POSTED"
    assert result.slowest_median_hours == pytest.approx(144)
    assert result.seconds_left == 24 * 3600


def test_at_risk_names_the_people_furthest_behind(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    with database.read() as session:
        risks = deadlines.at_risk(session, order_in(session, order_id), NOW, settings)
    assert [r.detainee_id for r in risks] == [ids[6], ids[8]]  # INTAKE 171 h, equal scores
    first = risks[0]
    assert first.stage == "INTAKE" and first.median_hours == pytest.approx(3)
    assert first.hours_in_stage == pytest.approx(171)
    # Not posted yet: the race is to the last posting window (Friday, cut at noon), not release.
    assert first.score == pytest.approx((168 + 5 + 4 + 11) / 24)
    assert first.post_by == DEADLINE


def test_score_every_outstanding_person(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    with database.read() as session:
        scored = deadlines.score_outstanding(session, order_in(session, order_id), NOW,
                                             settings, TYPICAL)
    by_id = {r.detainee_id: r for r in scored}
    assert set(by_id) == {ids[4], ids[6], ids[7], ids[8], ids[9]}
    assert by_id[ids[7]].facility == "KROME"
    assert by_id[ids[7]].score == pytest.approx((17 + 11) / 24)
    assert by_id[ids[4]].score == pytest.approx((162 + 4 + 11) / 24)


# ---------------------------------------------------------------- posting windows and stays

MONDAY_8AM = datetime(2025, 11, 24, 14, 0, tzinfo=UTC)  # Chicago 08:00, before any window opens


def _facility_in(database: db.Database, code: str, state: str) -> None:
    with database.write() as session:
        facilities.by_code(session, code, f"{code} facility").state = state


def test_a_closed_posting_window_puts_a_person_at_risk_whatever_the_deadline_says(
        database: db.Database, settings: config.Settings, tmp_path: Path) -> None:
    """Deadline Monday 08:00 Chicago: the last window was Friday, until 15:00 local time."""
    order_id = seed_order(database, 3, tmp_path)
    with database.write() as session:
        order_in(session, order_id).deadline = MONDAY_8AM
    _facility_in(database, "NYC", "NY")
    _facility_in(database, "FLO", "AZ")
    ids = ids_by_index(database, order_id)
    walk(database, ids[0], [("search", 1), ("locate", 2), ("set_bond", 3)], facility="NYC")
    walk(database, ids[1], [("search", 1), ("locate", 2), ("set_bond", 3)], facility="FLO")
    walk(database, ids[2], [("search", 1), ("locate", 2), ("set_bond", 3), ("post_bond", 4)],
         facility="NYC")
    friday_1530 = datetime(2025, 11, 21, 21, 30, tzinfo=UTC)  # Chicago 15:30
    with database.read() as session:
        order = order_in(session, order_id)
        scored = {r.detainee_id: r for r in deadlines.score_outstanding(
            session, order, friday_1530, settings, TYPICAL)}
        risks = deadlines.at_risk(session, order, friday_1530, settings)
    # New York closed at 15:00 Eastern (14:00 here); Arizona (MST) closes at 16:00 Chicago time.
    assert scored[ids[0]].post_by == datetime(2025, 11, 21, 20, 0, tzinfo=UTC)
    assert scored[ids[1]].post_by == datetime(2025, 11, 21, 22, 0, tzinfo=UTC)
    assert scored[ids[2]].post_by is None  # posted: only the release is left, by the deadline
    assert ids[0] in {r.detainee_id for r in risks}
    assert scored[ids[0]].score > scored[ids[1]].score


def test_nothing_is_at_risk_and_the_clock_stops_while_the_order_is_stayed(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.write() as session:
        order_in(session, order_id).stayed_since = NOW
    later = NOW + timedelta(days=30)
    with database.read() as session:
        order = order_in(session, order_id)
        result = deadlines.projection(session, order, later, settings)
        risks = deadlines.at_risk(session, order, later, settings)
    assert (result.seconds_left, result.at_risk, risks) == (24 * 3600, 0, [])


def test_at_risk_limit(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    with database.read() as session:
        risks = deadlines.at_risk(session, order_in(session, order_id), NOW, settings, limit=1)
    assert [r.detainee_id for r in risks] == [ids[6]]


def test_an_order_with_no_moves_yet(
        database: db.Database, settings: config.Settings, tmp_path: Path) -> None:
    order_id = seed_order(database, 3, tmp_path)
    with database.read() as session:
        result = deadlines.projection(session, order_in(session, order_id), STARTED, settings)
    assert result.pace_per_hour == 0 and result.window_hours == 1
    assert result.median_hours_by_stage == {} and result.slowest_stage is None
    assert (result.projected_resolved, result.at_risk) == (0, 3)
    assert result.as_dict()["slowest_median_hours"] is None


def test_as_dict_has_stable_keys(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.read() as session:
        data = deadlines.projection(session, order_in(session, order_id), NOW, settings).as_dict()
    assert list(data) == ["seconds_left", "outstanding", "covered", "resolved", "pace_per_hour",
                          "window_hours", "projected_resolved", "at_risk", "slowest_stage",
                          "slowest_median_hours", "median_hours_by_stage"]
    assert data["pace_per_hour"] == 0.12 and data["median_hours_by_stage"]["BOND_POSTED"] == 144


def _statements(database: db.Database, settings: config.Settings, order_id: int) -> int:
    seen: list[str] = []

    def count(*_args: object) -> None:
        seen.append("statement")

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.read() as session:
            order = order_in(session, order_id)
            deadlines.at_risk(session, order, NOW, settings)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(seen)


def test_queries_do_not_grow_with_people(
        database: db.Database, settings: config.Settings, tmp_path: Path) -> None:
    few = seed_order(database, 3, tmp_path, case="FEW-1")
    many = seed_order(database, 300, tmp_path, case="MANY-1")
    for order_id in (few, many):
        for detainee_id in ids_by_index(database, order_id)[:3]:
            walk(database, detainee_id, [("search", 1), ("locate", 2)])
    assert _statements(database, settings, few) == _statements(database, settings, many)


# ---------------------------------------------------------------- status shows it


def test_status_json_has_the_projection(
        cli: Cli, database: db.Database, scenario: tuple[int, list[int]], frozen: Freeze) -> None:
    import json

    frozen(NOW)
    data = json.loads(cli("status", "--json").output)
    assert data["projection"]["projected_resolved"] == 7
    assert data["projection"]["at_risk"] == 2
    assert data["projection"]["slowest_stage"] == "BOND_POSTED"


def test_status_prints_the_projection_block(
        cli: Cli, database: db.Database, scenario: tuple[int, list[int]], frozen: Freeze) -> None:
    frozen(NOW)
    out = cli("status").output
    assert "pace: 0.1 resolved per hour (last 24 h)" in out
    assert "projection: 7 of 9 resolved by the deadline; 2 at risk" in out
    assert "slowest stage: BOND_POSTED (median 144 h)" in out


def test_describe_projection_without_a_slowest_stage() -> None:
    lines = reports.describe_projection({"pace_per_hour": 0.0, "window_hours": 1.0,
                                         "projected_resolved": 0, "covered": 3, "at_risk": 3,
                                         "slowest_stage": None, "slowest_median_hours": None})
    assert lines == ["pace: 0.0 resolved per hour (last 1 h)",
                     "projection: 0 of 3 resolved by the deadline; 3 at risk"]


def test_times_are_utc_aware_throughout(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.read() as session:
        times = deadlines.resolution_times(session, order_in(session, order_id),
                                           NOW - timedelta(hours=24), NOW)
    assert sorted(times) == [STARTED + timedelta(hours=h) for h in (160, 165, 170)]
    assert all(t.tzinfo is UTC for t in times)
    assert datetime(2025, 11, 20, 18, tzinfo=UTC) == NOW
