"""The schema is Alembic's: upgrade, downgrade, upgrade again, and no drift, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from tests.support import new_pg_database
from workflow.core import config
from workflow.record import db


@pytest.fixture
def empty_database(home, backend, request, monkeypatch):  # type: ignore[no-untyped-def]
    if backend == "postgresql":
        monkeypatch.setenv("BONDTRACK_DATABASE_URL",
                           new_pg_database(request.getfixturevalue("pg"), None))
    database = db.connect(config.load())
    yield database
    database.dispose()


def tables(database: db.Database) -> set[str]:
    return set(inspect(database.engine).get_table_names())


def test_upgrade_downgrade_upgrade_round_trips(empty_database: db.Database) -> None:
    db.upgrade(empty_database)
    assert {"court_orders", "detainees", "events", "bonds", "facilities"} <= tables(empty_database)
    db.downgrade(empty_database, "base")
    assert tables(empty_database) <= {"alembic_version"}
    db.upgrade(empty_database)
    db.upgrade(empty_database)  # idempotent
    empty_database.check_schema()


def test_models_and_migrations_agree(empty_database: db.Database) -> None:
    db.upgrade(empty_database)
    cfg = db.alembic_config()
    with empty_database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises when autogenerate would emit anything


def test_foreign_tables_are_not_alembics_business(empty_database: db.Database) -> None:
    """APScheduler's job table lives in the same database; `alembic check` ignores it."""
    from sqlalchemy import Column, MetaData, String, Table

    db.upgrade(empty_database)
    Table("apscheduler_jobs", MetaData(), Column("id", String(191), primary_key=True)).create(
        empty_database.engine
    )
    cfg = db.alembic_config()
    with empty_database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)


def test_unmigrated_database_asks_for_init(empty_database: db.Database) -> None:
    from workflow.core.errors import BondtrackError

    with pytest.raises(BondtrackError, match="bondtrack init"):
        empty_database.check_schema()


def test_the_bond_revision_adds_and_drops_its_own_tables(empty_database: db.Database) -> None:
    db.upgrade(empty_database)
    assert {"bond_events", "hearings"} <= tables(empty_database)
    db.downgrade(empty_database, "0002")
    assert not {"bond_events", "hearings"} & tables(empty_database)
    assert {"bonds", "obligations"} <= tables(empty_database)
    db.upgrade(empty_database)
    empty_database.check_schema()
