"""Helpers for the bond tests: people with posted bonds, and a bond walked to any state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.fixtures_foundation import NOW, STAFF
from tests.fixtures_order_changes import ANA, JOSE, LUIS, on_person
from workflow.bonds import bonds
from workflow.bonds.bonds import Kind, State
from workflow.people import tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.models import BondEvent, Event

HOUR = timedelta(hours=1)
POSTED_AT = NOW  # every bond of these tests is posted at NOW (T-24h before the order's deadline)


def post(database: db.Database, a_number: str, *, amount_cents: int = 150_000,
         obligor: str | None = "Rosa Núñez", email: str | None = None) -> None:
    """Walk the person from INTAKE to a posted bond, all at NOW."""
    def walk(session, detainee):  # type: ignore[no-untyped-def]
        facility = facilities.by_code(session, "BROADIL", "Broadview Processing Center")
        tracking.locate(session, detainee, facility, actor=STAFF, now=NOW)
        tracking.set_bond(session, detainee, amount_cents=amount_cents, obligor_name=obligor,
                          obligor_email=email, actor=STAFF, now=NOW)
        tracking.post_bond(session, detainee, receipt=f"I305-{detainee.id:04d}", method="cebonds",
                           actor=STAFF, now=NOW)
    on_person(database, a_number, walk)


def record(database: db.Database, a_number: str, kind: str, *, now: Any,
           **options: Any) -> dict[str, Any]:
    """One bond event in its own transaction; the row's columns."""
    def change(session, detainee):  # type: ignore[no-untyped-def]
        row = bonds.record(session, detainee, kind, actor=STAFF, now=now, **options)
        return {c.key: getattr(row, c.key) for c in row.__table__.columns}
    return on_person(database, a_number, change)


def options_for(kind: Kind, now: Any, outcome: str | None = None) -> dict[str, Any]:
    """The least an event of ``kind`` needs."""
    return {
        Kind.DEMAND: {"due": now + 72 * HOUR},
        Kind.CANCELLED: {"reason": "case-closed"},
        Kind.REFUNDED: {"amount": 151_234},
        Kind.APPEAL_DECIDED: {"outcome": outcome or "granted"},
        Kind.DESIGNEE: {"name": "Elena Núñez"},
    }.get(kind, {})


# How to bring an active bond to each state: the events in order.
PATH: dict[State, list[tuple[Kind, str | None]]] = {
    State.ACTIVE: [],
    State.DEMANDED: [(Kind.DEMAND, None)],
    State.BREACHED: [(Kind.BREACHED, None)],
    State.APPEALED: [(Kind.BREACHED, None), (Kind.APPEAL_FILED, None)],
    State.FORFEITED: [(Kind.BREACHED, None), (Kind.APPEAL_FILED, None),
                      (Kind.APPEAL_DECIDED, "denied")],
    State.CANCELLED: [(Kind.CANCELLED, None)],
    State.REFUND_REQUESTED: [(Kind.CANCELLED, None), (Kind.REFUND_REQUESTED, None)],
    State.REFUNDED: [(Kind.CANCELLED, None), (Kind.REFUNDED, None)],
}


def walk_to(database: db.Database, a_number: str, state: State) -> Any:
    """Record the events that bring the bond to ``state``, an hour apart; the last instant."""
    now = POSTED_AT
    for kind, outcome in PATH[state]:
        now += HOUR
        record(database, a_number, kind.value, now=now, **options_for(kind, now, outcome))
    return now


def written(database: db.Database) -> tuple[int, int]:
    """(bond events, audit events): what a refused event must leave as it was."""
    with database.read() as session:
        return (session.scalar(select(func.count()).select_from(BondEvent)) or 0,
                session.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.fixture
def posted(imported: db.Database) -> db.Database:
    """The three people of the class list, José's bond posted ($1,500, obligor Rosa)."""
    post(imported, JOSE)
    return imported


__all__ = ["ANA", "JOSE", "LUIS", "HOUR", "NOW", "POSTED_AT", "PATH", "post", "record",
           "options_for", "walk_to", "written", "posted"]
