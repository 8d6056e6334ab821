"""Demo step: text messages are off in the demo; what they would send, and in how many
segments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from workflow.actions import texts
from workflow.core import clock
from workflow.core.config import Settings
from workflow.record import db
from workflow.record.models import CourtOrder


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
         say: Callable[[str], None]) -> None:
    """Say that SMS is off (no demo person consented to texts, either way) and preview every
    text in each language with its segments, about 09:00 court time on the deadline's day."""
    with database.read() as session:
        order = session.get_one(CourtOrder, order_id)
        zone = clock.zone(order.time_zone)
        at = datetime.combine(clock.local(order.deadline, order.time_zone).date(), time(9, 0),
                              tzinfo=zone)
    off = texts.off_reason(settings)
    say(f"{off}: what they would send (`bondtrack sms preview`):" if off else
        "text messages are on, but no demo person consented to texts: nothing is texted."
        " What they would send (`bondtrack sms preview`):")
    for text in texts.previews(settings, at=at):
        say(f"  {text.kind} ({text.language}), {text.segments.describe()}: {text.body}")
