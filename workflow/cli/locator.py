"""`bondtrack locator`: the locator desk's look-ups, who is due for one, and a try of ICE's
locator itself (`selftest`)."""

from __future__ import annotations

from typing import Any

import click

from workflow.cli.common import (
    App,
    human_time,
    order_option,
    output_options,
    pass_app,
    print_record,
    print_rows,
)
from workflow.core import clock
from workflow.core.errors import BondtrackError

DUE_COLUMNS = ("a_number", "family_name", "given_name", "date_of_birth", "country_of_birth",
               "stage", "due", "empty_lookups", "call_office")
RESULTS = ("found", "not-found", "in-custody-no-facility", "released")
SOURCES = ("locator", "phone", "email", "attorney", "locator-auto")


@click.group()
def locator() -> None:
    """The locator desk: record what a look-up found, see who is due for one, and try ICE's
    locator itself."""


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
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many people.")
@order_option
@output_options
@pass_app
def due(app: App, owner: str | None, limit: int, case: str | None, fmt: str) -> None:
    """Who is due for a look-up now, soonest first, with what the locator asks for."""
    from workflow.actions import caseloads

    rows = caseloads.due_for_lookup(app.ready(), app.settings, case, owner=owner or "all",
                                    limit=limit, now=clock.now())
    if fmt not in ("json", "csv"):
        zone = app.time_zone(case)
        rows = [{**row, "due": human_time(row["due"], zone),
                 "call_office": row["call_office"] or ""} for row in rows]
    print_rows(rows, DUE_COLUMNS, fmt, title=f"{len(rows)} due for a look-up")


@locator.command()
@click.argument("a_number")
@click.option("--country", required=True,
              help="Country of birth: a name or an ISO code (sent as the locator spells it).")
@output_options
@pass_app
def selftest(app: App, a_number: str, country: str, fmt: str) -> None:
    """Try one known A-number at the locator.

    One look-up at [locator] base_url, made whether [locator] auto is on or not; prints what
    the locator answered: found at a facility, not found, blocked, or an error. Exits 1
    unless the locator answered (found or not)."""
    from workflow.actions import places

    answer = places.locator_selftest(app.settings, a_number, country)
    if print_record(answer, fmt):
        if answer["kind"] in ("blocked", "error"):
            raise SystemExit(1)
        return
    click.echo(f"asked {answer['base_url']} as {answer['user_agent']}"
               f" (country of birth: {answer['country']})")
    kind = answer["kind"]
    if kind == "blocked":
        raise BondtrackError(f"blocked: the locator answered with a challenge or block"
                             f" ({answer['detail']}); wait at least 30 minutes before asking"
                             f" again")
    if kind == "error":
        raise BondtrackError(f"the locator did not answer: {answer['detail']}")
    click.echo(_describe(answer))


def _describe(answer: dict[str, Any]) -> str:
    kind = answer["kind"]
    if kind == "not-found":
        return ("not found: the locator answered zero (0) matching records (it does so"
                " falsely now and then: one empty answer proves nothing)")
    if kind == "released":
        return f"released: in the locator's records but held nowhere ({answer['status']})"
    if kind == "in-custody-no-facility":
        return "in custody, but the locator names no facility"
    place = ", ".join(part for part in (answer["address"], answer["city"],
                                        " ".join(filter(None, (answer["state"], answer["zip"]))))
                      if part)
    lines = [f"found at {answer['facility']}" + (f", {place}" if place else "")]
    if answer["field_office"]:
        lines.append(f"field office: {answer['field_office']}")
    if answer["detail"]:
        lines.append(f"note: {answer['detail']}")
    return "\n".join(lines)
