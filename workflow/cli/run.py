"""`bondtrack run sweep|reconcile`: run a Prefect flow here and now, and print what it found.

Prefect is imported only inside these commands (it takes a second or two),
after the order is checked, so a typo fails at once. ``--quiet`` prints counts only, never a
person: what a cron job or a service may send to mail and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from workflow.cli.common import (
    App,
    intake_options,
    order_option,
    output_options,
    pass_app,
    print_json,
    print_rows,
    print_table,
)
from workflow.core import clock, dates, display
from workflow.core.errors import BondtrackError
from workflow.runners import prefect_server
from workflow.views import reports

TOP = 50
PEOPLE_COLUMNS = ["id", "a_number", "stage", "facility", "hours_in_stage", "checks"]
OUTCOME_COLUMNS = ["outcome", "id", "a_number", "stage", "facility"]


@click.group()
def run() -> None:
    """Run a Prefect flow now: the sweep, a custody-list reconciliation, or who is due for a
    look-up."""


def _now_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--now", "at", metavar="TIME",
                        help="Act as of this time, court time (default: now).")(f)


def say_where_runs_go(flows: ModuleType) -> None:
    """On a temporary Prefect server (no local one answering), say how to make it faster."""
    if flows.TARGET == flows.TEMPORARY:
        click.echo(prefect_server.HINT, err=True)


def _quiet_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--quiet", "-q", is_flag=True,
                        help="Print counts only, no A-number (for cron and services).")(f)


def _instant(app: App, case: str | None, at: str | None) -> tuple[str, datetime | None]:
    """The order's case number (checked before Prefect starts) and --now as an instant."""
    with app.order_session(case) as (_, court_order):
        when = dates.parse_instant(at, court_order.time_zone) if at else None
        return court_order.case_number, when


@run.command("sweep")
@order_option
@_now_option
@click.option("--top", type=click.IntRange(min=1), default=TOP, show_default=True, metavar="N",
              help="Show the N people longest in their stage (--json and --csv list everyone).")
@_quiet_option
@output_options
@pass_app
def sweep_command(app: App, case: str | None, at: str | None, top: int, quiet: bool,
                  fmt: str) -> None:
    """Check every outstanding person; record and print the new findings and the projection."""
    from workflow.actions import sweep
    from workflow.runners import flows

    case_number, now = _instant(app, case, at)
    say_where_runs_go(flows)
    summary = flows.run_sweep(case_number, now)
    people = sweep.new_findings(app.ready(), case_number, summary.last_event_id)
    if quiet:
        _sweep_counts(summary, len(people), fmt)
        return
    if fmt == "json":
        print_json({**summary.as_dict(), "new": people})
        return
    if fmt == "csv":  # one row per person with new findings, as the table shows them
        print_rows(people, PEOPLE_COLUMNS, "csv")
        return
    _sweep_summary(summary)
    if not people:
        click.echo("no new findings")
        return
    # A terminal table of 100,000 rows helps nobody and costs hundreds of megabytes.
    shown = people[:top]
    title = f"{len(people)} people with new findings, longest in their stage first"
    if len(shown) < len(people):
        title = f"{len(shown)} of {title}"
    shown = [{**row, "time_in_stage": display.span(row["hours_in_stage"] * 3600)} for row in shown]
    print_table(shown, [c if c != "hours_in_stage" else "time_in_stage" for c in PEOPLE_COLUMNS],
                title=title)


def _sweep_summary(summary: Any) -> None:
    click.echo(f"sweep of {summary.case_number}: {summary.checked} outstanding people checked"
               f" in {summary.batches} batch(es)")
    print_table(summary.as_dict()["checks"], ["check", "found", "new"])
    for line in reports.describe_projection(summary.projection):
        click.echo(line)


def _sweep_counts(summary: Any, people: int, fmt: str) -> None:
    """The sweep in counts: checks, projection, and how many people have new findings."""
    if fmt == "json":
        print_json({**summary.as_dict(), "people_with_new_findings": people})
    elif fmt == "csv":
        print_rows(summary.as_dict()["checks"], ["check", "found", "new"], "csv")
    else:
        _sweep_summary(summary)
        click.echo(f"{people} people with new findings" if people else "no new findings")


@run.command("locate")
@order_option
@_now_option
@output_options
@pass_app
def locate_command(app: App, case: str | None, at: str | None, fmt: str) -> None:
    """Who is due for a look-up now (counts: `bondtrack locator due` names them)."""
    from workflow.runners import flows

    case_number, now = _instant(app, case, at)
    say_where_runs_go(flows)
    counts = flows.run_locate(case_number, now)
    if fmt in ("json", "csv"):
        print_rows([counts], list(counts), fmt)
        return
    click.echo(f"locate run for {case_number}: due for a look-up: {counts['due']}"
               f" ({counts['call_office']} to ask the field office)")
    if "looked_up" in counts:
        click.echo(f"looked up by the automated locator client: {counts['looked_up']} (found"
                   f" {counts['found']}, to confirm {counts['to_confirm']}, not found"
                   f" {counts['not_found']}, no facility listed {counts['no_facility']},"
                   f" released {counts['released']}); blocked {counts['blocked']}, errors"
                   f" {counts['errors']}, no country of birth {counts['no_country']}")


@run.command("reconcile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@order_option
@click.option("--dry-run", is_flag=True, help="Match and report, change nothing.")
@click.option("--yes", is_flag=True,
              help="Go ahead when the list would flag more than half the people in custody"
                   " as missing.")
@intake_options
@_now_option
@_quiet_option
@output_options
@pass_app
def reconcile_command(app: App, file: Path, case: str | None, dry_run: bool, yes: bool,
                      encoding: str, sheet: str | None, at: str | None, quiet: bool,
                      fmt: str) -> None:
    """Match a government custody list (CSV/XLSX: a_number, facility_code or facility_name,
    book_in_date, status; or ICE's own column names) against the order: locate, transfer,
    flag the missing. The list is checked whole before any flow starts."""
    from workflow.actions import uploads

    case_number, now = _instant(app, case, at)
    warning = uploads.check_custody_list(app.ready(), case_number, file, now=now or clock.now(),
                                         encoding=encoding, sheet=sheet,
                                         ask_missing=not (dry_run or yes))
    if warning:
        raise BondtrackError(f"{warning}, then run again with --yes")
    from workflow.runners import flows  # Prefect starts only for a list that is fit to run

    say_where_runs_go(flows)
    report = flows.run_reconcile(app.settings, file, case_number, dry_run=dry_run, now=now,
                                 encoding=encoding, sheet=sheet)
    counts = [{"outcome": k.replace("_", " "), "count": v} for k, v in report.counts().items()]
    if quiet and fmt in ("json", "csv"):
        print_rows(counts, ["outcome", "count"], fmt)
        return
    people = uploads.reconcile_people(app.ready(), report)
    if fmt == "json":
        print_json({**report.as_dict(), "people": people})
        return
    if fmt == "csv":  # one row per person the list changed or flagged
        print_rows(people, OUTCOME_COLUMNS, "csv")
        return
    for note in report.notes:
        click.echo(note, err=True)
    verb = "would change" if dry_run else "changed"
    click.echo(f"custody list {file.name}: {report.rows} lines; {verb}:")
    print_table(counts, ["outcome", "count"])
    if quiet:
        return
    if people:
        print_table(people, OUTCOME_COLUMNS, title="people")
    if report.strangers:
        lines = ", ".join(str(n) for n in report.strangers)
        click.echo(f"{len(report.strangers)} A-number(s) not in the order, on line(s) {lines}:"
                   " not imported")
