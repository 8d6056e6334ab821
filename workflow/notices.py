"""Letters and e-mails: who gets which letter, in which language, and the outbox.

Client letters go to every person on the order, obligor letters to whoever
posts a set bond, demand letters to each ICE field office (one per office,
listing the outstanding people it holds). A person whose language has no
templates gets English and is reported as needing a translation. Rendering is
in ``letters``; queueing and sending e-mail exactly once is in ``outbox``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from workflow import audit, db, languages, letters, terms
from workflow.audit import Actor
from workflow.config import Settings
from workflow.errors import BondtrackError, NotFoundError, ValidationError
from workflow.identity import format_a_number
from workflow.letters import LETTER_KINDS, Progress, render_staff_email
from workflow.models import Bond, CourtOrder, Detainee, Facility, FieldOffice, Notice
from workflow.orders import find_detainee, normalize_facility_code, resolve_order
from workflow.outbox import EMAIL, PENDING, STATUSES, TO_PRINT, deliver, enqueue_email
from workflow.stages import OUTSTANDING, Stage

# The public face of letters and e-mail; deliver, enqueue_email and render_staff_email
# are re-exported from outbox and letters so callers need only this module.
__all__ = [
    "FORMATS", "LETTER_KINDS", "SEND_KINDS", "Filters", "Letter", "LetterBatch", "deliver",
    "demo_letters", "enqueue_email", "list_notices", "person_context", "prepare_letters",
    "queue_obligor_emails", "render_letters", "render_staff_email", "resolve_notice",
    "select_people", "send_notices", "write_letters",
]
FORMATS = ("pdf", "html")
SEND_KINDS = ("obligor", "alert", "digest")


@dataclass(frozen=True)
class Filters:
    """Which people a render covers; all optional."""

    stage: str | None = None
    facility: str | None = None
    a_number: str | None = None


@dataclass(frozen=True)
class Letter:
    stem: str  # the file name without extension: internal ids only, never names
    language: str
    subject: str
    body: Markup
    people: tuple[int, ...]


@dataclass
class LetterBatch:
    """What a render made: the letters, and what the user must know about them."""

    kind: str
    letters: list[Letter]
    needs_translation: dict[str, list[int]] = field(default_factory=dict)  # language → person ids
    interpreter_needed: dict[str, list[int]] = field(default_factory=dict)  # the same
    without_field_office: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # queued letters (notice ids) not printed
    one_file_stem: str | None = None  # the --one-file name; default "<kind>-letters"
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "letters": len(self.letters),
            "languages": dict(Counter(letter.language for letter in self.letters)),
            "files": [str(path) for path in self.files],
            "needs_translation": self.needs_translation,
            "interpreter_needed": self.interpreter_needed,
            "without_field_office": self.without_field_office,
            "failed": self.failed,
        }

    def flag_language(self, person_id: int, language: str | None, chosen: str | None) -> None:
        """Note a reader whose language has no letter (``chosen`` is what they got instead),
        and one who needs an interpreter (see ``workflow.languages``)."""
        if language and chosen and language != chosen:
            self.needs_translation.setdefault(language, []).append(person_id)
        if languages.interpreter_reason(language):
            self.interpreter_needed.setdefault(language, []).append(person_id)  # type: ignore[arg-type]


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
        from workflow import bond_letters  # the bond's letters build on this module

        return bond_letters.prepare(session, order, settings, kind=kind, now=now, filters=filters,
                                    language=language, limit=limit)
    people = select_people(session, order, kind, filters)[:limit]
    if kind == "demand":
        offices = {o.name: o for o in session.scalars(select(FieldOffice))}
        return _demand_letters(order, settings, people, language or "en", now, progress, offices)
    batch = LetterBatch(kind=kind, letters=[])
    for done, person in enumerate(people, 1):
        chosen = language or letters.template_language(person.language, kind)
        batch.flag_language(person.id, person.language, None if language else chosen)
        context = person_context(order, settings, person, chosen, now)
        subject, body = letters.render_body(kind, chosen, context)
        batch.letters.append(Letter(f"{kind}-person-{person.id}", chosen, subject, body,
                                    (person.id,)))
        if progress:
            progress("rendering", done, len(people))
    return batch


def select_people(session: Session, order: CourtOrder, kind: str, filters: Filters) -> list[Detainee]:
    """The people a ``kind`` letter goes to, oldest record first.

    Client letters: everyone on the order. Obligor letters: people with a bond
    set and not yet posted (any stage with a bond when --stage is given).
    Demand letters: outstanding people with a known facility.
    """
    query = (select(Detainee).where(Detainee.order_id == order.id).order_by(Detainee.id)
             .options(selectinload(Detainee.facility), selectinload(Detainee.bonds)))
    stage = _stage(filters.stage)
    if kind == "demand":
        if stage and stage not in OUTSTANDING:
            raise ValidationError(f"demand letters list outstanding people only; {stage} is not")
        query = query.where(Detainee.stage.in_([s.value for s in OUTSTANDING]),
                            Detainee.facility_id.is_not(None))
    if kind == "obligor" and stage is None:
        stage = Stage.BOND_SET
    if stage:
        query = query.where(Detainee.stage == stage.value)
    if filters.facility:
        query = query.where(Detainee.facility_id == _facility(session, filters.facility).id)
    if filters.a_number:
        query = query.where(Detainee.id == find_detainee(session, order, filters.a_number).id)
    people = list(session.scalars(query))
    if kind == "obligor":
        people = [person for person in people if person.active_bond is not None]
    return people


def _stage(name: str | None) -> Stage | None:
    if not name:
        return None
    try:
        return Stage(name.upper())
    except ValueError:
        raise ValidationError(f"no stage {name}: use one of {', '.join(Stage)}") from None


def _facility(session: Session, code: str) -> Facility:
    try:
        code = normalize_facility_code(code)
    except ValueError as exc:
        raise ValidationError(f"--facility: {exc}") from None
    facility = session.scalar(select(Facility).where(Facility.code == code))
    if facility is None:
        raise NotFoundError(f"no facility {code}")
    return facility


def _common(order: CourtOrder, settings: Settings, language: str, now: datetime) -> dict[str, Any]:
    notices = settings.section("notices")
    return {
        "language": language,
        "locale": letters.babel_locale(language, notices["region"]),
        "today": now,
        "organization": notices["organization"],
        "hotline": notices["hotline"],
        "order": {
            "case_number": order.case_number, "court": order.court, "judge": order.judge,
            "title": order.title, "deadline": order.deadline, "time_zone": order.time_zone,
            "order_date": order.order_date,
        },
    }


def _facility_facts(facility: Facility | None, court_zone: str) -> dict[str, Any] | None:
    if facility is None:
        return None
    return {
        "code": facility.code, "name": facility.name, "address": facility.address,
        "city": facility.city, "state": facility.state, "phone": facility.phone,
        "field_office": facility.field_office, "time_zone": facility.time_zone or court_zone,
    }


def _person_facts(person: Detainee, court_zone: str) -> dict[str, Any]:
    return {
        "id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "name": f"{person.given_name} {person.family_name}",
        "a_number": format_a_number(person.a_number),
        "country_of_birth": person.country_of_birth,
        "stage": person.stage,
        "facility": _facility_facts(person.facility, court_zone),
    }


def _bond_facts(bond: Bond | None) -> dict[str, Any] | None:
    if bond is None:
        return None
    return {
        "amount_cents": bond.amount_cents, "conditions": bond.conditions,
        "obligor_name": bond.obligor_name, "obligor_relationship": bond.obligor_relationship,
        "posted": bond.posted_at is not None, "receipt_number": bond.receipt_number,
    }


def _terms_facts(order: CourtOrder, settings: Settings, person: Detainee) -> dict[str, Any]:
    """What the court ordered for ``person`` (their own terms, else the order's): bond in cents,
    0 for release without bond, and the condition names."""
    ordered = terms.ordered_terms(person, terms.order_terms(order, settings))
    return {"bond_cents": ordered.bond_cents, "conditions": sorted(ordered.conditions),
            "own": ordered.source == "person"}


def person_context(order: CourtOrder, settings: Settings, person: Detainee, language: str,
                   now: datetime) -> dict[str, Any]:
    """What a client or obligor letter may say about ``person`` (on ``order``, theirs), as plain
    data."""
    posting = settings.section("posting")
    return {
        **_common(order, settings, language, now),
        "person": _person_facts(person, order.time_zone),
        "bond": _bond_facts(person.active_bond),
        "terms": _terms_facts(order, settings, person),
        "posting": {"days": list(posting["days"]), "opens": posting["opens"],
                    "closes": posting["closes"]},
    }


def _demand_letters(order: CourtOrder, settings: Settings, people: list[Detainee],
                    language: str, now: datetime, progress: Progress | None,
                    offices: dict[str, FieldOffice]) -> LetterBatch:
    """One letter per field office listing everyone outstanding in its facilities, addressed
    to the office's street address when the directory has it."""
    batch = LetterBatch(kind="demand", letters=[])
    by_office: dict[str, list[Detainee]] = defaultdict(list)
    for person in people:
        if person.facility and person.facility.field_office:
            by_office[person.facility.field_office].append(person)
        else:
            batch.without_field_office.append(person.id)
    for done, (office, held) in enumerate(sorted(by_office.items()), 1):
        held.sort(key=lambda p: (p.facility.name if p.facility else "", p.family_name,
                                 p.given_name, p.id))
        context = {
            **_common(order, settings, language, now),
            "field_office": office,
            "office": _office_facts(offices.get(office)),
            "people": [_person_facts(person, order.time_zone) for person in held],
            "facilities": sorted({person.facility.name for person in held if person.facility}),
        }
        subject, body = letters.render_body("demand", language, context)
        stem = f"demand-{_slug(office)}"
        batch.letters.append(Letter(stem, language, subject, body, tuple(p.id for p in held)))
        if progress:
            progress("rendering", done, len(by_office))
    return batch


def _office_facts(office: FieldOffice | None) -> dict[str, Any] | None:
    if office is None:
        return None
    return {"name": office.office, "address": office.address, "city": office.city,
            "state": office.state, "zip": office.zip, "phone": office.phone,
            "email": office.email}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "office"


def write_letters(batch: LetterBatch, out: Path, *, fmt: str, one_file: bool,
                  progress: Progress | None = None) -> list[Path]:
    """Write the letters as PDF or HTML, one file each or one printable file; 0600 in 0700."""
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of: {', '.join(FORMATS)}")
    try:
        return _write_letters(batch, out, fmt, one_file, progress)
    except OSError as exc:  # the folder is a file, read-only, full...
        raise BondtrackError(f"cannot write letters into {out}: {exc.strerror}") from None


def _write_letters(batch: LetterBatch, out: Path, fmt: str, one_file: bool,
                   progress: Progress | None) -> list[Path]:
    db.ensure_private_dir(out)
    if not batch.letters:
        return []
    title = f"{batch.kind} letters"
    if one_file:
        path = db.private_file(out / f"{batch.one_file_stem or f'{batch.kind}-letters'}.{fmt}")
        page = letters.document([(x.language, x.body) for x in batch.letters], title)
        if fmt == "pdf":
            letters.write_pdf(page, path, progress)
        else:
            path.write_text(page, encoding="utf-8")
        return [path]
    paths = [db.private_file(out / f"{letter.stem}.{fmt}") for letter in batch.letters]
    if fmt == "pdf":
        page = letters.document([(x.language, x.body) for x in batch.letters], title)
        letters.split_pdf(page, paths, progress)
        return paths
    for done, (letter, path) in enumerate(zip(batch.letters, paths, strict=True), 1):
        path.write_text(letters.document([(letter.language, letter.body)], title), encoding="utf-8")
        if progress:
            progress("writing", done, len(paths))
    return paths


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
    from workflow import renotice  # renotice builds on this module

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


def list_notices(session: Session, order: CourtOrder, *, status: str | None = None) -> list[dict[str, Any]]:
    """The outbox of ``order``, newest first, with times in the court's zone."""
    from workflow.reports import iso

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
    from workflow.outbox import resolve

    notice = session.get(Notice, notice_id)
    if notice is None or notice.order_id != order.id:
        raise NotFoundError(f"no notice #{notice_id} in order {order.case_number}")
    previous = notice.status
    resolve(session, notice, delivered=delivered, operator=actor.operator)
    audit.record(session, kind="notice-resolved", order_id=order.id, actor=actor, at=now, now=now,
                 payload={"notice": notice.id, "was": previous, "now": notice.status})
    return notice


def demo_letters(database: db.Database, settings: Settings, order_id: int, now: datetime,
                 say: Callable[[str], None]) -> None:
    """Demo step: the demand letters and a sample of client letters, as PDFs in the demo home."""
    with database.read() as session:
        case = session.get(CourtOrder, order_id).case_number  # type: ignore[union-attr]
    out = settings.home / "letters"
    actor = Actor(operator="demo", source="demo")
    demand = render_letters(database, settings, case=case, kind="demand", out=out, now=now,
                            actor=actor)
    sample = render_letters(database, settings, case=case, kind="client", out=out, now=now,
                            actor=actor, one_file=True, limit=25)
    say(f"{len(demand.letters)} field-office demand letters in {out}/demand-*.pdf")
    for path in sample.files:
        say(f"{len(sample.letters)} client letters (a sample, each in its reader's language) in {path}")
