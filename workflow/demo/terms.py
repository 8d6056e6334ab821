"""Demo step: the order's terms (ECF 195) and its four obligations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from workflow.actions import orders as ordering
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
        case = session.get_one(CourtOrder, order_id).case_number
    _, _, letters = ordering.amend(
        database, settings, case, docket="ECF 195", docket_date=date(2025, 11, 12),
        deadline=None, bond_cents=None, conditions="check-in",
        note="release on $1,500 bond with check-ins", actor=actor, now=now)
    for kind, due, owed_by, note in OBLIGATIONS:
        key, due_at = ordering.add_obligation(database, case, kind=kind, due=due,
                                              owed_by=owed_by, note=note, actor=actor, now=now)
        if datetime.fromisoformat(due_at) < now:
            ordering.complete_obligation(database, case, key, at=due_at, note=None,
                                         actor=actor, now=now)
    say("the order's terms (bond $1,500, check-ins) and four obligations: `bondtrack order show`;"
        f" {letters}")


OBLIGATIONS = (
    ("data-production", "2025-11-14 17:00", "government", "class members' data"),
    ("data-production", "2025-11-19 17:00", "government", "updated class list"),
    ("status-report", "2025-11-21 12:00", "counsel", "joint status report"),
)
