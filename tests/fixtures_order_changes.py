"""Helpers for the tests of an order that moves: run a change in its own transaction, look it up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import select

from tests.fixtures_foundation import STAFF, _columns
from tests.support import CASE
from workflow.core import config, dates
from workflow.orders import orders
from workflow.record import db
from workflow.record.models import CourtOrder, Detainee, Event, Notice

JOSE, ANA, LUIS = "012345678", "098765432", "023456789"
T = TypeVar("T")


def chicago(text: str) -> datetime:
    """``2025-11-21 12:00`` in Chicago as an aware UTC instant."""

    return dates.parse_instant(text, "America/Chicago")


def on_order(database: db.Database, change: Callable[..., T], case: str = CASE) -> T:
    """Run ``change(session, order)`` in one write transaction; its result."""
    with database.write() as session:
        return change(session, orders.resolve_order(session, case))


def on_person(database: db.Database, a_number: str, change: Callable[..., T],
              case: str = CASE) -> T:
    """Run ``change(session, detainee)`` in one write transaction; its result."""
    with database.write() as session:
        order = orders.resolve_order(session, case)
        return change(session, orders.find_detainee(session, order, a_number))


def read_order(database: db.Database, view: Callable[..., T], case: str = CASE) -> T:
    with database.read() as session:
        return view(session, orders.resolve_order(session, case))


def order_events(database: db.Database, case: str = CASE) -> list[SimpleNamespace]:
    """The order-level events of ``case`` as stored, oldest first."""
    with database.read() as session:
        order_id = session.scalar(select(CourtOrder.id).where(CourtOrder.case_number == case))
        return [_columns(e) for e in session.scalars(select(Event).where(
            Event.order_id == order_id, Event.detainee_id.is_(None)).order_by(Event.id))]


def notice_keys(database: db.Database) -> list[str]:
    with database.read() as session:
        return sorted(session.scalars(select(Notice.idempotency_key)))


def person_id(database: db.Database, a_number: str) -> int:
    with database.read() as session:
        return session.scalar(select(Detainee.id).where(Detainee.a_number == a_number))  # type: ignore[return-value]


def settings_with(**env: str) -> config.Settings:
    """The test's settings with extra BONDTRACK_* variables (e.g. NOTICES_STAFF_EMAILS)."""
    import os

    return config.load({**os.environ, **{f"BONDTRACK_{k.upper()}": v for k, v in env.items()}})


def utc(*args: Any) -> datetime:
    return datetime(*args, tzinfo=UTC)


__all__ = ["CASE", "STAFF", "JOSE", "ANA", "LUIS", "chicago", "on_order", "on_person",
           "read_order", "order_events", "notice_keys", "person_id", "settings_with", "utc"]
