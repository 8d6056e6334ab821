"""`bondtrack locator ...`: ICE's Online Detainee Locator."""

from __future__ import annotations

from typing import Any

import click

from workflow.actions import places
from workflow.cli.common import App, output_options, pass_app, print_record
from workflow.core.errors import BondtrackError


@click.group()
def locator() -> None:
    """ICE's Online Detainee Locator: look-ups by A-number and country of birth."""


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
