"""Two editors of one person never lose an update: the loser is told, or waits its turn."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from sqlalchemy import func, select

from workflow.core import clock, config
from workflow.core.errors import ConflictError
from workflow.orders import orders
from workflow.people import tracking
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Event


@pytest.fixture
def person(database: db.Database, frozen) -> int:  # type: ignore[no-untyped-def]
    now = clock.now()
    with database.write() as session:
        order = orders.add_order(session, case_number="C-1", court="N.D. Ill.", judge="J",
                                 deadline="2025-11-21 12:00", time_zone="America/Chicago",
                                 actor=Actor("t"), now=now)
        detainee = Detainee(order_id=order.id, a_number="012345678", family_name="Núñez",
                            given_name="José", stage="INTAKE", stage_since=now,
                            created_at=now, updated_at=now)
        session.add(detainee)
        session.flush()
        return detainee.id


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_write_based_on_a_stale_read_is_refused(database: db.Database, person: int) -> None:
    """On PostgreSQL two transactions can overlap; the version column catches the second."""
    now = clock.now()
    with pytest.raises(ConflictError, match="changed by someone else"):
        with database.write() as first:
            mine = first.get(Detainee, person)
            assert mine is not None and mine.version == 1
            with database.write() as second:
                tracking.search(second, second.get(Detainee, person), actor=Actor("b"), now=now)
            tracking.exclude(first, mine, reason="other", actor=Actor("a"), now=now)
    with database.read() as session:
        stored = session.get(Detainee, person)
        assert stored is not None and (stored.stage, stored.version) == ("LOCATING", 2)
        assert session.scalar(select(func.count()).select_from(Event)
                              .where(Event.detainee_id == person)) == 1


def _editor(environ: dict[str, str], person: int, rounds: int, queue) -> None:  # type: ignore[no-untyped-def]
    os.environ.update(environ)
    database = db.connect(config.load())
    applied = conflicts = 0
    for i in range(rounds):
        try:
            with database.write() as session:
                detainee = session.get(Detainee, person)
                tracking.add_note(session, detainee, f"round {i} from {os.getpid()}",
                                  actor=Actor(f"pid-{os.getpid()}"), now=clock.now())
            applied += 1
        except ConflictError:
            conflicts += 1
    database.dispose()
    queue.put((applied, conflicts))


def test_two_processes_editing_one_person_lose_nothing(database: db.Database, person: int) -> None:
    rounds = 60
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    environ = {k: v for k, v in os.environ.items() if k.startswith("BONDTRACK_")}
    workers = [ctx.Process(target=_editor, args=(environ, person, rounds, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    applied = sum(a for a, _ in results)
    assert applied + sum(c for _, c in results) == 2 * rounds
    with database.read() as session:
        notes = session.scalar(select(func.count()).select_from(Event)
                               .where(Event.detainee_id == person, Event.kind == "note"))
        version = session.get(Detainee, person).version  # type: ignore[union-attr]
    assert notes == applied, "every applied change has its event, and only those"
    assert version == 1 + applied, "no update was lost"
