"""A person's casework beyond the stage moves: their terms and their sub-order.

The CLI (`bondtrack terms|assign`) and the web call these, so a change of terms queues the
same updated letters wherever it is made. Each edge parses its own input (options,
form fields) and passes typed values; the ``..._in`` functions run in the caller's
transaction, after the browser's stale-page check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.orders import orders, terms
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee, Event


@dataclass(frozen=True)
class Change:
    """A change that calls for updated letters: its event (None: nothing changed) and
    what was queued."""

    event: Event | None
    letters: Any  # workflow.notices.renotice.Renotice, or None when nothing changed


def letters_line(result: Any) -> str:
    """One line saying what updated letters a change queued."""
    printed = sum(len(ids) for ids in result.without_email.values())
    return (f"updated letters: {result.queued} e-mails queued"
            + (f", {printed} to print (no e-mail on file)" if printed else ""))


def _renotice(session: Session, event: Event | None, settings: Settings,
              now: datetime) -> Change:
    from workflow.notices import renotice  # letters build on far more than casework needs

    return Change(event, renotice.queue_updates(session, event, settings, now) if event
                  else None)


def change_terms(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
                 settings: Settings, bond_cents: int | None = None,
                 conditions: str | None = None, reset: bool = False,
                 note: str | None = None) -> Change:
    """Set (or reset) the terms ordered for one person and queue the letters that tell them."""
    event = terms.set_person_terms(session, detainee, bond_cents=bond_cents,
                                   conditions=conditions, reset=reset, note=note, actor=actor,
                                   now=now)
    return _renotice(session, event, settings, now)


def assign_people(session: Session, sub_order: CourtOrder, a_numbers: Sequence[str], *,
                  actor: Actor, now: datetime, settings: Settings, docket: str | None = None,
                  note: str | None = None) -> Change:
    """Move people to ``sub_order`` and queue the letters that tell them its terms."""
    from workflow.orders import amendments

    event = amendments.assign(session, sub_order, a_numbers, docket=docket, note=note,
                              actor=actor, now=now)
    return _renotice(session, event, settings, now)


def terms_line(detainee: Detainee, change: Change) -> str:
    """What setting a person's terms did, in one line."""
    if change.event is None:
        return f"person #{detainee.id}: terms unchanged"
    return f"person #{detainee.id}: terms set; {letters_line(change.letters)}"


def sub_orders(session: Session, detainee: Detainee) -> list[str]:
    """The case numbers of the sub-orders the person can be assigned to."""
    return list(session.scalars(select(CourtOrder.case_number).where(
        CourtOrder.parent_id == detainee.order_id).order_by(CourtOrder.case_number)))


def assign_in(session: Session, detainee: Detainee, case: str | None, *, actor: Actor,
              now: datetime, settings: Settings, docket: str | None = None,
              note: str | None = None) -> str:
    """Move the person to the sub-order ``case`` in the caller's transaction and queue their
    letters; the line that says so."""
    sub_order = session.scalar(select(CourtOrder).where(CourtOrder.case_number == case)
                               ) if case else None
    if sub_order is None:
        raise ValidationError("choose the sub-order to assign the person to")
    change = assign_people(session, sub_order, [detainee.a_number], actor=actor, now=now,
                           settings=settings, docket=docket, note=note)
    return (f"person #{detainee.id}: assigned to order {sub_order.case_number};"
            f" {letters_line(change.letters)}")


def terms_of(database: Database, settings: Settings, case: str | None, a_number: str, *,
             actor: Actor, now: datetime, bond_cents: int | None = None,
             conditions: str | None = None, reset: bool = False,
             note: str | None = None) -> tuple[dict[str, Any], str | None]:
    """The terms ordered for a person and what ICE imposed; with a change (a bond, conditions,
    reset), set them first and queue the letters that tell them. The terms, and the line
    saying what was queued (None when nothing was asked to change)."""
    changing = reset or bond_cents is not None or conditions is not None
    with database.write() if changing else database.read() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        letters = None
        if changing:
            change = change_terms(session, detainee, bond_cents=bond_cents,
                                  conditions=conditions, reset=reset, note=note, actor=actor,
                                  now=now, settings=settings)
            letters = letters_line(change.letters) if change.event else "no change"
        return terms.person_terms(detainee, settings), letters


def assign(database: Database, settings: Settings, case: str, a_numbers: Sequence[str], *,
           actor: Actor, now: datetime, docket: str | None = None,
           note: str | None = None) -> tuple[int, str]:
    """Move people to the sub-order ``case`` and queue their letters; how many moved, and
    the line saying what was queued."""
    with database.write() as session:
        change = assign_people(session, orders.resolve_order(session, case), a_numbers,
                               docket=docket, note=note, actor=actor, now=now,
                               settings=settings)
        assert change.event is not None, "an assignment always records its event"
        return int(change.event.payload["people"]), letters_line(change.letters)
