"""The reminders that keep a missed hearing from breaching a bond.

The obligor is not told about hearings, and a missed hearing is what breaches
come from. So each open hearing reminds the client and the obligor ``[hearings]
reminder_days`` before it (7 and 1 by default), in the client's language:

- **once**: a reminder's outbox key is (hearing, its time, days before,
  recipient), so a check that runs again, or after a restart, adds nothing;
- **rescheduled**: a moved hearing has another time, hence new keys, and its
  reminders not yet sent or printed are taken back;
- **stopped**: a hearing marked done, or past, reminds nobody (and its unsent
  reminders are taken back too);
- **the most urgent only**: a hearing added two days ahead gets its 1-day
  reminder, not also a late 7-day one.

Each reminder goes by the first channel in ``CHANNELS`` that can reach the
recipient: a text when SMS is on and the recipient consented to texts (people
are reached by phone), else e-mail when an address is on file, else a letter
queued to print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bonds.hearings import LETTER, REMINDER, letter_facts, open_hearings, person_of
from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.notices import letters
from workflow.notices.composing import person_context
from workflow.notices.sms import consent, messages, setup
from workflow.places import courts
from workflow.record.models import CourtOrder, Detainee, Hearing, Notice
from workflow.record.outbox import enqueue_email, enqueue_letter


@dataclass(frozen=True)
class Recipient:
    role: str  # "client" or "obligor"
    person: Detainee
    email: str | None
    phone: str | None
    texts: str | None = None  # the number the recipient consented to be texted at


@dataclass(frozen=True)
class Channel:
    """One way to reach a recipient: ``address`` says whether it can; ``queue`` puts one
    reminder in the outbox (True if it was new)."""

    name: str
    address: Callable[[Recipient], str | None]
    queue: Callable[..., bool]


def _queue_email(session: Session, recipient: Recipient, address: str, **common: Any) -> bool:
    page = letters.document([(common["language"], common["body"])], common["subject"])
    return enqueue_email(session, order=common["order"], kind=REMINDER, recipient=address,
                         subject=common["subject"], html=page, text=letters.html_to_text(page),
                         key=common["key"], now=common["now"], detainee=recipient.person,
                         language=common["language"], settings=common["settings"]) is not None


def _queue_letter(session: Session, recipient: Recipient, address: str, **common: Any) -> bool:
    return enqueue_letter(session, order=common["order"], kind=REMINDER,
                          detainee=recipient.person, subject=common["subject"],
                          body=common["body"], key=common["key"], now=common["now"],
                          language=common["language"], settings=common["settings"]) is not None


def _queue_text(session: Session, recipient: Recipient, address: str, **common: Any) -> bool:
    return messages.queue_hearing_text(
        session, order=common["order"], person=recipient.person, role=recipient.role,
        hearing=common["hearing"], days=common["days_before"], key=common["key"],
        now=common["now"], settings=common["settings"])


CHANNELS: tuple[Channel, ...] = (
    Channel("sms", lambda r: r.texts, _queue_text),
    Channel("email", lambda r: r.email, _queue_email),
    Channel("letter", lambda r: "print", _queue_letter),
)


def reminder_days(settings: Settings) -> tuple[int, ...]:
    days = tuple(sorted(settings.section("hearings")["reminder_days"], reverse=True))
    if any(d <= 0 for d in days):
        raise ValidationError("[hearings] reminder_days must be whole days above 0")
    return days


def reminder_key(hearing: Hearing, days: int, role: str) -> str:
    return f"{REMINDER}:hearing-{hearing.id}:{int(hearing.at.timestamp())}:{days}d:{role}"


def due_reminder(hearing: Hearing, days: tuple[int, ...], now: datetime) -> int | None:
    """The most urgent reminder (days before) whose time has come, if the hearing is ahead."""
    if hearing.done_at is not None or hearing.at <= now:
        return None
    zone = courts.by_key(hearing.court).time_zone
    local = clock.local(hearing.at, zone)
    passed = [d for d in days
              if (local - timedelta(days=d)).astimezone(hearing.at.tzinfo) <= now]
    return min(passed) if passed else None


def queue_reminders(session: Session, order: CourtOrder, now: datetime,
                    settings: Settings) -> int:
    """Queue every hearing reminder now due for ``order`` (idempotent); how many were new."""
    days = reminder_days(settings)
    texting = setup.off_reason(settings) is None
    queued = 0
    already = set(session.scalars(select(Notice.idempotency_key).where(
        Notice.order_id == order.id, Notice.kind == REMINDER)))
    for hearing in list(session.scalars(open_hearings(order, now))):
        before = due_reminder(hearing, days, now)
        if before is None:
            continue
        person = person_of(session, hearing)
        for recipient in recipients(person):
            if texting and (number := consent.consented_number(session, person.id,
                                                               recipient.role)):
                recipient = replace(recipient, texts=number.number)
            key = reminder_key(hearing, before, recipient.role)
            if key in already:
                continue
            language = letters.template_language(person.language, LETTER)
            context = {**person_context(order, settings, person, language, now),
                       "hearing": letter_facts(hearing), "role": recipient.role,
                       "days_before": before}
            subject, body = letters.render_body(LETTER, language, context)
            channel = next(c for c in CHANNELS if c.address(recipient))
            queued += channel.queue(session, recipient, channel.address(recipient) or "",
                                    order=order, subject=subject, body=body, language=language,
                                    key=key, now=now, settings=settings, hearing=hearing,
                                    days_before=before)
    return queued


def recipients(person: Detainee) -> list[Recipient]:
    """The client, and the obligor of their posted bond if one is recorded."""
    found = [Recipient("client", person, person.email, person.phone)]
    bond = next((b for b in reversed(person.bonds) if b.posted_at is not None), None)
    if bond is not None and (bond.obligor_name or bond.obligor_email):
        found.append(Recipient("obligor", person, bond.obligor_email, bond.obligor_phone))
    return found
