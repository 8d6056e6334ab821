"""One way to make a move: a stage verb or a note, from the text fields that carry it.

The CLI's options, the browser's form fields and an apply file's columns name the same
things (a facility, an amount, a time, a reason ...); each edge hands its text here and
``make`` parses it, resolves the facility and calls the ``tracking`` verb. A field it cannot
use is a ``FieldError`` that names the field, so each edge can point at its own option,
form field or column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from workflow.core import dates
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.core.money import parse_amount
from workflow.core.stages import Action, Stage
from workflow.orders import terms
from workflow.people import tracking
from workflow.places import facilities
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Event, Facility

NOTE = "note"
_FACILITY = ("facility", "facility_name", "facility_city", "facility_state")
# Each move and the fields it reads, named like the CLI's options (an apply file's columns
# are mapped onto these by ``intake.apply``).
FIELDS: dict[str, tuple[str, ...]] = {
    Action.SEARCH.value: ("at",),
    Action.LOCATE.value: (*_FACILITY, "at"),
    Action.TRANSFER.value: (*_FACILITY, "at"),
    Action.BOND.value: ("amount", "obligor", "obligor_phone", "obligor_email", "relationship",
                        "conditions", "at"),
    Action.POST.value: ("receipt", "method", "at"),
    Action.RELEASE.value: ("reason", "imposed_bond", "imposed_conditions", "at"),
    Action.EXCLUDE.value: ("reason", "note", "at"),
    Action.DEPART.value: ("reason", "at"),
    Action.NOT_IN_CUSTODY.value: ("reason", "at"),
    Action.REDETAIN.value: ("reason", "at"),
    NOTE: ("note",),
}
MOVES = tuple(FIELDS)
T = TypeVar("T")


# Fields whose errors do not say which field they are about ("not an amount of dollars").
_LABELLED = ("amount", "imposed_bond")


class FieldError(ValidationError):
    """A field the move could not use: ``field`` names it, ``reason`` says why, and
    ``error`` is what refused it (its own problems, such as a name's candidates, kept)."""

    def __init__(self, field: str, error: BondtrackError | ValueError):
        self.field, self.reason, self.error = field, str(error), error
        label = f"{field.replace('_', ' ')}: " if field in _LABELLED else ""
        super().__init__(f"{label}{error}", list(getattr(error, "problems", None) or []))


# Moves that end a person's case on the order (release without a bond is one too): the
# browser asks for a confirmation before them.
_FINAL = frozenset({Action.EXCLUDE.value, Action.DEPART.value, Action.NOT_IN_CUSTODY.value})


def is_final(move: str, stage: str) -> bool:
    """Whether ``move`` from ``stage`` ends the case: exclude, depart, not in custody, and a
    release without a bond (from LOCATED)."""
    return move in _FINAL or (move == Action.RELEASE.value and stage == Stage.LOCATED.value)


def make(session: Session, detainee: Detainee, move: str, fields: Mapping[str, str | None], *,
         actor: Actor, now: datetime, default_bond_cents: int,
         facility: Facility | None = None) -> Event:
    """Make ``move`` with the text ``fields`` it reads (others are ignored); its event.

    A blank field is not given. ``facility`` is one the caller already resolved (an apply
    file's row names it for any move); otherwise locate and transfer resolve theirs.
    """
    if move not in FIELDS:
        raise NotFoundError("no such move")
    # Text is kept as given (a name may start with a tab: the export makes it inert); each
    # edge trims what it trims, as before. Blank is not given.
    given = {name: text for name in FIELDS[move] if (text := fields.get(name) or "").strip()}
    if move == NOTE:
        return tracking.add_note(session, detainee, given.get("note", ""), actor=actor, now=now)
    zone = detainee.court_order.time_zone
    at = _parsed("at", given, lambda text: dates.parse_instant(text, zone))
    if facility is None and given.get("facility"):
        facility = resolve_facility(session, given)
    action = Action(move)
    reason = given.get("reason")
    if action is Action.DEPART and not reason:  # the record says how they left, everywhere
        raise FieldError("reason", ValidationError(
            "depart needs a reason: left the country, removed, ..."))
    if action is Action.BOND:
        amount = _parsed("amount", given, parse_amount)
        return tracking.set_bond(
            session, detainee, amount_cents=default_bond_cents if amount is None else amount,
            at=at, obligor_name=given.get("obligor"),
            obligor_phone=given.get("obligor_phone"), obligor_email=given.get("obligor_email"),
            obligor_relationship=given.get("relationship"), conditions=given.get("conditions"),
            actor=actor, now=now)
    if action is Action.POST:
        return tracking.post_bond(session, detainee, at=at, receipt=given.get("receipt"),
                                  method=given.get("method"), actor=actor, now=now)
    if action is Action.RELEASE:
        return tracking.release(
            session, detainee, at=at, reason=reason,
            imposed_bond_cents=_parsed("imposed_bond", given, terms.parse_bond),
            imposed_conditions=given.get("imposed_conditions"), actor=actor, now=now)
    if action is Action.EXCLUDE:
        return tracking.exclude(session, detainee, reason=reason or "", at=at,
                                note=given.get("note"), actor=actor, now=now)
    return tracking.move(session, detainee, action, at=at, facility=facility, reason=reason,
                         actor=actor, now=now)


def resolve_facility(session: Session, fields: Mapping[str, str | None]) -> Facility:
    """The facility ``fields`` name: a code, or a name with its city and state if need be."""
    try:
        return facilities.facility_for(
            session, (fields.get("facility") or "").strip(), fields.get("facility_name") or None,
            fields.get("facility_city") or None, fields.get("facility_state") or None)
    except BondtrackError as exc:
        raise FieldError("facility", exc) from None


def describe(detainee: Detainee, event: Event) -> str:
    """The one line a move prints: ``person #7: LOCATED → BOND_SET``."""
    if event.kind in ("locate", "transfer") and detainee.facility is not None:
        # A facility typed by name: say which one it was read as.
        where = f"{detainee.facility.code} ({detainee.facility.name})"
        return (f"person #{detainee.id}: {event.from_stage} → {event.to_stage}"
                f" {'at' if event.kind == 'locate' else 'to'} {where}")
    if event.to_stage:
        return f"person #{detainee.id}: {event.from_stage} → {event.to_stage}"
    return f"person #{detainee.id}: {event.kind} recorded"


def _parsed(name: str, given: Mapping[str, str], parse: Callable[[str], T]) -> T | None:
    if name not in given:
        return None
    try:
        return parse(given[name])
    except (BondtrackError, ValueError) as exc:
        raise FieldError(name, exc) from None
