"""Letters and e-mails put to use: render a batch to files, queue and send what is owed.

Composing the letters is in ``composing`` (and ``bond_letters``, ``renotice``),
rendering in ``letters``; queueing and sending e-mail exactly once is in ``outbox``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workflow.core.clock import iso
from workflow.core.config import Settings
from workflow.core.errors import NotFoundError, ValidationError
from workflow.core.pdf import Progress
from workflow.notices import bond_letters, letters, renotice
from workflow.notices.composing import (
    Filters,
    LetterBatch,
    compose,
    person_context,
    select_people,
    write_letters,
)
from workflow.notices.letters import LETTER_KINDS
from workflow.orders.orders import resolve_order
from workflow.record import audit, db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Notice
from workflow.record.outbox import EMAIL, PENDING, STATUSES, TO_PRINT, deliver, enqueue_email

SEND_KINDS = ("obligor", "alert", "digest")


def prepare_letters(session: Session, order: CourtOrder, settings: Settings, *, kind: str,
                    now: datetime, filters: Filters = Filters(), language: str | None = None,
                    limit: int | None = None, progress: Progress | None = None) -> LetterBatch:
    """Render the bodies of every ``kind`` letter the filters select (no files yet).

    Each letter is in its reader's language (demand letters: English) unless
    ``language`` names one for all.
    """
    if kind not in LETTER_KINDS:
        raise ValidationError(f"letter kind must be one of: {', '.join(LETTER_KINDS)}")
    if language and letters.template_language(language, kind) != language:
        raise ValidationError(f"there is no {kind} letter in '{language}' (templates/notices/)")
    if kind in ("hearing", "demand-notice", "refund-packet"):
        return bond_letters.prepare(session, order, settings, kind=kind, now=now, filters=filters,
                                    language=language, limit=limit)
    return compose(session, order, settings, kind=kind, now=now, filters=filters,
                   language=language, limit=limit, progress=progress)


def render_letters(database: db.Database, settings: Settings, *, case: str | None, kind: str,
                   out: Path, now: datetime, actor: Actor, fmt: str = "pdf",
                   one_file: bool = False, filters: Filters = Filters(),
                   language: str | None = None, limit: int | None = None,
                   progress: Progress | None = None) -> LetterBatch:
    """Select, render and write letters, then record the generation in the audit log.

    The database is only read while rendering (it can take seconds); the audit
    event is one short write at the end.
    """
    with database.read() as session:
        order = resolve_order(session, case)
        batch = prepare_letters(session, order, settings, kind=kind, now=now, filters=filters,
                                language=language, limit=limit, progress=progress)
        order_id = order.id
    batch.files = write_letters(batch, out, fmt=fmt, one_file=one_file, progress=progress)
    with database.write() as session:
        audit.record(session, kind="letters-rendered", order_id=order_id, actor=actor, at=now,
                     now=now, payload={
                         "letters": kind, "count": len(batch.letters), "format": fmt,
                         "one_file": one_file, "stage": filters.stage,
                         "facility": filters.facility, "by_a_number": bool(filters.a_number),
                         "languages": batch.summary()["languages"],
                     })
    return batch


def queue_obligor_emails(session: Session, order: CourtOrder, settings: Settings, *,
                         now: datetime, dry_run: bool = False) -> int:
    """Queue the obligor letter as an e-mail to every obligor with an address; returns how many.

    The key is the bond plus a fingerprint of what the letter says, so a changed
    amount or address is a new e-mail and an unchanged one is never sent twice.
    """
    queued = 0
    for person in select_people(session, order, "obligor", Filters()):
        bond = person.active_bond
        if bond is None or not bond.obligor_email:
            continue
        language = letters.template_language(person.language, "obligor")
        context = {**person_context(order, settings, person, language, now),
                   "recipient": bond.obligor_email}
        key = f"obligor:bond-{bond.id}:{letters.facts_digest(context)}"
        if session.scalar(select(Notice.id).where(Notice.idempotency_key == key)) is not None:
            continue  # this letter, to this address, was queued already
        if dry_run:
            queued += 1
            continue
        subject, body = letters.render_body("obligor", language, context)
        page = letters.document([(language, body)], subject)
        notice = enqueue_email(session, order=order, kind="obligor", recipient=bond.obligor_email,
                               subject=subject, html=page, text=letters.html_to_text(page),
                               key=key, now=now, detainee=person, language=language,
                               settings=settings)
        queued += notice is not None
    return queued


def send_notices(database: db.Database, settings: Settings, *, case: str | None,
                 kinds: Iterable[str] = (), now: datetime, worker: str,
                 dry_run: bool = False) -> dict[str, int]:
    """Queue what is due (obligor e-mails, updated letters that changes to the order or its
    sub-orders still owe), then deliver the pending e-mails.

    With no ``kinds``, every pending e-mail goes, whoever queued it (alerts,
    digests, re-notices); with ``kinds``, only those. ``to-print`` counts the
    letters waiting for `notices render --queued` (people with no e-mail address).
    """
    only = tuple(kinds) or None
    with (database.read() if dry_run else database.write()) as session:
        order = resolve_order(session, case)
        _check_kinds(session, only)
        owed = renotice.queue_owed_family(session, order, settings, now, dry_run)
        obligors = (queue_obligor_emails(session, order, settings, now=now, dry_run=dry_run)
                    if only is None or "obligor" in only else 0)
        queued = owed.queued + obligors
        to_print = renotice.waiting_to_print(session, order) + (owed.to_print if dry_run else 0)
        if dry_run:
            due = session.scalar(select(func.count()).select_from(Notice).where(
                Notice.channel == EMAIL, Notice.status == PENDING,
                *([Notice.kind.in_(only)] if only else []),
                or_(Notice.claimed_until.is_(None), Notice.claimed_until <= now)))
            return {"would_queue": queued, "would_send": queued + (due or 0), TO_PRINT: to_print}
    counts = deliver(database, settings, now=now, worker=worker, kinds=only)
    return {"queued": queued, **counts, TO_PRINT: to_print}


def _check_kinds(session: Session, kinds: tuple[str, ...] | None) -> None:
    """A kind nobody queues is a typo, not an empty run."""
    known = {*SEND_KINDS, *session.scalars(select(Notice.kind).distinct())}
    unknown = sorted(set(kinds or ()) - known)
    if unknown:
        raise ValidationError(f"no e-mails of kind {', '.join(unknown)};"
                              f" kinds: {', '.join(sorted(known))}")


def list_notices(session: Session, order: CourtOrder, *,
                 status: str | None = None) -> list[dict[str, Any]]:
    """The outbox of ``order``, newest first, with times in the court's zone."""
    if status and status not in STATUSES:
        raise ValidationError(f"status must be one of: {', '.join(STATUSES)}")
    query = select(Notice).where(Notice.order_id == order.id).order_by(Notice.id.desc())
    if status:
        query = query.where(Notice.status == status)
    return [{
        "id": n.id, "kind": n.kind, "language": n.language, "channel": n.channel,
        "person": n.detainee_id, "recipient": n.recipient, "status": n.status,
        "attempts": n.attempts, "created_at": iso(n.created_at, order.time_zone),
        "sent_at": iso(n.sent_at, order.time_zone), "error": n.error,
    } for n in session.scalars(query)]


def resolve_notice(session: Session, order: CourtOrder, notice_id: int, *, delivered: bool,
                   actor: Actor, now: datetime) -> Notice:
    """Record a human's verdict on a notice that needs review: delivered, or send it again."""
    from workflow.record.outbox import resolve

    notice = session.get(Notice, notice_id)
    if notice is None or notice.order_id != order.id:
        raise NotFoundError(f"no notice #{notice_id} in order {order.case_number}")
    previous = notice.status
    resolve(session, notice, delivered=delivered, operator=actor.operator)
    audit.record(session, kind="notice-resolved", order_id=order.id, actor=actor, at=now, now=now,
                 payload={"notice": notice.id, "was": previous, "now": notice.status})
    return notice
