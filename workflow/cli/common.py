"""What every command shares: settings and database, --order, output formats."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from workflow.core import config
from workflow.core.errors import BondtrackError
from workflow.core.identity import shown
from workflow.record import db
from workflow.record.audit import Actor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.models import CourtOrder


class App:
    """Per-invocation state, built lazily so `--help` touches no file."""

    @cached_property
    def settings(self) -> config.Settings:
        return config.load()

    @cached_property
    def database(self) -> db.Database:
        return db.connect(self.settings)

    def ready(self) -> db.Database:
        """The database, once it is known to be set up (else: run `bondtrack init`)."""
        self.database.check_schema()
        return self.database

    def actor(self, source: str = "cli") -> Actor:
        return Actor(operator=self.settings.operator, source=source)

    @contextmanager
    def write(self) -> Iterator[Session]:
        self.database.check_schema()
        with self.database.write() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.database.check_schema()
        with self.database.read() as session:
            yield session

    @contextmanager
    def order_session(self, case: str | None,
                      write: bool = False) -> Iterator[tuple[Session, CourtOrder]]:
        """A session and the order named by --order (or the only one)."""
        from workflow.actions.orders import resolve

        with (self.write() if write else self.read()) as session:
            yield session, resolve(session, case)

    def time_zone(self, case: str | None) -> str:
        """The court's zone of the order named by --order: the zone its times are read in."""
        with self.order_session(case) as (_, court_order):
            return court_order.time_zone

    def court_zone(self) -> str:
        """The zone for times that belong to no order (an account's lockout): the only
        order's, else the configured court zone."""
        try:
            return self.time_zone(None)
        except BondtrackError:
            return self.settings.time_zone


pass_app = click.make_pass_decorator(App, ensure=True)


def order_option(f: Callable) -> Callable:
    return click.option(
        "--order", "case", metavar="CASE", help="Case number of the order (default: the only one)."
    )(f)


def intake_options(f: Callable) -> Callable:
    """--encoding and --sheet: how every spreadsheet command reads its file."""
    f = click.option("--sheet", metavar="NAME",
                     help="XLSX sheet to read (default: the one whose header fits best).")(f)
    return click.option("--encoding", type=click.Choice(["auto", "utf-8", "cp1252"]),
                        default="auto", show_default=True,
                        help="CSV text encoding; auto reads Windows-1252 when not UTF-8.")(f)


def output_options(f: Callable) -> Callable:
    """--table (default), --json, --csv: the same choice on every command that prints data."""
    for flag, text in (
        ("csv", "Print CSV."),
        ("json", "Print JSON (stable keys, ISO 8601 times)."),
        ("table", "Print a table (the default)."),
    ):
        # Only --table has a default: a default of False on the others reached the command as
        # the text "False", so `fmt == "table"` never held.
        default: dict[str, Any] = {"default": True} if flag == "table" else {}
        f = click.option(f"--{flag}", "fmt", flag_value=flag, help=text, **default)(f)
    return f


def human_time(iso_text: str | None, tz: str) -> str:
    """``2025-11-21T12:00:00-06:00`` → ``Fri 21 Nov 2025, 12:00 CST`` (in zone ``tz``)."""
    from workflow.core.display import moment

    return moment(iso_text, tz)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    from workflow.core.files import inert

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([inert(_plain(shown(row, c))) for c in columns])


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str],
                title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    cells = [[_plain(_table_cell(row, c)) for c in columns] for row in rows]
    table = Table(title=title, header_style="bold")
    for index, column in enumerate(columns):
        # No word (a case number, an A-number, "data-production") is ever cut in two:
        # each column is at least as wide as its longest word.
        longest = max((len(word) for line in cells for word in line[index].split()), default=0)
        table.add_column(column.replace("_", " "), overflow="fold", min_width=longest or None)
    for line in cells:
        table.add_row(*line)
    # Piped or redirected, the table takes the width it needs, so grep finds what is there.
    Console(width=None if sys.stdout.isatty() else 100_000).print(table)


_STAGE_COLUMNS = frozenset({"stage", "from_stage", "to_stage"})


def _table_cell(row: Mapping[str, Any], column: str) -> Any:
    """A cell as people read it: stages as words ("Bond set"); CSV and JSON keep the codes."""
    if column in _STAGE_COLUMNS and row.get(column):
        from workflow.core.display import stage

        return stage(row[column])
    return shown(row, column)


def flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested record as one CSV row: dotted keys; a list is its JSON text."""
    row: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            row.update(flat(value, f"{name}."))
        elif isinstance(value, list | tuple):
            row[name] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            row[name] = value
    return row


def print_record(data: Mapping[str, Any], fmt: str) -> bool:
    """--json or --csv (one row) of what a command reports; False: print the human form."""
    if fmt == "json":
        print_json(data)
    elif fmt == "csv":
        row = flat(data)
        print_csv([row], list(row))
    return fmt in ("json", "csv")


def print_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str,
               title: str | None = None) -> None:
    if fmt == "json":
        print_json(list(rows))
    elif fmt == "csv":
        print_csv(rows, columns)
    else:
        print_table(rows, columns, title)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


# Shared by `status` and `order show`; here so that status does not load the order commands.
def describe_stay(data: dict[str, Any], tz: str) -> list[str]:
    """The stay in a line or two: since when, by what, the clock stopped; and time stayed."""
    from workflow.core.display import span

    lines = []
    if data["stayed"]:
        lines.append(f"STAYED since {human_time(data['stayed_since'], tz)}"
                     f" ({data['stay_docket']}): deadlines, alerts and at-risk findings are"
                     " paused; time left when stayed " + span(data["effective_seconds_left"]))
    if data["seconds_stayed"]:
        lines.append(f"time stayed: {span(data['seconds_stayed'])}")
    return lines


def print_order_changes(data: dict[str, Any], tz: str) -> None:
    """Status's block for an order that moves: stay, obligations, terms findings, languages."""
    for line in describe_stay(data, tz):
        click.echo(line)
    print_obligations(data["obligations"], tz)
    findings = data["terms_findings"]
    if findings:
        click.echo(f"terms findings: {len(findings)} people released or held on terms the order"
                   " does not allow (`bondtrack status --json` lists them)")
        for finding in findings[:5]:
            click.echo(f"  {finding['detail']}")
    if data["interpreter_needed"]:
        languages = ", ".join(f"{code} {n}" for code, n
                              in data["interpreter_needed_by_language"].items())
        click.echo(f"interpreter needed: {data['interpreter_needed']} ({languages})")
    if data["language_unknown"]:
        click.echo(f"language unknown: {data['language_unknown']}")


def print_obligations(rows: list[dict[str, Any]], tz: str) -> None:
    shown = [{**row, "due": human_time(row["due"], tz), "done_at": human_time(row["done_at"], tz)}
             for row in rows]
    print_table(shown, ["key", "kind", "due", "owed_by", "state", "done_at", "done_by", "note"],
                title="obligations")
