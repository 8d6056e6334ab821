"""Fixtures: a private home per test, a migrated database on SQLite *and* PostgreSQL,
a frozen clock, and a CLI runner. Migrations run once per backend into a template;
each test gets a copy, so the whole suite runs on both backends quickly.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from tests import pgcluster
from tests.support import BACKENDS, CASE, Cli, drop_pg_database, new_pg_database
from workflow.core import clock, config
from workflow.record import db

# Every fixtures_* module, registered once for the whole run: a session fixture imported by name
# into several modules would be defined (and started) once per module. Tests import only
# constants and helpers (from tests.support or a fixtures_* module), never a fixture. A module
# comes before those that import it, so pytest can rewrite its asserts.
pytest_plugins = [f"tests.fixtures_{name}" for name in (
    "foundation", "order_changes", "flows", "hardening", "dashboard", "notices", "prefect",
    "report", "bonds", "web", "demo", "sms", "locator")]

# No per-example deadline: on a shared 2-core machine Hypothesis's default 200 ms flakes. The
# example count stays bounded (tests that need other settings still pass their own).
hypothesis_settings.register_profile("bondtrack", deadline=None, max_examples=100)
hypothesis_settings.load_profile("bondtrack")


# What makes a test slow: it builds a demo, runs Prefect flows, or is marked slow (it starts
# servers or subprocesses). The parallel pass hands out whole modules, costliest first, as each
# worker runs low (make test: --dist loadscope, without its reordering by size), so the last
# modules any worker takes are quick ones and the cores stay busy to the end.
HEAVY_FIXTURES = frozenset({"demo_615", "small_demo", "prefect_api"})
HEAVY_COST = 50  # a slow test costs about as much as fifty quick ones


def heavy(item: pytest.Item) -> bool:
    return (item.get_closest_marker("slow") is not None
            or not HEAVY_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules by their estimated cost, costliest first; each stays whole and in its order (its
    module fixtures are set up once), and the order is the same on every xdist worker."""
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    cost: Counter[str] = Counter()
    for item in items:
        cost[module(item)] += HEAVY_COST if heavy(item) else 1
    items.sort(key=lambda item: -cost[module(item)])


@pytest.fixture(scope="session")
def pg() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg: pgcluster.Cluster) -> str:
    engine = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE template_bondtrack"))
    engine.dispose()
    _migrate(pg.url("template_bondtrack"), Path("/nonexistent"))
    return "template_bondtrack"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template")
    _migrate("", home)
    return home / "bondtrack.db"


def _migrate(url: str, home: Path) -> None:
    settings = config.load({"BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": url})
    database = db.connect(settings)
    db.upgrade(database)
    database.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private BONDTRACK_HOME with no database yet (SQLite unless a test says otherwise)."""
    for name in ("BONDTRACK_CONFIG", "BONDTRACK_DATABASE_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "home"
    monkeypatch.setenv("BONDTRACK_HOME", str(path))
    monkeypatch.setenv("BONDTRACK_OPERATOR", "tester")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return path


@pytest.fixture
def settings(home: Path, backend: str, request: pytest.FixtureRequest,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    """Settings whose database is already migrated, on ``backend``. A PostgreSQL database is
    dropped after the test (a cluster holding every test's copy grew by gigabytes)."""
    if backend == "postgresql":
        pg = request.getfixturevalue("pg")
        url = new_pg_database(pg, request.getfixturevalue("pg_template"))
        monkeypatch.setenv("BONDTRACK_DATABASE_URL", url)
        yield config.load()
        drop_pg_database(pg, url)
    else:
        home.mkdir(mode=0o700, parents=True)
        shutil.copy(request.getfixturevalue("sqlite_template"), home / "bondtrack.db")
        yield config.load()


@pytest.fixture
def database(settings: config.Settings) -> Iterator[db.Database]:
    database = db.connect(settings)
    yield database
    database.dispose()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Stand at an instant: ``frozen(datetime)``; starts at T-24h before the deadline."""

    def set_to(instant: datetime) -> datetime:
        monkeypatch.setattr(clock, "_clock", clock.fixed(instant))
        return instant

    set_to(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    return set_to


@pytest.fixture
def cli(database: db.Database, frozen) -> Cli:  # type: ignore[no-untyped-def]
    """Run bondtrack in-process against the test database, with a frozen clock."""
    return Cli()


@pytest.fixture
def court_order(cli: Cli) -> str:
    cli("order", "add", "--case", CASE, "--court", "N.D. Ill.", "--judge", "Jeffrey I. Cummings",
        "--deadline", "2025-11-21 12:00", "--tz", "America/Chicago", "--order-date", "2025-11-12")
    return CASE
