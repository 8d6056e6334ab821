"""Composing letters: who gets which letter, what it says of them, and its files.

Client letters go to every person on the order, obligor letters to whoever
posts a set bond, demand letters to each ICE field office (one per office,
listing the outstanding people it holds). A person whose language has no
templates gets English and is reported as needing a translation. Rendering is
in ``letters``; the bond's letters (``bond_letters``) and the updated letters
(``renotice``) build on this module; ``notices`` puts them to use.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.core import pdf
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.core.files import ensure_private_dir, private_file
from workflow.core.identity import format_a_number
from workflow.core.pdf import Progress
from workflow.core.stages import OUTSTANDING, Stage
from workflow.notices import languages, letters
from workflow.orders import terms
from workflow.orders.orders import find_detainee
from workflow.places.facilities import normalize_facility_code
from workflow.record.models import Bond, CourtOrder, Detainee, Facility, FieldOffice

FORMATS = ("pdf", "html")




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
        and one who needs an interpreter (see ``workflow.notices.languages``)."""
        if language and chosen and language != chosen:
            self.needs_translation.setdefault(language, []).append(person_id)
        if language and languages.interpreter_reason(language):
            self.interpreter_needed.setdefault(language, []).append(person_id)


def compose(session: Session, order: CourtOrder, settings: Settings, *, kind: str,
            now: datetime, filters: Filters, language: str | None, limit: int | None,
            progress: Progress | None) -> LetterBatch:
    """The client, obligor and demand letters the filters select (no files yet)."""
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


def select_people(session: Session, order: CourtOrder, kind: str,
                  filters: Filters) -> list[Detainee]:
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
    ensure_private_dir(out)
    if not batch.letters:
        return []
    title = f"{batch.kind} letters"
    if one_file:
        path = private_file(out / f"{batch.one_file_stem or f'{batch.kind}-letters'}.{fmt}")
        page = letters.document([(x.language, x.body) for x in batch.letters], title)
        if fmt == "pdf":
            pdf.write_pdf(page, path, progress)
        else:
            path.write_text(page, encoding="utf-8")
        return [path]
    paths = [private_file(out / f"{letter.stem}.{fmt}") for letter in batch.letters]
    if fmt == "pdf":
        page = letters.document([(x.language, x.body) for x in batch.letters], title)
        pdf.split_pdf(page, paths, progress)
        return paths
    for done, (letter, path) in enumerate(zip(batch.letters, paths, strict=True), 1):
        path.write_text(letters.document([(letter.language, letter.body)], title), encoding="utf-8")
        if progress:
            progress("writing", done, len(paths))
    return paths
