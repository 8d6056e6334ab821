"""`bondtrack import|status|list|show|apply`: the class list and where everyone stands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from workflow.cli.common import (
    App,
    human_time,
    intake_options,
    order_option,
    output_options,
    pass_app,
    print_json,
    print_order_changes,
    print_record,
    print_rows,
    print_table,
)
from workflow.core import clock, display
from workflow.core.identity import shown
from workflow.core.money import dollars
from workflow.core.stages import Stage
from workflow.views import reports

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("import")
@click.argument("file", type=_file)
@order_option
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
@click.option("--skip-invalid", "rejects", type=click.Path(dir_okay=False, path_type=Path),
              metavar="REJECTS.csv",
              help="Import the valid rows; write the others here with reasons.")
@intake_options
@output_options
@pass_app
def import_command(app: App, file: Path, case: str | None, dry_run: bool, rejects: Path | None,
                   encoding: str, sheet: str | None, fmt: str) -> None:
    """Import the class list (CSV or XLSX); all rows or, with problems, none.

    A facility may be given by code, by name, or by name with its city and state
    (columns such as "Detention Facility Code" or "Current Detention Facility"). With stage
    and date columns (located at, bond set at, posted at, released at, ...), each person's
    history too, with the file's dates: see "Starting from your spreadsheet" in the README.
    """
    from workflow.actions import uploads

    with _progress() as progress:
        result = uploads.import_class_list(
            app.ready(), app.settings, case, file, actor=app.actor("import"), now=clock.now(),
            dry_run=dry_run, rejects=rejects, progress=progress, encoding=encoding, sheet=sheet)
    for line in (*result.notes, *result.problems):
        click.echo(line, err=True)
    if print_record(result.summary(), fmt):
        return
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{verb}: {result.created} new, {result.updated} updated ({result.field_changes} fields),"
        f" {result.unchanged} unchanged, {result.rejected} rejected"
        + (f"; rejects written to {rejects}" if rejects and result.rejected else "")
    )
    if result.history is not None:
        click.echo(describe_history(result.history, dry_run))
    if result.ignored_columns:
        click.echo(f"ignored columns: {', '.join(result.ignored_columns)}", err=True)


def describe_history(history: dict, dry_run: bool) -> str:
    """``recorded from the file's history: LOCATED 3, RELEASED 2 (5 moves; ...)``."""
    moves = history["moves"]
    verb = "would record" if dry_run else "recorded"
    per_stage = ", ".join(f"{stage} {n}" for stage, n in moves.items()) or "nothing new"
    total = sum(moves.values())
    notes = [f"{total} move{'' if total == 1 else 's'}"]
    if history["undated"]:
        notes.append(f"{history['undated']} with no date of their own")
    if history["behind"]:
        notes.append(f"{history['behind']} people already further on than the file says")
    return f"{verb} from the file's history: {per_stage} ({'; '.join(notes)})"


