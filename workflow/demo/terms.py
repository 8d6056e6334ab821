"""Demo step: the order's terms (ECF 195) and its four obligations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from workflow.actions import orders as ordering
from workflow.core import clock
from workflow.core.config import Settings
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
         say: Callable[[str], None]) -> None:
    """The order's terms (ECF 195), which queue the updated letters they call for, and its
    obligations, the ones already due done."""
    actor = Actor(operator="demo", source="demo")
    with database.read() as session:
        order = session.get_one(CourtOrder, order_id)
        case, order_date = order.case_number, order.order_date
        assert order_date is not None, "the demo dates its order"
        deadline_day = clock.local(order.deadline, order.time_zone).date()
    _, _, letters = ordering.amend(
        database, settings, case, docket="ECF 195", docket_date=order_date,
        deadline=None, bond_cents=None, conditions="check-in",
        note="release on $1,500 bond with check-ins", actor=actor, now=now)
    for kind, days_before, wall, owed_by, note in OBLIGATIONS:
        due = f"{deadline_day - timedelta(days=days_before)} {wall}"
        key, due_at = ordering.add_obligation(database, case, kind=kind, due=due,
                                              owed_by=owed_by, note=note, actor=actor, now=now)
        if datetime.fromisoformat(due_at) < now:
            ordering.complete_obligation(database, case, key, at=due_at, note=None,
                                         actor=actor, now=now)
    say("the order's terms (bond $1,500, check-ins) and four obligations: `bondtrack order show`;"
        f" {letters}")


# Each obligation's day as days before the deadline's, and its time, court time: as the
# real order of 12 Nov 2025 set them (data by 14 and 19 Nov, the report with the releases).
OBLIGATIONS = (
    ("data-production", 7, "17:00", "government", "class members' data"),
    ("data-production", 2, "17:00", "government", "updated class list"),
    ("status-report", 0, "12:00", "counsel", "joint status report"),
)
