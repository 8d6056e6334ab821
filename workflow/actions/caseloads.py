"""Running the day: caseloads (who works on whom), the queue of next actions, and the
locator desk's look-ups. The CLI (`caseload`, `queue`, `locator`), the browser (/queue,
/caseloads, /locator, "My people") and the `locate` flow call these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import clock, dates
from workflow.core.config import Settings
from workflow.core.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from workflow.core.identity import a_number_fields
from workflow.orders import orders
from workflow.people import caseloads, locating
from workflow.places import facilities, locator
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee, User
from workflow.record.users import normalize_email
from workflow.views import queue as queue_view

RESULTS = locating.RESULTS
SOURCES = locating.SOURCES
# A volunteer's look-up: every source but the automated client's.
DESK_SOURCES = tuple(s for s in SOURCES if s != locating.AUTOMATED)
STEPS = queue_view.TABLE
# Two look-ups of one person at once: the later writer reads again and keeps both.
_RETRIES = 3


def _people(session: Session, order: CourtOrder, a_numbers: Sequence[str], *, stage: str,
            facility: str, field_office: str, unowned: bool) -> list[Detainee]:
    filtered = bool(stage or facility or field_office or unowned)
    if a_numbers and filtered:
        raise ValidationError("name people by A-number or by a filter, not both")
    if not a_numbers and not filtered:
        raise ValidationError("name the people: A-numbers, or --stage, --facility,"
                              " --field-office or --unowned")
    if a_numbers:
        return [orders.find_detainee(session, order, a) for a in dict.fromkeys(a_numbers)]
    return caseloads.select_people(session, order, stage=stage, facility=facility,
                                   field_office=field_office, only_unowned=unowned)


def assign(database: Database, settings: Settings, case: str | None, owners: Sequence[str],
           a_numbers: Sequence[str] = (), *, stage: str = "", facility: str = "",
           field_office: str = "", unowned: bool = False, actor: Actor,
           now: datetime) -> dict[str, Any]:
    """Give the chosen people to ``owners`` (several: spread evenly); ``owners`` empty:
    unassign them. Every account and every person is checked before anything is written."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        accounts: list[User | None] = [caseloads.owner_account(session, e)
                                       for e in dict.fromkeys(owners)] or [None]
        people = _people(session, order, a_numbers, stage=stage, facility=facility,
                         field_office=field_office, unowned=unowned)
        changed = caseloads.assign(session, people, accounts, actor=actor, now=now)
        return {"people": len(people), "changed": changed,
                "owners": [a.email for a in accounts if a is not None]}


def assign_in(session: Session, detainee: Detainee, owner: str | None, *, actor: Actor,
              now: datetime) -> str:
    """The browser's assign (attorneys, admins) inside its transaction: the line to show."""
    account = caseloads.owner_account(session, owner) if owner else None
    caseloads.assign(session, [detainee], [account], actor=actor, now=now)
    return (f"person #{detainee.id} is now {account.email}'s" if account
            else f"person #{detainee.id} has no owner now")


def take_in(session: Session, detainee: Detainee, *, actor: Actor, now: datetime) -> str:
    """A volunteer takes an unowned person (or one of a disabled account) for themselves."""
    account = caseloads.owner_account(session, actor.operator)
    owner = session.get(User, detainee.owner_id) if detainee.owner_id else None
    if owner is not None and owner.id != account.id and owner.disabled_at is None:
        raise ConflictError(f"person #{detainee.id} already has an owner: ask an attorney"
                            " to reassign them")
    caseloads.assign(session, [detainee], [account], actor=actor, now=now)
    return f"person #{detainee.id} is now yours"


def owner_of(session: Session, detainee: Detainee) -> str | None:
    """The person's owner's e-mail, None when unowned or the account is disabled."""
    if detainee.owner_id is None:
        return None
    user = session.get(User, detainee.owner_id)
    return user.email if user is not None and user.disabled_at is None else None


def owner_choices(session: Session) -> list[str]:
    """The accounts people may be given to: enabled staff and attorneys."""
    return list(session.scalars(select(User.email).where(
        User.disabled_at.is_(None), User.role.in_(caseloads.OWNER_ROLES)).order_by(User.email)))


def caseload_list(database: Database, settings: Settings, case: str | None, *,
                  now: datetime) -> list[dict[str, Any]]:
    """Per owner: outstanding people, actions due (within a day), actions overdue."""
    with database.read() as session:
        return queue_view.caseloads(session, orders.resolve_order(session, case), settings, now)


