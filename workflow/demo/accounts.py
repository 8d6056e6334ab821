"""Demo step: accounts for the browser workspace, and how to open the demo in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflow.core.config import Settings
from workflow.record import users
from workflow.record.audit import Actor
from workflow.record.db import Database

ACCOUNTS = (("attorney@demo.bondtrack.invalid", "attorney"),
            ("staff@demo.bondtrack.invalid", "staff"),
            ("viewer@demo.bondtrack.invalid", "viewer"),
            ("admin@demo.bondtrack.invalid", "admin"))
PASSWORD = "demo-password-not-secret"


def step(database: Database, settings: Settings, order_id: int, now: datetime,
              say: Callable[[str], object]) -> None:
    """Demo accounts, and how to open the demo in the browser."""
    with database.write() as session:
        for address, role in ACCOUNTS:
            users.add_user(session, address, role, PASSWORD, actor=Actor("demo"), now=now)
    say(f"browser: BONDTRACK_HOME={settings.home} bondtrack web, then open"
        f" http://127.0.0.1:8000/ and sign in as {ACCOUNTS[0][0]}"
        f" with the password {PASSWORD}")
    say("demo accounts, each with that password: "
        + ", ".join(f"{address} ({role})" for address, role in ACCOUNTS))
