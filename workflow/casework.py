"""A person's casework beyond the stage moves: their terms, their sub-order, their bond's
events after posting, and their hearings.

The CLI (`bondtrack terms|assign|bonds record|hearing`) and the web call these,
so a change of terms queues the same updated letters and a bond event is
described in the same line wherever it is made. The ``*_from_form`` functions
take the text fields a form sends, named like the CLI's options (``bond_amount``,
``conditions``, ``reset``, ``note``; ``date``, ``due``, ``amount``, ``reason``,
``outcome``, ``name``, ``in_person``; ``at``, ``court``, ``kind``), and read
them as the CLI reads its options: times in the court's zone, dollars as staff
write them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import bonds, clock, courts, dates, hearings, terms
from workflow.audit import Actor
from workflow.config import Settings
from workflow.errors import NotFoundError, ValidationError
from workflow.models import BondEvent, CourtOrder, Detainee, Event, Hearing
from workflow.money import parse_amount

TERMS_FIELDS = ("bond_amount", "conditions", "reset", "note")
ASSIGN_FIELDS = ("order", "docket", "note")
HEARING_FIELDS = ("at", "court", "kind", "note")
# A bond event's form: its date, what the table asks of it, a note. ``by_mail`` is the
# CLI's --in-person turned round: the form, like the CLI, asks whether it was handed over.
_BOND_FIELD = {"by_mail": "in_person"}


@dataclass(frozen=True)
class Change:
    """A change that calls for updated letters: its event (None: nothing changed) and
    what was queued."""

    event: Event | None
    letters: Any  # workflow.notices.renotice.Renotice, or None when nothing changed


def letters_line(result: Any) -> str:
    """One line saying what updated letters a change queued."""
    printed = sum(len(ids) for ids in result.without_email.values())
    return (f"updated letters: {result.queued} e-mails queued"
            + (f", {printed} to print (no e-mail on file)" if printed else ""))


def _renotice(session: Session, event: Event | None, settings: Settings,
              now: datetime) -> Change:
    from workflow.notices import renotice  # letters build on far more than casework needs

    return Change(event, renotice.queue_updates(session, event, settings, now) if event
                  else None)


def change_terms(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
                 settings: Settings, bond_cents: int | None = None,
                 conditions: str | None = None, reset: bool = False,
                 note: str | None = None) -> Change:
    """Set (or reset) the terms ordered for one person and queue the letters that tell them."""
    event = terms.set_person_terms(session, detainee, bond_cents=bond_cents,
                                   conditions=conditions, reset=reset, note=note, actor=actor,
                                   now=now)
    return _renotice(session, event, settings, now)


def assign_people(session: Session, sub_order: CourtOrder, a_numbers: Sequence[str], *,
                  actor: Actor, now: datetime, settings: Settings, docket: str | None = None,
                  note: str | None = None) -> Change:
    """Move people to ``sub_order`` and queue the letters that tell them its terms."""
    from workflow import amendments

    event = amendments.assign(session, sub_order, a_numbers, docket=docket, note=note,
                              actor=actor, now=now)
    return _renotice(session, event, settings, now)


def bond_cents(text: str | None, what: str) -> int | None:
    """A bond typed in a form: dollars, ``none``/``0`` for no bond, empty for not given."""
    if not (text or "").strip():
        return None
    try:
        return terms.parse_bond(text or "")
    except ValueError as exc:
        raise ValidationError(f"{what}: {exc}") from None


def _text(form: Mapping[str, str], name: str) -> str | None:
    return (form.get(name) or "").strip() or None


def terms_from_form(session: Session, detainee: Detainee, form: Mapping[str, str], *,
                    actor: Actor, now: datetime, settings: Settings) -> str:
    """`bondtrack terms A# --bond-amount --conditions --reset --note` from a form; one line."""
    change = change_terms(session, detainee, actor=actor, now=now, settings=settings,
                          bond_cents=bond_cents(form.get("bond_amount"), "bond amount"),
                          conditions=_text(form, "conditions"),
                          reset=form.get("reset") == "yes", note=_text(form, "note"))
    if change.event is None:
        return f"person #{detainee.id}: terms unchanged"
    return f"person #{detainee.id}: terms set; {letters_line(change.letters)}"


def sub_orders(session: Session, detainee: Detainee) -> list[str]:
    """The case numbers of the sub-orders the person can be assigned to."""
    return list(session.scalars(select(CourtOrder.case_number).where(
        CourtOrder.parent_id == detainee.order_id).order_by(CourtOrder.case_number)))


def assign_from_form(session: Session, detainee: Detainee, form: Mapping[str, str], *,
                     actor: Actor, now: datetime, settings: Settings) -> str:
    """`bondtrack assign A# --order CASE --docket --note` for one person, from a form."""
    case = _text(form, "order")
    sub_order = session.scalar(select(CourtOrder).where(CourtOrder.case_number == case)
                               ) if case else None
    if sub_order is None:
        raise ValidationError("choose the sub-order to assign the person to")
    change = assign_people(session, sub_order, [detainee.a_number], actor=actor, now=now,
                           settings=settings, docket=_text(form, "docket"),
                           note=_text(form, "note"))
    return (f"person #{detainee.id}: assigned to order {sub_order.case_number};"
            f" {letters_line(change.letters)}")


# ---------------------------------------------------------------- the bond after posting


def bond_event_fields(kind: str) -> tuple[str, ...]:
    """The form fields of a bond event, named like `bondtrack bonds record`'s options."""
    options = bonds.options_for(bonds.Kind(kind))
    return ("date", *(_BOND_FIELD.get(name, name) for name in options), "note")


