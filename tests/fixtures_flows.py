"""Helpers for the deadlines, sweep, reconcile and flow tests: people who move at known times.

People are imported from a real class-list CSV and moved with the real verbs
at stated instants, so the event log is exactly what staff would leave.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support import CASE
from workflow.intake.roster import import_class_list
from workflow.orders import orders
from workflow.people import tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event

STARTED = datetime(2025, 11, 13, 15, 0, tzinfo=UTC)  # order added and list imported
DEADLINE = datetime(2025, 11, 21, 18, 0, tzinfo=UTC)  # noon in Chicago
STAFF = Actor(operator="tester", source="cli")
FACILITIES = {"BROADIL": "Broadview Processing Center", "KROME": "Krome Service Processing Center",
              "DODGEWI": "Dodge County Jail"}


def a_number(index: int) -> str:
    return f"{100_000_000 + index:09d}"


def family_name(index: int) -> str:
    return f"Zyxfamily{index:05d}"


def seed_order(database: db.Database, people: int, tmp_path: Path, *, case: str = CASE) -> int:
    """An order added at STARTED with ``people`` imported then (all in INTAKE); its id."""
    path = tmp_path / f"class-list-{case.replace(':', '-')}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a_number", "family_name", "given_name", "language"])
        for index in range(people):
            writer.writerow([a_number(index), family_name(index), "Testgiven", "es"])
    with database.write() as session:
        order = orders.add_order(session, case_number=case, court="N.D. Ill.", judge="J. Cummings",
                                 deadline="2025-11-21 12:00", time_zone="America/Chicago",
                                 actor=STAFF, now=STARTED)
        for code, name in FACILITIES.items():
            facilities.by_code(session, code, name)
        import_class_list(session, order, path, actor=Actor("tester", "import"), now=STARTED)
        return order.id


def ids_by_index(database: db.Database, order_id: int) -> list[int]:
    """Detainee ids in class-list order (index i ↔ a_number(i))."""
    with database.read() as session:
        rows = session.execute(
            select(Detainee.a_number, Detainee.id).where(Detainee.order_id == order_id)
        ).all()
    by_number = dict(rows)
    return [by_number[a_number(i)] for i in range(len(by_number))]


def walk(database: db.Database, detainee_id: int, steps: Sequence[tuple[str, float]], *,
         facility: str = "BROADIL", start: datetime = STARTED) -> None:
    """Move one person: ``steps`` are (verb, hours after ``start``), applied in order."""
    with database.write() as session:
        detainee = session.get(Detainee, detainee_id)
        assert detainee is not None
        for verb, hours in steps:
            at = start + timedelta(hours=hours)
            move(session, detainee, verb, at=at, facility=facility)


def move(session: Any, detainee: Detainee, verb: str, *, at: datetime,
         facility: str = "BROADIL") -> Event:
    common = {"actor": STAFF, "now": max(at, STARTED), "at": at}
    if verb in ("locate", "transfer"):
        place = facilities.by_code(session, facility)
        return getattr(tracking, verb)(session, detainee, place, **common)
    if verb == "set_bond":
        return tracking.set_bond(session, detainee, amount_cents=150_000, **common)
    if verb == "release" and detainee.stage == "LOCATED":
        return tracking.release(session, detainee, reason="recognizance", **common)
    if verb == "exclude":
        return tracking.exclude(session, detainee, reason="security-threat", **common)
    return getattr(tracking, verb)(session, detainee, **common)


# The `frozen` fixture: stand at an instant.
Freeze = Callable[[datetime], datetime]
# The main path, one verb per stage entered.
TO_RELEASE = ("search", "locate", "set_bond", "post_bond", "release")


def order_in(session: Any, order_id: int) -> CourtOrder:
    order = session.get(CourtOrder, order_id)
    assert order is not None
    return order
