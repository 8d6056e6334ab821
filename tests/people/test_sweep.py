"""The sweep's checks as plain functions: what is found, what is recorded, what is not again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures_flows import (
    DEADLINE,
    STARTED,
    family_name,
    ids_by_index,
    order_in,
    seed_order,
    walk,
)
from tests.support import CASE
from workflow.core import config
from workflow.orders import deadlines
from workflow.people import sweep, tracking
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Event

NOW = DEADLINE - timedelta(hours=24)  # STARTED + 171 h
FLOW = Actor(operator="tester", source="flow")
LIMITS = {"INTAKE": 12.0, "LOCATING": 24.0, "LOCATED": 12.0, "BOND_SET": 24.0, "BOND_POSTED": 8.0}


# ---------------------------------------------------------------- pure


@pytest.mark.parametrize(("stage", "hours", "check"), [
    ("INTAKE", 13, "stale"), ("LOCATING", 25, "stale"), ("BOND_SET", 25, "stale"),
    ("LOCATED", 13, "no-bond-set"), ("BOND_POSTED", 9, "release-unconfirmed"),
])
def test_too_long_in_a_stage_has_its_name(stage: str, hours: float, check: str) -> None:
    assert sweep.checks_for(stage, hours, True, False, LIMITS) == [check]
    assert sweep.checks_for(stage, LIMITS[stage], True, False, LIMITS) == []


def test_no_facility_and_at_risk_come_in_check_order() -> None:
    failed = sweep.checks_for("INTAKE", 20, False, True, LIMITS)
    assert failed == ["stale", "no-facility", "at-risk"]
    assert sweep.checks_for("LOCATED", 1, False, False, LIMITS) == ["no-facility"]


def test_batches_cover_every_id_once() -> None:
    assert sweep.batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert sweep.batches([], 2) == []
    with pytest.raises(ValueError):
        sweep.batches([1], 0)


# ---------------------------------------------------------------- on the database


@pytest.fixture
def scenario(database: db.Database, tmp_path: Path) -> tuple[int, list[int]]:
    """Eight people; hours are after STARTED, NOW is +171 h."""
    order_id = seed_order(database, 8, tmp_path)
    ids = ids_by_index(database, order_id)
    # ids[0]: INTAKE 171 h, no facility.
    walk(database, ids[1], [("search", 165)])  # LOCATING 6 h, no facility
    walk(database, ids[2], [("search", 1), ("locate", 150)])  # LOCATED 21 h
    walk(database, ids[3], [("search", 1), ("locate", 2), ("set_bond", 160)])  # BOND_SET 11 h
    walk(database, ids[4], [("search", 1), ("locate", 2), ("set_bond", 3), ("post_bond", 160)])
    walk(database, ids[5], [("search", 1), ("locate", 2), ("release", 165)])
    walk(database, ids[6], [("exclude", 1)])
    walk(database, ids[7], [("search", 1), ("locate", 2), ("set_bond", 3), ("post_bond", 168)])
    return order_id, ids


def run_sweep(database: db.Database, settings: config.Settings, order_id: int,
              now: datetime = NOW, size: int = 2) -> sweep.SweepSummary:
    """What the flow does, without Prefect: plan once, then one transaction per batch."""
    with database.read() as session:
        plan = sweep.plan(session, order_in(session, order_id), now, settings)
    results = []
    for ids in sweep.batches(plan.detainee_ids, size):
        with database.write() as session:
            results.append(sweep.check_batch(session, plan, ids, now, FLOW))
    with database.write() as session:
        terms = sweep.check_terms(session, plan, now, FLOW, settings)
    return sweep.summarize(plan, results, terms)


def findings(database: db.Database) -> list[tuple[int, str]]:
    with database.read() as session:
        rows = session.execute(select(Event.detainee_id, Event.payload)
                               .where(Event.kind == "finding").order_by(Event.id))
        return [(detainee_id, payload["check"]) for detainee_id, payload in rows]


def test_the_sweep_finds_the_stuck(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    summary = run_sweep(database, settings, order_id)
    assert summary.checked == 6 and summary.batches == 3
    stuck = {pair for pair in findings(database) if pair[1] != "at-risk"}
    assert stuck == {(ids[0], "stale"), (ids[0], "no-facility"), (ids[1], "no-facility"),
                     (ids[2], "no-bond-set"), (ids[4], "release-unconfirmed")}
    assert summary.found["stale"] == summary.new["stale"] == 1


def test_at_risk_findings_are_the_people_deadlines_names(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    summary = run_sweep(database, settings, order_id)
    with database.read() as session:
        expected = {r.detainee_id for r in deadlines.at_risk(
            session, order_in(session, order_id), NOW, settings)}
    recorded = {i for i, check in findings(database) if check == "at-risk"}
    assert recorded == expected and len(expected) == summary.projection["at_risk"] > 0


def test_a_release_on_terms_the_order_does_not_allow_is_recorded_once(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    with database.write() as session:
        tracking.release(session, session.get(Detainee, ids[7]), at=NOW - timedelta(hours=1),
                         imposed_conditions="ankle-monitor", actor=FLOW, now=NOW)
    first = run_sweep(database, settings, order_id)
    second = run_sweep(database, settings, order_id)
    assert [pair for pair in findings(database) if pair[1] == "conditions-not-ordered"] == [
        (ids[7], "conditions-not-ordered")]
    assert first.new["conditions-not-ordered"] == 1 and second.new["conditions-not-ordered"] == 0
    assert second.found["conditions-not-ordered"] == 1


def test_while_the_order_is_stayed_nobody_is_found_at_risk(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    with database.write() as session:
        order_in(session, order_id).stayed_since = NOW - timedelta(days=2)
    summary = run_sweep(database, settings, order_id, now=NOW + timedelta(days=30))
    assert summary.found["at-risk"] == summary.projection["at_risk"] == 0
    assert summary.found["stale"] > 0  # a person stuck in a stage is still worth a look
    assert "at-risk" not in {check for _, check in findings(database)}


def test_a_second_sweep_with_nothing_changed_records_nothing(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    first = run_sweep(database, settings, order_id)
    before = findings(database)
    second = run_sweep(database, settings, order_id)
    assert findings(database) == before
    assert sum(second.new.values()) == 0
    assert second.found == first.found


def test_time_passing_records_only_what_is_newly_true(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    run_sweep(database, settings, order_id)
    before = findings(database)
    # Half an hour on, the pace delivers one fewer person: one more is at risk, nothing repeats.
    run_sweep(database, settings, order_id, now=NOW + timedelta(minutes=30))
    after = findings(database)
    assert after[: len(before)] == before
    assert [check for _, check in after[len(before):]] == ["at-risk"]
    assert len(set(after)) == len(after)


def test_a_change_of_stage_closes_a_finding_and_a_new_stay_can_open_one(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    run_sweep(database, settings, order_id)
    walk(database, ids[2], [("set_bond", 172)])  # LOCATED → BOND_SET: no-bond-set closes
    later = NOW + timedelta(hours=30)  # BOND_SET for 29 h: stale
    run_sweep(database, settings, order_id, now=later)
    assert [c for i, c in findings(database) if i == ids[2] and c != "at-risk"] == [
        "no-bond-set", "stale"]


def test_findings_carry_no_personal_data(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    run_sweep(database, settings, order_id)
    with database.read() as session:
        events = session.scalars(select(Event).where(Event.kind == "finding")).all()
        assert events
        for e in events:
            assert set(e.payload) == {"check", "stage", "hours_in_stage"}
            assert e.source == "flow" and e.at == NOW and e.from_stage is None


def test_markdown_is_counts_only(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    text = sweep.markdown(run_sweep(database, settings, order_id))
    assert "| stale | 1 | 1 |" in text and "resolved by the deadline" in text
    assert family_name(0) not in text and "100000000" not in text


def test_new_findings_lists_this_sweeps_people_once(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    summary = run_sweep(database, settings, order_id)
    with database.read() as session:
        rows = sweep.new_findings(session, order_in(session, order_id), summary.last_event_id)
    by_id = {row["id"]: row for row in rows}
    assert by_id[ids[0]]["checks"].startswith("stale, no-facility")
    assert by_id[ids[0]]["a_number_display"] == "A100-000-000"
    assert by_id[ids[2]]["facility"] == "BROADIL"
    second = run_sweep(database, settings, order_id)
    with database.read() as session:
        assert sweep.new_findings(session, order_in(session, order_id), second.last_event_id) == []


def test_record_findings_skips_open_ones(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, ids = scenario
    with database.write() as session:
        person = session.get(Detainee, ids[1])
        assert sweep.record_findings(session, [(person, "not-on-list")], NOW, FLOW) == 1
        assert sweep.record_findings(session, [(person, "not-on-list")], NOW, FLOW) == 0
        assert sweep.open_findings(session, [ids[1]]) == {(ids[1], "not-on-list")}


def test_a_sweep_in_the_past_of_a_stay_still_dedupes(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    early = STARTED + timedelta(hours=100)  # before several people's last move
    run_sweep(database, settings, order_id, now=early)
    count = len(findings(database))
    run_sweep(database, settings, order_id, now=early)
    assert len(findings(database)) == count


def test_batch_size_does_not_change_the_outcome(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    summary = run_sweep(database, settings, order_id, size=100)
    assert summary.batches == 1 and summary.checked == 6
    with database.read() as session:
        total = session.scalar(select(func.count()).select_from(Event)
                               .where(Event.kind == "finding"))
    assert total == sum(summary.new.values())


def test_summary_dict_has_every_check(
        database: db.Database, settings: config.Settings, scenario: tuple[int, list[int]]) -> None:
    order_id, _ = scenario
    data = run_sweep(database, settings, order_id).as_dict()
    assert [row["check"] for row in data["checks"]] == list(sweep.CHECKS)
    assert data["new_findings"] == sum(row["new"] for row in data["checks"])
    assert data["case_number"] == CASE


def test_a_batch_size_below_one_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.core.errors import ConfigError

    monkeypatch.setenv("BONDTRACK_SWEEP_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        sweep.batch_size(config.load())
    monkeypatch.setenv("BONDTRACK_SWEEP_BATCH_SIZE", "500")
    assert sweep.batch_size(config.load()) == 500