def _owner_filter(session: Session, owner: str) -> int | str:
    """``all``, ``unowned``, or an account's e-mail → what the queue filters by."""
    if owner in (queue_view.ALL, queue_view.UNOWNED):
        return owner
    user = session.scalars(select(User).where(User.email == normalize_email(owner))).first()
    if user is None:
        raise NotFoundError(f"no account {owner.strip()!r}")
    return user.id


def next_actions(database: Database, settings: Settings, case: str | None, *,
                 owner: str = queue_view.ALL, limit: int = 50,
                 now: datetime) -> list[dict[str, Any]]:
    """The queue: the next ``limit`` actions of ``owner``'s people (an e-mail, ``all`` or
    ``unowned``), those that will miss the court's deadline first, then by due time."""
    if limit < 1:
        raise ValidationError("--limit must be 1 or more")
    with database.read() as session:
        return next_actions_in(session, settings, orders.resolve_order(session, case),
                               owner=owner, limit=limit, now=now)


def next_actions_in(session: Session, settings: Settings, order: CourtOrder, *, owner: str,
                    limit: int, now: datetime) -> list[dict[str, Any]]:
    items = queue_view.queue(session, order, settings, now, owner=_owner_filter(session, owner),
                             limit=limit)
    return [item.as_dict(now, order.time_zone) for item in items]


def overview_counts(session: Session, order: CourtOrder, settings: Settings,
                    now: datetime) -> dict[str, int]:
    return queue_view.overview(session, order, settings, now)


def caseloads_in(session: Session, order: CourtOrder, settings: Settings,
                 now: datetime) -> list[dict[str, Any]]:
    return queue_view.caseloads(session, order, settings, now)


# ---------------------------------------------------------------- the locator desk

def record_lookup(database: Database, settings: Settings, case: str | None, a_number: str,
                  result: str, *, facility: str | None = None, source: str = "locator",
                  note: str | None = None, at: str | None = None, actor: Actor,
                  now: datetime) -> str:
    """Record one look-up (who, when, how, what it found) and what follows from it; the
    line that says so. Two look-ups of one person at once are both kept, in order."""
    def write() -> str:
        with database.write() as session:
            detainee = orders.find_detainee(session, orders.resolve_order(session, case),
                                            a_number)
            return record_lookup_in(session, settings, detainee, result, facility=facility,
                                    source=source, note=note, at=at, actor=actor, now=now)

    return _kept_in_order(write)


def _kept_in_order(write: Callable[[], str]) -> str:
    """``write`` (one transaction), again when another look-up of the same person committed
    first: the later one reads again, so both are kept, in order."""
    for attempt in range(_RETRIES):
        try:
            return write()
        except ConflictError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def record_lookup_in(session: Session, settings: Settings, detainee: Detainee, result: str, *,
                     facility: str | None, source: str, note: str | None, at: str | None,
                     actor: Actor, now: datetime) -> str:
    """One look-up inside the caller's transaction (the browser checks the page's version
    first)."""
    place = facilities.resolve(session, facility) if facility and facility.strip() else None
    when = dates.parse_instant(at, detainee.court_order.time_zone) if at and at.strip() else None
    return locating.record(session, detainee, result, source=source, facility=place,
                           cadence=locating.Cadence.of(settings), actor=actor, now=now, at=when,
                           note=note)


def due_for_lookup(database: Database, settings: Settings, case: str | None, *,
                   owner: str = queue_view.ALL, limit: int = 100,
                   now: datetime) -> list[dict[str, Any]]:
    """Who is due for a look-up now, soonest first: what the locator asks for, and whether
    the next step is a call to the field office."""
    cadence = locating.Cadence.of(settings)
    with database.read() as session:
        order = orders.resolve_order(session, case)
        owners: tuple[int | None, ...] | None = None
        if owner != queue_view.ALL:
            chosen = _owner_filter(session, owner)
            owners = (None,) if chosen == queue_view.UNOWNED else (int(chosen),)
        query = locating.due_query(order, now, owner_ids=owners).limit(limit)
        return [desk_facts(session, d, cadence) for d in session.scalars(query)]


