"""Demo step: the order's terms (ECF 195) and its four obligations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from workflow.core.config import Settings
from workflow.orders import amendments, obligations
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
              say: Callable[[str], None]) -> None:
    """The order's terms (ECF 195) and its four obligations, the data ones done."""
    actor = Actor(operator="demo", source="demo")
    with database.write() as session:
        order = session.get_one(CourtOrder, order_id)
        amendments.amend(session, order, docket="ECF 195", docket_date=date(2025, 11, 12),
              conditions="check-in", note="release on $1,500 bond with check-ins", actor=actor,
              now=now)
        for kind, due, owed_by, note in OBLIGATIONS:
            added = obligations.add_obligation(session, order, kind=kind, due=due,
                                               owed_by=owed_by, note=note, actor=actor, now=now)
            if added.due_at < now:
                obligations.complete_obligation(session, order, added.key, actor=actor, now=now,
                                                at=added.due_at)
    say("the order's terms (bond $1,500, check-ins) and four obligations: `bondtrack order show`")


OBLIGATIONS = (
    ("data-production", "2025-11-14 17:00", "government", "class members' data"),
    ("data-production", "2025-11-19 17:00", "government", "updated class list"),
    ("status-report", "2025-11-21 12:00", "counsel", "joint status report"),
)
