"""Views of the one truth: status counts, lists of people, one person's record.

Each function takes a reader (a Core connection or a session) and returns plain data
(dicts with stable keys, ISO 8601 times in the court's zone), which the CLI prints as
tables or JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from workflow.core import clock, stages
from workflow.core.config import Settings
from workflow.core.identity import a_number_fields
from workflow.core.stages import OUTSTANDING, Stage
from workflow.notices import languages
from workflow.orders import amendments, obligations, orders, terms
from workflow.orders.orders import effective_seconds_left, list_orders
from workflow.record.db import flushed
from workflow.record.schema import (
    OrderRow,
    court_orders,
    detainees,
    events,
    facilities,
    field_offices,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import Bond, Detainee


def order_summary(order: OrderRow) -> dict[str, Any]:
    return {
        "case_number": order.case_number,
        "court": order.court,
        "judge": order.judge,
        "title": order.title,
        "deadline": clock.iso(order.deadline, order.time_zone),
        "time_zone": order.time_zone,
        "order_date": order.order_date.isoformat() if order.order_date else None,
        "stayed_since": clock.iso(order.stayed_since, order.time_zone),
    }


def stage_counts(reader: Reader, order: OrderRow) -> dict[str, int]:
    """People per stage, every stage present (zeros included), in stage order."""
    by_stage: dict[str, int] = stages.totals(orders.stage_counts(reader, order))["by_stage"]
    return by_stage


def status(reader: Reader, order: OrderRow, now: datetime) -> dict[str, Any]:
    """The numbers the supervising attorney watches, as of ``now``."""
    return {
        "order": order_summary(order),
        "now": clock.iso(now, order.time_zone),
        "seconds_left": effective_seconds_left(order, now),  # stopped while stayed
        **stages.totals(orders.stage_counts(reader, order)),
    }


def list_people(
    reader: Reader,
    order: OrderRow,
    now: datetime,
    *,
    stage: str | None = None,
    facility: str | None = None,
) -> list[dict[str, Any]]:
    """One row per person, filtered by stage and facility code, by A-number."""
    people = detainees.c
    query = (
        select(people.id, people.a_number, people.family_name, people.given_name, people.stage,
               facilities.c.code, people.stage_since, people.language)
        .select_from(detainees)
        .outerjoin(facilities, people.facility_id == facilities.c.id)
        .where(people.order_id == order.id)
        .order_by(people.a_number)
    )
    if stage:
        query = query.where(people.stage == stage)
    if facility:
        query = query.where(facilities.c.code == facility.strip().upper())
    return [
        {
            "id": d.id,
            **a_number_fields(d.a_number),
            "family_name": d.family_name,
            "given_name": d.given_name,
            "stage": d.stage,
            "facility": d.code,
            "stage_since": clock.iso(d.stage_since, order.time_zone),
            "hours_in_stage": round((now - d.stage_since).total_seconds() / 3600, 1),
            "language": d.language,
        }
        for d in flushed(reader).execute(query)
    ]


def person_record(session: Session, detainee: Detainee) -> dict[str, Any]:
    """Everything about one person, with the full history oldest first."""
    tz = detainee.court_order.time_zone
    session.refresh(detainee, attribute_names=["bonds"])
    history = flushed(session).execute(
        select(events).where(events.c.detainee_id == detainee.id)
        .order_by(events.c.at, events.c.id)
    ).all()
    facility = detainee.facility
    return {
        "id": detainee.id,
        "order": detainee.court_order.case_number,
        **a_number_fields(detainee.a_number),
        "family_name": detainee.family_name,
        "given_name": detainee.given_name,
        "date_of_birth": detainee.date_of_birth.isoformat() if detainee.date_of_birth else None,
        "country_of_birth": detainee.country_of_birth,
        "language": detainee.language,
        "stage": detainee.stage,
        "stage_since": clock.iso(detainee.stage_since, tz),
        "exclusion_reason": detainee.exclusion_reason,
        "facility": (
            {"code": facility.code, "name": facility.name, "field_office": facility.field_office}
            if facility
            else None
        ),
        "phone": detainee.phone,
        "email": detainee.email,
        "notes": detainee.notes,
        "version": detainee.version,
        "bonds": [_bond(b, tz) for b in detainee.bonds],
        **_after_release(session, detainee),
        "events": [_event(e, tz) for e in history],
    }


def _after_release(session: Session, detainee: Detainee) -> dict[str, Any]:
    """The bond's events since posting and the next hearing (workflow.bonds.bonds, .hearings)."""
    from workflow.bonds import bonds, hearings

    upcoming = hearings.next_hearings(session, detainee.court_order, clock.now())
    return {"bond_events": bonds.bond_history(session, detainee),
            "next_hearing": upcoming.get(detainee.id)}


def _bond(bond: Bond, tz: str) -> dict[str, Any]:
    return {
        "amount_cents": bond.amount_cents,
        "conditions": bond.conditions,
        "obligor_name": bond.obligor_name,
        "obligor_relationship": bond.obligor_relationship,
        "obligor_phone": bond.obligor_phone,
        "obligor_email": bond.obligor_email,
        "payment_method": bond.payment_method,
        "receipt_number": bond.receipt_number,
        "set_at": clock.iso(bond.set_at, tz),
        "posted_at": clock.iso(bond.posted_at, tz),
        "cancelled_at": clock.iso(bond.cancelled_at, tz),
    }


