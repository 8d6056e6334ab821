"""`bondtrack caseload` and `bondtrack queue`: who works on whom, and what is next for each."""

from __future__ import annotations

from typing import Any

import click

from workflow.cli.common import App, human_time, order_option, output_options, pass_app, print_rows
from workflow.core import clock
from workflow.core.errors import NotFoundError, ValidationError

CASELOAD_COLUMNS = ("owner", "role", "outstanding", "due", "overdue")
QUEUE_COLUMNS = ("a_number", "family_name", "given_name", "stage", "action_words", "detail",
                 "due", "owner", "flags")


def _filters(f: Any) -> Any:
    for option in reversed((
            click.option("--stage", default="", help="Only people in this stage."),
            click.option("--facility", default="", help="Only people held at this facility code."),
            click.option("--field-office", default="", help="Only people held in this ERO area."),
            click.option("--unowned", is_flag=True,
                         help="Only people nobody owns (or whose owner's account is disabled)."))):
        f = option(f)
    return f


@click.group()
def caseload() -> None:
    """Who works on whom: give people to staff and attorneys, and see each one's load."""


@caseload.command()
@click.argument("email")
@click.argument("a_numbers", nargs=-1)
@click.option("--round-robin", "spread", metavar="EMAIL,EMAIL,...",
              help="Spread the people evenly over these accounts (EMAIL is then the first).")
@_filters
@order_option
@output_options
@pass_app
def assign(app: App, email: str, a_numbers: tuple[str, ...], spread: str | None, stage: str,
           facility: str, field_office: str, unowned: bool, case: str | None, fmt: str) -> None:
    """Give people (by A-number, or every outstanding person a filter chooses) to EMAIL."""
    from workflow.actions import caseloads

    owners = [email, *(e for e in (spread or "").split(",") if e.strip())]
    done = caseloads.assign(app.ready(), app.settings, case, owners, a_numbers, stage=stage,
                            facility=facility, field_office=field_office, unowned=unowned,
                            actor=app.actor(), now=clock.now())
    _said(done, fmt, f"{done['changed']} of {done['people']} people assigned to "
                     f"{', '.join(done['owners'])}")


@caseload.command()
@click.argument("a_numbers", nargs=-1)
@_filters
@order_option
@output_options
@pass_app
def unassign(app: App, a_numbers: tuple[str, ...], stage: str, facility: str,
             field_office: str, unowned: bool, case: str | None, fmt: str) -> None:
    """Take people (by A-number or by a filter) out of every caseload."""
    from workflow.actions import caseloads

    done = caseloads.assign(app.ready(), app.settings, case, [], a_numbers, stage=stage,
                            facility=facility, field_office=field_office, unowned=unowned,
                            actor=app.actor(), now=clock.now())
    _said(done, fmt, f"{done['changed']} of {done['people']} people have no owner now")


def _said(done: dict[str, Any], fmt: str, line: str) -> None:
    if fmt in ("json", "csv"):
        print_rows([{"people": done["people"], "changed": done["changed"],
                     "owners": ",".join(done["owners"])}], ("people", "changed", "owners"), fmt)
    else:
        click.echo(line)


@caseload.command("list")
@order_option
@output_options
@pass_app
def list_command(app: App, case: str | None, fmt: str) -> None:
    """Per owner: outstanding people, actions due within a day, actions overdue."""
    from workflow.actions import caseloads

    rows = caseloads.caseload_list(app.ready(), app.settings, case, now=clock.now())
    shown = [{**row, "owner": row["owner"] or "(nobody)"} for row in rows] \
        if fmt not in ("json", "csv") else rows
    print_rows(shown, CASELOAD_COLUMNS, fmt, title="Caseloads")


@click.command()
@click.option("--mine", is_flag=True, help="Only your people (the account of the operator).")
@click.option("--owner", metavar="EMAIL", help="Only this account's people.")
@click.option("--unowned", is_flag=True, help="Only people nobody owns.")
@click.option("--limit", type=int, default=50, show_default=True, help="How many actions.")
@order_option
@output_options
@pass_app
def queue(app: App, mine: bool, owner: str | None, unowned: bool, limit: int, case: str | None,
          fmt: str) -> None:
    """Each person's next action, soonest due first; those that will miss the deadline first."""
    from workflow.actions import caseloads

    if sum((mine, bool(owner), unowned)) > 1:
        raise click.UsageError("choose one of --mine, --owner and --unowned")
    chosen = app.settings.operator if mine else owner or ("unowned" if unowned else "all")
    try:
        rows = caseloads.next_actions(app.ready(), app.settings, case, owner=chosen,
                                      limit=limit, now=clock.now())
    except (NotFoundError, ValidationError) as exc:
        if not mine:
            raise
        raise ValidationError(f"--mine is the account of the operator {chosen!r}, and there is"
                              " none: set BONDTRACK_OPERATOR to your e-mail, or use"
                              " --owner EMAIL") from exc
    if fmt not in ("json", "csv"):
        zone = app.time_zone(case)
        rows = [{**row, "due": human_time(row["due"], zone), "owner": row["owner"] or "",
                 "flags": _flags(row)} for row in rows]
    else:
        rows = [{**row, "flags": _flags(row)} for row in rows]
    print_rows(rows, QUEUE_COLUMNS, fmt, title=f"Next {len(rows)} actions")


def _flags(row: dict[str, Any]) -> str:
    words = (["misses the deadline"] if row["misses_deadline"] else []) + \
        (["overdue"] if row["overdue"] else []) + list(row["findings"])
    return ", ".join(words)
