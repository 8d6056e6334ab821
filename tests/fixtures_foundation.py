"""Helpers for the foundation tests: an order, a class list, counting what was written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.support import CASE
from workflow.intake.roster import ImportResult, import_class_list
from workflow.orders import orders
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event

NOW = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)  # T-24h, where the `frozen` fixture stands
STAFF = Actor(operator="tester", source="cli")
HEADER = "A#,Last Name,First Name,DOB,Country of Birth,Language,Facility Code,Facility Name"
# Three people, one of them at a facility the list introduces.
GOOD_ROWS = [
    "A-012-345-678,Núñez,José,3/7/1985,Mexico,Spanish,BROADIL,Broadview Processing Center",
    "a098765432,García López,Ana María,1990-01-15,Guatemala,K'iche',BROADIL,",
    "23456789,Pérez,Luis,12/31/1979,Honduras,español,,",
]


def write_csv(path: Path, lines: list[str], *, bom: bool = False, newline: str = "\n") -> Path:
    data = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def add_order(database: db.Database, case: str = CASE) -> None:
    with database.write() as session:
        orders.add_order(session, case_number=case, court="N.D. Ill.", judge="Jeffrey I. Cummings",
                         deadline="2025-11-21 12:00", time_zone="America/Chicago", actor=STAFF,
                         now=NOW)


def import_list(database: db.Database, path: Path, **options) -> ImportResult:  # type: ignore[no-untyped-def]
    with database.write() as session:
        order = orders.resolve_order(session, CASE)
        return import_class_list(session, order, path, actor=Actor("tester", "import"), now=NOW,
                                 **options)


def counts(database: db.Database) -> tuple[int, int]:
    """(people, events): what a refused change must leave as it was."""
    with database.read() as session:
        return (session.scalar(select(func.count()).select_from(Detainee)) or 0,
                session.scalar(select(func.count()).select_from(Event)) or 0)


def _columns(row: object) -> SimpleNamespace:
    return SimpleNamespace(**{c.key: getattr(row, c.key) for c in row.__table__.columns})  # type: ignore[attr-defined]


def person(database: db.Database, a_number: str) -> SimpleNamespace:
    """A snapshot of the person as stored: columns, ``facility`` and ``bonds``."""
    with database.read() as session:
        order = session.scalar(select(CourtOrder).where(CourtOrder.case_number == CASE))
        found = orders.find_detainee(session, order, a_number)  # type: ignore[arg-type]
        snapshot = _columns(found)
        snapshot.facility = _columns(found.facility) if found.facility else None
        snapshot.bonds = [_columns(bond) for bond in found.bonds]
        return snapshot


def events_of(database: db.Database, a_number: str) -> list[SimpleNamespace]:
    """The person's events as stored, in the order they were written."""
    detainee_id = person(database, a_number).id
    with database.read() as session:
        return [_columns(e) for e in session.scalars(
            select(Event).where(Event.detainee_id == detainee_id).order_by(Event.id))]


@pytest.fixture
def with_order(database: db.Database) -> db.Database:
    """The test database with the Castañon Nava order in it."""
    add_order(database)
    return database


@pytest.fixture
def class_list(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "class-list.csv", [HEADER, *GOOD_ROWS])


@pytest.fixture
def imported(with_order: db.Database, class_list: Path) -> db.Database:
    """The order with the three people of ``class_list`` in INTAKE."""
    import_list(with_order, class_list)
    return with_order
