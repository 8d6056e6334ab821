"""The bond after posting and the person's hearings: the ledger, a bond's events, hearings
added, moved and done. The CLI (`bondtrack bonds`, `bondtrack hearing`) and the browser's
person page call these, so an event is described in the same line wherever it is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actions.casework import _text
from workflow.bonds import bonds, hearings
from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.errors import NotFoundError, ValidationError
from workflow.core.money import parse_amount
from workflow.orders import orders
from workflow.places import courts
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import BondEvent, Detainee, Hearing

HEARING_FIELDS = ("at", "court", "kind", "note")
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
        local = clock.local(row.due_at, time_zone)
        what, name = (("surrender due", "demand") if kind == bonds.Kind.DEMAND
                      else ("appeal (I-290B) due by", "appeal"))
        line += f"; {what} {local:%a %d %b %Y %H:%M %Z} ({name}-{row.id})"
    return line


def bond_event_from_form(session: Session, detainee: Detainee, kind: str,
                         form: Mapping[str, str], *, actor: Actor, now: datetime) -> str:
    """`bondtrack bonds record A# EVENT --date --due --amount ...` from a form; one line."""
    if kind not in bonds.EVENTS:
        raise NotFoundError("no such bond event")
    tz = detainee.court_order.time_zone
    value = {name: _text(form, name) for name in bond_event_fields(kind)}

    def when(name: str) -> datetime | None:
        text = value.get(name)
        return clock.parse_instant(text, tz) if text else None

    options: dict[str, Any] = {"due": when("due"), "reason": value.get("reason"),
                               "outcome": value.get("outcome"), "name": value.get("name")}
    if value.get("amount"):
        try:
            options["amount"] = parse_amount(value["amount"] or "")
        except ValueError as exc:
            raise ValidationError(f"amount: {exc}") from None
    if value.get("in_person") == "yes":
        options["by_mail"] = False
    row = bonds.record(session, detainee, kind, actor=actor, now=now, at=when("date"),
                       note=value.get("note"), **options)
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


def _hearing_time(form: Mapping[str, str], court: str) -> datetime:
    text = _text(form, "at")
    if text is None:
        raise ValidationError("give the hearing's date and time (court time)")
    return hearings.parse_time(text, court)


def add_hearing_from_form(session: Session, detainee: Detainee, form: Mapping[str, str], *,
                          actor: Actor, now: datetime) -> str:
    """`bondtrack hearing add A# --at --court --kind --note` from a form; one line."""
    court = courts.find(_text(form, "court") or "").key
    row = hearings.add(session, detainee, at=_hearing_time(form, court), court=court,
                       kind=_text(form, "kind") or "master", note=_text(form, "note"),
                       actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} added"


def persons_hearing(session: Session, detainee: Detainee, hearing_id: int) -> Hearing:
    """The hearing ``hearing_id`` of this person (another's is not found)."""
    row = session.get(Hearing, hearing_id)
    if row is None or row.detainee_id != detainee.id:
        raise NotFoundError(f"no hearing #{hearing_id} for person #{detainee.id}")
    return row


def move_hearing_from_form(session: Session, detainee: Detainee, hearing_id: int,
                           form: Mapping[str, str], *, actor: Actor, now: datetime) -> str:
    """`bondtrack hearing move ID --at` from a form."""
    row = persons_hearing(session, detainee, hearing_id)
    hearings.move(session, row, at=_hearing_time(form, row.court), actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} moved"


def hearing_done(session: Session, detainee: Detainee, hearing_id: int, *, actor: Actor,
                 now: datetime) -> str:
    """`bondtrack hearing done ID`."""
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
                 actor: Actor, now: datetime, at: str | None = None, due: str | None = None,
                 amount_cents: int | None = None, reason: str | None = None,
                 outcome: str | None = None, name: str | None = None,
                 in_person: bool = False, note: str | None = None) -> str:
    """Record an event of a person's posted bond (times in court time); the line that says so."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        tz = order.time_zone
        detainee = orders.find_detainee(session, order, a_number)
        row = bonds.record(
            session, detainee, kind, actor=actor, now=now,
            at=clock.parse_instant(at, tz) if at else None, note=note,
            due=clock.parse_instant(due, tz) if due else None, amount=amount_cents,
            reason=reason, outcome=outcome, name=name, by_mail=False if in_person else None)
        return bond_event_line(row, kind, tz)


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
