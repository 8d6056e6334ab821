"""An order that moves: obligations, amendments, stays, sub-orders, history, re-notice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.fixtures_foundation import NOW
from tests.fixtures_order_changes import (
    ANA,
    CASE,
    JOSE,
    LUIS,
    STAFF,
    chicago,
    notice_keys,
    on_order,
    on_person,
    order_events,
    person_id,
    read_order,
)
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.notices import renotice
from workflow.orders import amendments, obligations, orders
from workflow.people import tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.models import Detainee, Event

SUB = "1:18-cv-03757 (ECF 331)"
LATER = NOW + timedelta(hours=2)


def add(database: db.Database, **options) -> obligations.Due:  # type: ignore[no-untyped-def]
    return on_order(database, lambda s, o: obligations.add_obligation(
        s, o, actor=STAFF, now=NOW, **options))


def listing(database: db.Database, now=NOW) -> list[dict]:  # type: ignore[no-untyped-def]
    return read_order(database, lambda s, o: obligations.listing(s, o, now))


# ---------------------------------------------------------------- obligations


def test_the_releases_obligation_is_the_deadline_and_comes_first(with_order: db.Database) -> None:
    add(with_order, kind="data-production", due="2025-11-14 17:00", owed_by="government")
    rows = listing(with_order)
    assert [(r["key"], r["kind"], r["due"]) for r in rows] == [
        ("releases", "releases", "2025-11-21T12:00:00-06:00"),
        ("obligation-1", "data-production", "2025-11-14T17:00:00-06:00"),
    ]
    assert [r["state"] for r in rows] == ["open", "overdue"]


def test_other_obligations_are_listed_by_due_time(with_order: db.Database) -> None:
    add(with_order, kind="status-report", due="2025-11-21 12:00", owed_by="counsel")
    add(with_order, kind="data-production", due="2025-11-19 17:00", note="updated class list")
    assert [r["kind"] for r in listing(with_order)] == ["releases", "data-production",
                                                        "status-report"]


def test_a_releases_obligation_is_not_added_twice(with_order: db.Database) -> None:
    with pytest.raises(ValidationError, match="order amend --deadline"):
        add(with_order, kind="releases", due="2025-11-21 12:00")


@pytest.mark.parametrize("options, message", [
    ({"kind": "brief", "due": "2025-11-21 12:00"}, "kind must be one of"),
    ({"kind": "other", "due": "2025-11-21 12:00", "owed_by": "ice"}, "owed by must be one of"),
    ({"kind": "other", "due": "tomorrow"}, "not a date"),
])
def test_a_bad_obligation_is_refused(with_order: db.Database, options: dict, message: str) -> None:
    with pytest.raises(BondtrackError, match=message):
        add(with_order, **options)
    assert len(listing(with_order)) == 1


def test_done_records_who_and_when_and_an_event(with_order: db.Database) -> None:
    added = add(with_order, kind="data-production", due="2025-11-14 17:00")
    done_at = chicago("2025-11-14 16:00")
    on_order(with_order, lambda s, o: obligations.complete_obligation(
        s, o, added.key.removeprefix("obligation-"), actor=STAFF, now=NOW, at=done_at,
        note="produced"))
    row = listing(with_order)[1]
    assert (row["state"], row["done_by"], row["done_at"]) == ("done", "tester",
                                                              "2025-11-14T16:00:00-06:00")
    done = order_events(with_order)[-1]
    assert (done.kind, done.payload["obligation"], done.payload["note"]) == (
        "obligation-done", "obligation-1", "produced")


def test_done_twice_or_unknown_is_refused(with_order: db.Database) -> None:
    def close(key: str):  # type: ignore[no-untyped-def]
        return on_order(with_order, lambda s, o: obligations.complete_obligation(
            s, o, key, actor=STAFF, now=NOW))

    close("releases")
    with pytest.raises(ValidationError, match="already done"):
        close("releases")
    with pytest.raises(NotFoundError, match="no obligation 9 in order"):
        close("9")


def test_only_open_obligations_need_alerts(with_order: db.Database) -> None:
    first = add(with_order, kind="other", due="2025-11-15 12:00")
    add(with_order, kind="status-report", due="2025-11-21 12:00")
    on_order(with_order, lambda s, o: obligations.complete_obligation(
        s, o, first.key, actor=STAFF, now=NOW))
    keys = read_order(with_order, lambda s, o: [d.key for d in obligations.open_obligations(s, o)])
    assert keys == ["releases", "obligation-2"]


def test_an_alert_prefix_moves_with_the_due_time(with_order: db.Database) -> None:
    before = read_order(with_order, lambda s, o: obligations.obligations(s, o)[0].alert_prefix())
    on_order(with_order, lambda s, o: amendments.amend(
        s, o, docket="ECF 200", docket_date=date(2025, 11, 19), deadline="2025-11-24 12:00",
        actor=STAFF, now=NOW))
    after = read_order(with_order, lambda s, o: obligations.obligations(s, o)[0].alert_prefix())
    assert (before, after) == ("releases@20251121T1800Z", "releases@20251124T1800Z")
    assert len(after) + len(":T-72h") <= 40  # fits alerts.threshold


# ---------------------------------------------------------------- amendments and history


def amend(database: db.Database, **changes) -> Event:  # type: ignore[no-untyped-def]
    return on_order(database, lambda s, o: amendments.amend(
        s, o, docket=changes.pop("docket", "ECF 200"), docket_date=date(2025, 11, 19),
        actor=STAFF, now=changes.pop("now", NOW), **changes))


def test_an_amendment_records_what_changed_with_docket_and_actor(imported: db.Database) -> None:
    amend(imported, deadline="2025-11-24 12:00", bond_amount_cents=0, conditions="none",
          note="bond dropped")
    event = order_events(imported)[-1]
    assert event.kind == "order-amended" and event.actor == "tester"
    assert event.payload["docket"] == "ECF 200" and event.payload["docket_date"] == "2025-11-19"
    assert event.payload["changes"] == {
        "deadline": {"from": "2025-11-21T18:00:00+00:00", "to": "2025-11-24T18:00:00+00:00"},
        "bond_amount_cents": {"from": None, "to": 0},
        "conditions": {"from": None, "to": "none"},
    }
    order = read_order(imported, lambda s, o: (o.deadline, o.bond_amount_cents, o.conditions))
    assert order == (chicago("2025-11-24 12:00"), 0, "none")


def test_an_amendment_names_the_outstanding_people_it_affects(imported: db.Database) -> None:
    on_person(imported, LUIS, lambda s, d: tracking.not_in_custody(s, d, actor=STAFF, now=NOW))
    on_person(imported, ANA, lambda s, d: setattr(d, "ordered_conditions", "atd"))
    ids = {a: person_id(imported, a) for a in (JOSE, ANA, LUIS)}
    by_deadline = amend(imported, deadline="2025-11-24 12:00")
    by_conditions = amend(imported, conditions="none", docket="ECF 201")
    assert by_deadline.payload["renotice"] == sorted([ids[JOSE], ids[ANA]])
    assert by_conditions.payload["renotice"] == [ids[JOSE]]  # Ana's own conditions stand


@pytest.mark.parametrize("changes, message", [
    ({}, "nothing to amend"),
    ({"docket": " "}, "docket entry is empty"),
    ({"docket": "ECF " + "9" * 100, "note": "x"}, "longer than 100"),
    ({"bond_amount_cents": -1}, "negative"),
    ({"deadline": "2025-03-09 02:30"}, "DST"),
])
def test_a_bad_amendment_changes_nothing(imported: db.Database, changes: dict,
                                         message: str) -> None:
    before = len(order_events(imported))
    with pytest.raises(BondtrackError, match=message):
        amend(imported, **changes)
    assert len(order_events(imported)) == before


def test_history_shows_every_version_of_the_order(imported: db.Database) -> None:
    amend(imported, conditions="check-in", docket="ECF 195")
    on_order(imported, lambda s, o: amendments.stay(s, o, docket="7th Cir. 25-3050", actor=STAFF,
                                                   now=NOW))
    on_order(imported, lambda s, o: amendments.lift_stay(
        s, o, docket="ECF 330", actor=STAFF, now=LATER, new_deadline="2026-03-05 12:00"))
    rows = read_order(imported, amendments.history)
    assert [(r["version"], r["kind"], r["docket"]) for r in rows] == [
        (1, "order-added", None), (2, "order-amended", "ECF 195"),
        (3, "order-stayed", "7th Cir. 25-3050"), (4, "stay-lifted", "ECF 330")]
    assert [(r["deadline"], r["conditions"], r["stayed"]) for r in rows] == [
        ("2025-11-21T12:00:00-06:00", None, False),
        ("2025-11-21T12:00:00-06:00", "check-in", False),
        ("2025-11-21T12:00:00-06:00", "check-in", True),
        ("2026-03-05T12:00:00-06:00", "check-in", False)]
    assert {r["actor"] for r in rows} == {"tester"}
    assert rows[-1]["details"] == "stayed 2 h"


# ---------------------------------------------------------------- stays


def test_a_stay_stops_the_clock_and_lifting_it_counts_the_time(imported: db.Database) -> None:
    stayed_at = chicago("2025-11-20 16:00")
    on_order(imported, lambda s, o: amendments.stay(s, o, docket="7th Cir. 25-3050", at=stayed_at,
                                                   actor=STAFF, now=stayed_at))
    week_later = stayed_at + timedelta(days=7)
    during = read_order(imported, lambda s, o: (
        orders.is_stayed(o), orders.effective_seconds_left(o, week_later),
        amendments.seconds_stayed(s, o, week_later), obligations.listing(s, o, week_later)[0]))
    assert during[:3] == (True, 20 * 3600, 7 * 86400)
    assert during[3]["state"] == "stayed"  # not overdue, though the deadline has passed
    on_order(imported, lambda s, o: amendments.lift_stay(s, o, docket="ECF 330", actor=STAFF,
                                                        now=week_later))
    after = read_order(imported, lambda s, o: (
        orders.is_stayed(o), orders.effective_seconds_left(o, week_later),
        amendments.seconds_stayed(s, o, week_later + timedelta(days=1))))
    assert after == (False, -(7 * 86400 - 20 * 3600), 7 * 86400)  # the old deadline stands


def test_stays_add_up(imported: db.Database) -> None:
    for start in (NOW, NOW + timedelta(hours=5)):
        on_order(imported, lambda s, o, t=start: amendments.stay(s, o, docket="A", at=t,
                                                                 actor=STAFF, now=t))
        on_order(imported, lambda s, o, t=start: amendments.lift_stay(
            s, o, docket="B", actor=STAFF, now=t + timedelta(hours=1)))
    assert read_order(imported, lambda s, o: amendments.seconds_stayed(s, o, NOW)) == 7200


def test_a_stay_cannot_be_doubled_nor_lifted_when_there_is_none(imported: db.Database) -> None:
    with pytest.raises(BondtrackError, match="is not stayed"):
        on_order(imported,
                 lambda s, o: amendments.lift_stay(s, o, docket="X", actor=STAFF, now=NOW))
    on_order(imported, lambda s, o: amendments.stay(s, o, docket="X", actor=STAFF, now=NOW))
    with pytest.raises(BondtrackError, match="already stayed"):
        on_order(imported, lambda s, o: amendments.stay(s, o, docket="Y", actor=STAFF, now=NOW))
    with pytest.raises(ValidationError, match="before it began"):
        on_order(imported, lambda s, o: amendments.lift_stay(
            s, o, docket="Z", at=NOW - timedelta(hours=1), actor=STAFF, now=NOW))


def test_a_stay_in_the_future_is_refused(imported: db.Database) -> None:
    with pytest.raises(ValidationError, match="in the future"):
        on_order(imported, lambda s, o: amendments.stay(
            s, o, docket="X", at=NOW + timedelta(days=1), actor=STAFF, now=NOW))


# ---------------------------------------------------------------- sub-orders


def add_sub(database: db.Database, **options) -> None:  # type: ignore[no-untyped-def]
    on_order(database, lambda s, o: amendments.add_sub_order(
        s, o, case_number=SUB, deadline="2026-03-05 12:00", docket="ECF 331", actor=STAFF,
        now=NOW, **options))


def assign(database: db.Database, *a_numbers: str) -> Event:
    return on_order(database, lambda s, o: amendments.assign(
        s, o, a_numbers, docket="ECF 331", actor=STAFF, now=NOW), case=SUB)


def test_a_sub_order_inherits_court_judge_zone_and_terms(imported: db.Database) -> None:
    amend(imported, conditions="check-in")
    add_sub(imported)
    sub = read_order(imported, lambda s, o: (o.court, o.judge, o.time_zone, o.conditions,
                                             o.deadline, o.parent_id is not None), case=SUB)
    assert sub == ("N.D. Ill.", "Jeffrey I. Cummings", "America/Chicago", "check-in",
                   chicago("2026-03-05 12:00"), True)
    assert order_events(imported)[-1].payload["sub_order"] == SUB
    assert order_events(imported, SUB)[0].payload["parent"] == CASE


def test_a_sub_order_can_drop_the_terms(imported: db.Database) -> None:
    amend(imported, conditions="check-in")
    add_sub(imported, bond_amount_cents=0, conditions="none")
    assert read_order(imported, lambda s, o: (o.bond_amount_cents, o.conditions), case=SUB) == (
        0, "none")


def test_assign_moves_people_resets_their_terms_and_names_them(imported: db.Database) -> None:
    add_sub(imported)
    on_person(imported, JOSE, lambda s, d: setattr(d, "ordered_bond_cents", 300000))
    event = assign(imported, JOSE, "A-098-765-432")
    ids = [person_id(imported, JOSE), person_id(imported, ANA)]
    assert event.payload["renotice"] == ids and event.payload["people"] == 2
    moved = read_order(imported, lambda s, o: [(d.id, d.ordered_bond_cents) for d in s.scalars(
        select(Detainee).where(Detainee.order_id == o.id).order_by(Detainee.id))], case=SUB)
    assert moved == [(ids[0], None), (ids[1], None)]
    with imported.read() as session:
        kinds = list(session.scalars(select(Event.kind).where(Event.detainee_id == ids[0])))
    assert kinds[-1] == "assigned"
    assert order_events(imported)[-1].payload == {
        "docket": "ECF 331", "note": None, "people": 2, "to_order": SUB}


def test_assign_is_all_or_none_and_names_no_a_number(imported: db.Database) -> None:
    add_sub(imported)
    assign(imported, LUIS)
    with pytest.raises(ValidationError) as refused:
        assign(imported, JOSE, "999999999", JOSE, "12", LUIS)
    assert refused.value.problems == [
        "A-number 2: not in order 1:18-cv-03757", "A-number 3: listed twice",
        "A-number 4: not an A-number (8 or 9 digits, optionally after 'A')",
        f"A-number 5: already in order {SUB}"]
    assert read_order(imported, lambda s, o: len(o.detainees), case=SUB) == 1


def test_only_a_sub_order_takes_people(imported: db.Database) -> None:
    with pytest.raises(ValidationError, match="is not a sub-order"):
        on_order(imported, lambda s, o: amendments.assign(s, o, [JOSE], actor=STAFF, now=NOW))


def test_a_sub_order_of_a_sub_order_is_refused(imported: db.Database) -> None:
    add_sub(imported)
    with pytest.raises(ValidationError, match="top-level"):
        on_order(imported, lambda s, o: amendments.add_sub_order(
            s, o, case_number="X", deadline="2026-04-01 12:00", actor=STAFF, now=NOW), case=SUB)


# ---------------------------------------------------------------- re-notice


@pytest.fixture
def reachable(imported: db.Database) -> db.Database:
    """José has an e-mail; Ana's bond has an obligor with one, Luis's obligor has none."""
    on_person(imported, JOSE, lambda s, d: setattr(d, "email", "jose@example.org"))
    for a_number, email in ((ANA, "rosa@example.org"), (LUIS, None)):
        on_person(imported, a_number, lambda s, d: tracking.locate(
            s, d, facilities.by_code(s, "BROADIL"), actor=STAFF, now=NOW))
        on_person(imported, a_number, lambda s, d, e=email: tracking.set_bond(
            s, d, amount_cents=150000, obligor_name="Rosa", obligor_email=e, actor=STAFF, now=NOW))
    return imported


def test_a_new_deadline_queues_one_updated_letter_per_person_and_obligor(
        reachable: db.Database, settings) -> None:  # type: ignore[no-untyped-def]
    event = amend(reachable, deadline="2025-11-24 12:00")
    ids = {a: person_id(reachable, a) for a in (JOSE, ANA, LUIS)}
    with reachable.write() as session:
        result = renotice.queue_updates(session, session.get(Event, event.id), settings, NOW)
    assert result.queued == 2
    # E-mailed to José and Ana's obligor; queued to print for the others.
    assert result.without_email == {"client-update": [ids[ANA], ids[LUIS]],
                                    "obligor-update": [ids[LUIS]]}
    assert notice_keys(reachable) == sorted(
        f"{kind}:person-{ids[who]}:event-{event.id}" for kind, who in (
            ("client-update", JOSE), ("obligor-update", ANA), ("client-update", ANA),
            ("client-update", LUIS), ("obligor-update", LUIS)))
    with reachable.write() as session:  # the same change again: nothing new
        order = orders.resolve_order(session, CASE)
        again = renotice.queue_owed(session, order, settings, NOW).queued
    assert again == 0 and len(notice_keys(reachable)) == 5


def test_who_a_change_affects(reachable: db.Database) -> None:
    event = amend(reachable, bond_amount_cents=100000)
    with reachable.read() as session:
        found = renotice.affected(session, session.get(Event, event.id))
    ids = [person_id(reachable, a) for a in (JOSE, ANA, LUIS)]
    assert (found.people, found.obligors) == (sorted(ids), sorted(ids[1:]))


def test_a_later_change_is_a_new_letter(reachable: db.Database, settings) -> None:  # type: ignore[no-untyped-def]
    amend(reachable, deadline="2025-11-24 12:00")
    amend(reachable, deadline="2025-11-25 12:00", docket="ECF 201")
    with reachable.write() as session:
        order = orders.resolve_order(session, CASE)
        queued = renotice.queue_owed(session, order, settings, NOW).queued
    assert queued == 4


def test_the_letter_is_e_mailed_with_the_new_deadline(reachable: db.Database, settings) -> None:  # type: ignore[no-untyped-def]
    from email import message_from_bytes, policy

    event = amend(reachable, deadline="2025-11-24 12:00")
    with reachable.write() as session:
        renotice.queue_updates(session, session.get(Event, event.id), settings, NOW)
    outbox = sorted((settings.home / "outbox").glob("*.eml"))
    texts = [message_from_bytes(path.read_bytes(), policy=policy.default)
             .get_body(preferencelist=("plain",)).get_content() for path in outbox]
    # José reads Spanish; Ana's language (K'iche') has no letters, so her obligor's is English.
    assert sorted("24 de noviembre de 2025" in t or "November 24, 2025" in t for t in texts) == [
        True, True]
    assert not any("21 de noviembre" in t or "November 21" in t for t in texts)
