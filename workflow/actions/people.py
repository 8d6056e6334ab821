"""A person and their moves: find them, the page of people, search, the moves their stage
allows, a stale page refused, and a move made from text fields.

Every edge makes a move here: the CLI with ``move`` (its own transaction), the browser
with ``move_in`` inside its transaction, after ``check_version``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from workflow.core import clock, stages
from workflow.core.config import Settings
from workflow.core.errors import ConflictError, NotFoundError, ValidationError
from workflow.core.identity import a_number_fields, fold, normalize_a_number
from workflow.core.stages import Stage
from workflow.orders import orders, terms
from workflow.people import moves, tracking
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee, Facility, User
from workflow.views import reports

PER_PAGE = 50
SEARCH_LIMIT = 50


def find_person(session: Session, detainee_id: int) -> Detainee:
    """The person with internal id ``detainee_id``."""
    detainee = session.get(Detainee, detainee_id)
    if detainee is None:
        raise NotFoundError(f"no person #{detainee_id}")
    return detainee


def check_version(detainee: Detainee, seen: str | int | None) -> None:
    """Refuse a change made from a page showing an older version of the person."""
    if str(seen or "") != str(detainee.version):
        raise ConflictError(
            f"person #{detainee.id} was changed by someone else since you opened the page:"
            " reload it and try again"
        )


def allowed_moves(detainee: Detainee) -> list[str]:
    """The moves the stage table allows from the person's stage, then a note (always)."""
    found = [t.action.value for t in stages.allowed_from(Stage(detainee.stage))]
    return [*dict.fromkeys(found), moves.NOTE]


def _row(d: Detainee, code: str | None, office: str | None, now: datetime,
         tz: str) -> dict[str, Any]:
    return {
        "id": d.id, **a_number_fields(d.a_number), "family_name": d.family_name,
        "given_name": d.given_name, "stage": d.stage, "facility": code, "field_office": office,
        "hours_in_stage": round((now - d.stage_since).total_seconds() / 3600, 1),
        "stage_since": clock.local(d.stage_since, tz).isoformat(),
    }


def _people_query(order: CourtOrder) -> Select[Detainee, str, str | None]:
    return (
        select(Detainee, Facility.code, Facility.field_office)
        .outerjoin(Facility, Detainee.facility_id == Facility.id)
        .where(Detainee.order_id == order.id)
    )


OWNED_BY_ME = "me"
UNOWNED = "unowned"


@dataclass
class PeoplePage:
    rows: list[dict[str, Any]]
    page: int
    has_next: bool
    filters: dict[str, str] = field(default_factory=dict)
    total: int = 0  # people the filters select, on every page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


# How the list may be sorted: by name (accents ignored), stage (in pipeline order), time in
# stage (longest first) or facility; the A-number breaks ties.
SORTS = {
    "a_number": (),
    "name": (Detainee.search_key,),
    "stage": (case({stage.value: index for index, stage in enumerate(Stage)},
                   value=Detainee.stage),),
    "time_in_stage": (Detainee.stage_since,),
    "facility": (Facility.code.is_(None), Facility.code),
}


def people_page(session: Session, order: CourtOrder, now: datetime, *, stage: str = "",
                facility: str = "", field_office: str = "", page: int = 1,
                per_page: int = PER_PAGE, sort: str = "a_number", owner: str = "",
                me: int | None = None) -> PeoplePage:
    """One page of people, filtered and sorted, and how many the filters select (one count
    on the order's index: milliseconds at 100,000 people). ``owner``: ``me`` (the account
    ``me``'s people), ``unowned`` (nobody's, or a disabled account's), or empty (anyone's)."""
    if stage and stage not in Stage.__members__:
        raise ValidationError("not a stage")
    if sort not in SORTS:
        raise ValidationError(f"sort by one of: {', '.join(SORTS)}")
    page = max(1, page)
    query = _people_query(order)
    if stage:
        query = query.where(Detainee.stage == stage)
    if facility:
        query = query.where(Facility.code == facility.strip().upper())
    if field_office:
        query = query.where(Facility.field_office == field_office)
    if owner == OWNED_BY_ME and me is not None:
        query = query.where(Detainee.owner_id == me)
    elif owner == UNOWNED:
        active = select(User.id).where(User.disabled_at.is_(None))
        query = query.where(Detainee.owner_id.is_(None) | Detainee.owner_id.not_in(active))
    elif owner:
        raise ValidationError(f"owner must be {OWNED_BY_ME}, {UNOWNED} or empty")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = (query.order_by(*SORTS[sort], Detainee.a_number)
             .offset((page - 1) * per_page).limit(per_page + 1))
    found = session.execute(query).all()
    tz = order.time_zone
    rows = [_row(d, code, office, now, tz) for d, code, office in found[:per_page]]
    return PeoplePage(rows, page, len(found) > per_page,
                      {"stage": stage, "facility": facility, "field_office": field_office,
                       "sort": sort, "owner": owner}, total)


