"""The locator desk: a look-up is an event (who, when, how, what it found), and the person
keeps when the next one is due.

ICE's Online Detainee Locator answers "0 results" falsely now and then, so an empty answer
proves nothing: it sets when to look again (``[locator] recheck_hours``), and after
``ask_office_after`` empty answers in a row the next step is a call to the field office.
Only ``found`` at a facility changes a stage: a ``locate``, or a ``transfer`` and a
``locate`` when the facility differs from the one on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from workflow.core.config import Settings
from workflow.core.errors import ConfigError, ConflictError, TransitionError, ValidationError
from workflow.core.stages import Stage
from workflow.people import caseloads, tracking
from workflow.record import audit, schema
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event, Facility

LOOKUP = "lookup"
FOUND = "found"
NOT_FOUND = "not-found"
NO_FACILITY = "in-custody-no-facility"
RELEASED = "released"
RESULTS = (FOUND, NOT_FOUND, NO_FACILITY, RELEASED)
# An answer that names no facility: counted towards the call to the field office.
EMPTY = frozenset({NOT_FOUND, NO_FACILITY})
AUTOMATED = "locator-auto"
SOURCES = ("locator", "phone", "email", "attorney", AUTOMATED)
LOOKING = tracking.LOOKING
_CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Cadence:
    """``[locator]``: how often to look again, and when to ask the field office instead."""

    recheck: timedelta
    ask_office_after: int
    desk_hold: timedelta

    @classmethod
    def of(cls, settings: Settings | Mapping[str, Any]) -> Cadence:
        section = settings.section("locator") if isinstance(settings, Settings) else settings
        recheck, after = section["recheck_hours"], section["ask_office_after"]
        hold = section["desk_hold_minutes"]
        if not isinstance(recheck, int | float) or recheck <= 0:
            raise ConfigError("[locator] recheck_hours must be a number of hours above 0")
        if not isinstance(after, int) or after < 1:
            raise ConfigError("[locator] ask_office_after must be a whole number, 1 or more")
        if not isinstance(hold, int | float) or hold <= 0:
            raise ConfigError("[locator] desk_hold_minutes must be a number of minutes above 0")
        return cls(timedelta(hours=recheck), after, timedelta(minutes=hold))


def check_result(result: str) -> str:
    if result not in RESULTS:
        raise ValidationError(f"result must be one of: {', '.join(RESULTS)}")
    return result


def check_source(source: str) -> str:
    if source not in SOURCES:
        raise ValidationError(f"source must be one of: {', '.join(SOURCES)}")
    return source


def record(session: Session, detainee: Detainee, result: str, *, source: str,
           facility: Facility | None, cadence: Cadence, actor: Actor, now: datetime,
           at: datetime | None = None, note: str | None = None) -> str:
    """Record one look-up of ``detainee`` and what follows from it; the line that says so.

    Everything is checked before anything is written, and the caller's one transaction
    holds the look-up event and any move it makes.
    """
    check_result(result)
    check_source(source)
    if result == FOUND and facility is None:
        raise ValidationError("a look-up that found the person needs the facility")
    if result != FOUND and facility is not None:
        raise ValidationError(f"a facility goes with the result '{FOUND}' only")
    stage = _lookable(detainee)
    at = _checked(at, now)
    note = " ".join((note or "").split()) or None
    moved = ""
    if result == FOUND:
        assert facility is not None
        if stage in LOOKING:
            tracking.locate(session, detainee, facility, actor=actor, now=now, at=at)
            moved = f"located at {facility.code}"
        elif detainee.facility_id != facility.id:
            tracking.transfer(session, detainee, facility, actor=actor, now=now, at=at)
            tracking.locate(session, detainee, facility, actor=actor, now=now, at=at)
            moved = f"transferred and located at {facility.code}"
        else:
            moved = f"still at {facility.code}"
        detainee.empty_lookups, detainee.next_lookup_at = 0, None
    else:
        if result in EMPTY:
            detainee.empty_lookups = (detainee.empty_lookups or 0) + 1
        detainee.next_lookup_at = next_lookup(detainee.empty_lookups, at, cadence)
        moved = (f"look again by {detainee.next_lookup_at:%Y-%m-%d %H:%M} UTC"
                 if detainee.empty_lookups < cadence.ask_office_after
                 else "ask the field office")
    detainee.last_lookup_at = max(at, detainee.last_lookup_at or at)
    detainee.locator_saw = None  # a person's look-up settles what the automated one saw
    tracking.touch(detainee, now)
    payload: dict[str, Any] = {"result": result, "how": source}
    if facility is not None:
        payload["facility"] = facility.code
    if note:
        payload["note"] = note
    audit.record(session, kind=LOOKUP, detainee=detainee, payload=payload, actor=actor,
                 at=at, now=now)
    release_hold(session, detainee.id)
    session.flush()
    return f"person #{detainee.id}: look-up recorded ({result}); {moved}"


def unconfirmed(session: Session, detainee: Detainee, seen: str, *, actor: Actor,
                now: datetime) -> str:
    """The automated locator found the person at a facility the directory does not know:
    kept for a person to confirm (the queue asks at once), with no change of stage."""
    stage = _lookable(detainee)
    seen = " ".join(seen.split())[:300]
    detainee.locator_saw = seen
    detainee.last_lookup_at = now
    if stage in LOOKING:
        detainee.next_lookup_at = now
    tracking.touch(detainee, now)
    audit.record(session, kind=LOOKUP, detainee=detainee,
                 payload={"result": FOUND, "how": AUTOMATED, "unconfirmed": seen},
                 actor=actor, at=now, now=now)
    session.flush()
    return f"person #{detainee.id}: found at a facility the directory does not know; confirm it"


def _lookable(detainee: Detainee) -> Stage:
    """The person's stage, if a look-up is for them: still held or being looked for."""
    stage = Stage(detainee.stage)
    if stage not in LOOKING and stage not in (Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED):
        raise TransitionError(f"person #{detainee.id} is {stage.value}: look-ups are for people"
                              " still held or being looked for")
    return stage


def next_lookup(empty: int, at: datetime, cadence: Cadence) -> datetime:
    """When to look again after an answer at ``at``: at once (call the office) once ``empty``
    answers in a row reach ``ask_office_after``, else ``recheck`` later."""
    return at if empty >= cadence.ask_office_after else at + cadence.recheck


def _checked(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValidationError("a time without a time zone")
    if at > now + _CLOCK_SLACK:
        raise ValidationError("the time given is in the future")
    return at


# ---------------------------------------------------------------- who is due, and the desk

def due_at() -> Any:
    """The SQL for when a person's next look-up is due (people in INTAKE or LOCATING)."""
    return func.coalesce(Detainee.next_lookup_at, Detainee.stage_since)


def due_query(order: CourtOrder, now: datetime, *, owner_ids: tuple[int | None, ...] | None = None,
              until: datetime | None = None) -> Any:
    """People due for a look-up by ``until`` (default ``now``), soonest first.

    ``owner_ids``: only these owners (``None`` in it: the unowned).
    """
    when = due_at()
    query = (select(Detainee)
             .where(Detainee.order_id == order.id,
                    Detainee.stage.in_([s.value for s in LOOKING]),
                    when <= (until or now))
             .order_by(when, Detainee.id))
    if owner_ids is not None:
        named = [o for o in owner_ids if o is not None]
        clauses: list[Any] = [Detainee.owner_id.in_(named)] if named else []
        if None in owner_ids:
            clauses.extend(caseloads.unowned_clauses())
        query = query.where(or_(*clauses))
    return query


def free_at_desk(user_id: int, now: datetime) -> Any:
    """Nobody else holds the person at the desk (or their hold has run out)."""
    return or_(Detainee.desk_until.is_(None), Detainee.desk_until <= now,
               Detainee.desk_user_id == user_id)


def take_for_desk(session: Session, order: CourtOrder, user_id: int, now: datetime,
                  cadence: Cadence) -> Detainee | None:
    """The next person due for ``user_id`` at the desk, held for them for a few minutes: their
    own people first, then the unowned. The hold is one conditional UPDATE, so two volunteers
    opening the desk at once are never handed the same person. The hold is not a change to
    the person's record: no version, no event."""
    for owners in ((user_id,), (None,)):
        query = due_query(order, now, owner_ids=owners).where(free_at_desk(user_id, now))
        for detainee in session.scalars(query.limit(20)):
            held = session.execute(
                update(schema.detainees)
                .where(and_(schema.detainees.c.id == detainee.id,
                            or_(schema.detainees.c.desk_until.is_(None),
                                schema.detainees.c.desk_until <= now,
                                schema.detainees.c.desk_user_id == user_id)))
                .values(desk_user_id=user_id, desk_until=now + cadence.desk_hold)
                .execution_options(synchronize_session=False))
            if held.rowcount == 1:  # type: ignore[attr-defined]
                session.refresh(detainee)
                return detainee
    return None


def release_hold(session: Session, detainee_id: int) -> None:
    session.execute(update(schema.detainees).where(schema.detainees.c.id == detainee_id)
                    .values(desk_user_id=None, desk_until=None)
                    .execution_options(synchronize_session=False))


def last_event(session: Session, detainee: Detainee) -> int:
    """The id of the person's latest event (0: none), for a desk form to say what it saw."""
    return session.scalar(select(func.max(Event.id)).where(
        Event.detainee_id == detainee.id)) or 0


def check_desk_form(session: Session, detainee: Detainee, version: str | int | None,
                    seen_event: str | int | None) -> None:
    """Refuse a desk form shown before the person changed, unless every change since was
    another look-up that moved nobody: two volunteers' look-ups of one person at once are
    both kept, in order, while one shown before a move (found, transferred) is stale."""
    if str(version or "") == str(detainee.version):
        return
    seen = str(seen_event or "")
    since = (session.scalars(select(Event.kind).where(Event.detainee_id == detainee.id,
                                                       Event.id > int(seen))).all()
             if seen.isdigit() and len(seen) < 19 else None)
    if not since or any(kind != LOOKUP for kind in since):
        raise ConflictError(f"person #{detainee.id} was changed by someone else since you"
                            " opened the page: reload it and try again")


def next_due(session: Session, order: CourtOrder, user_id: int, now: datetime) -> dict[str, Any]:
    """For a desk with nobody to hand out: how many due now are open at another volunteer's
    desk, and when the next look-up (of the user's people or the unowned) falls due."""
    mine = due_query(order, now, owner_ids=(user_id, None), until=now)
    held = session.scalar(select(func.count()).select_from(mine.order_by(None).subquery()))
    later = (select(func.min(due_at())).where(
        Detainee.order_id == order.id, Detainee.stage.in_([s.value for s in LOOKING]),
        due_at() > now, or_(Detainee.owner_id == user_id, caseloads.unowned())))
    return {"held": held or 0, "next": session.scalar(later)}


def history(session: Session, detainee: Detainee) -> list[dict[str, Any]]:
    """The person's look-ups, oldest first: when, who, how, what."""
    rows = session.scalars(select(Event).where(Event.detainee_id == detainee.id,
                                               Event.kind == LOOKUP).order_by(Event.at, Event.id))
    return [{"at": e.at, "actor": e.actor, "result": e.payload.get("result"),
             "how": e.payload.get("how"), "facility": e.payload.get("facility")} for e in rows]
