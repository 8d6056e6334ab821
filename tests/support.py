"""Constants and helpers the tests share (fixtures live in ``fixtures_*.py`` plugins)."""

from __future__ import annotations

import itertools
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


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        from workflow.cli import main

        result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"bondtrack {' '.join(map(str, args))} failed:\n{result.output}")
        return result


_hashes: dict[str, str] = {}


def one_hash_per_password(patch: pytest.MonkeyPatch) -> None:
    """Accounts made while ``patch`` holds share one real argon2id hash per password, made
    once per process: at argon2's memory-hard cost, four accounts were most of a test's set-up.
    Each password is still checked, and signing in still verifies at full cost."""
    from workflow.core import passwords
    from workflow.record import users

    real = users.hash_password

    def hashed(password: str, email: str = "") -> str:
        passwords.check(password, email)
        if password not in _hashes:
            _hashes[password] = real(password, email)
        return _hashes[password]

    patch.setattr(users, "hash_password", hashed)
