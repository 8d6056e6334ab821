"""Amendments: the order as it really moves, every change an event with its docket entry.

Real orders do not hold still: a deadline moves, terms change, an appeals
court stays the order the day before the deadline, and months later a named
subset gets its own order and deadline. Each change here is one order-level
event carrying the docket entry, the actor and what changed (from → to), so
``history`` can show every version of the order. A change to a deadline or
to terms names the people it affects in the event (``renotice``), so each of
them gets an updated letter once (``workflow.notices.renotice``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from workflow.core import clock, dates, display
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.core.identity import normalize_a_number
from workflow.core.stages import OUTSTANDING
from workflow.orders import orders
from workflow.record import audit, schema
from workflow.record.audit import Actor
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, detainees, events

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import CourtOrder, Detainee, Event

AMENDED, STAYED, STAY_LIFTED = "order-amended", "order-stayed", "stay-lifted"
ASSIGNED, PEOPLE_ASSIGNED = "assigned", "people-assigned"
# What `order history` lists: every event that changes the order or what it owes.
HISTORY_KINDS = ("order-added", AMENDED, STAYED, STAY_LIFTED, "obligation-added",
                 "obligation-done", "sub-order-added", PEOPLE_ASSIGNED)
_DOCKET_WIDTH = 100
_OUTSTANDING = sorted(s.value for s in OUTSTANDING)
# The order's fields an amendment can change, and whose people a change affects.
_TERMS = {"bond_amount_cents": "ordered_bond_cents", "conditions": "ordered_conditions"}


def _docket(docket: str) -> str:
    docket = " ".join(docket.split())
    if not docket:
        raise ValidationError("the docket entry is empty (e.g. \"ECF 123\")")
    if len(docket) > _DOCKET_WIDTH:
        raise ValidationError(f"the docket entry is longer than {_DOCKET_WIDTH} characters")
    return docket


def amend(session: Session, order: CourtOrder, *, docket: str, docket_date: date, actor: Actor,
          now: datetime, deadline: str | None = None, bond_amount_cents: int | None = None,
          conditions: str | None = None, note: str | None = None) -> Event:
    """Record an amending order: a new deadline and/or terms (as ``orders.terms`` parses them)."""
    docket = _docket(docket)
    wanted: dict[str, Any] = {}
    if deadline is not None:
        wanted["deadline"] = dates.parse_instant(deadline, order.time_zone)
    if bond_amount_cents is not None:
        if bond_amount_cents < 0:
            raise ValidationError("the bond amount is negative")
        wanted["bond_amount_cents"] = bond_amount_cents
    if conditions is not None:
        schema.check_widths(schema.court_orders, {"conditions": conditions})
        wanted["conditions"] = conditions
    changes = {key: (getattr(order, key), value) for key, value in wanted.items()
               if getattr(order, key) != value}
    if not changes and not note:
        raise ValidationError("nothing to amend: give --deadline, --bond-amount, --conditions"
                              " or --note")
    affected = _affected(session, order, changes)
    for key, (_, value) in changes.items():
        setattr(order, key, value)
    session.flush()
    return audit.record(session, kind=AMENDED, order_id=order.id, actor=actor, at=now, now=now,
                        payload={"docket": docket, "docket_date": docket_date.isoformat(),
                                 "changes": _jsonable(changes), "note": note,
                                 "renotice": affected})


def _affected(session: Session, order: CourtOrder, changes: dict[str, Any]) -> list[int]:
    """Outstanding people whose deadline or ordered terms a change moves, by id."""
    if not changes:
        return []
    people = detainees.c
    query = select(people.id).where(people.order_id == order.id, people.stage.in_(_OUTSTANDING))
    if "deadline" not in changes:
        # Only those whose own terms do not override every part that changed.
        inherits = [people[_TERMS[key]].is_(None) for key in changes]
        query = query.where(or_(*inherits))
    return list(flushed(session).scalars(query.order_by(people.id)))


def _jsonable(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {key: {"from": plain(old), "to": plain(new)} for key, (old, new) in changes.items()}


def stay(session: Session, order: CourtOrder, *, docket: str, actor: Actor, now: datetime,
         at: datetime | None = None, note: str | None = None) -> Event:
    """A court stayed the order: from ``at`` its deadlines, alerts and at-risk findings pause."""
    docket = _docket(docket)
    if orders.is_stayed(order):
        raise BondtrackError(f"order {order.case_number} is already stayed")
    at = _checked(at or now, now)
    order.stayed_since = at
    session.flush()
    return audit.record(session, kind=STAYED, order_id=order.id, actor=actor, at=at, now=now,
                        payload={"docket": docket, "note": note})


def lift_stay(session: Session, order: CourtOrder, *, docket: str, actor: Actor, now: datetime,
              at: datetime | None = None, new_deadline: str | None = None,
              note: str | None = None) -> Event:
    """The stay is lifted; without ``new_deadline`` the old deadline stands (no tolling is
    assumed: the court says what the new dates are)."""
    docket = _docket(docket)
    since = order.stayed_since
    if since is None:
        raise BondtrackError(f"order {order.case_number} is not stayed")
    at = _checked(at or now, now)
    if at < since:
        raise ValidationError("the stay cannot be lifted before it began")
    changes = {}
    if new_deadline is not None:
        deadline = dates.parse_instant(new_deadline, order.time_zone)
        if deadline != order.deadline:
            changes["deadline"] = (order.deadline, deadline)
    affected = _affected(session, order, changes)
    order.stayed_since = None
    for key, (_, value) in changes.items():
        setattr(order, key, value)
    session.flush()
    return audit.record(session, kind=STAY_LIFTED, order_id=order.id, actor=actor, at=at, now=now,
                        payload={"docket": docket, "note": note,
                                 "stayed_seconds": int((at - since).total_seconds()),
                                 "changes": _jsonable(changes), "renotice": affected})


def _checked(at: datetime, now: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValidationError("a time without a time zone")
    if (at - now).total_seconds() > 300:
        raise ValidationError("the time given is in the future")
    return at


def seconds_stayed(reader: Reader, order: OrderRow, now: datetime) -> int:
    """All the time the order has spent stayed, the current stay included."""
    event = events.c
    lifted = flushed(reader).scalars(
        select(event.payload).where(event.order_id == order.id, event.detainee_id.is_(None),
                                    event.kind == STAY_LIFTED))
    total = sum(int(payload.get("stayed_seconds", 0)) for payload in lifted)
    if order.stayed_since is not None:
        total += max(int((now - order.stayed_since).total_seconds()), 0)
    return total


def stay_status(reader: Reader, order: OrderRow, now: datetime) -> dict[str, Any]:
    """The stay block of status and `order show`: whether stayed, since when, by what, how long."""
    docket = None
    if order.stayed_since is not None:
        event = events.c
        payload = flushed(reader).scalar(
            select(event.payload).where(event.order_id == order.id, event.kind == STAYED)
            .order_by(event.id.desc()).limit(1))
        docket = payload["docket"] if payload is not None else None
    return {
        "stayed": order.stayed_since is not None,
        "stayed_since": clock.local(order.stayed_since, order.time_zone).isoformat()
        if order.stayed_since else None,
        "stay_docket": docket,
        "seconds_stayed": seconds_stayed(reader, order, now),
        "effective_seconds_left": orders.effective_seconds_left(order, now),
    }


def add_sub_order(session: Session, parent: CourtOrder, *, case_number: str, deadline: str,
                  actor: Actor, now: datetime, docket: str | None = None,
                  bond_amount_cents: int | None = None, conditions: str | None = None,
                  **fields: Any) -> CourtOrder:
    """A later order for a subset of ``parent``'s people: same court, judge and zone unless
    given; its own deadline; the parent's terms unless given. Noted in the parent's history."""
    if parent.parent_id is not None:
        raise ValidationError("a sub-order's parent must be a top-level order")
    fields.setdefault("court", parent.court)
    fields.setdefault("judge", parent.judge)
    fields.setdefault("time_zone", parent.time_zone)
    sub = orders.add_order(
        session, case_number=case_number, deadline=deadline, actor=actor, now=now, parent=parent,
        docket=_docket(docket) if docket else None,
        bond_amount_cents=parent.bond_amount_cents if bond_amount_cents is None
        else bond_amount_cents,
        conditions=parent.conditions if conditions is None else conditions, **fields)
    audit.record(session, kind="sub-order-added", order_id=parent.id, actor=actor, at=now, now=now,
                 payload={"sub_order": sub.case_number, "docket": docket,
                          "deadline": sub.deadline.isoformat()})
    return sub


def assign(session: Session, sub_order: CourtOrder, a_numbers: Sequence[str], *, actor: Actor,
           now: datetime, docket: str | None = None, note: str | None = None) -> Event:
    """Move people from the parent order to ``sub_order`` (its deadline and terms now govern
    them; terms set for them under the parent are reset). All or none; returns the sub-order's
    ``people-assigned`` event, which names them for re-notice."""
    if sub_order.parent_id is None:
        raise ValidationError(f"order {sub_order.case_number} is not a sub-order: add one with"
                              " `bondtrack order add --parent CASE`")
    from workflow.record.models import CourtOrder  # the ORM: whoever writes has loaded it

    parent = session.get(CourtOrder, sub_order.parent_id)
    if parent is None:
        raise NotFoundError(f"the parent of order {sub_order.case_number} no longer exists")
    people = _people_to_assign(session, parent, sub_order, a_numbers)
    docket = _docket(docket) if docket else None
    for person in people:
        overrides = {"ordered_bond_cents": person.ordered_bond_cents,
                     "ordered_conditions": person.ordered_conditions}
        person.court_order = sub_order
        person.ordered_bond_cents = person.ordered_conditions = None
        person.updated_at = now
        session.flush()
        audit.record(session, kind=ASSIGNED, detainee=person, actor=actor, at=now, now=now,
                     payload={"from_order": parent.case_number, "to_order": sub_order.case_number,
                              "docket": docket, "reset_terms": {k: v for k, v in overrides.items()
                                                                if v is not None}})
    common = {"docket": docket, "note": note, "people": len(people)}
    audit.record(session, kind=PEOPLE_ASSIGNED, order_id=parent.id, actor=actor, at=now, now=now,
                 payload={**common, "to_order": sub_order.case_number})
    return audit.record(session, kind=PEOPLE_ASSIGNED, order_id=sub_order.id, actor=actor, at=now,
                        now=now, payload={**common, "from_order": parent.case_number,
                                          "renotice": [person.id for person in people]})


def _people_to_assign(session: Session, parent: CourtOrder, sub_order: CourtOrder,
                      a_numbers: Sequence[str]) -> list[Detainee]:
    """Every listed person, found in the parent; every problem reported by position, no A#."""
    from workflow.record.models import Detainee

    if not a_numbers:
        raise ValidationError("name at least one person (A-number)")
    problems, people, seen = [], [], set()
    for position, text in enumerate(a_numbers, 1):
        try:
            normalized = normalize_a_number(text)
        except ValueError as exc:
            problems.append(f"A-number {position}: {exc}")
            continue
        if normalized in seen:
            problems.append(f"A-number {position}: listed twice")
            continue
        seen.add(normalized)
        person = session.scalar(select(Detainee).where(Detainee.order_id == parent.id,
                                                       Detainee.a_number == normalized))
        if person is None:
            moved = session.scalar(select(detainees.c.id).where(
                detainees.c.order_id == sub_order.id, detainees.c.a_number == normalized))
            where = f"already in order {sub_order.case_number}" if moved \
                else f"not in order {parent.case_number}"
            problems.append(f"A-number {position}: {where}")
            continue
        people.append(person)
    if problems:
        raise ValidationError(f"{len(problems)} problem(s); nobody was assigned", problems)
    return people


