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


def _editor(environ: dict[str, str], name: str, person: int, rounds: int, wrote, other,  # type: ignore[no-untyped-def]
            queue) -> None:
    """Edit ``rounds`` times; after its first applied note, wait (bounded) for the other
    editor's, so the two provably overlap rather than run one after the other."""
    os.environ.update(environ)
    database = db.connect(config.load())
    applied = conflicts = 0
    met = True
    for i in range(rounds):
        try:
            with database.write() as session:
                detainee = session.get(Detainee, person)
                tracking.add_note(session, detainee, f"round {i} from {name}",
                                  actor=Actor(name), now=clock.now())
            applied += 1
        except ConflictError:
            conflicts += 1
        if applied == 1 and not wrote.is_set():
            wrote.set()
            met = other.wait(timeout=120)
    database.dispose()
    queue.put((name, applied, conflicts, met))


def test_two_processes_editing_one_person_lose_nothing(database: db.Database, person: int) -> None:
    rounds = 60
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    environ = {k: v for k, v in os.environ.items() if k.startswith("BONDTRACK_")}
    wrote = {name: ctx.Event() for name in ("editor-a", "editor-b")}
    workers = [ctx.Process(target=_editor, args=(environ, name, person, rounds, wrote[name],
                                                 wrote[other], queue))
               for name, other in (("editor-a", "editor-b"), ("editor-b", "editor-a"))]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert all(met for *_, met in results), "an editor never saw the other write"
    applied = sum(a for _, a, _, _ in results)
    assert applied + sum(c for _, _, c, _ in results) == 2 * rounds
    with database.read() as session:
        authors = session.scalars(select(Event.actor).where(
            Event.detainee_id == person, Event.kind == "note").order_by(Event.id)).all()
        version = session.get(Detainee, person).version  # type: ignore[union-attr]
    assert len(authors) == applied, "every applied change has its event, and only those"
    assert version == 1 + applied, "no update was lost"
    # The log shows the overlap: each editor has a note after the other's first one.
    first = {name: authors.index(name) for name in wrote}
    last = {name: len(authors) - 1 - authors[::-1].index(name) for name in wrote}
    a, b = wrote
    assert first[a] < last[b] and first[b] < last[a], "the editors ran one after the other"
