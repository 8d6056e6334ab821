"""`bondtrack facility ...` and `bondtrack field-office ...`: the facility directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from workflow.actions import places
from workflow.cli.common import (
    App,
    intake_options,
    output_options,
    pass_app,
    print_json,
    print_record,
    print_rows,
)
from workflow.core import clock

LIST_COLUMNS = ["code", "name", "city", "state", "field_office", "time_zone", "origin"]
OFFICE_COLUMNS = ["name", "aor", "office", "address", "city", "state", "zip", "phone", "email"]


@click.group()
def facility() -> None:
    """The facility directory: DETLOC codes, names, addresses, field offices, time zones.

    A directory ships with bondtrack and `bondtrack init` loads it; what you add or
    edit here is kept when a newer one ships.
    """


def _print_facilities(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    # Tables stay narrow; JSON and CSV carry every field.
    every = fmt in ("json", "csv") and rows
    print_rows(rows, list(rows[0]) if every else LIST_COLUMNS, fmt, title=title)


@facility.command("list")
@click.option("--field-office", metavar="NAME", help="Only this field office (name or AOR).")
@click.option("--state", metavar="XX", help="Only this state.")
@output_options
@pass_app
def list_command(app: App, field_office: str | None, state: str | None, fmt: str) -> None:
    """List the facilities of the directory."""
    rows = places.facility_rows(app.ready(), field_office=field_office, state=state)
    _print_facilities(rows, fmt, f"{len(rows)} facilities")


@facility.command()
@click.argument("code")
@output_options
@pass_app
def show(app: App, code: str, fmt: str) -> None:
    """Show one facility, by code (or by a name the directory knows)."""
    row = places.facility(app.ready(), code)
    if fmt == "json":
        print_json(row)
    else:
        print_rows([row] if fmt == "csv" else [{"field": k, "value": v} for k, v in row.items()],
                   list(row) if fmt == "csv" else ["field", "value"], fmt, title=row["code"])


@facility.command("search")
@click.argument("text")
@output_options
@pass_app
def search_command(app: App, text: str, fmt: str) -> None:
    """Find facilities whose code, name, other names or city contain TEXT."""
    rows = places.search(app.ready(), text)
    _print_facilities(rows, fmt, f"{len(rows)} facilities match")


def _fields(f: Callable[..., Any]) -> Callable[..., Any]:
    for name, text in reversed((
        ("name", "Name."), ("aliases", "Other names, separated by ';'."),
        ("address", "Street address."), ("city", "City."), ("county", "County."),
        ("state", "Two-letter state."), ("zip", "ZIP code."), ("phone", "Phone."),
        ("field-office", "ERO field office (name or AOR code)."),
        ("time-zone", "IANA zone (default: from the state and county)."),
        ("posting-hours", "Cash-bond hours here when not [posting]'s, e.g. 09:00-14:00."),
    )):
        f = click.option(f"--{name}", name.replace("-", "_"), help=text)(f)
    return f


@facility.command()
@click.argument("code")
@_fields
@pass_app
def add(app: App, code: str, **values: str | None) -> None:
    """Add a facility to the directory (kept when a newer directory ships)."""
    added = places.add_facility(app.ready(), code, values, actor=app.actor(), now=clock.now())
    click.echo(f"added {added['code']}: {added['name']}"
               f" ({added['time_zone'] or 'no time zone'})")


@facility.command()
@click.argument("code")
@_fields
@pass_app
def edit(app: App, code: str, **values: str | None) -> None:
    """Change a facility; the change is kept when a newer directory ships."""
    changes = places.edit_facility(app.ready(), code, values, actor=app.actor(), now=clock.now())
    if not changes:
        click.echo("nothing changed")
    for name, (old, new) in changes.items():
        click.echo(f"{name}: {old or '(none)'} → {new}")


@facility.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@intake_options
@click.option("--dry-run", is_flag=True, help="Match and count, change nothing.")
@output_options
@pass_app
def import_command(app: App, file: Path, sheet: str | None, encoding: str, dry_run: bool,
                   fmt: str) -> None:
    """Merge a facility list: ICE's detention-statistics workbook (matched by name, city and
    state; new ones get provisional codes), a DETLOC list (pipe- or comma-delimited), or a
    CSV/XLSX with the directory's columns."""
    report = places.import_facilities(app.ready(), file, actor=app.actor("import"),
                                      now=clock.now(), sheet=sheet, encoding=encoding,
                                      dry_run=dry_run)
    if print_record(report.as_dict(), fmt):
        return
    for note in report.notes:
        click.echo(note, err=True)
    verb = "would add" if dry_run else "added"
    click.echo(f"{file.name}: {report.rows} facilities; {report.matched} matched the directory"
               f" ({report.filled} filled in); {verb} {len(report.added)} by code and"
               f" {len(report.provisional)} under provisional codes")


@click.group("field-office")
def field_office() -> None:
    """The 25 ICE ERO field offices: addresses for demand letters, states they cover."""


@field_office.command("list")
@output_options
@pass_app
def office_list(app: App, fmt: str) -> None:
    """List the field offices."""
    rows = places.office_rows(app.ready())
    every = fmt in ("json", "csv") and rows
    print_rows(rows, list(rows[0]) if every else OFFICE_COLUMNS, fmt,
               title=f"{len(rows)} field offices")


@field_office.command("show")
@click.argument("name")
@output_options
@pass_app
def office_show(app: App, name: str, fmt: str) -> None:
    """Show one field office (by name, office name or AOR code) and its facility count."""
    row = places.office(app.ready(), name)
    if fmt == "json":
        print_json(row)
    else:
        print_rows([row] if fmt == "csv" else [{"field": k, "value": v} for k, v in row.items()],
                   list(row) if fmt == "csv" else ["field", "value"], fmt, title=row["office"])


@field_office.command("edit")
@click.argument("name")
@click.option("--address", help="Street address.")
@click.option("--phone", help="Phone.")
@click.option("--email", help="E-mail.")
@click.option("--posting-hours", "posting_hours",
              help="Cash-bond hours at this office when not [posting]'s, e.g. 09:00-14:00.")
@pass_app
def office_edit(app: App, name: str, **values: str | None) -> None:
    """Change a field office; the change is kept when a newer directory ships."""
    changes = places.edit_office(app.ready(), name, values, actor=app.actor(), now=clock.now())
    if not changes:
        click.echo("nothing changed")
    for key, (old, new) in changes.items():
        click.echo(f"{key}: {old or '(none)'} → {new}")
