"""Who may be texted: numbers, the consent recorded for them, and opting out and back in.

A number is texted only for a person and role (client, obligor) whose latest
consent step is ``given`` or ``opted-in``, and only while the number itself is
not opted out. STOP opts out the number for everyone who gave it (the provider
blocks it too); START opts it back in. Every step is kept: the history is the
consent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.errors import ValidationError
from workflow.notices.sms import phones
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import Detainee, SmsConsent, SmsNumber

ACTIVE, OPTED_OUT, FAILING = "active", "opted-out", "failing"
GIVEN, WITHDRAWN, OPT_OUT, OPT_IN = "given", "withdrawn", "opted-out", "opted-in"
HOWS = ("in-person", "phone", "form")
ROLES = ("client", "obligor")
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def number_row(session: Session, number: str, now: datetime) -> SmsNumber:
    """The row of an E.164 ``number``, made on first sight."""
    row = session.scalar(select(SmsNumber).where(SmsNumber.number == number))
    if row is None:
        row = SmsNumber(number=number, status=ACTIVE, failures=0, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def record(session: Session, detainee: Detainee, *, role: str, phone: str, how: str,
           actor: Actor, now: datetime, region: str = "US") -> SmsConsent:
    """Record that ``detainee``'s ``role`` agreed to texts at ``phone`` (validated, E.164)."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    if how not in HOWS:
        raise ValidationError(f"how must be one of {', '.join(HOWS)}")
    number = number_row(session, phones.e164(phone, region), now)
    if number.status == OPTED_OUT:
        raise ValidationError("this number replied STOP: it must text START before it can be"
                              " texted again")
    step = SmsConsent(detainee_id=detainee.id, number_id=number.id, role=role, action=GIVEN,
                      how=how, recorded_by=actor.operator, at=now)
    session.add(step)
    audit.record(session, kind="sms-consent", actor=actor, at=now, now=now, detainee=detainee,
                 payload={"role": role, "how": how, "number_id": number.id})
    return step


def consented_number(session: Session, detainee_id: int, role: str) -> SmsNumber | None:
    """The number ``role`` of the person agreed to be texted at, unless withdrawn or opted out."""
    latest = session.scalar(
        select(SmsConsent).where(SmsConsent.detainee_id == detainee_id, SmsConsent.role == role)
        .order_by(SmsConsent.id.desc()).limit(1))
    if latest is None or latest.action not in (GIVEN, OPT_IN):
        return None
    return latest.number if latest.number.status != OPTED_OUT else None


def opt_out(session: Session, number: SmsNumber, now: datetime, how: str = "reply") -> None:
    """The number said STOP (or the provider answered 21610): no more texts to it."""
    _step(session, number, OPT_OUT, OPTED_OUT, how, now)


def opt_in(session: Session, number: SmsNumber, now: datetime) -> None:
    """The number said START: texts may go to it again, for those who consented."""
    if number.status == OPTED_OUT:
        _step(session, number, OPT_IN, ACTIVE, "reply", now)


def _step(session: Session, number: SmsNumber, action: str, status: str, how: str,
          now: datetime) -> None:
    number.status, number.updated_at = status, now
    by = Actor("the provider" if how == "provider" else "the number's owner", "sms")
    for detainee_id, role in _holders(session, number.id):
        session.add(SmsConsent(detainee_id=detainee_id, number_id=number.id, role=role,
                               action=action, how=how, recorded_by=by.operator, at=now))
        audit.record(session, kind=f"sms-{action}", actor=by, at=now, now=now,
                     detainee=session.get_one(Detainee, detainee_id),
                     payload={"role": role, "number_id": number.id})


def _holders(session: Session, number_id: int) -> list[tuple[int, str]]:
    """(person, role) pairs that ever gave consent for this number, most recent first."""
    rows = session.execute(
        select(SmsConsent.detainee_id, SmsConsent.role).where(SmsConsent.number_id == number_id)
        .order_by(SmsConsent.id.desc())).all()
    return list(dict.fromkeys((row.detainee_id, row.role) for row in rows))


def holder(session: Session, number_id: int) -> int | None:
    """The person who most recently gave this number (replies are kept on their record)."""
    found = _holders(session, number_id)
    return found[0][0] if found else None


def history(session: Session, detainee_id: int) -> list[dict[str, Any]]:
    """Every consent step for the person, oldest first, with the number's present status."""
    rows = session.scalars(select(SmsConsent).where(SmsConsent.detainee_id == detainee_id)
                           .order_by(SmsConsent.id))
    return [{"at": step.at, "role": step.role, "action": step.action, "how": step.how,
             "by": step.recorded_by, "number": step.number.number,
             "number_status": step.number.status} for step in rows]
