"""Court orders, and finding the people and facilities in them.

What `status` reads (``find_order``, ``stage_counts``, the clock rules) is Core on
``workflow.record.schema`` and works on a plain connection; the rest loads ORM objects.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import case, func, select

from workflow.core import dates
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.core.identity import normalize_a_number
from workflow.core.stages import OUTSTANDING
from workflow.record import audit, schema
from workflow.record.audit import Actor
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, court_orders, detainees

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import CourtOrder, Detainee


def add_order(
    session: Session,
    *,
    case_number: str,
    court: str,
    judge: str,
    deadline: str,
    time_zone: str,
    actor: Actor,
    now: datetime,
    title: str | None = None,
    order_date: date | None = None,
    notes: str | None = None,
    parent: CourtOrder | None = None,
    bond_amount_cents: int | None = None,
    conditions: str | None = None,
    docket: str | None = None,
) -> CourtOrder:
    """Record a court order; its deadline is read as wall time in the court's zone.

    ``parent`` makes it a sub-order (a later order for a named subset); the
    terms are as ``workflow.orders.terms`` parses them (None: the configured bond, no
    conditions); ``docket`` is the docket entry that entered it.
    """
    from workflow.record.models import CourtOrder  # the ORM: whoever writes has loaded it

    case_number = case_number.strip()
    if not case_number:
        raise ValidationError("the case number is empty")
    text = {"case_number": case_number, "court": court.strip(), "judge": judge.strip(),
            "title": title, "time_zone": time_zone, "notes": notes}
    schema.check_widths(schema.court_orders, text)
    if session.scalar(select(court_orders.c.id).where(court_orders.c.case_number == case_number)):
        raise BondtrackError(f"order {case_number} already exists")
    if bond_amount_cents is not None and bond_amount_cents < 0:
        raise ValidationError("the bond amount is negative")
    schema.check_widths(schema.court_orders, {"conditions": conditions})
    order = CourtOrder(
        **text,
        deadline=dates.parse_instant(deadline, time_zone),
        order_date=order_date,
        created_at=now,
        parent_id=parent.id if parent else None,
        bond_amount_cents=bond_amount_cents,
        conditions=conditions,
    )
    session.add(order)
    session.flush()
    terms = {"parent": parent.case_number if parent else None, "docket": docket,
             "bond_amount_cents": bond_amount_cents, "conditions": conditions}
    audit.record(
        session,
        kind="order-added",
        order_id=order.id,
        payload={"case_number": case_number, "deadline": order.deadline.isoformat(),
                 **{key: value for key, value in terms.items() if value is not None}},
        actor=actor,
        at=now,
        now=now,
    )
    return order


def resolve_order(session: Session, case_number: str | None) -> CourtOrder:
    """The order named ``case_number``, or the only order when none is named, as ORM object."""
    from workflow.record.models import CourtOrder

    return session.get_one(CourtOrder, find_order(session, case_number).id)


def find_order(reader: Reader, case_number: str | None) -> OrderRow:
    """The ``court_orders`` row named ``case_number``, or the only one when none is named."""
    query = select(court_orders)
    if case_number:
        order = flushed(reader).execute(
            query.where(court_orders.c.case_number == case_number)).first()
        if order is None:
            raise NotFoundError(f"no order {case_number}: see `bondtrack order list`")
        return cast(OrderRow, order)
    orders = flushed(reader).execute(query.order_by(court_orders.c.id).limit(2)).all()
    if not orders:
        raise NotFoundError(
            "no court order yet: add one with `bondtrack order add --case ... --deadline ...`"
        )
    if len(orders) > 1:
        raise BondtrackError("several orders in this database: name one with --order CASE")
    return cast(OrderRow, orders[0])


def list_orders(session: Session) -> list[tuple[CourtOrder, int, int]]:
    """Every order, soonest deadline first, with the people it lists and those still outstanding."""
    from workflow.record.models import CourtOrder, Detainee

    outstanding = [stage.value for stage in OUTSTANDING]
    counts = (
        select(
            Detainee.order_id,
            func.count().label("people"),
            func.sum(case((Detainee.stage.in_(outstanding), 1), else_=0)).label("outstanding"),
        )
        .group_by(Detainee.order_id)
        .subquery()
    )
    rows = session.execute(
        select(CourtOrder, func.coalesce(counts.c.people, 0),
               func.coalesce(counts.c.outstanding, 0))
        .outerjoin(counts, counts.c.order_id == CourtOrder.id)
        .order_by(CourtOrder.deadline)
    ).all()
    return [(order, people, int(left)) for order, people, left in rows]


def find_detainee(session: Session, order: CourtOrder, a_number: str) -> Detainee:
    """The person with this A-number (any accepted spelling) in ``order``."""
    from workflow.record.models import Detainee

    try:
        normalized = normalize_a_number(a_number)
    except ValueError as exc:
        raise ValidationError(f"A-number: {exc}") from None
    detainee = session.scalar(
        select(Detainee).where(Detainee.order_id == order.id, Detainee.a_number == normalized)
    )
    if detainee is None:
        raise NotFoundError(f"no person with that A-number in order {order.case_number}")
    return detainee


def is_stayed(order: OrderRow) -> bool:
    """Whether a court has stayed the order: its deadlines, alerts and at-risk findings pause."""
    return order.stayed_since is not None


def effective_seconds_left(order: OrderRow, now: datetime) -> int:
    """Seconds to the deadline, with the clock stopped while the order is stayed.

    During a stay this is the time that was left when the stay began, so no
    threshold is crossed and nothing turns overdue until the stay is lifted.
    """
    since = order.stayed_since
    at = min(now, since) if since is not None else now
    return int((order.deadline - at).total_seconds())


def stage_counts(reader: Reader, order: OrderRow) -> dict[str, int]:
    """People per stage, in one query (stages with nobody are left out)."""
    rows = flushed(reader).execute(
        select(detainees.c.stage, func.count())
        .where(detainees.c.order_id == order.id)
        .group_by(detainees.c.stage)
    )
    return {stage: count for stage, count in rows}