class _progress:
    """A progress bar on stderr for large files; silent for small ones and non-terminals."""

    def __enter__(self) -> Callable[[int, int], None]:
        self.bar: Any = None
        return self.update

    def update(self, done: int, total: int) -> None:
        if total < 5000 or not sys.stderr.isatty():
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            # On stderr, so a redirected stdout (a --json report) never holds the bar.
            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("checking rows", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command()
@order_option
@click.option("--by", type=click.Choice(reports.PLACES),
              help="Outstanding people per facility or ICE field office, with the oldest wait.")
@output_options
@pass_app
def status(app: App, case: str | None, by: str | None, fmt: str) -> None:
    """Deadline, time left and how many people are in each stage."""
    now = clock.now()
    if by:
        with app.order_session(case) as (session, court_order):
            rows = reports.by_place(session, court_order, now, by)
        columns = reports.place_columns(by)
        if fmt not in ("json", "csv"):  # machines keep the hours as a number
            columns[-1] = "oldest_in_stage"
            rows = [{**row, "oldest_in_stage": display.span(row["oldest_in_stage_hours"] * 3600)}
                    for row in rows]
        print_rows(rows, columns, fmt, title=f"outstanding by {by}")
        return
    from workflow.actions import orders

    print_status(orders.status(app.ready(), app.settings, case, now=now), fmt)


def print_status(data: dict, fmt: str) -> None:
    """Status as JSON, CSV or the human summary and table."""
    if fmt == "json":
        print_json(data)
        return
    rows = [{"stage": stage, "people": n} for stage, n in data["by_stage"].items()]
    rows += [{"stage": key, "people": data[key]} for key in ("covered", "resolved", "outstanding")]
    if fmt == "csv":
        print_rows(rows, ["stage", "people"], "csv")
        return
    order_data = data["order"]
    tz = order_data["time_zone"]
    click.echo(f"{order_data['case_number']}  {order_data['court']}  {order_data['judge']}")
    click.echo(f"deadline {human_time(order_data['deadline'], tz)} ({tz})")
    if not data.get("stayed"):
        click.echo(display.time_left(data["seconds_left"]))
    warning = data.get("scheduler", {}).get("warning")
    if warning:
        click.echo(warning)
    for line in reports.describe_projection(data["projection"]) if "projection" in data else ():
        click.echo(line)
    if "obligations" in data:
        print_order_changes(data, tz)
    print_table(rows, ["stage", "people"])


@click.command("list")
@order_option
@click.option("--stage", type=click.Choice([s.value for s in Stage], case_sensitive=False),
              help="Only people in this stage.")
@click.option("--facility", metavar="CODE", help="Only people at this facility.")
@output_options
@pass_app
def list_command(app: App, case: str | None, stage: str | None, facility: str | None,
                 fmt: str) -> None:
    """List the people in an order, by A-number."""
    now = clock.now()
    with app.order_session(case) as (session, court_order):
        rows = reports.list_people(session, court_order, now,
                                   stage=stage.upper() if stage else None, facility=facility)
    columns = ["id", "a_number", "family_name", "given_name", "stage", "facility", "hours_in_stage"]
    if fmt not in ("json", "csv"):  # CSV and JSON keep the hours as a number
        columns[-1] = "time_in_stage"
        rows = [{**row, "time_in_stage": display.span(
            (now - datetime.fromisoformat(row["stage_since"])).total_seconds())} for row in rows]
    print_rows(rows, columns if fmt != "json" else [], fmt, title=f"{len(rows)} people")


@click.command()
@click.argument("a_number")
@order_option
@output_options
@pass_app
def show(app: App, a_number: str, case: str | None, fmt: str) -> None:
    """One person's record and full history (any A-number spelling)."""
    from workflow.actions import people

    record = people.person_record(app.ready(), case, a_number)
    if print_record(record, fmt):
        return
    tz = app.time_zone(case)
    for key in ("id", "a_number", "family_name", "given_name", "date_of_birth", "country_of_birth",
                "language", "stage", "stage_since", "exclusion_reason"):
        value = (_since(record[key], tz) if key == "stage_since"
                 else display.stage(record[key]) if key == "stage" else shown(record, key))
        click.echo(f"{key.replace('_', ' '):>16}: {value or ''}")
    facility = record["facility"]
    click.echo(f"{'facility':>16}: {facility['code'] + ' ' + facility['name'] if facility else ''}")
    for bond in record["bonds"]:
        amount = dollars(bond["amount_cents"]) if bond["amount_cents"] is not None else "?"
        posted = human_time(bond["posted_at"], tz) if bond["posted_at"] else "not posted"
        click.echo(f"{'bond':>16}: {amount} set {human_time(bond['set_at'], tz)}, {posted}")
    if record["bond_events"]:
        last = record["bond_events"][-1]
        click.echo(f"{'bond state':>16}: {last['state']} since {human_time(last['at'], tz)}")
    if hearing := record["next_hearing"]:
        click.echo(f"{'next hearing':>16}: {human_time(hearing['at'], hearing['time_zone'])}"
                   f" {hearing['court_name']}"
                   f" ({hearing['kind']})")
    rows = [
        {
            **e,
            "at": human_time(e["at"], tz),
            "what": sentence,
            "move": (f"{display.stage(e['from_stage'])} → {display.stage(e['to_stage'])}"
                     if e["to_stage"] else ""),
        }
        for e, sentence in zip(record["events"], display.history(record["events"], tz),
                               strict=True)
    ]
    print_table(rows, ["at", "what", "move", "actor", "source"], title="history")


def _since(iso_text: str, tz: str) -> str:
    """``Thu 20 Nov 2025, 12:00 CST (3 h ago)``."""
    ago = display.ago((clock.now() - datetime.fromisoformat(iso_text)).total_seconds())
    return f"{human_time(iso_text, tz)} ({ago})"


@click.command()
@click.argument("file", type=_file)
@order_option
@intake_options
@pass_app
def apply(app: App, file: Path, case: str | None, encoding: str, sheet: str | None) -> None:
    """Apply many moves from a CSV/XLSX (a_number, action, facility_code, amount, receipt, at,
    reason, note)."""
    from workflow.actions import uploads

    applied = uploads.apply_file(app.ready(), app.settings, case, file,
                                  actor=app.actor("apply"), now=clock.now(), encoding=encoding,
                                  sheet=sheet)
    click.echo(f"applied {display.plural(applied, 'move')} from {file.name}")
