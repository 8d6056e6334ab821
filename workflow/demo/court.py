"""Demo step: the report for the court and the dashboard, made last."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflow.core.config import Settings
from workflow.record import db
from workflow.record.audit import Actor
from workflow.views.compliance import generate_report
from workflow.views.dashboard import write_dashboard


def step(database: db.Database, settings: Settings, order_id: int, now: datetime,
         say: Callable[[str], None]) -> None:
    """The demo's report for the court and its dashboard, written into the demo home."""
    report = generate_report(database, order_id, fmt="pdf",
                             path=settings.home / "compliance-report.pdf",
                             actor=Actor(operator=settings.operator, source="demo"), now=now,
                             settings=settings)
    say(f"compliance report for the court: {report.path}")
    page = write_dashboard(database, order_id, path=settings.home / "dashboard.html", now=now,
                           settings=settings)
    say(f"dashboard: {page}")
