"""Orders: their status, a new order or sub-order, amendments and stays, obligations.

One function per use case, in the manner of ``alembic.command``: it takes the database,
the settings, the case number and its arguments, opens its own transaction and returns
data; none prints or parses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from workflow.core import clock, dates
from workflow.core.config import Settings
from workflow.orders import amendments, obligations, orders, terms
from workflow.record import watch
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.views import reports

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.models import CourtOrder, Event


def status(database: Database, settings: Settings, case: str | None, *,
           now: datetime) -> dict[str, Any]:
    """The order's numbers as `bondtrack status` shows them: counts, time left, the order's
    changes and obligations, the projection, and whether a scheduler is watching.

    Core selects on a plain connection: a cold `bondtrack status` never loads the ORM."""
    with database.connection() as conn:
        order = orders.find_order(conn, case)
        data = reports.status(conn, order, now)
        data.update(reports.status_block(conn, order, now, settings))
        if not data["stayed"]:  # a stayed order has no deadline to be at risk of missing
            data["projection"] = reports.projection(conn, order, now, settings)
        data["scheduler"] = watch.watch(conn, settings, now, [order]).as_dict(order.time_zone)
    return data


def add_order(database: Database, settings: Settings, *, parent: str | None = None,
              **fields: Any) -> dict[str, Any]:
    """Record an order, or with ``parent`` (a case number) a sub-order of it, which takes
    the parent's court, judge and zone unless given; the new order's summary."""
    with database.write() as session:
        added: CourtOrder
        if parent:
            added = amendments.add_sub_order(session, orders.resolve_order(session, parent),
                                             **fields)
        else:
            added = orders.add_order(session, **{"time_zone": settings.time_zone, **fields})
        return reports.order_summary(added)




def resolve(session: Session, case: str | None) -> CourtOrder:
    """The order named ``case`` (None: the only one), in the caller's session."""
    return orders.resolve_order(session, case)


def parse_bond(text: str) -> int | None:
    """A bond as staff type it: dollars, or ``none``/``0`` for release without bond."""
    return terms.parse_bond(text)


def normalize_conditions(text: str) -> str:
    """Conditions as stored: ``atd,check-in`` or ``none``."""
    return terms.normalize_conditions(text)


def bond_text(cents: int | None) -> str:
    """A bond amount as the order's history shows it (None: the configured default)."""
    return "default" if cents is None else terms.money(cents)


def _updated_letters(session: Session, settings: Settings, event: Event, now: datetime) -> str:
    from workflow.actions.casework import letters_line
    from workflow.notices import renotice  # letters build on far more than an order needs

    return letters_line(renotice.queue_updates(session, event, settings, now))


def amend(database: Database, settings: Settings, case: str | None, *, docket: str,
          docket_date: date, deadline: str | None, bond_cents: int | None,
          conditions: str | None, note: str | None, actor: Actor,
          now: datetime) -> tuple[str, str, str]:
    """Record an amending order and queue the updated letters it calls for; the order's case
    number, what changed, and the letters line."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        event = amendments.amend(session, order, docket=docket, docket_date=docket_date,
                                 deadline=deadline, bond_amount_cents=bond_cents,
                                 conditions=conditions, note=note, actor=actor, now=now)
        changed = ", ".join(event.payload["changes"]) or "nothing (note only)"
        return order.case_number, changed, _updated_letters(session, settings, event, now)


def stay(database: Database, case: str | None, *, docket: str, at: str | None,
         note: str | None, actor: Actor, now: datetime) -> tuple[str, str]:
    """Record a stay (``at`` in court time; default now); the case number and since when."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        when = dates.parse_instant(at, order.time_zone) if at else None
        event = amendments.stay(session, order, docket=docket, at=when, note=note, actor=actor,
                                now=now)
        return order.case_number, clock.local(event.at, order.time_zone).isoformat()


def lift_stay(database: Database, settings: Settings, case: str | None, *, docket: str,
              at: str | None, new_deadline: str | None, note: str | None, actor: Actor,
              now: datetime) -> dict[str, Any]:
    """Record that the stay is lifted and queue the updated letters: how long it was stayed,
    the deadline now, and the letters line."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        when = dates.parse_instant(at, order.time_zone) if at else None
        event = amendments.lift_stay(session, order, docket=docket, at=when,
                                     new_deadline=new_deadline, note=note, actor=actor, now=now)
        return {"stayed_seconds": event.payload["stayed_seconds"],
                "deadline": clock.iso(order.deadline, order.time_zone),
                "letters": _updated_letters(session, settings, event, now)}


def history(database: Database, case: str | None) -> list[dict[str, Any]]:
    """Every version of the order: each change with its docket entry, date and actor."""
    with database.read() as session:
        return amendments.history(session, orders.resolve_order(session, case))


def add_obligation(database: Database, case: str | None, *, kind: str, due: str,
                   owed_by: str | None, note: str | None, actor: Actor,
                   now: datetime) -> tuple[str, str]:
    """Add a dated obligation (``due`` in court time); its key and due time (ISO)."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        added = obligations.add_obligation(session, order, kind=kind, due=due, owed_by=owed_by,
                                           note=note, actor=actor, now=now)
        return added.key, clock.local(added.due_at, order.time_zone).isoformat()


def complete_obligation(database: Database, case: str | None, key: str, *, at: str | None,
                        note: str | None, actor: Actor, now: datetime) -> tuple[str, str]:
    """Close an obligation (``at`` in court time; default now); its key and who closed it."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        when = dates.parse_instant(at, order.time_zone) if at else None
        done = obligations.complete_obligation(session, order, key, actor=actor, now=now,
                                               at=when, note=note)
        return done.key, done.done_by or ""


def obligations_of(database: Database, case: str | None, *,
                   now: datetime) -> list[dict[str, Any]]:
    """The order's obligations: releases first, then by due time."""
    with database.read() as session:
        return obligations.listing(session, orders.resolve_order(session, case), now)
