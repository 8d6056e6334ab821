"""Constants and helpers the tests share (fixtures live in ``fixtures_*.py`` plugins)."""

from __future__ import annotations

import fcntl
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text

from tests import pgcluster

ROOT = Path(__file__).resolve().parents[1]  # the repository
README = ROOT / "README.md"
BACKENDS = ("sqlite", "postgresql")
DEADLINE = datetime(2025, 11, 21, 18, 0, tzinfo=UTC)  # noon in Chicago (CST)
CASE = "1:18-cv-03757"
_counter = itertools.count()
_admins: dict[str, Engine] = {}


def _admin(pg: pgcluster.Cluster) -> Engine:
    """One connection per cluster for making and dropping databases (a new one each time
    cost two connects per test); pre-pinged, as an outage test halts the server."""
    url = pg.url()
    if url not in _admins:
        _admins[url] = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True,
                                     pool_size=1)
    return _admins[url]


def new_pg_database(pg: pgcluster.Cluster, template: str | None) -> str:
    """A fresh database (a copy of ``template`` if given); returns its URL. A file copy
    (with ``fsync`` off) takes half the time of PostgreSQL 15's default, which logs every
    page of the template."""
    name = f"test_{next(_counter)}"
    with _admin(pg).connect() as conn:
        suffix = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
    return pg.url(name)


def copy_pg_database(pg: pgcluster.Cluster, source: str, target: str) -> None:
    """``target`` made again as a copy of ``source`` (URLs of two databases of ``pg``); the
    source's own connections are ended first, as a template must have none."""
    source_name, target_name = source.rsplit("/", 1)[1], target.rsplit("/", 1)[1]
    with _admin(pg).connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = :name"), {"name": source_name})
        conn.execute(text(f"DROP DATABASE IF EXISTS {target_name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {target_name} TEMPLATE {source_name}"
                          " STRATEGY FILE_COPY"))


def drop_pg_database(pg: pgcluster.Cluster, url: str) -> None:
    """Drop a test database (its connections first), so long runs do not fill the cluster."""
    name = url.rsplit("/", 1)[1]
    with _admin(pg).connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this run shares (the run's own one without xdist)."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-") else base


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (across the run's processes) while inside."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        from workflow.cli import main

        result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"bondtrack {' '.join(map(str, args))} failed:\n{result.output}")
        return result


def cheap_hashes(patch: pytest.MonkeyPatch) -> None:
    """While ``patch`` holds, passwords are hashed, and unknown e-mails checked, with argon2id
    at its lowest cost (one pass over 8 KiB, not RFC 9106's three over 64 MiB), as Django's
    test settings swap in a fast hasher: at the real cost each sign-in verified for 0.2 s of
    CPU, about 500 times in the web tests. The code is the same (argon2 reads the cost from
    each hash), the password rules are still checked, and tests/record/test_users.py proves
    the real cost where it is the point."""
    from argon2 import PasswordHasher

    from workflow.record import users

    patch.setattr(users, "_hasher",
                  lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    patch.setattr(users, "_DUMMY", [])  # the unknown e-mail's hash, at the same cost
