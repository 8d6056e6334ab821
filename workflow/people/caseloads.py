"""Caseloads: each person may have an owner, a staff or attorney account that works on them.

Assigning is a change to the person (a new version) and an event (kind ``assign``, payload
the owner's and the previous owner's e-mail: staff, not the person's data). A disabled
account's people read as unowned everywhere (``workflow.views.queue``); they keep the owner
on record, so enabling the account again gives them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from workflow.core.errors import NotFoundError, ValidationError
from workflow.core.stages import OUTSTANDING
from workflow.people import tracking
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Facility, User
from workflow.record.users import normalize_email

ASSIGN = "assign"
OWNER_ROLES = ("staff", "attorney")


def owner_account(session: Session, email: str) -> User:
    """The account ``email`` names, if it may own people: known, enabled, staff or attorney."""
    user = session.scalars(select(User).where(User.email == normalize_email(email))).first()
    if user is None:
        raise NotFoundError(f"no account {email.strip()!r}: `bondtrack user add` makes one")
    if user.disabled_at is not None:
        raise ValidationError(f"{user.email} is disabled: enable the account or choose another")
    if user.role not in OWNER_ROLES:
        raise ValidationError(f"{user.email} is a {user.role}: only staff and attorneys own"
                              " people")
    return user


def unowned_clauses() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Unowned, as everywhere: nobody owns them, or a disabled account does. Two clauses, to
    be OR-ed or read one by one: each alone keeps to an owner-led index."""
    return (Detainee.owner_id.is_(None),
            Detainee.owner_id.in_(select(User.id).where(User.disabled_at.is_not(None))))


def unowned() -> ColumnElement[bool]:
    return or_(*unowned_clauses())


def select_people(session: Session, order: CourtOrder, *, stage: str = "",
                  facility: str = "", field_office: str = "",
                  only_unowned: bool = False) -> list[Detainee]:
    """The outstanding people a filter chooses, by A-number (an empty filter: all of them)."""
    query = (select(Detainee).outerjoin(Facility, Facility.id == Detainee.facility_id)
             .where(Detainee.order_id == order.id,
                    Detainee.stage.in_([s.value for s in OUTSTANDING])))
    if stage:
        if stage.upper() not in {s.value for s in OUTSTANDING}:
            raise ValidationError(f"{stage!r} is not a stage of outstanding people")
        query = query.where(Detainee.stage == stage.upper())
    if facility:
        query = query.where(Facility.code == facility.strip().upper())
    if field_office:
        query = query.where(Facility.field_office == field_office.strip())
    if only_unowned:
        query = query.where(unowned())
    return list(session.scalars(query.order_by(Detainee.a_number)))


def assign(session: Session, people: Sequence[Detainee], owners: Sequence[User | None], *,
           actor: Actor, now: datetime) -> int:
    """Give ``people`` to ``owners`` in turn (one owner: all of them; several: spread evenly,
    in A-number order; ``[None]``: unassign). How many changed hands."""
    if not owners:
        raise ValidationError("name at least one account")
    changed = 0
    previous = {u.id: u.email for u in session.scalars(select(User))}
    for index, detainee in enumerate(people):
        owner = owners[index % len(owners)]
        new_id = owner.id if owner is not None else None
        if detainee.owner_id == new_id:
            continue
        audit.record(session, kind=ASSIGN, detainee=detainee,
                     payload={"owner": owner.email if owner else None,
                              "from": previous.get(detainee.owner_id or 0)},
                     actor=actor, at=now, now=now)
        detainee.owner_id = new_id
        tracking.touch(detainee, now)
        changed += 1
    session.flush()
    return changed
