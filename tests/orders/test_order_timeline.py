"""Acceptance: the Castañon Nava order as it really moved, rehearsed on a demo-like order.

The story, step by step (times are Chicago's):

1. 12 Nov 2025: the order. The demo builds it (deadline noon 21 Nov) with 250
   synthetic people moved up to 20 Nov 09:00; counsel records its terms
   (bond $1,500, check-in conditions, ECF 195) and its four obligations:
   government data by 14 Nov, an updated list by 19 Nov, releases and a joint
   status report by noon 21 Nov. The two data productions are done on time.
2. 20 Nov 12:00 (T-24h): the deadline alerts are live: the T-24h alert fires.
3. 20 Nov 16:00: the court of appeals stays the order. From then until it is
   lifted nothing fires and nothing is at risk or overdue: at T-1h, at the
   deadline, a day after it and a month after it the alert check sends
   nothing, the sweep finds nobody at risk, the clock is stopped at 20 h
   left, the obligations read "stayed".
4. 26 Feb 2026: the stay is lifted for individual determinations (ECF 330);
   the blanket releases obligation and the status report are closed as
   superseded; a sub-order (ECF 331) sets noon 5 Mar 2026 for 32 named
   people, without bond or conditions, and they are assigned to it. Each of
   them with an e-mail address gets one updated letter by e-mail, the others
   one queued to print (queueing again adds none).
5. 3 Mar 2026: releases are recorded with what ICE imposed. An ankle monitor
   (a condition the sub-order dropped), a $1,500 bond where none was ordered,
   and the bonds ICE still holds people of the subset on are findings; a
   clean release is not. On the first order an ankle monitor (only check-ins
   were allowed) is a finding too. `status --json` lists them by id, the
   sweep records each once, and the court report lists them in Annex E.
6. The first order's history shows every change with its docket entry and
   actor, and every version (added, terms, stayed, lifted).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures_order_changes import chicago, settings_with
from workflow import demo
from workflow.core import config
from workflow.core.stages import OUTSTANDING, Stage
from workflow.notices import alerts, renotice
from workflow.orders import amendments, obligations, orders, terms
from workflow.people import sweep, tracking
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Alert, CourtOrder, Detainee, Event, Notice
from workflow.views import compliance, reports

COUNSEL = Actor("counsel-ana", "cli")
BOND_TEAM = Actor("bond-team-luis", "cli")
SUB = "1:18-cv-03757 (ECF 331)"
STAYED_AT = chicago("2025-11-20 16:00")
LIFTED_AT = chicago("2026-02-26 10:00")


def case(session, name: str = demo.CASE) -> CourtOrder:  # type: ignore[no-untyped-def]
    return orders.resolve_order(session, name)


def test_the_order_as_it_really_moved(database: db.Database, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    settings = settings_with(notices_staff_emails="supervisor@example.org")
    demo.build(database, tmp_path, people=250, seed=2025, now=demo.NOW)
    order_of_12_november(database)
    alerts_fire_before_the_stay(database, settings)
    nothing_fires_while_stayed(database, settings)
    subset = lifted_with_a_sub_order_for_32(database, settings)
    releases_on_terms_that_break_the_order(database, settings, subset, cli)
    every_change_is_in_the_history(cli)


def order_of_12_november(database: db.Database) -> None:
    recorded = chicago("2025-11-13 10:00")
    with database.write() as session:
        order = case(session)
        amendments.amend(session, order, docket="ECF 195", docket_date=date(2025, 11, 12),
                         conditions="check-in", actor=COUNSEL, now=recorded)
        for kind, due, owed_by, note in (
            ("data-production", "2025-11-14 17:00", "government", "class members' data"),
            ("data-production", "2025-11-19 17:00", "government", "updated class list"),
            ("status-report", "2025-11-21 12:00", "counsel", "joint status report"),
        ):
            obligations.add_obligation(session, order, kind=kind, due=due, owed_by=owed_by,
                                       note=note, actor=COUNSEL, now=recorded)
    for key, done in (("1", "2025-11-14 16:00"), ("2", "2025-11-19 15:00")):
        with database.write() as session:
            obligations.complete_obligation(session, case(session), key, actor=COUNSEL,
                                            now=chicago(done))
    with database.read() as session:
        rows = obligations.listing(session, case(session), chicago("2025-11-20 09:00"))
    assert [(r["kind"], r["due"], r["state"]) for r in rows] == [
        ("releases", "2025-11-21T12:00:00-06:00", "open"),
        ("data-production", "2025-11-14T17:00:00-06:00", "done"),
        ("data-production", "2025-11-19T17:00:00-06:00", "done"),
        ("status-report", "2025-11-21T12:00:00-06:00", "open"),
    ]


def alerts_fire_before_the_stay(database: db.Database, settings: config.Settings) -> None:
    with database.write() as session:
        outcome = alerts.check(session, case(session), chicago("2025-11-20 12:00"), settings,
                               COUNSEL)
    assert outcome.sent is not None and outcome.sent.name == "T-24h"


def fired(database: db.Database) -> tuple[int, int]:
    """(alerts sent, staff e-mails queued): what a check that fires changes."""
    with database.read() as session:
        return (session.scalar(select(func.count()).select_from(Alert)
                               .where(Alert.status == alerts.SENT)) or 0,
                session.scalar(select(func.count()).select_from(Notice)
                               .where(Notice.kind == "alert")) or 0)


def nothing_fires_while_stayed(database: db.Database, settings: config.Settings) -> None:
    with database.write() as session:
        amendments.stay(session, case(session), docket="7th Cir. No. 25-3050", at=STAYED_AT,
                        note="stay pending appeal", actor=COUNSEL,
                        now=STAYED_AT + timedelta(minutes=10))
    before = fired(database)
    for instant in ("2025-11-21 11:00", "2025-11-21 12:00", "2025-11-22 12:30",
                    "2025-12-20 09:00"):
        now = chicago(instant)
        with database.write() as session:
            order = case(session)
            outcome = alerts.check(session, order, now, settings, COUNSEL)
            block = reports.status_block(session, order, now, settings)
        assert outcome.sent is None, instant
        assert fired(database) == before, instant
        assert swept(database, settings, demo.CASE, now).found["at-risk"] == 0, instant
        assert orders.effective_seconds_left(order, now) == 20 * 3600
        assert block["stayed"] and block["stay_docket"] == "7th Cir. No. 25-3050"
        assert {r["state"] for r in block["obligations"]} == {"stayed", "done"}
        assert block["seconds_stayed"] == int((now - STAYED_AT).total_seconds())


def swept(database: db.Database, settings: config.Settings, name: str,
          now: datetime) -> sweep.SweepSummary:
    """What the sweep flow does, through the same functions its tasks call."""
    with database.read() as session:
        plan = sweep.plan(session, case(session, name), now, settings)
    results = []
    for ids in sweep.batches(plan.detainee_ids, 100):
        with database.write() as session:
            results.append(sweep.check_batch(session, plan, ids, now, COUNSEL))
    with database.write() as session:
        terms_result = sweep.check_terms(session, plan, now, COUNSEL, settings)
    return sweep.summarize(plan, results, terms_result)


def lifted_with_a_sub_order_for_32(database: db.Database,
                                   settings: config.Settings) -> list[int]:
    with database.write() as session:
        order = case(session)
        amendments.lift_stay(session, order, docket="ECF 330", at=LIFTED_AT,
                             note="individual determinations", actor=COUNSEL, now=LIFTED_AT)
        for key in ("releases", "3"):
            obligations.complete_obligation(session, order, key, actor=COUNSEL, now=LIFTED_AT,
                                            note="superseded by ECF 330")
        assert amendments.seconds_stayed(session, order, LIFTED_AT) == int(
            (LIFTED_AT - STAYED_AT).total_seconds())
        subset = _thirty_two(session, order)
        sub = amendments.add_sub_order(
            session, order, case_number=SUB, deadline="2026-03-05 12:00", docket="ECF 331",
            order_date=date(2026, 2, 26), bond_amount_cents=0, conditions="none", actor=COUNSEL,
            now=LIFTED_AT)
        a_numbers = [session.get(Detainee, i).a_number for i in subset]  # type: ignore[union-attr]
        event = amendments.assign(session, sub, a_numbers, docket="ECF 331", actor=COUNSEL,
                                  now=LIFTED_AT)
        letters = renotice.queue_updates(session, event, settings, LIFTED_AT)
        with_email = [i for i in subset if session.get(Detainee, i).email]  # type: ignore[union-attr]
    with database.write() as session:
        sub = case(session, SUB)
        assert sorted(d.id for d in sub.detainees) == subset
        assert sub.deadline == chicago("2026-03-05 12:00")
        assert renotice.queue_owed(session, sub, settings, LIFTED_AT).queued == 0  # once per change
        queued = session.execute(select(Notice.channel, Notice.idempotency_key)
                                 .where(Notice.kind == renotice.CLIENT_UPDATE)).all()
        to_print = session.scalar(select(func.count()).select_from(Notice)
                                  .where(Notice.status == "to-print"))
    without_email = letters.without_email[renotice.CLIENT_UPDATE]
    assert letters.queued == len(with_email) > 0 and to_print == letters.to_print > 0
    assert sorted(without_email + with_email) == subset
    for channel, people in (("email", with_email), ("letter", without_email)):
        assert {key for via, key in queued if via == channel} == {
            renotice.key(renotice.CLIENT_UPDATE, i, event.id) for i in people}
    return subset


def _thirty_two(session, order: CourtOrder) -> list[int]:  # type: ignore[no-untyped-def]
    """24 people still being found or not yet bonded, and 8 held on a bond already set."""
    def ids(*stages: Stage, limit: int) -> list[int]:
        return list(session.scalars(
            select(Detainee.id).where(Detainee.order_id == order.id,
                                      Detainee.stage.in_([s.value for s in stages]))
            .order_by(Detainee.id).limit(limit)))

    chosen = ids(Stage.INTAKE, Stage.LOCATING, Stage.LOCATED, limit=24)
    chosen += ids(Stage.BOND_SET, limit=8)
    assert len(chosen) == 32 and all(s in OUTSTANDING for s in (Stage.LOCATED, Stage.BOND_SET))
    return sorted(chosen)


def releases_on_terms_that_break_the_order(database: db.Database, settings: config.Settings,
                                           subset: list[int], cli) -> None:  # type: ignore[no-untyped-def]
    released_at = chicago("2026-03-03 11:00")
    with database.write() as session:
        located = [d for d in case(session, SUB).detainees if d.stage == Stage.LOCATED.value]
        monitored, bonded, clean = sorted(located, key=lambda d: d.id)[:3]
        for person, imposed in ((monitored, {"imposed_conditions": "ankle-monitor,check-in"}),
                                (bonded, {"imposed_bond_cents": 150000}), (clean, {})):
            tracking.release(session, person, reason="released per ECF 331", at=released_at,
                             actor=BOND_TEAM, now=released_at, **imposed)
        held_on_bond = sorted(d.id for d in case(session, SUB).detainees
                              if d.stage == Stage.BOND_SET.value)
        first = case(session)
        posted = session.scalars(select(Detainee).where(
            Detainee.order_id == first.id, Detainee.stage == Stage.BOND_POSTED.value)
            .order_by(Detainee.id)).first()
        tracking.release(session, posted, imposed_conditions="ankle-monitor", at=released_at,
                         actor=BOND_TEAM, now=released_at)
        ids = (monitored.id, bonded.id, clean.id, posted.id)
        first_findings = {f["detainee_id"]: f for f in terms.findings(session, first, settings)}
        bonds = {d.id: d.active_bond.amount_cents for d in first.detainees if d.active_bond}
    expected = {ids[0]: ["conditions-not-ordered"], ids[1]: ["bond-not-ordered"],
                **{i: ["bond-not-ordered"] for i in held_on_bond}}
    assert len(held_on_bond) == 8
    status = json.loads(cli("status", "--order", SUB, "--json").stdout)
    assert {f["detainee_id"]: f["findings"] for f in status["terms_findings"]} == expected
    for _ in range(2):  # recorded once, however many sweeps see it
        swept(database, settings, SUB, released_at + timedelta(hours=1))
    with database.read() as session:
        recorded = session.execute(select(Event.detainee_id, Event.payload).where(
            Event.kind == "finding", Event.order_id == case(session, SUB).id)).all()
        annex_e = compliance.report_data(session, case(session, SUB), released_at, settings)
    terms_checks = set(sweep.TERMS_CHECKS)
    assert sorted((i, p["check"]) for i, p in recorded if p["check"] in terms_checks) == sorted(
        (i, check) for i, checks in expected.items() for check in checks)
    assert sorted(row["id"] for row in annex_e["terms"]) == sorted(expected)
    assert ids[2] not in expected
    assert first_findings[ids[3]]["findings"][-1] == "conditions-not-ordered"
    assert {i for i, f in first_findings.items() if "bond-higher-than-ordered" in f["findings"]} \
        == {i for i, cents in bonds.items() if cents > 150000}


def every_change_is_in_the_history(cli) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(cli("order", "history", "--order", demo.CASE, "--json").stdout)
    changes = [(r["version"], r["kind"], r["docket"], r["actor"]) for r in rows
               if r["kind"] in ("order-added", "order-amended", "order-stayed", "stay-lifted",
                                "sub-order-added", "people-assigned")]
    assert changes == [
        (1, "order-added", None, "demo"),
        (2, "order-amended", "ECF 195", "counsel-ana"),
        (3, "order-stayed", "7th Cir. No. 25-3050", "counsel-ana"),
        (4, "stay-lifted", "ECF 330", "counsel-ana"),
        (4, "sub-order-added", "ECF 331", "counsel-ana"),
        (4, "people-assigned", "ECF 331", "counsel-ana"),
    ]
    assert [r["kind"] for r in rows].count("obligation-added") == 3
    assert [r["kind"] for r in rows].count("obligation-done") == 4
    assert rows[-1]["details"] == f"32 people assigned to {SUB}"
    lifted = next(r for r in rows if r["kind"] == "stay-lifted")
    assert (lifted["stayed"], lifted["note"], lifted["conditions"]) == (
        False, "individual determinations", "check-in")
    sub = json.loads(cli("order", "history", "--order", SUB, "--json").stdout)
    assert [(r["kind"], r["docket"]) for r in sub] == [("order-added", "ECF 331"),
                                                        ("people-assigned", "ECF 331")]
    assert (sub[0]["deadline"], sub[0]["bond_amount_cents"], sub[0]["conditions"]) == (
        "2026-03-05T12:00:00-06:00", 0, "none")
