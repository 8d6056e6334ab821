"""`bondtrack web` as a real waitress server on 127.0.0.1: signed-in clients at once.

The load test: 20 signed-in clients each try 50 notes on the same person, each
from the page they just read, so most forms are stale by the time they arrive.
Every accepted note must be in the history (no lost update), the person's
version must have grown by exactly the number accepted, every refusal must be
the clear conflict message, and the server must still answer. On PostgreSQL two
server processes share the work, as several workers behind a proxy would.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.fixtures_web import CSRF, PASSWORD, VERSION, Server, Web, email, start_server
from tests.support import ROOT
from workflow.record.models import Detainee, Event

CLIENTS, MOVES = 20, 50
CONFLICT = "changed by someone else"


@dataclass
class Tally:
    accepted: list[str] = field(default_factory=list)
    refused: int = 0
    odd: list[str] = field(default_factory=list)


def signed_in(url: str, address: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"email": address, "password": PASSWORD, "csrf": token})
    assert answer.status_code == 303, answer.text[:300]
    return client


def _one_client(url: str, number: int, person: int, tally: Tally) -> None:
    client = signed_in(url, email("staff" if number % 2 else "attorney"))
    try:
        for attempt in range(MOVES):
            page = client.get(f"/people/{person}").text
            version = VERSION.search(page).group(1)  # type: ignore[union-attr]
            token = CSRF.search(page).group(1)  # type: ignore[union-attr]
            text = f"client {number} attempt {attempt}"
            answer = client.post(f"/people/{person}/note",
                                 data={"note": text, "version": version, "csrf": token})
            if answer.status_code == 303:
                tally.accepted.append(text)
            elif answer.status_code == 409 and CONFLICT in answer.text:
                tally.refused += 1
            else:
                tally.odd.append(f"{answer.status_code} {answer.text[:200]}")
    finally:
        client.close()


def test_the_server_serves_signs_in_and_logs_no_person(web: Web, servers: list[Server],
                                                      tmp_path: Path) -> None:
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    assert httpx.get(url + "/people").headers["location"] == "/login"
    client = signed_in(url, email("staff"))
    page = client.get(f"/people/{web.ids[2]}")
    assert page.status_code == 200 and "Lindqvist" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["server"] == "bondtrack"
    found = client.post("/people", data={"q": "A200-000-003",
                                         "csrf": CSRF.search(page.text).group(1)})  # type: ignore[union-attr]
    assert "Lindqvist" in found.text
    client.close()
    log = servers[0].log.read_text()
    assert f"GET /people/{web.ids[2]} 200" in log and "POST /people 200" in log
    assert "Lindqvist" not in log and "200000003" not in log and "A200-000-003" not in log


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_threads_sets_how_many_threads_one_server_process_serves_with(
        web: Web, servers: list[Server], tmp_path: Path) -> None:
    """--threads N: waitress's N request threads besides the main one (the default: [web])."""
    for threads in (3, 11):
        servers.append(start_server(dict(os.environ), tmp_path / f"web-{threads}.log", None,
                                    "--threads", str(threads)))
    default = start_server(dict(os.environ), tmp_path / "web-default.log")
    servers.append(default)
    for server, threads in zip(servers, (3, 11, web.settings.section("web")["threads"]),
                               strict=True):
        assert httpx.get(server.url + "/login").status_code == 200
        assert _threads(server.process.pid) == threads + 1
        assert f"with {threads} threads" in server.log.read_text()


def test_threads_must_be_at_least_one(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    refused = cli("web", "--threads", "0", ok=False)
    assert refused.exit_code == 2 and "0 is not in the range x>=1" in refused.output


def test_the_systemd_template_starts_one_server_per_port() -> None:
    unit = (ROOT / "deploy/systemd/bondtrack-web@.service").read_text()
    [start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert start.endswith("/bondtrack web --host 127.0.0.1 --port %i")
    assert "systemctl enable --now bondtrack-web@8001 bondtrack-web@8002" in (
        ROOT / "docs/deploy.md").read_text()


@pytest.mark.slow
def test_twenty_clients_fifty_conflicting_moves_lose_no_update(web: Web, servers: list[Server],
                                                              backend: str,
                                                              tmp_path: Path) -> None:
    workers = 2 if backend == "postgresql" else 1
    for n in range(workers):
        servers.append(start_server(dict(os.environ), tmp_path / f"web-{n}.log"))
    person = web.ids[0]
    with web.database.read() as session:
        before = session.get(Detainee, person).version
    tally = Tally()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = [pool.submit(_one_client, servers[n % workers].url, n, person, tally)
                for n in range(CLIENTS)]
        for run in runs:
            run.result()
    seconds = time.monotonic() - started
    with web.database.read() as session:
        after = session.get(Detainee, person).version
        notes = [e.payload["text"] for e in session.scalars(
            select(Event).where(Event.detainee_id == person, Event.kind == "note"))]
    print(f"\nweb load {backend}: {CLIENTS}x{MOVES} moves on {workers} server(s) in"
          f" {seconds:.1f}s: {len(tally.accepted)} accepted, {tally.refused} refused as"
          f" conflicts, {len(tally.odd)} other")
    assert tally.odd == []
    assert len(tally.accepted) + tally.refused == CLIENTS * MOVES
    assert sorted(notes) == sorted(tally.accepted)  # every accepted note is there, once
    assert after - before == len(tally.accepted)
    assert len(tally.accepted) >= MOVES  # each client's first look sometimes wins
    for server in servers:
        assert server.process.poll() is None
        assert httpx.get(server.url + "/login").status_code == 200
        assert not re.search(r"Traceback|Quispe|Okafor|Lindqvist", server.log.read_text())
