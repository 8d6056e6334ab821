"""Demo step: the deadline alerts, checked across the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from workflow.actions import alerts
from workflow.core import display
from workflow.core.config import Settings
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder

STAFF = "attorney@bondtrack-demo.invalid"


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
                say: Callable[[str], None]) -> None:
    """Check the alerts at the demo's now and at later instants; say what fired.

    The e-mails go to a made-up staff address and stay in the demo's outbox.
    """
    staffed = alerts.with_staff(settings, [STAFF])
    actor = Actor(operator="demo", source="demo")
    with database.read() as session:
        deadline = session.get_one(CourtOrder, order_id).deadline
    instants = [now, now, now + timedelta(hours=3), deadline - timedelta(minutes=30),
                deadline + timedelta(seconds=1), deadline + timedelta(days=1, seconds=1)]
    with database.read() as session:
        time_zone = session.get_one(CourtOrder, order_id).time_zone
    for at in instants:
        outcomes = alerts.check_order(database, staffed, order_id, now=at, actor=actor,
                                      daily_digest=at == now)
        for outcome in outcomes:
            say(f"alerts at {display.moment(at, time_zone)}: {alerts.describe(outcome)}")
    say(f"alert e-mails to {STAFF} are queued in the demo's outbox; the demo sends none")
