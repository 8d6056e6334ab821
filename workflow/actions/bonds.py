"""The bond after posting and the person's hearings: the ledger, a bond's events, hearings
added, moved and done. The CLI (`bondtrack bonds`, `bondtrack hearing`) and the browser's
person page call these, so an event is described in the same line wherever it is made.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bonds import bonds, hearings
from workflow.core import dates, display
from workflow.core.config import Settings
from workflow.core.errors import NotFoundError, ValidationError
from workflow.orders import orders
from workflow.places import courts
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import BondEvent, Detainee, Hearing

# A bond event's form: its date, what the table asks of it, a note. ``by_mail`` is the
# CLI's --in-person turned round: the form, like the CLI, asks whether it was handed over.
_BOND_FIELD = {"by_mail": "in_person"}


def bond_event_fields(kind: str) -> tuple[str, ...]:
    """The form fields of a bond event, named like `bondtrack bonds record`'s options."""
    options = bonds.options_for(bonds.Kind(kind))
    return ("date", *(_BOND_FIELD.get(name, name) for name in options), "note")


def bond_moves(session: Session, detainee: Detainee) -> dict[str, Any] | None:
    """The person's posted bond: its state and the events the table allows next (None: no
    posted bond)."""
    try:
        bond = bonds.posted_bond(detainee)
    except ValidationError:
        return None
    state = bonds.state_of(bonds.history(session, bond))
    allowed = dict.fromkeys(t.kind.value for t in bonds.TRANSITIONS if t.source is state)
    return {"bond": bond.id, "state": state.value,
            "events": {kind: bond_event_fields(kind) for kind in allowed}}


def bond_event_line(row: BondEvent, kind: str, time_zone: str) -> str:
    """What recording a bond event did, in one line: its state, and a date it set."""
    line = f"bond #{row.bond_id}: {kind} recorded, now {row.state}"
    if row.due_at is not None:
        what, name = (("surrender due", "demand") if kind == bonds.Kind.DEMAND
                      else ("appeal (I-290B) due by", "appeal"))
        line += f"; {what} {display.moment(row.due_at, time_zone)} ({name}-{row.id})"
    return line


def posted_cents(detainee: Detainee) -> int | None:
    """The amount of the person's posted bond, in cents."""
    return bonds.posted_bond(detainee).amount_cents


def record_event_in(session: Session, detainee: Detainee, kind: str, *, actor: Actor,
                    now: datetime, at: str | None = None, due: str | None = None,
                    amount_cents: int | None = None, reason: str | None = None,
                    outcome: str | None = None, name: str | None = None,
                    in_person: bool = False, note: str | None = None) -> str:
    """Record an event of the person's posted bond in the caller's transaction (``at`` and
    ``due`` in court time); the line that says so."""
    if kind not in bonds.EVENTS:
        raise NotFoundError("no such bond event")
    tz = detainee.court_order.time_zone
    # A day given without a time means that day, in order with the day's earlier events.
    when, whole_day = dates.parse_when(at, tz) if at else (None, False)
    row = bonds.record(
        session, detainee, kind, actor=actor, now=now, at=when, whole_day=whole_day,
        note=note, due=dates.parse_instant(due, tz) if due else None, amount=amount_cents,
        reason=reason, outcome=outcome, name=name, by_mail=False if in_person else None)
    return bond_event_line(row, kind, tz)


# ---------------------------------------------------------------- hearings


def person_hearings(session: Session, detainee: Detainee) -> list[dict[str, Any]]:
    """Every hearing of the person, soonest first, each in its court's zone."""
    return [hearings.describe(h) for h in session.scalars(
        select(Hearing).where(Hearing.detainee_id == detainee.id)
        .order_by(Hearing.at, Hearing.id))]


def court_choices() -> list[tuple[str, str]]:
    """(key, name) of each immigration court, for a menu."""
    return [(court.key, court.name) for court in courts.COURTS]


def _hearing_time(text: str | None, court: str) -> datetime:
    if not (text or "").strip():
        raise ValidationError("give the hearing's date and time (court time)")
    return hearings.parse_time(text or "", court)


def add_hearing_in(session: Session, detainee: Detainee, *, at: str | None, court: str,
                   kind: str, note: str | None, actor: Actor, now: datetime) -> str:
    """Record a hearing of the person (``at`` in the court's zone, ``court`` a key or name)
    in the caller's transaction; the line that says so."""
    key = courts.find(court).key
    row = hearings.add(session, detainee, at=_hearing_time(at, key), court=key, kind=kind,
                       note=note, actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} added"


