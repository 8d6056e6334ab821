"""Demo step: text messages are off in the demo; what they would send, and in how many
segments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflow.actions import texts
from workflow.core.config import Settings
from workflow.record import db


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
         say: Callable[[str], None]) -> None:
    """Say that SMS is off (no demo person consented to texts, either way) and preview every
    text in each language with its segments."""
    off = texts.off_reason(settings)
    say(f"{off}: what they would send (`bondtrack sms preview`):" if off else
        "text messages are on, but no demo person consented to texts: nothing is texted."
        " What they would send (`bondtrack sms preview`):")
    for text in texts.previews(settings):
        say(f"  {text.kind} ({text.language}), {text.segments.describe()}: {text.body}")