def desk_facts(session: Session, detainee: Detainee, cadence: locating.Cadence) -> dict[str, Any]:
    """What the locator asks for (the nine-digit A-number, the country of birth, the name and
    date of birth for a search by name), and what the desk knows already."""
    call = detainee.empty_lookups >= cadence.ask_office_after
    zone = detainee.court_order.time_zone
    return {
        "id": detainee.id, **a_number_fields(detainee.a_number),
        "family_name": detainee.family_name, "given_name": detainee.given_name,
        "date_of_birth": detainee.date_of_birth.isoformat() if detainee.date_of_birth else None,
        "country_of_birth": detainee.country_of_birth,
        "stage": detainee.stage,
        "due": clock.local(detainee.next_lookup_at or detainee.stage_since, zone).isoformat(),
        "empty_lookups": detainee.empty_lookups,
        "last_lookup": (clock.local(detainee.last_lookup_at, zone).isoformat()
                        if detainee.last_lookup_at else None),
        "facility": detainee.facility.code if detainee.facility else None,
        "call_office": queue_view.office_line(session, detainee) if call else None,
        "locator_country": _locator_spelling(detainee.country_of_birth),
        "locator_saw": detainee.locator_saw,
        "version": detainee.version,
    }


def _locator_spelling(country: str | None) -> str | None:
    """The country of birth as the locator's list spells it (None: not a country it has)."""
    if not country:
        return None
    try:
        return locator.locator_country(country)
    except ValueError:
        return None


def desk_next(session: Session, settings: Settings, order: CourtOrder, user_email: str,
              now: datetime) -> dict[str, Any] | None:
    """The next person for this volunteer at the desk, held for them a few minutes (their
    own people first, then unowned ones); None when nobody is due."""
    user = session.scalars(select(User).where(User.email == normalize_email(user_email))).first()
    if user is None:
        raise NotFoundError("no account for you")
    cadence = locating.Cadence.of(settings)
    detainee = locating.take_for_desk(session, order, user.id, now, cadence)
    if detainee is None:
        return None
    return _at_desk(session, detainee, cadence)


def _at_desk(session: Session, detainee: Detainee, cadence: locating.Cadence) -> dict[str, Any]:
    facts = desk_facts(session, detainee, cadence)
    facts["lookups"] = locating.history(session, detainee)
    facts["last_event"] = locating.last_event(session, detainee)
    return facts


def desk_person(session: Session, settings: Settings, detainee_id: int) -> dict[str, Any]:
    """The desk's facts about one person (the page again after a refused look-up)."""
    detainee = session.get(Detainee, detainee_id)
    if detainee is None:
        raise NotFoundError(f"no person #{detainee_id}")
    return _at_desk(session, detainee, locating.Cadence.of(settings))


def desk_waiting(session: Session, order: CourtOrder, user_email: str,
                 now: datetime) -> dict[str, Any]:
    """When the desk has nobody for this volunteer: how many due are open at other desks,
    and when the next look-up falls due (None: nobody is waiting for one)."""
    user = session.scalars(select(User).where(User.email == normalize_email(user_email))).first()
    if user is None:
        raise NotFoundError("no account for you")
    return locating.next_due(session, order, user.id, now)


def desk_record(database: Database, settings: Settings, detainee_id: int, result: str, *,
                version: str | None, seen_event: str | None, facility: str | None,
                source: str, note: str | None, actor: Actor, now: datetime) -> str:
    """A look-up from the desk's form: refused when the person changed since the form was
    shown (a move, a correction), kept after another look-up of the same person. Two at once
    are both kept: the later writer reads again and keeps both."""
    if source not in DESK_SOURCES:
        raise ValidationError(f"source must be one of: {', '.join(DESK_SOURCES)}")
    def write() -> str:
        with database.write() as session:
            detainee = session.get(Detainee, detainee_id)
            if detainee is None:
                raise NotFoundError(f"no person #{detainee_id}")
            locating.check_desk_form(session, detainee, version, seen_event)
            return record_lookup_in(session, settings, detainee, result, facility=facility,
                                    source=source, note=note, at=None, actor=actor, now=now)

    return _kept_in_order(write)


def lookups(session: Session, detainee: Detainee) -> list[dict[str, Any]]:
    return locating.history(session, detainee)


# ---------------------------------------------------------------- the locate flow

@dataclass(frozen=True)
class LocatePlan:
    """Who is due for a look-up, as internal ids (soonest due first), and counts: what the
    `locate` flow may hand Prefect. Never an A-number or a name."""

    case_number: str
    due_ids: tuple[int, ...]
    call_office: int

    def counts(self) -> dict[str, int]:
        return {"due": len(self.due_ids), "call_office": self.call_office}


