"""Demo step: the day's work is alive. Outstanding people get owners (the demo's staff and
attorney, a quarter left unowned), and the people being looked for have a history of empty
look-ups, a few enough to call the field office."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from workflow.actions import caseloads
from workflow.core.config import Settings
from workflow.core.stages import OUTSTANDING, Stage
from workflow.demo.accounts import ACCOUNTS
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee

OWNERS = tuple(address for address, role in ACCOUNTS if role in ("staff", "attorney"))
SOURCES = ("locator", "locator", "locator", "phone")


def step(database: Database, settings: Settings, order_id: int, now: datetime,
         say: Callable[[str], object]) -> None:
    """Owners for three quarters of the outstanding people, and their look-ups so far."""
    rng = random.Random(26)
    with database.read() as session:
        case = session.get_one(CourtOrder, order_id).case_number
        people = session.execute(
            select(Detainee.a_number, Detainee.stage, Detainee.stage_since)
            .where(Detainee.order_id == order_id,
                   Detainee.stage.in_([s.value for s in OUTSTANDING]))
            .order_by(Detainee.a_number)).all()
    owned = [a for index, (a, _, _) in enumerate(people) if index % 4 != 3]
    caseloads.assign(database, settings, case, OWNERS, owned, actor=Actor("demo", "demo"),
                     now=now)
    recorded = 0
    for a_number, stage, since in people:
        if stage != Stage.LOCATING.value:
            continue
        tries = rng.choice((0, 1, 1, 2, 3))
        span = (now - since) / (tries + 1)
        for n in range(tries):
            at = since + span * (n + 1)
            caseloads.record_lookup(
                database, settings, case, a_number, "not-found", source=rng.choice(SOURCES),
                at=at.isoformat(), actor=Actor(OWNERS[n % len(OWNERS)], "demo"), now=now)
            recorded += 1
    say(f"caseloads: {len(owned)} of {len(people)} outstanding people have an owner"
        f" ({', '.join(OWNERS)}); {recorded} look-ups recorded so far")
    say(f"the day's work: `bondtrack queue --owner {OWNERS[0]}`, `bondtrack locator due`,"
        " `bondtrack caseload list`; in the browser, Queue and Locator desk")
