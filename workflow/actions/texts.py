"""Text messages: consent, the texts and replies a person has, a test text, delivery, the
provider's webhooks, previews. SMS is off until ``[sms]`` is set up; ``off_reason`` says why
in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.core.config import Settings
from workflow.core.errors import ConfigError
from workflow.notices.sms import consent, messages, outbox, records, setup, texts, webhooks
from workflow.orders import orders
from workflow.record.audit import Actor
from workflow.record.db import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.notices.sms.texts import Text
    from workflow.record.models import CourtOrder, Detainee

CONSENT_HOWS = consent.HOWS
CONSENT_ROLES = consent.ROLES


def off_reason(settings: Settings) -> str | None:
    """Why texts are off (None: they are on)."""
    return setup.off_reason(settings)


def webhook_secret(settings: Settings, name: str) -> tuple[str, str] | None:
    """The auth token and the public URL the provider signs for webhook ``name`` (None: SMS
    is off, so nothing is signed)."""
    try:
        sms = setup.load(settings)
    except ConfigError:
        return None
    return sms.auth_token, sms.webhook_url(name)


def inbound(database: Database, fields: Mapping[str, str], *, now: datetime) -> str:
    """A text received: STOP/START words change consent, other replies are kept; what was
    done (never who or what was said)."""
    with database.write() as session:
        return webhooks.inbound(session, fields, now)


def delivery(database: Database, settings: Settings, fields: Mapping[str, str], *,
             now: datetime, outbox_id: str | None = None) -> str | None:
    """A delivery callback recorded on its text (``outbox_id``: the ``m`` its URL carries);
    what it was (None: not one of ours)."""
    with database.write() as session:
        return webhooks.delivery(session, fields, now, settings, outbox_id)


def record_consent_in(session: Session, detainee: Detainee, *, role: str, phone: str, how: str,
                      actor: Actor, now: datetime, settings: Settings) -> int:
    """Record that the person (or their obligor) agreed to be texted at ``phone``, in the
    caller's transaction; the number's id."""
    step = consent.record(session, detainee, role=role, phone=phone, how=how, actor=actor,
                          now=now, region=settings.section("sms")["default_region"])
    return int(step.number_id)


def record_consent(database: Database, settings: Settings, case: str | None, a_number: str, *,
                   role: str, phone: str, how: str, actor: Actor,
                   now: datetime) -> tuple[int, int]:
    """``record_consent_in`` for a person by A-number; the person's and the number's ids."""
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        return detainee.id, record_consent_in(session, detainee, role=role, phone=phone,
                                              how=how, actor=actor, now=now, settings=settings)


def send_test_text(database: Database, settings: Settings, *, role: str, actor: Actor,
                   now: datetime, detainee_id: int | None = None, case: str | None = None,
                   a_number: str | None = None) -> dict[str, Any]:
    """Send a test text at once to the consented number of a person (by internal id, or by
    A-number in ``case``); quiet hours do not hold it. Its notice and outcome."""
    if detainee_id is None:
        with database.read() as session:
            detainee_id = orders.find_detainee(
                session, orders.resolve_order(session, case), a_number or "").id
    return messages.send_test_text(database, settings, detainee_id=detainee_id, role=role,
                                   actor=actor, now=now)


def text_rows(session: Session, order: CourtOrder, *,
              status: str | None = None) -> list[dict[str, Any]]:
    """Every text of the order queued or sent, with its delivery and segments."""
    return records.texts(session, order, status=status)


def mark_replies_read_in(session: Session, detainee: Detainee, *, actor: Actor,
                         now: datetime) -> str:
    """The person's replies read: they leave their owner's queue (audited)."""
    count = records.mark_replies_read(session, detainee, actor=actor, now=now)
    return f"{count} repl{'y' if count == 1 else 'ies'} marked read"


def mark_replies_read(database: Database, case: str | None, a_number: str, *, actor: Actor,
                      now: datetime) -> str:
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        return mark_replies_read_in(session, detainee, actor=actor, now=now)


def person_texts(session: Session, detainee: Detainee) -> dict[str, Any]:
    """A person's texts, replies, consent and its history, for their page."""
    return records.person_page(session, detainee)


def deliver(database: Database, settings: Settings, *, now: datetime,
            worker: str) -> dict[str, int]:
    """Send the texts that are due now, paced and in order, each once."""
    return outbox.deliver(database, settings, now=now, worker=worker)


def previews(settings: Settings, language: str | None = None, *,
             at: datetime | None = None) -> list[Text]:
    """Every text as a sample person would get it (about ``at``), with its segments."""
    return texts.previews(settings, language, at=at)


def missing_texts() -> dict[str, list[str]]:
    """Each language's texts that its folder lacks."""
    return texts.missing()


def languages() -> list[str]:
    """The languages that have texts."""
    return texts.languages()