_PARTIAL_A_NUMBER = 3  # digits: fewer would match most of a class list


def search_people(session: Session, order: CourtOrder, text: str,
                  now: datetime) -> list[dict[str, Any]]:
    """People ``text`` names: ``#8`` (an internal id, as the overview and the bulk preview name
    people), an A-number in any spelling or at least three of its digits, or words each
    found in the name, accents and case ignored ("garcia" finds García)."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError("type an A-number, a name or #id to search for")
    query = _people_query(order)
    digits = re.sub(r"[\s.-]", "", text.removeprefix("A").removeprefix("a"))
    if re.fullmatch(r"#\s*\d{1,12}", text):
        query = query.where(Detainee.id == int(text[1:]))
    elif digits.isdigit():
        try:
            query = query.where(Detainee.a_number == normalize_a_number(text))
        except ValueError:
            if len(digits) < _PARTIAL_A_NUMBER:
                raise ValidationError(
                    f"type at least {_PARTIAL_A_NUMBER} digits of an A-number") from None
            query = query.where(Detainee.a_number.contains(digits, autoescape=True))
    else:
        for word in fold(text).split()[:4]:
            query = query.where(Detainee.search_key.contains(word, autoescape=True))
    found = session.execute(query.order_by(Detainee.a_number).limit(SEARCH_LIMIT)).all()
    return [_row(d, code, office, now, order.time_zone) for d, code, office in found]


def places(session: Session) -> dict[str, list[Any]]:
    """Facilities (code, name) and field offices for the filter menus."""
    codes = session.execute(select(Facility.code, Facility.name).order_by(Facility.code)).all()
    offices = session.scalars(select(Facility.field_office).where(
        Facility.field_office.is_not(None)).distinct().order_by(Facility.field_office)).all()
    return {"facilities": [tuple(row) for row in codes],
            "field_offices": [office for office in offices if office is not None]}




def move(database: Database, settings: Settings, case: str | None, a_number: str, move: str,
         fields: Mapping[str, str | None], *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Make one move (a stage verb or a note) for the person with ``a_number``, from the text
    ``fields`` it reads; the event's person, kind and stages, and the line that says so."""
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        event = moves.make(session, detainee, move, fields, actor=actor, now=now,
                           default_bond_cents=terms.default_bond_cents(settings))
        return {"person": detainee.id, "kind": event.kind, "from_stage": event.from_stage,
                "to_stage": event.to_stage, "line": moves.describe(detainee, event)}


# The words of the moves, for the edges' menus and options.
MOVE_FIELDS = moves.FIELDS
NOTE = moves.NOTE
PAYMENT_METHODS = tracking.PAYMENT_METHODS
EXCLUSION_REASONS = tracking.EXCLUSION_REASONS
FieldError = moves.FieldError


def is_final(move: str, stage: str) -> bool:
    """Whether ``move`` from ``stage`` ends the person's case (the browser asks to confirm)."""
    return moves.is_final(move, stage)


def move_in(session: Session, detainee: Detainee, move: str, fields: Mapping[str, str | None],
            *, actor: Actor, now: datetime, settings: Settings,
            facility: Facility | None = None) -> str:
    """``move`` inside the caller's transaction (after the browser's version check); the line
    that says what it did. ``facility``: one the caller already resolved."""
    event = moves.make(session, detainee, move, fields, actor=actor, now=now,
                       default_bond_cents=terms.default_bond_cents(settings),
                       facility=facility)
    return moves.describe(detainee, event)


def person_terms(detainee: Detainee, settings: Settings) -> dict[str, Any]:
    """The terms ordered for the person, what ICE imposed, and any mismatch."""
    return terms.person_terms(detainee, settings)


def person_record(database: Database, case: str | None, a_number: str) -> dict[str, Any]:
    """One person's record and whole history, by A-number (any spelling)."""
    with database.read() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        return reports.person_record(session, detainee)


def add_person(database: Database, case: str | None, fields: Mapping[str, str], *,
               actor: Actor, now: datetime) -> dict[str, Any]:
    """Add one person by hand, read by the class list's rules (``fields``: its columns, as
    ``intake.roster.FORM_FIELDS``), in one transaction; their internal id and A-number."""
    from workflow.intake import roster  # the spreadsheet readers load on first use

    with database.write() as session:
        added = roster.add_person(session, orders.resolve_order(session, case), fields,
                                  actor=actor, now=now)
        session.flush()
        return {"id": added.id, "a_number": added.a_number}


def person_form_fields() -> tuple[str, ...]:
    """The fields of the form that adds a person by hand."""
    from workflow.intake import roster

    return roster.FORM_FIELDS
