"""`bondtrack bonds`: the ledger, each bond with its next deadline, and the bond's events."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.actions import bonds as bonding
from workflow.cli.common import (
    App,
    human_time,
    order_option,
    output_options,
    pass_app,
    print_json,
    print_rows,
)
from workflow.core import clock
from workflow.core.money import dollars

LIST_COLUMNS = ("bond", "person", "a_number", "name", "obligor", "amount_cents", "state",
                "since", "next_deadline", "due", "next_hearing", "refunded_cents")
TABLE_COLUMNS = ("bond", "person", "name", "amount", "state", "next_deadline", "due",
                 "next_hearing")


@click.group(invoke_without_command=True)
@order_option
@output_options
@click.pass_context
def bonds(ctx: click.Context, case: str | None, fmt: str) -> None:
    """The bonds after posting: the ledger (counts and sums per state), events, export."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(App)
    data = bonding.ledger(app.ready(), app.settings, case, now=clock.now())
    if fmt == "json":
        print_json(data)
        return
    rows = [{"state": key, "bonds": data[key]["count"], "amount_cents": data[key]["amount_cents"],
             "amount": dollars(data[key]["amount_cents"])} for key in bonding.LEDGER_KEYS]
    if fmt == "csv":
        print_rows(rows, ["state", "bonds", "amount_cents"], "csv")
        return
    print_rows(rows, ["state", "bonds", "amount"], "table", title=f"Bonds, order {data['order']}")
    click.echo(f"interest received: {dollars(data['interest_cents'])}")
    click.echo(f"refunds pending over {data['refund_overdue_days']} days:"
               f" {len(data['refunds_overdue'])}")
    for item in data["refunds_overdue"]:
        click.echo(f"  bond #{item['bond']} (person #{item['person']}): {item['state']},"
                   f" cancelled {item['days']} days ago")
    obligors = [{**o, **{k.removesuffix("_cents"): dollars(o[k])
                         for k in ("posted_cents", "held_cents", "refunded_cents")}}
                for o in data["by_obligor"]]
    print_rows(obligors, ["obligor", "bonds", "posted", "held", "refunded"], "table",
               title="Money by obligor (held: still with ICE)")


@bonds.command("list")
@click.option("--status", type=click.Choice(bonding.STATES),
              help="Only bonds in this state.")
@order_option
@output_options
@pass_app
def list_command(app: App, status: str | None, case: str | None, fmt: str) -> None:
    """One row per posted bond, with the next date that can lose it (demand, appeal)."""
    rows = bonding.bond_rows(app.ready(), case, now=clock.now(), status=status)
    if fmt not in ("json", "csv"):
        rows = [{**row, "due": human_time(row["due"], row["time_zone"]),
                 "next_hearing": human_time(row["next_hearing"], row["next_hearing_time_zone"])}
                for row in rows]
    print_rows(rows, TABLE_COLUMNS if fmt not in ("json", "csv") else LIST_COLUMNS, fmt,
               title=f"{len(rows)} bonds")


@bonds.command()
@click.argument("a_number")
@click.argument("event", type=click.Choice(bonding.EVENTS))
@click.option("--date", "when", metavar="D", help="When it happened (court time; default now).")
@click.option("--due", metavar="TIME", help="demand: the surrender date and time (court time).")
@click.option("--amount", metavar="DOLLARS", help="refunded: the money that came back.")
@click.option("--reason", help="cancelled: case-closed, status-granted, departed, removed, other.")
@click.option("--outcome", type=click.Choice(bonding.OUTCOMES),
              help="appeal-decided: granted (the breach is set aside) or denied.")
@click.option("--name", help="designee: who gets the refund (Form I-312).")
@click.option("--in-person", is_flag=True,
              help="breached: the I-323 was handed over, not mailed (30 days to appeal, not 33).")
@click.option("--note", metavar="TEXT", help="Anything else (kept in the bond's history).")
@order_option
@pass_app
def record(app: App, a_number: str, event: str, when: str | None, due: str | None,
           amount: str | None, reason: str | None, outcome: str | None, name: str | None,
           in_person: bool, note: str | None, case: str | None) -> None:
    """Record an event of a person's posted bond; the state table says which may come next."""
    from workflow.core.money import parse_amount

    try:
        cents = parse_amount(amount) if amount else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--amount") from None
    click.echo(bonding.record_event(
        app.ready(), case, a_number, event, actor=app.actor(), now=clock.now(), at=when,
        due=due, amount_cents=cents, reason=reason, outcome=outcome, name=name,
        in_person=in_person, note=note))


@bonds.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .xlsx file to write (private to you).")
@order_option
@pass_app
def export(app: App, out: Path, case: str | None) -> None:
    """The ledger and every bond as an XLSX workbook for the bond fund (audited)."""
    written = bonding.export_ledger(app.ready(), app.settings, case, out, actor=app.actor(),
                                    now=clock.now())
    click.echo(f"wrote the bond ledger ({written.rows} bonds) to {written.path}")

