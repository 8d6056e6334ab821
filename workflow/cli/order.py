"""`bondtrack order`: the court order and its deadline."""

from __future__ import annotations


import click

from workflow import orders, reports
from workflow.cli.common import App, order_option, output_options, pass_app, print_json, print_rows


@click.group()
def order() -> None:
    """Add, show and list court orders."""


@order.command("add")
@click.option("--case", "case_number", required=True, help='Case number, e.g. "1:18-cv-03757".')
@click.option("--court", required=True, help='Court, e.g. "N.D. Ill.".')
@click.option("--judge", required=True, help="Judge who entered the order.")
@click.option("--deadline", required=True, help='Release deadline in court time, e.g. "2025-11-21 12:00".')
@click.option("--tz", "time_zone", help="The court's IANA time zone (default from config).")
@click.option("--title", help="Short title of the order.")
@click.option("--order-date", type=click.DateTime(["%Y-%m-%d"]), help="Date the order was entered.")
@click.option("--notes", help="Free-text notes.")
@pass_app
def add(app: App, case_number: str, court: str, judge: str, deadline: str, time_zone: str | None,
        title: str | None, order_date, notes: str | None) -> None:  # type: ignore[no-untyped-def]
    """Record a court order and its release deadline."""
    from workflow import clock

    with app.write() as session:
        added = orders.add_order(
            session,
            case_number=case_number,
            court=court,
            judge=judge,
            deadline=deadline,
            time_zone=time_zone or app.settings.time_zone,
            title=title,
            order_date=order_date.date() if order_date else None,
            notes=notes,
            actor=app.actor(),
            now=clock.now(),
        )
        summary = reports.order_summary(added)
    click.echo(f"added order {summary['case_number']}, deadline {summary['deadline']} ({summary['time_zone']})")


@order.command("show")
@order_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def show(app: App, case: str | None, as_json: bool) -> None:
    """Show an order, its deadline in court time and the time left."""
    from workflow import clock

    now = clock.now()
    with app.order_session(case) as (_session, court_order):
        data = reports.order_summary(court_order)
        data["seconds_left"] = int((court_order.deadline - now).total_seconds())
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key == "seconds_left":
            value = clock.describe_duration(value)
        click.echo(f"{key.replace('_', ' '):>13}: {'' if value is None else value}")


@order.command("list")
@output_options
@pass_app
def list_(app: App, fmt: str) -> None:
    """List every order with its deadline, time left and people covered."""
    from workflow import clock

    with app.read() as session:
        rows = reports.orders_overview(session, clock.now())
    columns = ["case_number", "court", "deadline", "time_zone", "seconds_left", "people"]
    print_rows(rows, columns, fmt, title="Court orders")


