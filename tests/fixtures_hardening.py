"""What the hardening tests share: fresh databases on demand, and the invariants every one checks.

The invariants are the promises the event log makes, checked from the rows
alone: every person is in one known stage; their stage events form one
unbroken chain of moves the stage table allows, ending in the stage they are
in, at the time they entered it; and `status` counts exactly the rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from tests import pgcluster
from tests.support import drop_pg_database as drop_pg_database  # where tests import it from
from tests.support import new_pg_database
from workflow.core import config, stages
from workflow.core.files import ensure_private_dir
from workflow.core.stages import Stage
from workflow.record import db
from workflow.record.models import CourtOrder, Detainee, Event
from workflow.views import reports

# This checkout's command, beside this Python: never another checkout's, whatever is installed.
BONDTRACK = Path(sys.executable).parent / "bondtrack"
_homes = itertools.count()
_ALLOWED = {(t.source.value, t.target.value) for t in stages.TRANSITIONS}


def environment(home: Path, url: str = "") -> dict[str, str]:
    """The BONDTRACK_* variables of a private home (and database URL), nothing else of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BONDTRACK_", "PREFECT_"))}
    env.update({"BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": url,
                "BONDTRACK_OPERATOR": "tester", "BONDTRACK_BUSY_TIMEOUT_SECONDS": "30"})
    return env


def fresh_home(base: Path, backend: str, sqlite_template: Path | None = None,
               pg: pgcluster.Cluster | None = None,
               pg_template: str | None = None) -> dict[str, str]:
    """A new private home with a migrated database on ``backend``; returns its environment."""
    home = base / f"home-{next(_homes)}"
    ensure_private_dir(home)
    if backend == "postgresql":
        assert pg is not None
        return environment(home, new_pg_database(pg, pg_template))
    assert sqlite_template is not None
    shutil.copy(sqlite_template, home / "bondtrack.db")
    return environment(home)


@contextmanager
def connected(env: Mapping[str, str]) -> Iterator[db.Database]:
    database = db.connect(config.load(env))
    try:
        yield database
    finally:
        database.dispose()


def check_invariants(database: db.Database, now: datetime) -> dict[str, int]:
    """Assert every invariant of every order; returns people per stage (all orders)."""
    with database.read() as session:
        people = session.execute(
            select(Detainee.id, Detainee.order_id, Detainee.stage, Detainee.stage_since,
                   Detainee.version)).all()
        chains: dict[int, list[tuple[str | None, str, datetime]]] = defaultdict(list)
        for detainee_id, source, target, at in session.execute(
                select(Event.detainee_id, Event.from_stage, Event.to_stage, Event.at)
                .where(Event.detainee_id.is_not(None), Event.to_stage.is_not(None))
                .order_by(Event.detainee_id, Event.id)):
            chains[detainee_id].append((source, target, at))
        for detainee_id, _order_id, stage, since, version in people:
            _check_person(detainee_id, stage, since, version, chains.get(detainee_id, []))
        for order in session.scalars(select(CourtOrder)):
            rows = Counter(stage for _, order_id, stage, *_ in people if order_id == order.id)
            status = reports.status(session, order, now)
            assert status["by_stage"] == {s.value: rows.get(s.value, 0) for s in Stage}, \
                f"status of order #{order.id} does not count its rows"
            assert status["total"] == sum(rows.values())
            assert status["covered"] + status["excluded"] == status["total"]
            assert status["resolved"] + status["outstanding"] == status["covered"]
        orphans = session.scalar(select(func.count()).select_from(Event).where(
            Event.detainee_id.is_not(None), Event.detainee_id.not_in(select(Detainee.id))))
        assert orphans == 0, "events of people who do not exist"
    return dict(Counter(stage for _, _, stage, *_ in people))


def _check_person(detainee_id: int, stage: str, since: datetime, version: int,
                  chain: list[tuple[str | None, str, datetime]]) -> None:
    who = f"person #{detainee_id}"
    assert stage in Stage.__members__, f"{who} is in an unknown stage"
    assert version >= 1, f"{who} has version {version}"
    assert chain, f"{who} has no event that put them in a stage"
    first_source, first_target, _ = chain[0]
    assert (first_source, first_target) == (None, Stage.INTAKE.value), \
        f"{who}'s history does not start with the import"
    for (_, previous, _), (source, target, _) in itertools.pairwise(chain):
        assert source == previous, f"{who}: a change without its event ({previous} → {source})"
        assert (source, target) in _ALLOWED, f"{who}: a forbidden move {source} → {target}"
    assert chain[-1][1] == stage, f"{who} is {stage} but their events say {chain[-1][1]}"
    assert chain[-1][2] == since, f"{who}'s stage_since is not the time of their last move"


def table_rows(database: db.Database) -> dict[str, list[tuple]]:
    """Every row of every bondtrack table, sorted: two equal results are two equal databases."""
    from workflow.record.models import Base

    with database.read() as session:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }

