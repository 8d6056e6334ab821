"""Immigration-court hearings: recorded, moved, done, and the next one per person.

A missed hearing is what breaches come from, so each open hearing reminds the
client and the obligor before it (``workflow.notices.hearing_reminders``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from workflow.core import dates
from workflow.core.clock import iso
from workflow.core.errors import NotFoundError, ValidationError
from workflow.places import courts
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Hearing, Notice

KINDS = ("master", "individual")
REMINDER = "hearing-reminder"  # the outbox kind
LETTER = "hearing"  # the template


# ---------------------------------------------------------------- recording


def add(session: Session, detainee: Detainee, *, at: datetime, court: str, actor: Actor,
        now: datetime, kind: str = "master", note: str | None = None) -> Hearing:
    """Record a hearing; ``at`` is aware (parse it in the court's zone with ``parse_time``)."""
    chosen = courts.find(court)
    if kind not in KINDS:
        raise ValidationError(f"the hearing kind must be one of: {', '.join(KINDS)}")
    if at <= now:
        raise ValidationError("the hearing time is in the past")
    hearing = Hearing(detainee_id=detainee.id, at=at, court=chosen.key, kind=kind,
                      note=(note or "").strip() or None, created_at=now)
    session.add(hearing)
    session.flush()
    _audit(session, detainee, "hearing-added", hearing, actor, now)
    return hearing


def parse_time(text: str, court: str) -> datetime:
    """``2026-01-14 09:00`` in the immigration court's own zone → aware UTC."""
    return dates.parse_instant(text, courts.find(court).time_zone)


def get(session: Session, order: CourtOrder, hearing_id: int) -> Hearing:
    hearing = session.get(Hearing, hearing_id)
    if hearing is None or person_of(session, hearing).order_id != order.id:
        raise NotFoundError(f"no hearing #{hearing_id} in order {order.case_number}")
    return hearing


def move(session: Session, hearing: Hearing, *, at: datetime, actor: Actor,
         now: datetime) -> Hearing:
    """The court moved the hearing: reminders follow the new time."""
    if hearing.done_at is not None:
        raise ValidationError(f"hearing #{hearing.id} is done")
    if at <= now:
        raise ValidationError("the hearing time is in the past")
    was = hearing.at
    withdrawn = withdraw_reminders(session, hearing)
    hearing.at = at
    session.flush()
    _audit(session, person_of(session, hearing), "hearing-moved", hearing, actor, now,
           {"was": was.isoformat(), "reminders_withdrawn": withdrawn})
    return hearing


def done(session: Session, hearing: Hearing, *, actor: Actor, now: datetime) -> Hearing:
    """The hearing happened (or was taken off calendar): no more reminders."""
    if hearing.done_at is not None:
        raise ValidationError(f"hearing #{hearing.id} is already done")
    hearing.done_at = now
    withdrawn = withdraw_reminders(session, hearing)
    session.flush()
    _audit(session, person_of(session, hearing), "hearing-done", hearing, actor, now,
           {"reminders_withdrawn": withdrawn})
    return hearing


def withdraw_reminders(session: Session, hearing: Hearing) -> int:
    """Take back the reminders of ``hearing`` that have not gone out (an e-mail still pending
    and unclaimed, a letter not yet printed), so none tells an old date; how many.

    A reminder that went, or that a sender holds now, stays as it is. The queued file is
    left to the next delivery, which deletes every file no notice names: deleting it here
    would lose it if this transaction rolled back.
    """
    from workflow.record.outbox import PENDING, TO_PRINT

    result = session.execute(
        delete(Notice).where(Notice.kind == REMINDER,
                             Notice.idempotency_key.startswith(f"{REMINDER}:hearing-{hearing.id}:"),
                             Notice.status.in_((PENDING, TO_PRINT)), Notice.claimed_by.is_(None))
        .returning(Notice.id)).all()
    return len(result)


def person_of(session: Session, hearing: Hearing) -> Detainee:
    found = session.get(Detainee, hearing.detainee_id)
    assert found is not None, "a hearing's person is deleted with it"
    return found


def _audit(session: Session, detainee: Detainee, kind: str, hearing: Hearing, actor: Actor,
           now: datetime, extra: dict[str, Any] | None = None) -> None:
    detainee.updated_at = now  # a new version: hearing changes race like any other change
    flag_modified(detainee, "updated_at")
    audit.record(session, kind=kind, detainee=detainee, actor=actor, at=now, now=now,
                 payload={"hearing": hearing.id, "at": hearing.at.isoformat(),
                          "court": hearing.court, "kind": hearing.kind, **(extra or {})})


# ---------------------------------------------------------------- views


def describe(hearing: Hearing) -> dict[str, Any]:
    """A hearing for people: its time in the immigration court's zone, and the court."""
    court = courts.by_key(hearing.court)
    return {"id": hearing.id, "person": hearing.detainee_id,
            "at": iso(hearing.at, court.time_zone), "time_zone": court.time_zone,
            "court": court.key,
            "court_name": court.name, "kind": hearing.kind, "note": hearing.note,
            "done": hearing.done_at is not None}


def listing(session: Session, order: CourtOrder, now: datetime,
            days: int | None = None) -> list[dict[str, Any]]:
    """Open hearings from ``now`` (within ``days`` if given), soonest first."""
    query = open_hearings(order, now)
    if days is not None:
        query = query.where(Hearing.at <= now + timedelta(days=days))
    return [describe(h) for h in session.scalars(query)]


def calendar(session: Session, order: CourtOrder, now: datetime,
             days: int | None = None) -> list[dict[str, Any]]:
    """The open hearings ahead by day, soonest first: each day is the date in the hearing's
    own court's zone (a 9:00 hearing in Chicago and one in Eloy fall on their own days), and
    each hearing carries its person's name for those allowed to see it."""
    rows = listing(session, order, now, days)
    names = dict(session.execute(
        select(Detainee.id, Detainee.family_name + ", " + Detainee.given_name)
        .where(Detainee.id.in_({row["person"] for row in rows}))).all()) if rows else {}
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        day = row["at"][:10]  # ISO 8601 in the court's zone: its date is the court's
        by_day.setdefault(day, []).append({**row, "name": names.get(row["person"], "")})
    return [{"day": day, "hearings": hearings} for day, hearings in sorted(by_day.items())]


def next_hearings(session: Session, order: CourtOrder, now: datetime) -> dict[int, dict[str, Any]]:
    """Each person's next open hearing, by person id."""
    found: dict[int, dict[str, Any]] = {}
    for hearing in session.scalars(open_hearings(order, now)):
        found.setdefault(hearing.detainee_id, describe(hearing))
    return found


def open_hearings(order: CourtOrder, now: datetime) -> Select[Hearing]:
    return (select(Hearing).join(Detainee, Hearing.detainee_id == Detainee.id)
            .where(Detainee.order_id == order.id, Hearing.done_at.is_(None), Hearing.at > now)
            .order_by(Hearing.at, Hearing.id))


def next_hearing_columns(now: datetime) -> tuple[Any, Any]:
    """The time and court of each person's next open hearing, as two columns to add to a
    query of people (correlated, so an export stays one query)."""
    nearest = (select(Hearing.id).where(Hearing.detainee_id == Detainee.id,
                                        Hearing.done_at.is_(None), Hearing.at > now)
               .order_by(Hearing.at, Hearing.id).limit(1))
    return (nearest.with_only_columns(Hearing.at).scalar_subquery().label("next_hearing_at"),
            nearest.with_only_columns(Hearing.court).scalar_subquery()
            .label("next_hearing_court"))


def describe_next(at: datetime | None, court: str | None) -> tuple[str | None, str | None]:
    """Those two columns for people: the time in the court's zone, the court's name."""
    if at is None or court is None:
        return None, None
    found = courts.by_key(court)
    return iso(at.replace(tzinfo=UTC) if at.tzinfo is None else at, found.time_zone), found.name


def letter_facts(hearing: Hearing) -> dict[str, Any]:
    """What a letter says about the hearing: time (aware) and zone, the court, the kind."""
    court = courts.by_key(hearing.court)
    return {"id": hearing.id, "at": hearing.at, "time_zone": court.time_zone,
            "court": court.as_dict(), "kind": hearing.kind}
