"""Demo step: the demand letters and a sample of client letters, as PDFs in the demo home."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflow.actions import letters
from workflow.core.config import Settings
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
                 say: Callable[[str], None]) -> None:
    """The demand letters and a sample of client letters, as PDFs in the demo home."""
    with database.read() as session:
        case = session.get_one(CourtOrder, order_id).case_number
    out = settings.home / "letters"
    actor = Actor(operator="demo", source="demo")
    demand = letters.render(database, settings, case=case, kind="demand", out=out, now=now,
                            actor=actor)
    sample = letters.render(database, settings, case=case, kind="client", out=out, now=now,
                            actor=actor, one_file=True, limit=25)
    say(f"{len(demand.letters)} field-office demand letters in {out}/demand-*.pdf")
    for path in sample.files:
        say(f"{len(sample.letters)} client letters (a sample, each in its reader's language)"
            f" in {path}")
