"""Re-notice: when a deadline or terms change, everyone it affects hears about it, once.

The change's event names the people it affects (``renotice`` in its payload,
or the one person of a ``terms-set`` event); their obligors are affected too.
Each gets an updated letter through the notices outbox, keyed by (kind,
person, change event), so queueing the same change again adds nothing: an
e-mail when an address is on file, else a letter queued to print.
``render_queued`` (`bondtrack notices render --queued`) prints the waiting
letters and marks each printed, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from workflow.core.config import Settings
from workflow.core.pdf import Progress
from workflow.notices import letters
from workflow.notices.composing import Letter, LetterBatch, person_context, write_letters
from workflow.orders.orders import resolve_order
from workflow.record import audit, db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event, Notice
from workflow.record.outbox import FAILED, LETTER, PRINTED, TO_PRINT, enqueue_email, enqueue_letter

# The change events that can move a deadline or terms (see workflow/orders/amendments.py).
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
    """What queueing updated letters did: e-mails queued, and letters queued to print."""

    queued: int = 0  # e-mails
    # kind → ids of the people whose updated letter was queued to print (no address on file)
    without_email: dict[str, list[int]] = field(default_factory=dict)

    @property
    def to_print(self) -> int:
        return sum(len(ids) for ids in self.without_email.values())

    def add(self, other: Renotice) -> None:
        self.queued += other.queued
        for kind, ids in other.without_email.items():
            self.without_email.setdefault(kind, []).extend(ids)


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
                  already: set[str] | None = None, dry_run: bool = False) -> Renotice:
    """Queue the updated client and obligor letters one change calls for (idempotent): e-mail
    where an address is on file, else print. ``dry_run`` counts them and queues nothing."""
    result = Renotice()
    already = _queued_keys(session) if already is None else already
    for person in _people(session, affected_ids(event)):
        bond = person.active_bond
        recipients = {CLIENT_UPDATE: person.email}
        if bond is not None and (bond.obligor_name or bond.obligor_email):
            recipients[OBLIGOR_UPDATE] = bond.obligor_email
        for kind, address in recipients.items():
            if key(kind, person.id, event.id) in already:
                continue
            if dry_run or _enqueue(session, person, kind, address, event, settings, now):
                if address:
                    result.queued += 1
                else:
                    result.without_email.setdefault(kind, []).append(person.id)
    return result


def queue_owed(session: Session, order: CourtOrder, settings: Settings, now: datetime,
               dry_run: bool = False) -> Renotice:
    """Queue whatever updated letters earlier changes to ``order`` still owe (bulk terms files,
    a crash between the change and its letters): the e-mails and, by kind, the letters to
    print."""
    events = session.scalars(
        select(Event).where(Event.order_id == order.id, Event.kind.in_(CHANGE_KINDS))
        .order_by(Event.id))
    already = _queued_keys(session)
    total = Renotice()
    for event in events:
        total.add(queue_updates(session, event, settings, now, already, dry_run))
    return total


def family(session: Session, order: CourtOrder) -> list[CourtOrder]:
    """The order and its sub-orders (a sub-order has no sub-orders of its own)."""
    return [order, *session.scalars(select(CourtOrder).where(CourtOrder.parent_id == order.id)
                                    .order_by(CourtOrder.id))]


def queue_owed_family(session: Session, order: CourtOrder, settings: Settings, now: datetime,
                      dry_run: bool = False) -> Renotice:
    """``queue_owed`` for the order and each of its sub-orders: what `notices send` and
    `notices render --queued` do first, so a change made by a bulk file is never missed."""
    total = Renotice()
    for member in family(session, order):
        total.add(queue_owed(session, member, settings, now, dry_run))
    return total


def waiting_to_print(session: Session, order: CourtOrder) -> int:
    """Letters of the order and its sub-orders queued to print and not printed yet."""
    ids = [member.id for member in family(session, order)]
    return session.scalar(select(func.count()).select_from(Notice).where(
        Notice.order_id.in_(ids), Notice.channel == LETTER, Notice.status == TO_PRINT)) or 0


def render_queued(database: db.Database, settings: Settings, *, case: str | None, out: Path,
                  now: datetime, actor: Actor, fmt: str = "pdf", one_file: bool = False,
                  progress: Progress | None = None) -> LetterBatch:
    """Print every letter queued to print for the order and its sub-orders (after queueing
    what changes still owe), then mark them printed in the transaction that records the
    audit event: a second run prints nothing new, a failed write marks nothing.

    A letter whose queued file is gone is marked failed with the reason.
    """
    with database.write() as session:
        order = resolve_order(session, case)
        queue_owed_family(session, order, settings, now)
        order_id, members = order.id, [member.id for member in family(session, order)]
        queued = session.execute(
            select(Notice.id, Notice.kind, Notice.language, Notice.subject, Notice.file_path,
                   Detainee.id.label("person"), Detainee.language.label("reads"))
            .join(Detainee, Notice.detainee_id == Detainee.id)
            .where(Notice.order_id.in_(members), Notice.channel == LETTER,
                   Notice.status == TO_PRINT).order_by(Notice.id)).all()
    batch = LetterBatch(kind="updated", letters=[])
    printed: list[int] = []
    for row in queued:
        try:
            body = Markup(Path(row.file_path).read_text(encoding="utf-8"))  # we rendered it
        except (OSError, TypeError):  # TypeError: no file was ever recorded
            batch.failed.append(row.id)
            continue
        batch.letters.append(Letter(f"{row.kind}-person-{row.person}-notice-{row.id}",
                                    row.language, row.subject or "", body, (row.person,)))
        batch.flag_language(row.person, row.reads, row.language)
        printed.append(row.id)
    if printed:
        batch.one_file_stem = f"updated-letters-{printed[0]}-{printed[-1]}"
    batch.files = write_letters(batch, out, fmt=fmt, one_file=one_file, progress=progress)
    with database.write() as session:
        _mark(session, printed, PRINTED, now, None)
        _mark(session, batch.failed, FAILED, now, "the queued letter's file is missing from the"
              " outbox: render it again with `bondtrack notices render --kind ... --a-number`")
        audit.record(session, kind="letters-rendered", order_id=order_id, actor=actor, at=now,
                     now=now, payload={
                         "letters": "queued", "count": len(printed), "format": fmt,
                         "one_file": one_file, "notices": printed, "failed": batch.failed,
                         "languages": batch.summary()["languages"],
                     })
    return batch


def _mark(session: Session, ids: list[int], status: str, now: datetime, error: str | None) -> None:
    """Queued letters to ``status``, if still to print (compare-and-set)."""
    if ids:
        session.execute(update(Notice).where(Notice.id.in_(ids), Notice.status == TO_PRINT)
                        .values(status=status, sent_at=now if status == PRINTED else None,
                                error=error))


def _queued_keys(session: Session) -> set[str]:
    # Every order's: a person moved to a sub-order keeps the letters queued under the parent.
    return set(session.scalars(select(Notice.idempotency_key).where(
        Notice.kind.in_((CLIENT_UPDATE, OBLIGOR_UPDATE)))))


def _enqueue(session: Session, person: Detainee, kind: str, address: str | None, event: Event,
             settings: Settings, now: datetime) -> bool:
    """One updated letter, rendered now under the person's current order: e-mailed to
    ``address``, or queued to print when there is none. False if it was queued already."""
    order, letter = person.court_order, _LETTER[kind]
    language = letters.template_language(person.language, letter)
    context = person_context(order, settings, person, language, now)
    subject, body = letters.render_body(letter, language, {**context, "recipient": address})
    common: dict[str, Any] = {"order": order, "kind": kind, "key": key(kind, person.id, event.id),
                              "now": now, "detainee": person, "language": language,
                              "settings": settings}
    if not address:
        return enqueue_letter(session, subject=subject, body=body, **common) is not None
    page = letters.document([(language, body)], subject)
    return enqueue_email(session, recipient=address, subject=subject, html=page,
                         text=letters.html_to_text(page), **common) is not None
