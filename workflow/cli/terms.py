"""`bondtrack terms|assign`: the terms ordered for a person, and moving people to a sub-order."""

from __future__ import annotations

import click

from workflow.cli.common import App, order_option, output_options, pass_app, print_record
from workflow.cli.order import bond_amount_value, conditions_value
from workflow.core import clock


@click.command()
@click.argument("a_number")
@order_option
@click.option("--bond-amount", metavar="DOLLARS",
              help="Bond ordered for this person; none (or 0) for release without bond.")
@click.option("--conditions", help='Conditions ordered for this person ("atd"), or none.')
@click.option("--reset", is_flag=True, help="Back to the order's terms.")
@click.option("--note", help="Why (e.g. the docket entry of an individual determination).")
@output_options
@pass_app
def terms(app: App, a_number: str, case: str | None, bond_amount: str | None,
          conditions: str | None, reset: bool, note: str | None, fmt: str) -> None:
    """Show or set the terms ordered for a person, what ICE imposed, and any mismatch."""
    from workflow.actions import casework

    data, letters = casework.terms_of(
        app.ready(), app.settings, case, a_number, bond_cents=bond_amount_value(bond_amount),
        conditions=conditions_value(conditions), reset=reset, note=note, actor=app.actor(),
        now=clock.now())
    if print_record(data, fmt):
        return
    for label, part in (("ordered", data["ordered"]), ("imposed", data["imposed"])):
        source = f" (from the {part['source']})" if "source" in part else ""
        click.echo(f"person #{data['id']} {label}: bond {part['bond']}; conditions "
                   f"{', '.join(part['conditions']) or 'none'}{source}")
    click.echo(f"findings: {', '.join(data['findings']) or 'none'}")
    if letters:
        click.echo(letters)


@click.command()
@click.argument("a_numbers", nargs=-1, required=True)
@click.option("--order", "case", required=True, metavar="CASE",
              help="The sub-order the people move to (from its parent).")
@click.option("--docket", help='Docket entry of the order naming them, e.g. "ECF 240".')
@click.option("--note", help="Why, in a sentence.")
@pass_app
def assign(app: App, a_numbers: tuple[str, ...], case: str, docket: str | None,
           note: str | None) -> None:
    """Move people (A-numbers) from an order to its sub-order, whose deadline and terms govern."""
    from workflow.actions import casework

    people, letters = casework.assign(app.ready(), app.settings, case, a_numbers, docket=docket,
                                      note=note, actor=app.actor(), now=clock.now())
    click.echo(f"{people} people assigned to order {case}")
    click.echo(letters)