def plan_locate(database: Database, settings: Settings, case: str | None, *,
                now: datetime) -> LocatePlan:
    """Everyone due for a look-up now, and how many of them are for the field office."""
    cadence = locating.Cadence.of(settings)
    with database.read() as session:
        order = orders.resolve_order(session, case)
        rows = session.execute(locating.due_query(order, now).with_only_columns(
            Detainee.id, Detainee.empty_lookups)).all()
        return LocatePlan(order.case_number, tuple(row.id for row in rows),
                          sum(1 for row in rows if row.empty_lookups >= cadence.ask_office_after))


def locate_markdown(counts: dict[str, Any]) -> str:
    """The locate run's counts as a Prefect artifact (no person)."""
    lines = ["| what | people |", "|---|---|"]
    lines += [f"| {name.replace('_', ' ')} | {value} |" for name, value in counts.items()]
    return "\n".join(lines)


def auto_look_ups(database: Database, settings: Settings, plan: LocatePlan, *,
                  client: locator.Locator, stop_at: datetime | None = None,
                  sleep: Callable[[float], None] = time.sleep,
                  now: Callable[[], datetime] = clock.now) -> dict[str, int]:
    """Look the plan's people up with the automated locator client, politely (see
    ``places.locator.look_up_politely``), and record each answer as a volunteer would, with
    the source ``locator-auto``: found at a facility the directory knows is a look-up that
    locates them; at one it does not know, kept for a person to confirm; an empty answer
    changes no stage. Counts only."""
    setup = locator.LocatorSettings.from_settings(settings)
    cadence = locating.Cadence.of(settings)
    actor = Actor("locator-auto", "flow")
    counts = dict.fromkeys(("looked_up", "found", "to_confirm", "not_found", "no_facility",
                            "released", "blocked", "errors", "no_country", "skipped"), 0)
    wanted: list[locator.Wanted] = []
    with database.read() as session:
        for chunk in range(0, len(plan.due_ids), 1000):
            ids = plan.due_ids[chunk:chunk + 1000]
            rows = {row.id: row for row in session.execute(
                select(Detainee.id, Detainee.a_number, Detainee.country_of_birth)
                .where(Detainee.id.in_(ids)))}
            for person_id in ids:
                row = rows.get(person_id)
                spelled = _locator_spelling(row.country_of_birth) if row else None
                if row is None or spelled is None:
                    counts["no_country"] += 1
                    continue
                wanted.append(locator.Wanted(person_id, row.a_number, spelled))

    def record(person: locator.Wanted, answer: locator.Answer) -> None:
        if answer.kind in ("blocked", "error"):
            counts["blocked" if answer.kind == "blocked" else "errors"] += 1
            return
        try:
            with database.write() as session:
                detainee = session.get_one(Detainee, person.handle)
                _record_answer(session, detainee, answer, cadence, actor, now(), counts)
        except (ConflictError, ValidationError, NotFoundError, TransitionError):
            counts["skipped"] += 1  # changed meanwhile (released, moved): a person decides
            return
        counts["looked_up"] += 1

    locator.look_up_politely(client, wanted, record, pace=setup.pace, sleep=sleep, clock=now,
                             stop_at=stop_at)
    return counts


_ANSWERS = {"not-found": "not_found", "in-custody-no-facility": "no_facility",
            "released": "released"}


def _record_answer(session: Session, detainee: Detainee, answer: locator.Answer,
                   cadence: locating.Cadence, actor: Actor, now: datetime,
                   counts: dict[str, int]) -> None:
    if answer.kind != "found":
        locating.record(session, detainee, answer.kind, source=locating.AUTOMATED,
                        facility=None, cadence=cadence, actor=actor, now=now)
        counts[_ANSWERS[answer.kind]] += 1
        return
    try:
        place = facilities.index(session).find(answer.facility or "", answer.city, answer.state)
    except facilities.AmbiguousFacility:
        place = None
    if place is None:
        seen = ", ".join(part for part in (answer.facility, answer.city, answer.state,
                                           answer.field_office) if part)
        locating.unconfirmed(session, detainee, seen or "a facility it did not name",
                             actor=actor, now=now)
        counts["to_confirm"] += 1
        return
    locating.record(session, detainee, "found", source=locating.AUTOMATED, facility=place,
                    cadence=cadence, actor=actor, now=now)
    counts["found"] += 1


def locator_client(settings: Settings) -> locator.OdlsClient | None:
    """The automated locator client when ``[locator] auto`` is on, else None."""
    setup = locator.LocatorSettings.from_settings(settings)
    return locator.OdlsClient.from_settings(setup) if setup.auto else None