def bond_moves(session: Session, detainee: Detainee) -> dict[str, Any] | None:
    """The person's posted bond: its state and the events the table allows next (None: no
    posted bond)."""
    try:
        bond = bonds.posted_bond(detainee)
    except ValidationError:
        return None
    state = bonds.state_of(bonds.history(session, bond))
    allowed = dict.fromkeys(t.kind.value for t in bonds.TRANSITIONS if t.source is state)
    return {"bond": bond.id, "state": state.value,
            "events": {kind: bond_event_fields(kind) for kind in allowed}}


def bond_event_line(row: BondEvent, kind: str, time_zone: str) -> str:
    """What recording a bond event did, in one line: its state, and a date it set."""
    line = f"bond #{row.bond_id}: {kind} recorded, now {row.state}"
    if row.due_at is not None:
        local = clock.local(row.due_at, time_zone)
        what, name = (("surrender due", "demand") if kind == bonds.Kind.DEMAND
                      else ("appeal (I-290B) due by", "appeal"))
        line += f"; {what} {local:%a %d %b %Y %H:%M %Z} ({name}-{row.id})"
    return line


def bond_event_from_form(session: Session, detainee: Detainee, kind: str,
                         form: Mapping[str, str], *, actor: Actor, now: datetime) -> str:
    """`bondtrack bonds record A# EVENT --date --due --amount ...` from a form; one line."""
    if kind not in bonds.EVENTS:
        raise NotFoundError("no such bond event")
    tz = detainee.court_order.time_zone
    value = {name: _text(form, name) for name in bond_event_fields(kind)}

    def when(name: str) -> datetime | None:
        text = value.get(name)
        return dates.parse_instant(text, tz) if text else None

    options: dict[str, Any] = {"due": when("due"), "reason": value.get("reason"),
                               "outcome": value.get("outcome"), "name": value.get("name")}
    if value.get("amount"):
        try:
            options["amount"] = parse_amount(value["amount"] or "")
        except ValueError as exc:
            raise ValidationError(f"amount: {exc}") from None
    if value.get("in_person") == "yes":
        options["by_mail"] = False
    day = value.get("date")
    at, whole_day = dates.parse_when(day, tz) if day else (None, False)
    row = bonds.record(session, detainee, kind, actor=actor, now=now, at=at,
                       whole_day=whole_day, note=value.get("note"), **options)
    return bond_event_line(row, kind, tz)


# ---------------------------------------------------------------- hearings


def person_hearings(session: Session, detainee: Detainee) -> list[dict[str, Any]]:
    """Every hearing of the person, soonest first, each in its court's zone."""
    return [hearings.describe(h) for h in session.scalars(
        select(Hearing).where(Hearing.detainee_id == detainee.id)
        .order_by(Hearing.at, Hearing.id))]


def court_choices() -> list[tuple[str, str]]:
    """(key, name) of each immigration court, for a menu."""
    return [(court.key, court.name) for court in courts.COURTS]


def _hearing_time(form: Mapping[str, str], court: str) -> datetime:
    text = _text(form, "at")
    if text is None:
        raise ValidationError("give the hearing's date and time (court time)")
    return hearings.parse_time(text, court)


def add_hearing_from_form(session: Session, detainee: Detainee, form: Mapping[str, str], *,
                          actor: Actor, now: datetime) -> str:
    """`bondtrack hearing add A# --at --court --kind --note` from a form; one line."""
    court = courts.find(_text(form, "court") or "").key
    row = hearings.add(session, detainee, at=_hearing_time(form, court), court=court,
                       kind=_text(form, "kind") or "master", note=_text(form, "note"),
                       actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} added"


def persons_hearing(session: Session, detainee: Detainee, hearing_id: int) -> Hearing:
    """The hearing ``hearing_id`` of this person (another's is not found)."""
    row = session.get(Hearing, hearing_id)
    if row is None or row.detainee_id != detainee.id:
        raise NotFoundError(f"no hearing #{hearing_id} for person #{detainee.id}")
    return row


def move_hearing_from_form(session: Session, detainee: Detainee, hearing_id: int,
                           form: Mapping[str, str], *, actor: Actor, now: datetime) -> str:
    """`bondtrack hearing move ID --at` from a form."""
    row = persons_hearing(session, detainee, hearing_id)
    hearings.move(session, row, at=_hearing_time(form, row.court), actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} moved"


def hearing_done(session: Session, detainee: Detainee, hearing_id: int, *, actor: Actor,
                 now: datetime) -> str:
    """`bondtrack hearing done ID`."""
    row = persons_hearing(session, detainee, hearing_id)
    hearings.done(session, row, actor=actor, now=now)
    return f"person #{detainee.id}: hearing #{row.id} done"
