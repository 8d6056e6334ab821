"""`bondtrack alerts check|digest|list`: deadline alerts, by hand or as the scheduler runs them."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from workflow.actions import alerts as alerting
from workflow.cli.common import (
    App,
    human_time,
    order_option,
    output_options,
    pass_app,
    print_record,
    print_rows,
)
from workflow.core import clock, dates
from workflow.core.errors import BondtrackError


@click.group()
def alerts() -> None:
    """Deadline alerts (T-72h ... T-1h, deadline, overdue) and the daily digest, each sent once."""


def _now_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--now", "at", metavar="TIME",
                        help="Act as of this time, court time or ISO with offset (rehearsal).")(f)


def _watch_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--order", "case", metavar="CASE",
                        help="Case number of the order (default: every order).")(f)


def instant(app: App, case: str | None, at: str | None) -> datetime:
    """--now as an instant: court time of the watched orders, which must agree on a zone."""
    if at is None:
        return clock.now()
    zones = {zone for _, zone in alerting.watched(app.ready(), case)}
    instants = {dates.parse_instant(at, zone) for zone in sorted(zones)}
    if len(instants) > 1:
        raise BondtrackError("--now: the orders are in different time zones; give an offset"
                             " (2025-11-20T12:00:00-06:00) or --order")
    return instants.pop()


def _run(app: App, case: str | None, at: str | None, fmt: str, daily_digest: bool) -> None:
    app.database.check_schema()
    report = alerting.run(app.database, app.settings, case=case, now=instant(app, case, at),
                        actor=app.actor("cli"), worker=f"{socket.gethostname()}:{os.getpid()}",
                        daily_digest=daily_digest)
    if print_record(report.as_dict(), fmt):
        return
    for outcome in report.outcomes:
        click.echo(alerting.describe(outcome))
    done = {k: v for k, v in report.delivery.items() if v}
    click.echo("staff e-mails: " + (", ".join(f"{n} {k}" for k, n in done.items())
                                    or "none to send"))


@alerts.command("check")
@_watch_option
@_now_option
@output_options
@pass_app
def check(app: App, case: str | None, at: str | None, fmt: str) -> None:
    """Send the deadline alert that is due, once; then deliver pending staff e-mails."""
    _run(app, case, at, fmt, daily_digest=False)


@alerts.command("digest")
@_watch_option
@_now_option
@output_options
@pass_app
def digest(app: App, case: str | None, at: str | None, fmt: str) -> None:
    """Send today's digest if its hour has passed and it was not sent yet."""
    _run(app, case, at, fmt, daily_digest=True)


@alerts.command("list")
@order_option
@output_options
@pass_app
def list_command(app: App, case: str | None, fmt: str) -> None:
    """Alerts fired and skipped, the ones still to come (pending), and their e-mails' delivery."""
    with app.order_session(case) as (session, court_order):
        rows = alerting.alert_rows(session, court_order, clock.now(), app.settings)
        tz = court_order.time_zone
    if fmt != "json":
        rows = [{**row, "due_at": human_time(row["due_at"], tz),
                 "fired_at": human_time(row["fired_at"], tz),
                 "emails": ", ".join(f"{n} {status}" for status, n in row["emails"].items())}
                for row in rows]
    print_rows(rows, ["threshold", "due_at", "fired_at", "status", "delivery", "emails"], fmt)