def history(reader: Reader, order: OrderRow) -> list[dict[str, Any]]:
    """Every change to the order, oldest first, each with the version of the order it made:
    deadline, bond, conditions and whether stayed after the change."""
    changes = flushed(reader).execute(
        select(events).where(events.c.order_id == order.id, events.c.detainee_id.is_(None),
                             events.c.kind.in_(HISTORY_KINDS))
        .order_by(events.c.id))
    state: dict[str, Any] = {}
    version, rows = 0, []
    for event in changes:
        payload = event.payload or {}
        changed = _replay(state, event.kind, payload)
        version += changed
        rows.append({
            "version": version, "id": event.id,
            "at": clock.local(event.at, order.time_zone).isoformat(),
            "kind": event.kind, "docket": payload.get("docket"),
            "docket_date": payload.get("docket_date"), "actor": event.actor,
            "source": event.source, "changes": payload.get("changes") or {},
            "note": payload.get("note"), "details": _details(event.kind, payload),
            "deadline": _local(state.get("deadline"), order.time_zone),
            **{key: state.get(key) for key in ("bond_amount_cents", "conditions", "stayed")},
        })
    return rows


def _local(iso_text: str | None, tz: str) -> str | None:
    return clock.local(datetime.fromisoformat(iso_text), tz).isoformat() if iso_text else None


