"""The browser workspace under test: an order with people, one account per role, and
Flask test clients signed in as each; plus a real waitress server in its own process."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.support import cheap_hashes
from workflow.core import clock
from workflow.core.config import Settings
from workflow.record import db, users
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Facility

PASSWORD = "correct horse battery staple"
ROLES = users.ROLES
# Synthetic people; the names carry markup so every page shows it inert.
PEOPLE = (
    ("A-200-000-001", "Quispe<script>alert(1)</script>", "Rosa", "KRO", "Krome North"),
    ("A-200-000-002", "Okafor", "Chidi \"><img src=x onerror=alert(2)>", "KRO", "Krome North"),
    ("A-200-000-003", "Lindqvist", "Maja", "EAZ", "Eloy Detention Center"),
)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def email(role: str) -> str:
    return f"{role}@bondtrack.test"


def add_accounts(database: db.Database) -> None:
    """One account per role, through the real ``add_user``, its password hashed cheaply."""
    with pytest.MonkeyPatch.context() as patch, database.write() as session:
        cheap_hashes(patch)
        for role in ROLES:
            users.add_user(session, email(role), role, PASSWORD, actor=Actor("tester"),
                           now=clock.now())


def write_people(path: Path) -> Path:
    lines = ["A#,Last Name,First Name,DOB,Language,Facility,Facility Name"]
    lines += [f'{a},"{f.replace(chr(34), chr(34) * 2)}","{g.replace(chr(34), chr(34) * 2)}",'
              f'1990-01-15,Spanish,{code},{name}' for a, f, g, code, name in PEOPLE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def person_ids(database: db.Database) -> list[int]:
    with database.read() as session:
        return list(session.scalars(select(Detainee.id).order_by(Detainee.a_number)))


class Browser:
    """A Flask test client that signs in and sends the CSRF token with every form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def sign_in(self, address: str, password: str = PASSWORD, code: str | None = None) -> Any:
        page = self.client.get("/login")
        self.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        data = {"email": address, "password": password, "csrf": self.csrf}
        if code is not None:
            data["code"] = code
        answer = self.client.post("/login", data=data)
        if answer.status_code == 303:
            self.refresh_csrf()
        return answer

    def refresh_csrf(self) -> None:
        with self.client.session_transaction() as session:
            self.csrf = session.get("csrf", "")

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True,
             **kwargs: Any) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf", self.csrf)
        return self.client.post(url, data=data, **kwargs)

    def version(self, detainee_id: int) -> str:
        return VERSION.search(self.get(f"/people/{detainee_id}").text).group(1)  # type: ignore[union-attr]


@dataclass
class Web:
    app: Any
    database: db.Database
    settings: Settings
    ids: list[int]
    case: str

    def browser(self, role: str | None = None) -> Browser:
        browser = Browser(self.app.test_client())
        if role is not None:
            assert browser.sign_in(email(role)).status_code == 303, role
        return browser


@pytest.fixture
def web(cli, court_order, database, settings, tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> Web:
    """An order with three people at two facilities (field offices Miami and Phoenix), and
    every password hashed cheaply while the test runs (``cheap_hashes``)."""
    from workflow.web import create_app

    cheap_hashes(monkeypatch)

    cli("import", write_people(tmp_path / "people.csv"))
    with database.write() as session:
        for code, office in (("KRO", "Miami"), ("EAZ", "Phoenix")):
            session.execute(update(Facility).where(Facility.code == code)
                            .values(field_office=office))
    add_accounts(database)
    app = create_app(settings, database)
    app.testing = True
    return Web(app, database, settings, person_ids(database), court_order)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(env: dict[str, str], log: Path, port: int | None = None,
                 *options: str) -> Server:
    """`bondtrack web` as a user runs it, on a free loopback port; waits until it answers."""
    port = port or free_port()
    bondtrack = Path(sys.executable).parent / "bondtrack"
    out = log.open("ab")
    process = subprocess.Popen([str(bondtrack), "web", "--port", str(port), *options], env=env,
                               stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bondtrack web exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Server(process, f"http://127.0.0.1:{port}", log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("bondtrack web did not start")


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()
