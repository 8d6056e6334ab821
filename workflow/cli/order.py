"""`bondtrack order`: the court order, its deadlines and obligations, and how it changes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.common import (
    App,
    describe_stay,
    human_time,
    order_option,
    output_options,
    pass_app,
    print_json,
    print_obligations,
    print_record,
    print_rows,
)
from workflow.core import clock, display
from workflow.views import reports

if TYPE_CHECKING:

    pass


@click.group()
def order() -> None:
    """Add, show, list and amend court orders; stays, obligations, history."""


def bond_amount_value(text: str | None, option: str = "--bond-amount") -> int | None:
    """A bond option's value: dollars, or none/0 for release without bond."""
    from workflow.actions.orders import parse_bond

    if text is None:
        return None
    try:
        return parse_bond(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def conditions_value(text: str | None) -> str | None:
    """A conditions option's value, as stored: ``atd,check-in`` or ``none``."""
    from workflow.actions.orders import normalize_conditions

    if text is None:
        return None
    try:
        return normalize_conditions(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--conditions") from None


_bond_option = click.option(
    "--bond-amount", metavar="DOLLARS",
    help="Bond the order sets, e.g. 1500; none (or 0) for release without bond.")
_conditions_option = click.option(
    "--conditions", help='Conditions the order allows, comma-separated ("atd,check-in"), or none.')


@order.command("add")
@click.option("--case", "case_number", required=True, help='Case number, e.g. "1:18-cv-03757".')
@click.option("--court", help='Court, e.g. "N.D. Ill." (required unless --parent).')
@click.option("--judge", help="Judge who entered the order (required unless --parent).")
@click.option("--deadline", required=True,
              help='Release deadline in court time, e.g. "2025-11-21 12:00".')
@click.option("--tz", "time_zone", help="The court's IANA time zone (default from config).")
@click.option("--title", help="Short title of the order.")
@click.option("--order-date", type=click.DateTime(["%Y-%m-%d"]), help="Date the order was entered.")
@click.option("--notes", help="Free-text notes.")
@click.option("--parent", metavar="CASE",
              help="Make it a sub-order of CASE: a later order for a named subset (see assign).")
@click.option("--docket", help='Docket entry that entered it, e.g. "ECF 240".')
@_bond_option
@_conditions_option
@pass_app
def add(app: App, case_number: str, court: str | None, judge: str | None, deadline: str,
        time_zone: str | None, title: str | None, order_date: datetime | None, notes: str | None,
        parent: str | None, docket: str | None, bond_amount: str | None,
        conditions: str | None) -> None:
    """Record a court order (or a sub-order) and its release deadline."""
    from workflow.actions import orders as ordering

    if not parent and not (court and judge):
        raise click.UsageError("--court and --judge are required (unless --parent)")
    fields: dict[str, Any] = {
        "case_number": case_number, "deadline": deadline, "title": title, "notes": notes,
        "order_date": order_date.date() if order_date else None, "docket": docket,
        "bond_amount_cents": bond_amount_value(bond_amount),
        "conditions": conditions_value(conditions),
        "actor": app.actor(), "now": clock.now(),
        **{key: value for key, value in (("court", court), ("judge", judge),
                                         ("time_zone", time_zone)) if value},
    }
    summary = ordering.add_order(app.ready(), app.settings, parent=parent, **fields)
    click.echo(f"added order {summary['case_number']}, deadline"
               f" {human_time(summary['deadline'], summary['time_zone'])}"
               f" ({summary['time_zone']})" + (f", sub-order of {parent}" if parent else ""))


@order.command("show")
@order_option
@output_options
@pass_app
def show(app: App, case: str | None, fmt: str) -> None:
    """Show an order: deadline in court time, time left, terms, stay, obligations, sub-orders."""

    now = clock.now()
    with app.order_session(case) as (session, court_order):
        data = reports.order_details(session, court_order, now, app.settings)
    if print_record(data, fmt):
        return
    tz = data["time_zone"]
    for key in ("case_number", "court", "judge", "title", "deadline", "time_zone", "order_date",
                "seconds_left", "parent"):
        label, value = key.replace("_", " "), data[key]
        if key == "deadline":
            value = human_time(value, tz)
        if key == "seconds_left":
            label, value = display.time_left_parts(value)
        click.echo(f"{label:>13}: {'' if value is None else value}")
    terms = data["terms"]
    click.echo(f"{'terms':>13}: bond {terms['bond']}; conditions "
               f"{', '.join(terms['conditions']) or 'none'}")
    for line in describe_stay(data, tz):
        click.echo(line)
    print_obligations(data["obligations"], tz)
    for sub in data["sub_orders"]:
        click.echo(f"{'sub-order':>13}: {sub['case_number']},"
                   f" deadline {human_time(sub['deadline'], sub.get('time_zone', tz))}")


@order.command("list")
@output_options
@pass_app
def list_(app: App, fmt: str) -> None:
    """List every order with its deadline, time left, people and outstanding."""
    from workflow.core import clock

    with app.read() as session:
        rows = reports.orders_overview(session, clock.now())
    columns = ["case_number", "court", "deadline", "time_zone", "time_left", "people",
               "outstanding"]
    for row in rows:
        label, duration = display.time_left_parts(row["seconds_left"])
        row["time_left"] = duration if label == "time left" else f"{label} {duration}"
        if fmt == "table":
            row["deadline"] = human_time(row["deadline"], row["time_zone"])
    print_rows(rows, columns, fmt, title="Court orders")


@order.group()
def obligation() -> None:
    """The order's dated obligations: releases (its deadline), status reports, data, other."""


@obligation.command("add")
@order_option
@click.option("--kind", required=True,
              type=click.Choice(["status-report", "data-production", "other", "releases"]),
              help="What is owed (releases is the order's deadline: use `order amend`).")
@click.option("--due", required=True, help='When, in court time, e.g. "2025-11-21 12:00".')
@click.option("--owed-by", type=click.Choice(["government", "counsel", "court"]),
              help="Who owes it.")
@click.option("--note", help="What exactly is owed.")
@pass_app
def obligation_add(app: App, case: str | None, kind: str, due: str, owed_by: str | None,
                   note: str | None) -> None:
    """Add an obligation the order sets."""
    from workflow.actions import orders as ordering

    key, due_text = ordering.add_obligation(app.ready(), case, kind=kind, due=due,
                                            owed_by=owed_by, note=note, actor=app.actor(),
                                            now=clock.now())
    click.echo(f"added {key}: {kind} due {human_time(due_text, app.time_zone(case))}")


@obligation.command("done")
@click.argument("key")
@order_option
@click.option("--at", metavar="TIME", help="When it was done, court time (default: now).")
@click.option("--note", help="How (filed as ECF 130, superseded, ...).")
@pass_app
def obligation_done(app: App, key: str, case: str | None, at: str | None, note: str | None) -> None:
    """Close an obligation (KEY: a number from `obligation list`, or releases)."""
    from workflow.actions import orders as ordering

    done, by = ordering.complete_obligation(app.ready(), case, key, at=at, note=note,
                                            actor=app.actor(), now=clock.now())
    click.echo(f"{done} done by {by}")


@obligation.command("list")
@order_option
@output_options
@pass_app
def obligation_list(app: App, case: str | None, fmt: str) -> None:
    """List the order's obligations: releases first, then by due time."""
    from workflow.actions import orders as ordering

    rows = ordering.obligations_of(app.ready(), case, now=clock.now())
    if fmt == "table":
        print_obligations(rows, app.time_zone(case))
    else:
        print_rows(rows, ["key", "kind", "due", "owed_by", "state", "done_at", "done_by", "note"],
                   fmt)


_docket = click.option("--docket", required=True, help='Docket entry, e.g. "ECF 123".')
_note = click.option("--note", help="What the court said, in a sentence.")
_at = click.option("--at", metavar="TIME", help="When it took effect, court time (default: now).")


@order.command("amend")
@order_option
@_docket
@click.option("--date", "docket_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Date the amending order was entered.")
@click.option("--deadline", help="New release deadline, court time.")
@_bond_option
@_conditions_option
@_note
@pass_app
def amend(app: App, case: str | None, docket: str, docket_date: datetime, deadline: str | None,
          bond_amount: str | None, conditions: str | None, note: str | None) -> None:
    """Record an amending order: new deadline and/or terms; affected people get updated letters."""
    from workflow.actions import orders as ordering

    amended, changed, letters = ordering.amend(
        app.ready(), app.settings, case, docket=docket, docket_date=docket_date.date(),
        deadline=deadline, bond_cents=bond_amount_value(bond_amount),
        conditions=conditions_value(conditions), note=note, actor=app.actor(), now=clock.now())
    click.echo(f"amended order {amended} ({docket}): {changed}")
    click.echo(letters)


@order.command("stay")
@order_option
@_docket
@_at
@_note
@pass_app
def stay(app: App, case: str | None, docket: str, at: str | None, note: str | None) -> None:
    """Record a stay: deadlines, alerts and at-risk findings pause until it is lifted."""
    from workflow.actions import orders as ordering

    stayed, since = ordering.stay(app.ready(), case, docket=docket, at=at, note=note,
                                  actor=app.actor(), now=clock.now())
    click.echo(f"order {stayed} stayed since {human_time(since, app.time_zone(stayed))}"
               f" ({docket})")


@order.command("lift-stay")
@order_option
@_docket
@_at
@click.option("--new-deadline", help="The deadline the court set on lifting the stay, court time.")
@_note
@pass_app
def lift_stay(app: App, case: str | None, docket: str, at: str | None, new_deadline: str | None,
              note: str | None) -> None:
    """Record that the stay is lifted (the old deadline stands unless --new-deadline)."""
    from workflow.actions import orders as ordering

    lifted = ordering.lift_stay(app.ready(), app.settings, case, docket=docket, at=at,
                                new_deadline=new_deadline, note=note, actor=app.actor(),
                                now=clock.now())
    click.echo(f"stay lifted after {display.span(lifted['stayed_seconds'])}; deadline"
               f" {human_time(lifted['deadline'], app.time_zone(case))}")
    click.echo(lifted["letters"])


@order.command("history")
@order_option
@output_options
@pass_app
def history(app: App, case: str | None, fmt: str) -> None:
    """Every version of the order: each change with its docket entry, date and actor."""
    from workflow.actions import orders as ordering

    rows = ordering.history(app.ready(), case)
    if fmt == "json":
        print_json(rows)
        return
    columns = ["version", "at", "kind", "docket", "docket_date", "actor", "deadline", "bond",
               "conditions", "stayed", "details"]
    tz = app.time_zone(case)
    shown = [{**row, "at": human_time(row["at"], tz), "deadline": human_time(row["deadline"], tz),
              "bond": ordering.bond_text(row["bond_amount_cents"]),
              "details": "; ".join(filter(None, [row["details"], row["note"]]))} for row in rows]
    print_rows(shown, columns, fmt, title="order history")

