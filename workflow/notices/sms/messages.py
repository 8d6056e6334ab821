"""Which texts are owed, and what each says: hearing reminders, I-340 demands, releases,
and the test text sent at once on demand.

Each is queued once under a key naming its facts (as the e-mails are): the
check that runs again adds nothing; a hearing that moves has new keys; a demand
texted is texted again only the day before its surrender time. Only people and
roles with recorded consent are texted, and only while SMS is on.
"""

from __future__ import annotations

import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bonds.bonds import Kind, State
from workflow.core.config import Settings
from workflow.core.errors import NotFoundError
from workflow.notices.sms import consent, outbox, setup, texts
from workflow.places import courts
from workflow.record import audit, db
from workflow.record.audit import Actor
from workflow.record.models import (
    Bond,
    BondEvent,
    CourtOrder,
    Detainee,
    Event,
    FieldOffice,
    Hearing,
    Notice,
)

HEARING, DEMAND, RELEASE = "hearing-reminder", "demand", "release"


def hearing_context(hearing: Hearing, person: Detainee, days: int, language: str
                    ) -> dict[str, Any]:
    court = courts.by_key(hearing.court)
    return {"given": person.given_name, "days": days, "court": court.name,
            "when": texts.when(hearing.at, court.time_zone, language)}


def queue_hearing_text(session: Session, *, order: CourtOrder, person: Detainee, role: str,
                       hearing: Hearing, days: int, key: str, now: datetime,
                       settings: Settings) -> bool:
    """Queue one hearing reminder as a text (the reminders' SMS channel); True if new."""
    language = texts.language_for(person.language, settings)
    return outbox.enqueue(session, order=order, detainee=person, role=role, kind=HEARING,
                          context=hearing_context(hearing, person, days, language), key=key,
                          now=now, settings=settings, notice_kind="hearing-reminder") is not None


def queue_bond_texts(session: Session, order: CourtOrder, now: datetime,
                     settings: Settings) -> int:
    """Queue the demand and release texts now owed on ``order`` (idempotent); how many."""
    if setup.off_reason(settings):
        return 0
    queued = 0
    for person, event in _open_demands(session, order, now):
        reminder = event.due_at is not None and event.due_at - timedelta(days=1) <= now
        for role in consent.ROLES:
            queued += _queue_if_consented(
                session, order, person, role, DEMAND, now, settings,
                key=f"sms:demand:{event.id}:{'1d' if reminder else 'notice'}:{role}",
                context=lambda language, e=event, p=person, r=reminder: _demand_context(
                    session, order, p, e, r, language))
    for person, released in _releases(session, order):
        queued += _queue_if_consented(
            session, order, person, "obligor", RELEASE, now, settings,
            key=f"sms:release:{released.id}:obligor",
            context=lambda language, e=released, p=person: _release_context(order, p, e, language))
    return queued


def _queue_if_consented(session: Session, order: CourtOrder, person: Detainee, role: str,
                        kind: str, now: datetime, settings: Settings, *, key: str,
                        context: Any) -> int:
    if consent.consented_number(session, person.id, role) is None:
        return 0
    if session.scalar(select(Notice.id).where(Notice.idempotency_key == key)) is not None:
        return 0
    language = texts.language_for(person.language, settings)
    return int(outbox.enqueue(session, order=order, detainee=person, role=role, kind=kind,
                              context=context(language), key=key, now=now,
                              settings=settings) is not None)


def _open_demands(session: Session, order: CourtOrder, now: datetime
                  ) -> list[tuple[Detainee, BondEvent]]:
    """Each bond whose latest event is an I-340 demand still ahead, with that event."""
    rows = session.execute(
        select(Detainee, BondEvent).join(Bond, Bond.detainee_id == Detainee.id)
        .join(BondEvent, BondEvent.bond_id == Bond.id)
        .where(Detainee.order_id == order.id, BondEvent.kind == Kind.DEMAND.value,
               BondEvent.state == State.DEMANDED.value, BondEvent.due_at > now)
        .order_by(BondEvent.id)).all()
    return [(row[0], row[1]) for row in rows if _latest(session, row[1])]


def _latest(session: Session, event: BondEvent) -> bool:
    last = session.scalar(select(BondEvent.id).where(BondEvent.bond_id == event.bond_id)
                          .order_by(BondEvent.id.desc()).limit(1))
    return last == event.id


def _releases(session: Session, order: CourtOrder) -> list[tuple[Detainee, Event]]:
    rows = session.execute(
        select(Detainee, Event).join(Event, Event.detainee_id == Detainee.id)
        .where(Detainee.order_id == order.id, Event.kind == "release").order_by(Event.id)).all()
    return [(row[0], row[1]) for row in rows]


def _demand_context(session: Session, order: CourtOrder, person: Detainee, event: BondEvent,
                    tomorrow: bool, language: str) -> dict[str, Any]:
    name = person.facility.field_office if person.facility else None
    office = session.scalar(select(FieldOffice).where(FieldOffice.name == name)) if name else None
    if office is not None and office.address:
        place = f"{office.address}, {office.city}" if office.city else office.address
    elif name:
        place = f"la oficina de ICE de {name}" if language == "es" else f"ICE's {name} office"
    else:
        place = "la oficina de ICE del I-340" if language == "es" else "the ICE office on the I-340"
    assert event.due_at is not None, "a demand has its surrender time"
    return {"given": person.given_name, "tomorrow": tomorrow, "place": place,
            "when": texts.when(event.due_at, order.time_zone, language)}


def _release_context(order: CourtOrder, person: Detainee, event: Event, language: str
                     ) -> dict[str, Any]:
    facility = person.facility.name if person.facility else (
        "detención" if language == "es" else "detention")
    return {"given": person.given_name, "facility": facility,
            "when": texts.when(event.at, order.time_zone, language)}


def send_test_text(database: db.Database, settings: Settings, *, detainee_id: int, role: str,
                   actor: Actor, now: datetime) -> dict[str, Any]:
    """Queue a test text to the person's consented number and send it at once (quiet hours do
    not hold it); the outcome and the text's notice id."""
    with database.write() as session:
        person = session.get(Detainee, detainee_id)
        if person is None:
            raise NotFoundError(f"no person #{detainee_id}")
        order = session.get_one(CourtOrder, person.order_id)
        notice = outbox.enqueue(session, order=order, detainee=person, role=role,
                                kind=outbox.TEST, context={}, now=now, settings=settings,
                                # Each request is a new test: its own key.
                                key=f"sms:test:{detainee_id}:{role}:{secrets.token_hex(8)}")
        assert notice is not None, "a fresh key is never queued already"
        session.flush()
        notice_id = notice.id
        audit.record(session, kind="sms-test", actor=actor, at=now, now=now, detainee=person,
                     payload={"role": role, "notice": notice_id})
    counts = outbox.deliver(database, settings, now=now, only=notice_id,
                            worker=f"{socket.gethostname()}:test-text")
    outcome = next((name for name, n in counts.items() if n), outbox.NEEDS_REVIEW)
    return {"notice": notice_id, "outcome": outcome}
