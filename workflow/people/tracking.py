"""The verbs: every move of a person, checked against the stage table and audited.

Each verb validates everything before it changes anything, then changes the
person and appends exactly one event. The caller owns the transaction (one per
command, one per bulk file), so a verb that raises leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import flag_modified

from workflow.core import clock, stages
from workflow.core.errors import TransitionError, ValidationError
from workflow.core.stages import Action, Stage
from workflow.record import audit, schema
from workflow.record.audit import Actor
from workflow.record.models import Bond, Detainee, Event, Facility

PAYMENT_METHODS = ("cebonds", "money-order", "cashier-check", "surety", "other")
# The stages in which the person is looked up in the locator (workflow.people.locating).
LOOKING = frozenset({Stage.INTAKE, Stage.LOCATING})
EXCLUSION_REASONS = ("mandatory-detention", "security-threat", "other")
# A stated time a little ahead of our clock is a skewed clock, not a prophecy.
_CLOCK_SLACK = timedelta(minutes=5)


def move(
    session: Session,
    detainee: Detainee,
    action: Action,
    *,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    facility: Facility | None = None,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> Event:
    """Apply ``action`` to ``detainee`` if the table allows it; one event records it.

    ``fields`` are other columns of the person that change with the move, written in
    the same UPDATE so one move is one new version.
    """
    at = _checked_time(detainee, at, now)
    source = Stage(detainee.stage)
    transition = stages.find(action, source)
    if transition is None:
        raise TransitionError(
            f"person #{detainee.id} is {source.value}: '{action.value}' is not allowed;"
            f" allowed: {stages.describe_allowed(source)}"
        )
    given = {"facility": facility, "reason": reason}
    missing = [need for need in transition.requires if not given[need]]
    if missing:
        raise TransitionError(
            f"'{action.value}' from {source.value} needs {', '.join(missing)}"
        )
    details = dict(payload or {})
    if facility is not None:
        details["facility"] = facility.code
        detainee.facility = facility
    if reason:
        details["reason"] = reason
    for name, value in (fields or {}).items():
        setattr(detainee, name, value)
    detainee.stage = transition.target.value
    detainee.stage_since = at
    if transition.target not in LOOKING:  # found (or gone): a later transfer starts afresh
        detainee.next_lookup_at, detainee.empty_lookups = None, 0
    touch(detainee, now)
    session.flush()
    return audit.record(
        session,
        kind=action.value,
        detainee=detainee,
        from_stage=source.value,
        to_stage=transition.target.value,
        payload=details,
        actor=actor,
        at=at,
        now=now,
    )


def touch(detainee: Detainee, now: datetime) -> None:
    """Mark the person changed even when nothing but the event differs (two moves in one
    instant, an amended bond), so every change is one new version and races are caught."""
    detainee.updated_at = now
    flag_modified(detainee, "updated_at")


def _checked_time(detainee: Detainee, at: datetime | None, now: datetime) -> datetime:
    if at is None:
        # No time given: now, unless the last change is recorded a moment later (another
        # writer committed it after this command read the clock, as PostgreSQL allows, or
        # their clock runs a little ahead): then this change comes right after it.
        if detainee.stage_since > now + _CLOCK_SLACK:
            raise ValidationError(
                f"person #{detainee.id}'s last change is recorded after this computer's time:"
                " check the clock"
            )
        return max(now, detainee.stage_since)
    if at.tzinfo is None:
        raise ValidationError("a time without a time zone")
    if at > now + _CLOCK_SLACK:
        raise ValidationError("the time given is in the future")
    if at < detainee.stage_since:
        raise ValidationError(_before_last_change(detainee, at))
    return at


def _before_last_change(detainee: Detainee, at: datetime) -> str:
    """Why ``at`` is refused: the change it would come before, and its time in court time.

    The log is append-only and later events were computed on top of it, so the rule stays;
    what happened before the person was imported belongs in the import, with its dates.
    """
    session = object_session(detainee)
    assert session is not None, "a verb works on a person of a session"
    moves = (select(Event.kind, Event.at).where(Event.detainee_id == detainee.id,
                                                 Event.to_stage.is_not(None)))
    last = session.execute(moves.order_by(Event.at.desc(), Event.id.desc()).limit(1)).first()
    first = session.execute(moves.order_by(Event.at, Event.id).limit(1)).first()
    zone = detainee.court_order.time_zone

    def court(instant: datetime) -> str:
        return f"{clock.local(instant, zone):%Y-%m-%d %H:%M %Z}"

    kind, when = last if last else ("change", detainee.stage_since)
    message = (f"the time given, {court(at)}, is before person #{detainee.id}'s last recorded"
               f" change, '{kind}' at {court(when)}: moves are recorded in the order they"
               " happened")
    if first is not None and first.kind == "imported" and at < first.at:
        message += ("; for moves made before the import, import the class list with its stage"
                    " and dates (README: 'Starting from your spreadsheet')")
    return message


def search(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
           at: datetime | None = None) -> Event:
    """Start looking for the person (INTAKE → LOCATING)."""
    return move(session, detainee, Action.SEARCH, actor=actor, now=now, at=at)


def locate(session: Session, detainee: Detainee, facility: Facility, *, actor: Actor,
           now: datetime, at: datetime | None = None) -> Event:
    """Record where the person is held (→ LOCATED)."""
    return move(session, detainee, Action.LOCATE, actor=actor, now=now, at=at, facility=facility)


def transfer(session: Session, detainee: Detainee, facility: Facility, *, actor: Actor,
             now: datetime, at: datetime | None = None) -> Event:
    """Record a move to another facility; they must be located there again (→ LOCATING)."""
    return move(session, detainee, Action.TRANSFER, actor=actor, now=now, at=at, facility=facility)


def set_bond(
    session: Session,
    detainee: Detainee,
    *,
    amount_cents: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    conditions: str | None = None,
    obligor_name: str | None = None,
    obligor_relationship: str | None = None,
    obligor_phone: str | None = None,
    obligor_email: str | None = None,
) -> Event:
    """Set (or amend, in BOND_SET) the bond: amount, conditions, obligor (→ BOND_SET)."""
    if amount_cents < 0:
        raise ValidationError("the bond amount is negative")
    terms: dict[str, Any] = {
        "amount_cents": amount_cents,
        "conditions": conditions,
        "obligor_name": obligor_name,
        "obligor_relationship": obligor_relationship,
        "obligor_phone": obligor_phone,
        "obligor_email": obligor_email,
    }
    schema.check_widths(schema.bonds, terms)
    bond = detainee.active_bond
    changed = {k: v for k, v in terms.items() if v is not None and getattr(bond, k, None) != v}
    event = move(
        session, detainee, Action.BOND, actor=actor, now=now, at=at,
        payload={"amount_cents": amount_cents, "changed": sorted(changed)},
    )
    if bond is None:
        bond = Bond(set_at=event.at)
        detainee.bonds.append(bond)
    for key, value in changed.items():
        setattr(bond, key, value)
    return event


def post_bond(
    session: Session,
    detainee: Detainee,
    *,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    receipt: str | None = None,
    method: str | None = None,
) -> Event:
    """Record that the bond was paid; the receipt is ICE's Form I-305 (→ BOND_POSTED)."""
    if method is not None and method not in PAYMENT_METHODS:
        raise ValidationError(f"payment method must be one of: {', '.join(PAYMENT_METHODS)}")
    schema.check_widths(schema.bonds, {"receipt_number": receipt})
    event = move(
        session, detainee, Action.POST, actor=actor, now=now, at=at,
        payload={"method": method, "receipt": bool(receipt)},
    )
    bond = detainee.active_bond
    assert bond is not None, "BOND_SET always has an active bond"
    bond.posted_at = event.at
    bond.receipt_number = receipt or bond.receipt_number
    bond.payment_method = method or bond.payment_method
    return event


