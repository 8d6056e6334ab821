"""Deadline alerts and the daily digest: check the watched orders (each alert fires once),
list what fired and what is still to come. The CLI, the scheduler, the web and the demo all
check through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.core.config import Settings
from workflow.notices import alerts as deadline
from workflow.notices.alerts import Outcome, Report
from workflow.record.audit import Actor
from workflow.record.db import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.models import CourtOrder

__all__ = ["Outcome", "Report"]


def check_staff(settings: Settings) -> None:
    """Refuse settings whose staff e-mail addresses are missing or malformed."""
    deadline.staff_emails(settings)


def watched(database: Database, case: str | None) -> list[tuple[str, str]]:
    """(case number, court zone) of each order the alerts watch (``case``: only that one)."""
    with database.read() as session:
        return [(o.case_number, o.time_zone) for o in deadline.orders_to_watch(session, case)]


def run(database: Database, settings: Settings, *, case: str | None, now: datetime,
        actor: Actor, worker: str, daily_digest: bool = False) -> Report:
    """Send the alert (or with ``daily_digest`` the digest) each watched order is due, once,
    in one transaction; then deliver the staff e-mails still to send."""
    return deadline.run(database, settings, case=case, now=now, actor=actor, worker=worker,
                        daily_digest=daily_digest)


def check_order(database: Database, settings: Settings, order_id: int, *, now: datetime,
                actor: Actor, daily_digest: bool = False) -> list[Outcome]:
    """One order's alert check at ``now`` (and its digest too), queued but not delivered."""
    from workflow.record.models import CourtOrder

    with database.write() as session:
        order = session.get_one(CourtOrder, order_id)
        outcomes = [deadline.check(session, order, now, settings, actor)]
        if daily_digest:
            outcomes.append(deadline.digest(session, order, now, settings, actor))
        return outcomes


def describe(outcome: Outcome) -> str:
    """One line saying what a check did."""
    return deadline.describe(outcome)


def alert_rows(session: Session, order: CourtOrder, now: datetime,
               settings: Settings) -> list[dict[str, Any]]:
    """Alerts fired and skipped, the ones still to come, and their e-mails' delivery."""
    return deadline.list_alerts(session, order, now, settings)


def with_staff(settings: Settings, staff: list[str]) -> Settings:
    """The settings with ``staff`` as the alerts' recipients."""
    return deadline.with_staff(settings, staff)