def _event(event: Any, tz: str) -> dict[str, Any]:
    """An ``events`` row, JSON-ready."""
    return {
        "id": event.id,
        "at": clock.iso(event.at, tz),
        "recorded_at": clock.iso(event.recorded_at, tz),
        "kind": event.kind,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "actor": event.actor,
        "source": event.source,
        "payload": event.payload,
    }


def orders_overview(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Every order with its deadline, time left, people listed and people outstanding."""
    return [
        {
            **order_summary(order),
            "seconds_left": effective_seconds_left(order, now),
            "people": people,
            "outstanding": outstanding,
        }
        for order, people, outstanding in list_orders(session)
    ]



def projection(reader: Reader, order: OrderRow, now: datetime,
               settings: Settings) -> dict[str, Any]:
    """The pace-and-projection block of status (see workflow/orders/deadlines.py), JSON-ready."""
    from workflow.orders import deadlines

    return deadlines.projection(reader, order, now, settings).as_dict()


def describe_projection(projection: dict[str, Any]) -> list[str]:
    """The projection as two or three lines a supervising attorney reads at a glance."""
    lines = [
        f"pace: {projection['pace_per_hour']:.1f} resolved per hour"
        f" (last {projection['window_hours']:g} h)",
        f"projection: {projection['projected_resolved']} of {projection['covered']} resolved"
        f" by the deadline; {projection['at_risk']} at risk",
    ]
    if projection["slowest_stage"]:
        lines.append(f"slowest stage: {projection['slowest_stage']}"
                     f" (median {projection['slowest_median_hours']:g} h)")
    return lines


PLACES = ("facility", "field-office")


def by_place(reader: Reader, order: OrderRow, now: datetime,
             by: str = "facility") -> list[dict[str, Any]]:
    """Outstanding people per facility or ICE field office, with the longest wait in a stage.

    Locators and the bond team work place by place; the oldest wait says where
    to push first. Places with nobody outstanding are left out; people with no
    facility on record are one row with ``place`` None. Most outstanding first.
    """
    if by not in PLACES:
        raise ValueError(f"by must be one of {PLACES}")
    held, people = facilities.c, detainees.c
    columns = (held.code, held.name, held.field_office) if by == "facility" else (
        held.field_office, field_offices.c.office)
    open_stages = [stage.value for stage in Stage if stage in OUTSTANDING]
    query = (select(*columns, people.stage, func.count(), func.min(people.stage_since))
             .select_from(detainees)
             .outerjoin(facilities, people.facility_id == held.id))
    if by == "field-office":  # the office's own name comes from the directory of offices
        query = query.outerjoin(field_offices, held.field_office == field_offices.c.name)
    rows = flushed(reader).execute(
        query.where(people.order_id == order.id, people.stage.in_(open_stages))
        .group_by(*columns, people.stage)
    ).all()
    places: dict[tuple, dict[str, Any]] = {}
    for *key, stage, count, since in rows:
        place = places.setdefault(tuple(key), _place_row(key, by))
        place[stage.lower()] = count
        place["outstanding"] += count
        waited = round((now - since).total_seconds() / 3600, 1)
        place["oldest_in_stage_hours"] = max(place["oldest_in_stage_hours"], waited)
    return sorted(places.values(), key=lambda p: (-p["outstanding"], -p["oldest_in_stage_hours"],
                                                  p["place"] or ""))


def place_columns(by: str) -> list[str]:
    """The keys of a ``by_place`` row, in order."""
    names = ["name", "field_office"] if by == "facility" else ["office"]
    stages = [stage.value.lower() for stage in Stage if stage in OUTSTANDING]
    return ["place", *names, "outstanding", *stages, "oldest_in_stage_hours"]


def _place_row(key: list[Any], by: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(place_columns(by), 0)
    names = ("place", "name", "field_office") if by == "facility" else ("place", "office")
    row.update(zip(names, key, strict=True))
    row["oldest_in_stage_hours"] = 0.0
    return row


def order_details(reader: Reader, order: OrderRow, now: datetime,
                  settings: Settings) -> dict[str, Any]:
    """`order show`: the order, its terms, stay, obligations, parent and sub-orders."""
    reader, row = flushed(reader), court_orders.c
    parent = reader.scalar(select(row.case_number).where(row.id == order.parent_id)) \
        if order.parent_id else None
    subs = reader.execute(select(row.case_number, row.deadline, row.time_zone)
                          .where(row.parent_id == order.id).order_by(row.deadline, row.id))
    order_terms = terms.order_terms(order, settings).as_dict()
    del order_terms["source"]
    return {
        **order_summary(order),
        "seconds_left": int((order.deadline - now).total_seconds()),
        "parent": parent,
        "terms": order_terms,
        **amendments.stay_status(reader, order, now),
        "obligations": obligations.listing(reader, order, now),
        "sub_orders": [{"case_number": sub.case_number,
                        "deadline": clock.iso(sub.deadline, sub.time_zone)} for sub in subs],
    }


def status_block(reader: Reader, order: OrderRow, now: datetime,
                 settings: Settings) -> dict[str, Any]:
    """What status adds for an order that moves: stay, obligations, terms findings, languages."""
    return {
        **amendments.stay_status(reader, order, now),
        "obligations": obligations.listing(reader, order, now),
        "terms_findings": terms.findings(reader, order, settings),
        **languages.status_block(reader, order),
    }
