"""Demo step: five weeks after the deadline, the bonds' second life, and the ledger it leaves.

Some released people's bonds are cancelled (their cases closed) and refunded
with interest, some refunds are still being asked for, ICE demands that one
person be produced, another bond is breached and under appeal, an obligor
moves, and hearings lie ahead. All through the same functions staff use, at
instants after the demo's now; the order's own record as of now is untouched.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actions import bonds as bonding
from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.stages import Stage
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Bond, CourtOrder, Detainee

ACTOR = Actor(operator="demo", source="demo")
WEEK = timedelta(weeks=1)
AFTER = 5 * WEEK  # how long after the demo's now the after-life runs
_COURTS = ("chicago", "chicago", "chicago", "kansas-city", "detroit")


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
              say: Callable[[str], None]) -> None:
    """Record a few weeks of bond events and hearings, then say the ledger as it stands."""
    rng = random.Random(order_id * 15)
    later = now + AFTER
    with database.write() as session:
        order = session.get_one(CourtOrder, order_id)
        case, time_zone = order.case_number, order.time_zone
        people = _released_on_bond(session, order)
        rng.shuffle(people)
        _after_life(session, people, now, rng)
        ahead = people[len(_FATES):len(_FATES) + 20]
        for index, person in enumerate(ahead):
            court = _COURTS[index % len(_COURTS)]
            day = clock.local(later, "America/Chicago").date() + timedelta(days=3 + 2 * index)
            bonding.add_hearing_in(session, person, at=f"{day} 09:00", court=court,
                                   kind="individual" if index % 4 == 0 else "master",
                                   note=None, actor=ACTOR, now=later)
    data = bonding.ledger(database, settings, case, now=later)
    local = clock.local(later, time_zone)
    say(f"five weeks on ({local:%a %d %b %Y}): {len(ahead)} hearings ahead, and the bond"
        " ledger (`bondtrack bonds`):")
    for key in bonding.LEDGER_KEYS:
        bucket = data[key]
        say(f"  {key:<17}{bucket['count']:>4}  ${bucket['amount_cents'] / 100:>12,.2f}")
    say(f"  interest received ${data['interest_cents'] / 100:,.2f}")


def _released_on_bond(session: Session, order: CourtOrder) -> list[Detainee]:
    return list(session.scalars(
        select(Detainee).join(Bond, Bond.detainee_id == Detainee.id)
        .where(Detainee.order_id == order.id, Detainee.stage == Stage.RELEASED.value,
               Bond.posted_at.is_not(None)).order_by(Detainee.id).distinct()))


# What happens to the first bonds of the shuffled list, in this order; a small demo has fewer.
_FATES = (*["refunded"] * 5, *["refund-requested"] * 3, *["cancelled"] * 4, "demand",
          "under-appeal", "address-change", "address-change", "designee")


def _after_life(session: Session, people: list[Detainee], now: datetime,
                rng: random.Random) -> None:
    """Cancellations and refunds for twelve, a demand, a breach under appeal, two moves."""
    def event(person: Detainee, kind: str, weeks: float, **options: Any) -> None:
        at = now + timedelta(weeks=weeks, hours=rng.randrange(1, 8))
        bonding.record_event_in(session, person, kind, actor=ACTOR, now=now + AFTER,
                                at=at.isoformat(), **options)

    for index, (person, fate) in enumerate(zip(people, _FATES, strict=False)):
        if fate in ("refunded", "refund-requested", "cancelled"):
            event(person, "cancelled", 1 + index / 6,
                  reason=rng.choice(["case-closed", "status-granted", "case-closed"]))
        if fate in ("refunded", "refund-requested"):
            event(person, "refund-requested", 3)
        if fate == "refunded":
            amount = bonding.posted_cents(person) or 0
            event(person, "refunded", 4.5, amount_cents=amount + rng.randrange(150, 900))
        if fate == "demand":
            event(person, "demand", 4,
                  due=(now + AFTER + timedelta(days=3, hours=2)).isoformat())
        if fate == "under-appeal":
            event(person, "breached", 1)
            event(person, "appeal-filed", 3, note="I-290B: the I-340 went to an old address")
        if fate == "address-change":
            event(person, "address-change", 2, note="I-333 filed")
        if fate == "designee":
            event(person, "designee", 2, name="Midwest Immigration Bond Fund")
