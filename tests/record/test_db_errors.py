"""A PostgreSQL that cannot be reached says which server, which database and why.

A wrong port, a database that does not exist and a refused password each need a different
fix; all three used to print "database error: OperationalError". The message never holds
the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import pgcluster
from tests.support import Cli

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def password_role(pg: pgcluster.Cluster) -> Iterator[str]:
    """A role that must give a password (the test cluster trusts everyone else)."""
    hba = pg.base / "data" / "pg_hba.conf"
    original = hba.read_text()
    engine = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE ROLE pwuser LOGIN PASSWORD '{PASSWORD}'"))
        hba.write_text("host all pwuser 127.0.0.1/32 scram-sha-256\n" + original)
        conn.execute(text("SELECT pg_reload_conf()"))
    try:
        yield "pwuser"
    finally:
        with engine.connect() as conn:
            hba.write_text(original)
            conn.execute(text("SELECT pg_reload_conf()"))
            conn.execute(text("DROP ROLE pwuser"))
        engine.dispose()


def status_with(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BONDTRACK_DATABASE_URL", url)
    result = Cli()("status", ok=False)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    return result.output.strip()


def test_a_wrong_port_names_the_server_and_says_nobody_listens(
        home: Path, pg: pgcluster.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    port = pgcluster.free_port()
    said = status_with(f"postgresql+psycopg://postgres@127.0.0.1:{port}/bondtrack", monkeypatch)
    assert said.startswith(f"Error: cannot connect to PostgreSQL at 127.0.0.1:{port},"
                           " database bondtrack, user postgres: Connection refused")
    assert "OperationalError" not in said


def test_a_missing_database_is_named(home: Path, pg: pgcluster.Cluster,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    said = status_with(pg.url("no_such_db"), monkeypatch)
    assert said == (f"Error: cannot connect to PostgreSQL at 127.0.0.1:{pg.port}, database"
                    ' no_such_db, user postgres: database "no_such_db" does not exist')


def test_a_refused_password_says_so_and_never_prints_it(
        home: Path, pg: pgcluster.Cluster, password_role: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "not-the-Pa55word"
    url = f"postgresql+psycopg://{password_role}:{wrong}@127.0.0.1:{pg.port}/postgres"
    said = status_with(url, monkeypatch)
    assert said == (f"Error: cannot connect to PostgreSQL at 127.0.0.1:{pg.port}, database"
                    f' postgres, user pwuser: password authentication failed for user "pwuser"')
    assert wrong not in said and PASSWORD not in said
    right = f"postgresql+psycopg://{password_role}:{PASSWORD}@127.0.0.1:{pg.port}/postgres"
    monkeypatch.setenv("BONDTRACK_DATABASE_URL", right)
    reached = Cli()("status", ok=False).output  # connected: the schema is what is missing
    assert "not set up yet" in reached and PASSWORD not in reached
