"""`bondtrack locator`: the locator desk's look-ups, and who is due for one."""

from __future__ import annotations

import click

from workflow.cli.common import App, human_time, order_option, output_options, pass_app, print_rows
from workflow.core import clock

DUE_COLUMNS = ("a_number", "family_name", "given_name", "date_of_birth", "country_of_birth",
               "stage", "due", "empty_lookups", "call_office")
RESULTS = ("found", "not-found", "in-custody-no-facility", "released")
SOURCES = ("locator", "phone", "email", "attorney", "locator-auto")


@click.group()
def locator() -> None:
    """The locator desk: record what a look-up found, and see who is due for one."""


@locator.command()
@click.argument("a_number")
@click.option("--result", required=True, type=click.Choice(RESULTS),
              help="What the look-up found.")
@click.option("--facility", help="Where they are held (a code or a name): with --result found.")
@click.option("--source", default="locator", show_default=True, type=click.Choice(SOURCES),
              help="How they were looked up.")
@click.option("--note", help="What else was learned.")
@click.option("--at", help="When (court time; default now).")
@order_option
@pass_app
def record(app: App, a_number: str, result: str, facility: str | None, source: str,
           note: str | None, at: str | None, case: str | None) -> None:
    """Record one look-up of a person: found at a facility, or not."""
    from workflow.actions import caseloads

    click.echo(caseloads.record_lookup(app.ready(), app.settings, case, a_number, result,
                                       facility=facility, source=source, note=note, at=at,
                                       actor=app.actor(), now=clock.now()))


@locator.command()
@click.option("--owner", metavar="EMAIL", help="Only this account's people.")
@click.option("--limit", type=int, default=100, show_default=True)
@order_option
@output_options
@pass_app
def due(app: App, owner: str | None, limit: int, case: str | None, fmt: str) -> None:
    """Who is due for a look-up now, soonest first, with what the locator asks for."""
    from workflow.actions import caseloads

    rows = caseloads.due_for_lookup(app.ready(), app.settings, case, owner=owner or "all",
                                    limit=limit, now=clock.now())
    if fmt not in ("json", "csv"):
        rows = [{**row, "due": human_time(row["due"]), "call_office": row["call_office"] or ""}
                for row in rows]
    print_rows(rows, DUE_COLUMNS, fmt, title=f"{len(rows)} due for a look-up")
