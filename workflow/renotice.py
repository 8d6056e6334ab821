"""Re-notice: when a deadline or terms change, everyone it affects hears about it, once.

The change's event names the people it affects (``renotice`` in its payload,
or the one person of a ``terms-set`` event); their obligors are affected too.
Each gets an updated letter through the notices outbox, keyed by (kind,
person, change event), so queueing the same change again adds nothing. A
person or obligor with no e-mail address on file needs a printed letter:
``without_email`` lists them by internal id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow import letters
from workflow.config import Settings
from workflow.models import CourtOrder, Detainee, Event, Notice
from workflow.notices import enqueue_email, person_context

# The change events that can move a deadline or terms (see workflow/amendments.py).
CHANGE_KINDS = ("order-amended", "stay-lifted", "people-assigned", "terms-set")
CLIENT_UPDATE, OBLIGOR_UPDATE = "client-update", "obligor-update"
_LETTER = {CLIENT_UPDATE: "client", OBLIGOR_UPDATE: "obligor"}


@dataclass
class Affected:
    """Who a change affects, by internal id: the people, and the people whose obligor is."""

    people: list[int] = field(default_factory=list)
    obligors: list[int] = field(default_factory=list)


@dataclass
class Renotice:
    queued: int = 0
    without_email: dict[str, list[int]] = field(default_factory=dict)  # kind → person ids


def key(kind: str, detainee_id: int, event_id: int) -> str:
    """The outbox idempotency key: one updated letter per (kind, person, change)."""
    return f"{kind}:person-{detainee_id}:event-{event_id}"


def affected_ids(event: Event) -> list[int]:
    """The people a change event names."""
    if event.kind == "terms-set":
        return [event.detainee_id] if event.detainee_id is not None else []
    return list((event.payload or {}).get("renotice") or [])


def affected(session: Session, event: Event) -> Affected:
    """The people a change affects and, among them, those with an obligor on a live bond."""
    people = _people(session, affected_ids(event))
    return Affected(people=[p.id for p in people],
                    obligors=[p.id for p in people if p.active_bond is not None
                              and (p.active_bond.obligor_name or p.active_bond.obligor_email)])


def _people(session: Session, ids: list[int]) -> list[Detainee]:
    if not ids:
        return []
    return list(session.scalars(
        select(Detainee).where(Detainee.id.in_(ids)).order_by(Detainee.id)
        .options(selectinload(Detainee.bonds), selectinload(Detainee.facility))))


def queue_updates(session: Session, event: Event, settings: Settings, now: datetime,
                  already: set[str] | None = None) -> Renotice:
    """Queue the updated client and obligor letters one change calls for (idempotent)."""
    result = Renotice()
    already = _queued_keys(session) if already is None else already
    for person in _people(session, affected_ids(event)):
        bond = person.active_bond
        recipients = {CLIENT_UPDATE: person.email}
        if bond is not None and (bond.obligor_name or bond.obligor_email):
            recipients[OBLIGOR_UPDATE] = bond.obligor_email
        for kind, address in recipients.items():
            if not address:
                result.without_email.setdefault(kind, []).append(person.id)
            elif key(kind, person.id, event.id) not in already:
                result.queued += _enqueue(session, person.court_order, person, kind, address,
                                          event, settings, now)
    return result


def queue_pending(session: Session, order: CourtOrder, settings: Settings,
                  now: datetime) -> int:
    """Queue whatever updated letters earlier changes still owe (bulk terms files, a crash
    between the change and its letters); returns how many e-mails were queued."""
    events = session.scalars(
        select(Event).where(Event.order_id == order.id, Event.kind.in_(CHANGE_KINDS))
        .order_by(Event.id))
    already = _queued_keys(session)
    return sum(queue_updates(session, event, settings, now, already).queued for event in events)


def _queued_keys(session: Session) -> set[str]:
    # Every order's: a person moved to a sub-order keeps the letters queued under the parent.
    return set(session.scalars(select(Notice.idempotency_key).where(
        Notice.kind.in_((CLIENT_UPDATE, OBLIGOR_UPDATE)))))


def _enqueue(session: Session, order: CourtOrder, person: Detainee, kind: str, address: str,
             event: Event, settings: Settings, now: datetime) -> int:
    letter = _LETTER[kind]
    language = letters.template_language(person.language, letter)
    context = {**person_context(order, settings, person, language, now), "recipient": address}
    subject, body = letters.render_body(letter, language, context)
    page = letters.document([(language, body)], subject)
    notice = enqueue_email(session, order=order, kind=kind, recipient=address,
                           subject=subject, html=page, text=letters.html_to_text(page),
                           key=key(kind, person.id, event.id), now=now, detainee=person,
                           language=language, settings=settings)
    return int(notice is not None)
