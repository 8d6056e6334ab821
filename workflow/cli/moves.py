"""The moves: one command per verb, each one transaction and one audit event.

Every verb hands its options to ``actions.people.move`` as the text fields ``moves.make``
reads, the same fields a browser form or an apply file's row carries.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from workflow.actions.people import EXCLUSION_REASONS, PAYMENT_METHODS
from workflow.cli.common import App, order_option, pass_app
from workflow.core import clock

# Amounts typed wrong are usage errors, as click's own option checks are (exit 2).
_USAGE_FIELDS = ("amount", "imposed_bond")


def _run(app: App, case: str | None, a_number: str, move: str, **fields: str | None) -> None:
    from workflow.actions import people

    try:
        made = people.move(app.ready(), app.settings, case, a_number, move, fields,
                             actor=app.actor(), now=clock.now())
    except people.FieldError as exc:
        if exc.field not in _USAGE_FIELDS:
            raise
        option = f"--{exc.field.replace('_', '-')}"
        raise click.BadParameter(exc.reason, param_hint=option) from None
    click.echo(made["line"])


def _move_command(name: str, help_text: str, *extra: Callable) -> Callable:
    """A click command taking A-NUMBER, --order and --at, plus ``extra`` options."""

    def decorate(f: Callable) -> click.Command:
        for option in reversed(extra):
            f = option(f)
        f = click.option("--at", metavar="TIME",
                         help="When it happened, court time (default: now).")(f)
        f = order_option(f)
        f = click.argument("a_number")(f)
        return click.command(name, help=help_text)(pass_app(f))

    return decorate


_reason = click.option("--reason", help="Why (recorded in the history).")
_facility = click.option("--facility", required=True, metavar="CODE|NAME",
                         help="Facility code, or its name as the directory knows it.")
_facility_name = click.option("--facility-name", help="Facility name, to add a new code.")


@_move_command("search", "Start looking for a person (INTAKE → LOCATING).")
def search(app: App, a_number: str, case: str | None, at: str | None) -> None:
    _run(app, case, a_number, "search", at=at)


@_move_command("locate", "Record where a person is held (→ LOCATED).", _facility, _facility_name)
def locate(app: App, a_number: str, case: str | None, at: str | None, facility: str,
           facility_name: str | None) -> None:
    _run(app, case, a_number, "locate", at=at, facility=facility, facility_name=facility_name)


@_move_command("transfer", "Record a transfer; the person must be located again (→ LOCATING).",
               _facility, _facility_name)
def transfer(app: App, a_number: str, case: str | None, at: str | None, facility: str,
             facility_name: str | None) -> None:
    _run(app, case, a_number, "transfer", at=at, facility=facility, facility_name=facility_name)


@_move_command(
    "bond", "Set or amend the bond: amount, obligor, conditions (→ BOND_SET).",
    click.option("--amount", help="Dollars (default: the configured amount, $1,500)."),
    click.option("--obligor", help="Who posts the bond (family member or sponsor)."),
    click.option("--obligor-phone", help="The obligor's phone."),
    click.option("--obligor-email", help="The obligor's e-mail."),
    click.option("--relationship", help="The obligor's relationship to the person."),
    click.option("--conditions", help="Release conditions, e.g. ATD."),
)
def bond(app: App, a_number: str, case: str | None, at: str | None, amount: str | None,
         obligor: str | None, obligor_phone: str | None, obligor_email: str | None,
         relationship: str | None, conditions: str | None) -> None:
    _run(app, case, a_number, "bond", at=at, amount=amount, obligor=obligor,
         obligor_phone=obligor_phone, obligor_email=obligor_email, relationship=relationship,
         conditions=conditions)


@_move_command(
    "post", "Record that the bond was paid (→ BOND_POSTED).",
    click.option("--receipt", help="ICE Form I-305 receipt number."),
    click.option("--method", type=click.Choice(PAYMENT_METHODS), help="How it was paid."),
)
def post(app: App, a_number: str, case: str | None, at: str | None, receipt: str | None,
         method: str | None) -> None:
    _run(app, case, a_number, "post", at=at, receipt=receipt, method=method)


@_move_command(
    "release", "Record a release (→ RELEASED); without a posted bond give --reason.", _reason,
    click.option("--imposed-bond", metavar="DOLLARS",
                 help="Bond ICE actually imposed (none or 0: none), checked against the order."),
    click.option("--imposed-conditions",
                 help='Conditions ICE imposed, e.g. "ankle-monitor", checked against the order.'),
)
def release(app: App, a_number: str, case: str | None, at: str | None, reason: str | None,
            imposed_bond: str | None, imposed_conditions: str | None) -> None:
    _run(app, case, a_number, "release", at=at, reason=reason, imposed_bond=imposed_bond,
         imposed_conditions=imposed_conditions)


@_move_command(
    "exclude",
    "Exclude a person from the order: mandatory detention, security threat (→ EXCLUDED).",
    click.option("--reason", required=True, type=click.Choice(EXCLUSION_REASONS),
                 help="Why the order does not cover them."),
    click.option("--note", help="Who decided, and on what basis."),
)
def exclude(app: App, a_number: str, case: str | None, at: str | None, reason: str,
            note: str | None) -> None:
    _run(app, case, a_number, "exclude", at=at, reason=reason, note=note)


@_move_command("depart", "The person left the country or was removed (→ DEPARTED).",
               click.option("--reason", required=True,
                            help="How they left (left the country, removed)."))
def depart(app: App, a_number: str, case: str | None, at: str | None, reason: str | None) -> None:
    _run(app, case, a_number, "depart", at=at, reason=reason)


@_move_command("not-in-custody", "The person was already out before the order (→ NOT_IN_CUSTODY).",
               _reason)
def not_in_custody(app: App, a_number: str, case: str | None, at: str | None,
                   reason: str | None) -> None:
    _run(app, case, a_number, "not-in-custody", at=at, reason=reason)


@_move_command("redetain", "A released person is held again (RELEASED → LOCATING).", _reason)
def redetain(app: App, a_number: str, case: str | None, at: str | None, reason: str | None) -> None:
    _run(app, case, a_number, "redetain", at=at, reason=reason)


@click.command()
@click.argument("a_number")
@click.argument("text")
@order_option
@pass_app
def note(app: App, a_number: str, text: str, case: str | None) -> None:
    """Add a note to a person's history (changes no stage)."""
    _run(app, case, a_number, "note", note=text)