def release(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
            at: datetime | None = None, reason: str | None = None,
            imposed_bond_cents: int | None = None, imposed_conditions: str | None = None) -> Event:
    """Record the release (→ RELEASED); without a posted bond a reason is required.

    ``imposed_*`` is what ICE actually imposed (bond in cents, conditions), which
    ``workflow.orders.terms.findings`` compares with what the court ordered.
    """
    from workflow.orders.terms import imposed_fields  # terms builds on this module

    fields = imposed_fields(imposed_bond_cents, imposed_conditions)
    imposed = {name.removeprefix("imposed_"): value for name, value in fields.items()}
    return move(session, detainee, Action.RELEASE, actor=actor, now=now, at=at, reason=reason,
                fields=fields, payload={"imposed": imposed} if imposed else None)


def exclude(session: Session, detainee: Detainee, *, reason: str, actor: Actor, now: datetime,
            at: datetime | None = None, note: str | None = None) -> Event:
    """Take the person out of the order's cover.

    For mandatory detention or a security threat (→ EXCLUDED).
    """
    if reason not in EXCLUSION_REASONS:
        raise ValidationError(f"exclusion reason must be one of: {', '.join(EXCLUSION_REASONS)}")
    return move(
        session, detainee, Action.EXCLUDE, actor=actor, now=now, at=at, reason=reason,
        payload={"note": note} if note else None, fields={"exclusion_reason": reason},
    )


def depart(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
           at: datetime | None = None, reason: str | None = None) -> Event:
    """The person left the country or was removed (→ DEPARTED)."""
    return move(session, detainee, Action.DEPART, actor=actor, now=now, at=at, reason=reason)


def not_in_custody(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
                   at: datetime | None = None, reason: str | None = None) -> Event:
    """The person was already out before the order (→ NOT_IN_CUSTODY)."""
    return move(session, detainee, Action.NOT_IN_CUSTODY, actor=actor, now=now, at=at,
                reason=reason)


def redetain(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
             at: datetime | None = None, reason: str | None = None) -> Event:
    """A released person is held again and must be found (RELEASED → LOCATING)."""
    return move(session, detainee, Action.REDETAIN, actor=actor, now=now, at=at, reason=reason)


def add_note(session: Session, detainee: Detainee, text: str, *, actor: Actor,
             now: datetime) -> Event:
    """A free-text note in the person's history; it changes no stage."""
    text = text.strip()
    if not text:
        raise ValidationError("the note is empty")
    touch(detainee, now)
    session.flush()  # bumps the version, so a note races like any other change
    return audit.record(session, kind="note", detainee=detainee, payload={"text": text},
                        actor=actor, at=now, now=now)
