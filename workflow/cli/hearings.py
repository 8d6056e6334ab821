"""`bondtrack hearing`: immigration-court dates, in the court's own zone, and their reminders."""

from __future__ import annotations

import click

from workflow.actions import bonds as bonding
from workflow.cli.common import App, human_time, order_option, output_options, pass_app, print_rows
from workflow.core import clock

LIST_COLUMNS = ("id", "person", "at", "court_name", "kind", "note")


@click.group()
def hearing() -> None:
    """Immigration-court hearings: add, list, move, done (reminders follow them)."""


@hearing.command()
@click.argument("a_number")
@click.option("--at", "when", required=True, metavar="TIME",
              help="Date and time in the immigration court's own zone, e.g. 2026-01-14 09:00.")
@click.option("--court", required=True, metavar="NAME",
              help="The immigration court: chicago, kansas-city, detroit, miami-krome, eloy, ...")
@click.option("--kind", type=click.Choice(("master", "individual")), default="master",
              show_default=True, help="Master calendar or individual (merits) hearing.")
@click.option("--note", help="Anything else (courtroom, judge, interpreter).")
@order_option
@pass_app
def add(app: App, a_number: str, when: str, court: str, kind: str, note: str | None,
        case: str | None) -> None:
    """Record a person's next hearing."""
    shown = bonding.add_hearing(app.ready(), case, a_number, at=when, court=court, kind=kind,
                                note=note, actor=app.actor(), now=clock.now())
    click.echo(f"hearing #{shown['id']} for person #{shown['person']}: {shown['court_name']},"
               f" {human_time(shown['at'], shown['time_zone'])}")


@hearing.command("list")
@click.option("--days", type=click.IntRange(min=0), help="Only the next N days.")
@order_option
@output_options
@pass_app
def list_command(app: App, days: int | None, case: str | None, fmt: str) -> None:
    """The open hearings ahead, soonest first, each in its court's zone."""
    rows = bonding.hearings_ahead(app.ready(), case, now=clock.now(), days=days)
    if fmt not in ("json", "csv"):
        rows = [{**row, "at": human_time(row["at"], row["time_zone"])} for row in rows]
    print_rows(rows, LIST_COLUMNS, fmt, title=f"{len(rows)} hearings ahead")


@hearing.command()
@click.argument("hearing_id", type=int)
@click.option("--at", "when", required=True, metavar="TIME",
              help="The new date and time, in the immigration court's zone.")
@order_option
@pass_app
def move(app: App, hearing_id: int, when: str, case: str | None) -> None:
    """The court moved a hearing: record the new time (the reminders follow it)."""
    shown = bonding.move_hearing(app.ready(), case, hearing_id, at=when, actor=app.actor(),
                                 now=clock.now())
    click.echo(f"hearing #{hearing_id} moved to {human_time(shown['at'], shown['time_zone'])}")


@hearing.command()
@click.argument("hearing_id", type=int)
@order_option
@pass_app
def done(app: App, hearing_id: int, case: str | None) -> None:
    """The hearing took place (or came off calendar): no more reminders for it."""
    bonding.close_hearing(app.ready(), case, hearing_id, actor=app.actor(), now=clock.now())
    click.echo(f"hearing #{hearing_id} done")
