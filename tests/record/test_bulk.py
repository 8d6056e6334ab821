"""Rows written through the DBAPI (COPY, executemany) read back exactly as ORM-written rows,
in the session's transaction, with ids no concurrent writer also takes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from workflow.record import bulk, db
from workflow.record.models import CourtOrder, Event

AT = datetime(2025, 11, 20, 23, 30, 0, tzinfo=timezone(timedelta(hours=-6)))
COLUMNS = ("order_id", "kind", "payload", "actor", "source", "at", "recorded_at")


def _order(session) -> CourtOrder:  # type: ignore[no-untyped-def]
    order = CourtOrder(case_number="BULK-1", court="c", judge="j", time_zone="America/Chicago",
                       deadline=datetime(2025, 11, 21, 18, tzinfo=UTC),
                       order_date=date(2025, 11, 12), created_at=AT)
    session.add(order)
    session.flush()
    return order


def _raw(session, kind: str) -> tuple:  # type: ignore[no-untyped-def]
    """The stored cells, as the database holds them (SQLite: text)."""
    return tuple(session.execute(text(
        "SELECT CAST(payload AS TEXT), CAST(at AS TEXT), recorded_at, actor FROM events"
        " WHERE kind = :kind"), {"kind": kind}
    ).one())


def test_bulk_rows_are_stored_exactly_as_orm_rows(database: db.Database) -> None:
    payload = {"field": "language", "to": "español"}
    with database.write() as session:
        order = _order(session)
        session.add(Event(order_id=order.id, kind="orm", payload=payload, actor="a",
                          source="cli", at=AT, recorded_at=AT))
        session.flush()
        bulk.insert_rows(session, Event.__table__, COLUMNS,
                         [(order.id, "bulk", payload, "a", "cli", AT, AT)])
        assert _raw(session, "bulk") == _raw(session, "orm")
    with database.read() as session:
        event = session.scalars(select(Event).where(Event.kind == "bulk")).one()
        assert (event.payload, event.at, event.recorded_at) == (payload, AT, AT)
        assert event.at.tzinfo is not None


def test_bulk_rows_roll_back_with_the_session(database: db.Database) -> None:
    with pytest.raises(RuntimeError), database.write() as session:
        order = _order(session)
        bulk.insert_rows(session, Event.__table__, COLUMNS,
                         [(order.id, "bulk", {}, "a", "cli", AT, AT)] * 3)
        raise RuntimeError("the import failed after its rows were written")
    with database.read() as session:
        assert session.scalars(select(Event)).all() == []


def test_a_column_null_in_every_row_reads_back_null(database: db.Database) -> None:
    columns = ("order_id", "kind", "from_stage", "to_stage", "payload", "actor", "source", "at",
               "recorded_at")
    with database.write() as session:
        order = _order(session)
        bulk.insert_rows(session, Event.__table__, columns,
                         [(order.id, "bulk", None, stage, {}, "a", "cli", AT, AT)
                          for stage in (None, "INTAKE", None)])
    with database.read() as session:
        stored = session.execute(select(Event.from_stage, Event.to_stage, Event.payload)
                                 .order_by(Event.id)).all()
    assert [tuple(row) for row in stored] == [(None, None, {}), (None, "INTAKE", {}),
                                              (None, None, {})]


def test_naive_times_are_refused_as_everywhere_else(database: db.Database) -> None:
    with pytest.raises(ValueError, match="naive"), database.write() as session:
        order = _order(session)
        bulk.insert_rows(session, Event.__table__, COLUMNS,
                         [(order.id, "bulk", {}, "a", "cli", AT.replace(tzinfo=None), AT)])


def test_new_ids_are_free_and_the_next_insert_follows_them(database: db.Database) -> None:
    table = Event.__table__
    with database.write() as session:
        order = _order(session)
        session.add(Event(order_id=order.id, kind="orm", payload={}, actor="a", source="cli",
                          at=AT, recorded_at=AT))
        session.flush()
        ids = bulk.new_ids(session, table, 5)
        bulk.insert_rows(session, table, ("id", *COLUMNS),
                         [(i, order.id, "bulk", {}, "a", "cli", AT, AT) for i in ids])
        later = Event(order_id=order.id, kind="after", payload={}, actor="a", source="cli",
                      at=AT, recorded_at=AT)
        session.add(later)
        session.flush()
        taken = session.scalars(select(Event.id).order_by(Event.id)).all()
    assert len(set(ids)) == 5 and len(set(taken)) == 7
    assert later.id > max(ids)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_ids_taken_by_two_open_transactions_do_not_collide(database: db.Database) -> None:
    """On PostgreSQL two writers run at once; each gets its own ids from the sequence."""
    table = Event.__table__
    with database.write() as first, database.write() as second:
        mine = bulk.new_ids(first, table, 100)
        theirs = bulk.new_ids(second, table, 100)
    assert not set(mine) & set(theirs)