def persons_hearing(session: Session, detainee: Detainee, hearing_id: int) -> Hearing:
    """The hearing ``hearing_id`` of this person (another's is not found)."""
    row = session.get(Hearing, hearing_id)
    if row is None or row.detainee_id != detainee.id:
        raise NotFoundError(f"no hearing #{hearing_id} for person #{detainee.id}")
    return row


def move_hearing_in(session: Session, detainee: Detainee, hearing_id: int, *,
                    at: str | None, actor: Actor, now: datetime) -> str:
    """The court moved one of the person's hearings: its new time, in its court's zone."""
    row = persons_hearing(session, detainee, hearing_id)
    hearings.move(session, row, at=_hearing_time(at, row.court), actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} moved"


def close_hearing_in(session: Session, detainee: Detainee, hearing_id: int, *, actor: Actor,
                     now: datetime) -> str:
    """One of the person's hearings took place: no more reminders for it."""
    row = persons_hearing(session, detainee, hearing_id)
    hearings.done(session, row, actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} done"


# ---------------------------------------------------------------- for the command line

EVENTS = bonds.EVENTS
OUTCOMES = bonds.OUTCOMES
STATES = tuple(state.value for state in bonds.State)
LEDGER_KEYS = bonds.LEDGER_KEYS
HEARING_KINDS = hearings.KINDS
CANCEL_REASONS = bonds.CANCEL_REASONS


def ledger(database: Database, settings: Settings, case: str | None, *,
           now: datetime) -> dict[str, Any]:
    """The ledger of the order's bonds: counts and sums per state, money by obligor, refunds
    overdue."""
    with database.read() as session:
        return bonds.ledger(session, orders.resolve_order(session, case), now, settings)


def bond_rows(database: Database, case: str | None, *, now: datetime,
              status: str | None = None) -> list[dict[str, Any]]:
    """One row per posted bond with its next deadline (``status``: only bonds in that state)."""
    with database.read() as session:
        return bonds.bond_rows(session, orders.resolve_order(session, case), now, status)


def record_event(database: Database, case: str | None, a_number: str, kind: str, *,
                 actor: Actor, now: datetime, **event: Any) -> str:
    """Record an event of a person's posted bond (``event``: as ``record_event_in`` takes
    it); the line that says so."""
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        return record_event_in(session, detainee, kind, actor=actor, now=now, **event)


def export_ledger(database: Database, settings: Settings, case: str | None, path: Path, *,
                  actor: Actor, now: datetime) -> Any:
    """The ledger and every bond as a private XLSX workbook (audited); what was written."""
    with database.read() as session:
        order_id = orders.resolve_order(session, case).id
    return bonds.export_ledger(database, order_id, path=path, actor=actor, now=now,
                               settings=settings)


def add_hearing(database: Database, case: str | None, a_number: str, *, at: str, court: str,
                kind: str, note: str | None, actor: Actor, now: datetime) -> dict[str, Any]:
    """Record a person's hearing (``at`` in the immigration court's zone); the hearing."""
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        row = hearings.add(session, detainee, at=hearings.parse_time(at, court), court=court,
                           kind=kind, note=note, actor=actor, now=now)
        return hearings.describe(row)


def hearings_ahead(database: Database, case: str | None, *, now: datetime,
                   days: int | None = None) -> list[dict[str, Any]]:
    """The open hearings ahead, soonest first (``days``: only the next N days)."""
    with database.read() as session:
        return hearings.listing(session, orders.resolve_order(session, case), now, days)


def hearing_calendar(database: Database, case: str | None, *, now: datetime,
                     days: int | None = None) -> list[dict[str, Any]]:
    """The open hearings ahead grouped by day, each in its court's zone (``days``: only the
    next N days)."""
    with database.read() as session:
        return hearings.calendar(session, orders.resolve_order(session, case), now, days)


def move_hearing(database: Database, case: str | None, hearing_id: int, *, at: str,
                 actor: Actor, now: datetime) -> dict[str, Any]:
    """The court moved a hearing: its new time (in its court's zone); the hearing."""
    with database.write() as session:
        row = hearings.get(session, orders.resolve_order(session, case), hearing_id)
        hearings.move(session, row, at=hearings.parse_time(at, row.court), actor=actor, now=now)
        return hearings.describe(row)


def close_hearing(database: Database, case: str | None, hearing_id: int, *, actor: Actor,
                  now: datetime) -> None:
    """The hearing took place or came off calendar: no more reminders for it."""
    with database.write() as session:
        hearings.done(session, hearings.get(session, orders.resolve_order(session, case),
                                            hearing_id), actor=actor, now=now)
