"""What the provider's webhooks mean: a reply received, a delivery reported.

The web edge checks the signature and hands the form's fields here. A reply
that is a STOP word opts the number out, a START word opts it back in, and any
other reply is kept on the person's record (never in a log). A delivery
callback comes once per status and, for a text in several segments, once per
segment: a failure is kept even when a later segment is delivered. A number
whose texts fail ``failures_to_mark_failing`` times is marked failing, and its
texts waiting in the outbox go to ``needs-review``.

A callback names its text by the outbox id in its URL (``?m=``), so none is lost
when it arrives before the sending worker has recorded the provider's SID, or
after the worker died between the call and the record: the SID is recorded then,
with the status. A text in ``needs-review`` stays there whatever its callbacks
say: "delivered" is evidence that it went out, for the person who settles it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.notices.sms import consent, phones
from workflow.notices.sms.outbox import FAILED_DELIVERY, FAILING_NUMBER, SMS, undelivered
from workflow.record.models import Notice, SmsMessage, SmsNumber, SmsReply
from workflow.record.outbox import NEEDS_REVIEW, PENDING, SENT

# Twilio's message statuses (a status callback reports the outbound ones).
DELIVERY = ("accepted", "scheduled", "canceled", "queued", "sending", "sent", "delivered",
            "undelivered", "failed", "partially_delivered", "read", "receiving", "received")
_OUTBOX_ID = re.compile(r"[0-9]{1,9}")  # what ``?m=`` may hold (an id the column can hold)
STOPPED, STARTED, KEPT, REPEATED = "opted-out", "opted-in", "kept", "repeated"


def inbound(session: Session, fields: Mapping[str, str], now: datetime) -> str:
    """A text received: opt out, opt in, or keep it as a reply; what was done."""
    sid, sender = fields.get("MessageSid", ""), fields.get("From", "")
    if not sid or not sender:
        raise ValidationError("a reply needs MessageSid and From")
    number = consent.number_row(session, phones.e164(sender), now)
    word = fields.get("Body", "").strip().upper()
    if word in consent.STOP_WORDS:
        consent.opt_out(session, number, now)
        return STOPPED
    if word in consent.START_WORDS:
        consent.opt_in(session, number, now)
        return STARTED
    try:
        with session.begin_nested():
            session.add(SmsReply(detainee_id=consent.holder(session, number.id),
                                 number_id=number.id, provider_sid=sid,
                                 body=fields.get("Body", ""), received_at=now))
    except IntegrityError:  # the provider retried a reply already kept
        return REPEATED
    return KEPT


def delivery(session: Session, fields: Mapping[str, str], now: datetime,
             settings: Settings, outbox_id: str | None = None) -> str | None:
    """A delivery callback recorded on its text (``outbox_id``: the ``m`` of its URL, if
    any); the text's delivery status, or None if the message is not one of ours."""
    status = fields.get("MessageStatus", "")
    if status not in DELIVERY:
        raise ValidationError("unknown MessageStatus")
    sid = fields.get("MessageSid", "")
    if not sid:
        return None
    message = _message(session, sid, outbox_id)
    if message is None:
        return None
    if message.provider_sid is None:  # the callback came before the record, or instead of it
        message.provider_sid = sid
    message.callbacks += 1
    message.updated_at = now
    if message.delivery in FAILED_DELIVERY:  # an earlier segment failed: that stands
        return message.delivery
    message.delivery = status
    if status in FAILED_DELIVERY:
        code = fields.get("ErrorCode", "")
        message.error_code = int(code) if code.isdigit() else None
        _failed(session, message, now, settings)
    return message.delivery


def _message(session: Session, sid: str, outbox_id: str | None) -> SmsMessage | None:
    """The text a callback is about, locked (two segments' callbacks at once must not let a
    success overwrite a failure): by its outbox id when the URL names one, else by its SID.
    A text that holds another SID, or a SID another text holds, is not this callback's."""
    if outbox_id is None:
        return session.scalar(select(SmsMessage).where(SmsMessage.provider_sid == sid)
                              .with_for_update())
    if not _OUTBOX_ID.fullmatch(outbox_id):
        return None
    message = session.scalar(select(SmsMessage).where(SmsMessage.notice_id == int(outbox_id))
                             .with_for_update())
    if message is None or message.provider_sid not in (None, sid):
        return None
    if message.provider_sid is None and session.scalar(
            select(SmsMessage.id).where(SmsMessage.provider_sid == sid)) is not None:
        return None
    return message


def _failed(session: Session, message: SmsMessage, now: datetime, settings: Settings) -> None:
    """The text did not arrive: its notice needs review (one still being recorded is sent
    there by the worker); the number's failures count."""
    reason = undelivered(message.error_code)
    session.execute(update(Notice).where(Notice.id == message.notice_id, Notice.status == SENT)
                    .values(status=NEEDS_REVIEW, error=reason))
    number = session.get_one(SmsNumber, message.number_id)
    number.failures += 1
    number.updated_at = now
    if message.error_code == 21610:
        consent.opt_out(session, number, now, how="provider")
    elif (number.failures >= settings.section("sms")["failures_to_mark_failing"]
          and number.status == consent.ACTIVE):
        number.status = consent.FAILING
        waiting = select(SmsMessage.notice_id).where(SmsMessage.number_id == number.id)
        session.execute(update(Notice).where(
            Notice.channel == SMS, Notice.id.in_(waiting),
            Notice.status == PENDING)
            .values(status=NEEDS_REVIEW, error=FAILING_NUMBER))