def _replay(state: dict[str, Any], kind: str, payload: dict[str, Any]) -> bool:
    """Apply one event to the running version; True if it made a new version."""
    if kind == "order-added":
        state.update(deadline=payload.get("deadline"), stayed=False,
                     bond_amount_cents=payload.get("bond_amount_cents"),
                     conditions=payload.get("conditions"))
        return True
    if kind in (STAYED, STAY_LIFTED):
        state["stayed"] = kind == STAYED
    for key, change in (payload.get("changes") or {}).items():
        state[key] = change["to"]
    return kind in (AMENDED, STAYED, STAY_LIFTED)


def _details(kind: str, payload: dict[str, Any]) -> str:
    """What the event did, in a few words (no personal data is ever in these payloads)."""
    if kind in ("obligation-added", "obligation-done"):
        return f"{payload.get('obligation')} ({payload.get('kind')})"
    if kind == "sub-order-added":
        return f"sub-order {payload.get('sub_order')}"
    if kind == PEOPLE_ASSIGNED:
        other = payload.get("from_order") or payload.get("to_order")
        direction = "from" if payload.get("from_order") else "to"
        return f"{payload.get('people')} people assigned {direction} {other}"
    if kind == STAY_LIFTED:
        return f"stayed {display.span(payload.get('stayed_seconds', 0))}"
    return ""
