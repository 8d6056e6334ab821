"""What has been texted and received, for the person's page, `bondtrack sms list` and the
outbox; and replies marked read, which takes them out of the owner's queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.core import clock
from workflow.notices.sms import consent
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Notice, SmsMessage, SmsNumber, SmsReply


def texts(session: Session, order: CourtOrder, *, detainee_id: int | None = None,
          status: str | None = None) -> list[dict[str, Any]]:
    """Every text of ``order`` (or of one person), oldest first, with its delivery."""
    query = (select(Notice, SmsMessage, SmsNumber.number)
             .join(SmsMessage, SmsMessage.notice_id == Notice.id)
             .join(SmsNumber, SmsNumber.id == SmsMessage.number_id)
             .where(Notice.order_id == order.id).order_by(Notice.id))
    if detainee_id is not None:
        query = query.where(Notice.detainee_id == detainee_id)
    if status:
        query = query.where(Notice.status == status)
    zone = order.time_zone
    return [{"id": notice.id, "person": notice.detainee_id, "kind": notice.kind,
             "language": notice.language, "to": number, "status": notice.status,
             "delivery": message.delivery, "error_code": message.error_code,
             "segments": message.segments, "encoding": message.encoding,
             "queued_at": clock.iso(notice.created_at, zone),
             "sent_at": clock.iso(notice.sent_at, zone), "error": notice.error,
             "body": message.body}
            for notice, message, number in session.execute(query).all()]


def replies(session: Session, detainee_id: int, zone: str) -> list[dict[str, Any]]:
    """The texts the person's numbers sent back (not STOP/START), oldest first."""
    rows = session.execute(
        select(SmsReply, SmsNumber.number).join(SmsNumber, SmsNumber.id == SmsReply.number_id)
        .where(SmsReply.detainee_id == detainee_id).order_by(SmsReply.id)).all()
    return [{"id": reply.id, "from": number, "body": reply.body,
             "received_at": clock.iso(reply.received_at, zone), "read": reply.seen_at is not None}
            for reply, number in rows]


def mark_replies_read(session: Session, detainee: Detainee, *, actor: Actor,
                      now: datetime) -> int:
    """Mark the person's unread replies read (they leave their owner's queue); how many."""
    done = session.execute(update(SmsReply).where(SmsReply.detainee_id == detainee.id,
                                                  SmsReply.seen_at.is_(None))
                           .values(seen_at=now).execution_options(synchronize_session=False))
    count = int(done.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        audit.record(session, kind="sms-replies-read", detainee=detainee, payload={"count": count},
                     actor=actor, at=now, now=now)
    return count


def person_page(session: Session, detainee: Detainee) -> dict[str, Any]:
    """The person's texts, replies and consent, for their page."""
    order = session.get_one(CourtOrder, detainee.order_id)
    zone = order.time_zone
    numbers = {role: consent.consented_number(session, detainee.id, role)
               for role in consent.ROLES}
    return {"texts": texts(session, order, detainee_id=detainee.id),
            "replies": replies(session, detainee.id, zone),
            "consent": [{**step, "at": clock.iso(step["at"], zone)}
                        for step in consent.history(session, detainee.id)],
            "consented": {role: (n.number, n.status) for role, n in numbers.items() if n}}
