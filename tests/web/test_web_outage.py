"""A web server whose PostgreSQL stops: every page answers 503 saying so, the log says it once,
and the pages come back by themselves when the database does (a real waitress server, a real
PostgreSQL cluster of its own, stopped and started under it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests import pgcluster
from tests.fixtures_web import CSRF, PASSWORD, Server, add_accounts, email, start_server
from workflow.core import config
from workflow.record import db

BONDTRACK = Path(sys.executable).parent / "bondtrack"
DOWN = "the database cannot be reached"
BACK = "the database can be reached again"
PAGES = ("/login", "/", "/orders", "/people")


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start()
    try:
        engine = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE bondtrack"))
        engine.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def server(cluster: pgcluster.Cluster, tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BONDTRACK_", "PREFECT_"))}
    env.update(BONDTRACK_HOME=str(tmp_path / "home"), BONDTRACK_OPERATOR="tester",
               BONDTRACK_DATABASE_URL=cluster.url("bondtrack"))
    subprocess.run([str(BONDTRACK), "init"], env=env, check=True, capture_output=True)
    database = db.connect(config.load(env))
    add_accounts(database)
    database.dispose()
    started = start_server(env, tmp_path / "web.log")
    yield started
    started.stop()


def sign_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"email": email("staff"), "password": PASSWORD,
                                         "csrf": token})
    assert answer.status_code == 303, answer.text[:300]
    return client


def test_with_the_database_stopped_every_page_answers_503_and_it_comes_back_alone(
        cluster: pgcluster.Cluster, server: Server) -> None:
    staff = sign_in(server.url)
    assert staff.get("/orders").status_code == 200
    cluster.halt()
    try:
        for _ in range(3):
            anonymous = httpx.Client(base_url=server.url, timeout=60, follow_redirects=True)
            for client in (staff, anonymous):  # the anonymous one is sent to /login
                for path in PAGES:
                    page = client.get(path)
                    assert page.status_code == 503, (path, page.status_code, page.text[:300])
                    assert "The database cannot be reached" in page.text
                    assert "Try again in a minute or two" in page.text
                    assert "Traceback" not in page.text and "psycopg" not in page.text
                    assert page.headers["retry-after"] == "30"
        sent = staff.post("/people", data={"q": "A200-000-003", "csrf": "x"})
        assert sent.status_code == 503
    finally:
        cluster.resume()
    deadline = time.monotonic() + 30
    while (answer := staff.get("/orders")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # the pool reconnects on the next request; nothing is restarted
    assert answer.status_code == 200 and "The database cannot be reached" not in answer.text
    assert httpx.get(server.url + "/login").status_code == 200
    log = server.log.read_text()
    assert log.count(DOWN) == 1, log
    assert log.count(BACK) == 1, log
    assert "Traceback" not in log and PASSWORD not in log
