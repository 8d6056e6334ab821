"""`bondtrack notices`: render letters, send e-mails through the outbox, list the outbox."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from workflow.cli.common import (
    App,
    human_time,
    order_option,
    output_options,
    pass_app,
    print_record,
    print_rows,
)
from workflow.core import clock
from workflow.core.stages import Stage

# workflow.notices.letters.LETTER_KINDS, spelled out so `--help` loads no Babel or Jinja2
# (tests/notices/test_notices_cli.py checks that the two agree).
LETTER_KINDS = ("client", "obligor", "demand", "hearing", "demand-notice", "refund-packet")
STATUSES = ("pending", "claimed", "sending", "sent", "failed", "needs-review", "to-print",
            "printed")
# The table's columns; --json also has language and created_at.
LIST_COLUMNS = ("id", "kind", "channel", "person", "recipient", "status", "attempts", "sent_at",
                "error")
_SELECTION = ("kind", "stage", "facility", "a_number", "language")


@click.group()
def notices() -> None:
    """Letters (PDF/HTML) and e-mails, each sent exactly once."""


@notices.command()
@click.option("--kind", type=click.Choice(LETTER_KINDS),
              help="client: each person; obligor: who pays a set bond; demand: each ICE field"
                   " office; hearing: each person with a hearing ahead; demand-notice: the obligor"
                   " of a bond ICE demanded; refund-packet: a cancelled bond's refund request.")
@click.option("--queued", is_flag=True,
              help="Instead of --kind: the updated letters queued to print (people with no"
                   " e-mail), each printed once.")
@click.option("--stage", type=click.Choice([s.value for s in Stage], case_sensitive=False),
              help="Only people in this stage.")
@click.option("--facility", metavar="CODE", help="Only people held at this facility.")
@click.option("--a-number", metavar="A#", help="Only this person.")
@click.option("--language", metavar="CODE",
              help="Write every letter in this language (default: each reader's own).")
@click.option("--format", "file_format", type=click.Choice(("pdf", "html")), default="pdf",
              show_default=True, help="PDF to print, or HTML.")
@click.option("--one-file", is_flag=True, help="One printable file, each letter on a new page.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the letters (created private to you).")
@output_options
@order_option
@pass_app
def render(app: App, kind: str | None, queued: bool, stage: str | None, facility: str | None,
           a_number: str | None, language: str | None, file_format: str, one_file: bool,
           out: Path, fmt: str, case: str | None) -> None:
    """Render letters into --out; file names carry internal ids, never names."""
    from workflow.actions import letters

    chosen = [f"--{name.replace('_', '-')}" for name, value in zip(
        _SELECTION, (kind, stage, facility, a_number, language), strict=True) if value]
    if queued and chosen:
        raise click.UsageError(f"--queued prints what is queued; it takes no {', '.join(chosen)}")
    if not queued and not kind:
        raise click.UsageError("say which letters: --kind client|obligor|demand, or --queued")
    app.database.check_schema()
    with _progress_bar() as progress:
        batch = letters.render(app.database, app.settings, case=case, kind=kind, out=out,
                               now=clock.now(), actor=app.actor(), fmt=file_format,
                               one_file=one_file, stage=stage, facility=facility,
                               a_number=a_number, language=language, progress=progress)
    summary = batch.summary()
    if not print_record(summary, fmt):
        _say_what_was_made(summary, out, one_file)


def _say_what_was_made(summary: dict[str, Any], out: Path, one_file: bool) -> None:
    """The render's summary in lines; people by internal id only."""
    from workflow.actions.letters import interpreter_reason

    where = summary["files"][0] if one_file and summary["files"] else str(out)
    click.echo(f"{summary['letters']} {summary['kind']} letter(s) in {where}")
    if summary["languages"]:
        languages = sorted(summary["languages"].items())
        click.echo("languages: " + ", ".join(f"{k} {v}" for k, v in languages))
    for code, people in sorted(summary["needs_translation"].items()):
        click.echo(f"needs a translation into '{code}' (sent in English): "
                   + ", ".join(f"person #{pid}" for pid in people))
    for code, people in sorted(summary["interpreter_needed"].items()):
        click.echo(f"interpreter needed ('{code}', {interpreter_reason(code)}): "
                   + ", ".join(f"person #{pid}" for pid in people))
    if summary["without_field_office"]:
        click.echo(f"{len(summary['without_field_office'])} outstanding people are at a facility"
                   " with no field office recorded: not in any demand letter")
    if summary["failed"]:
        click.echo(f"{len(summary['failed'])} queued letter(s) could not be printed: see"
                   " `bondtrack notices list --status failed`")


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on a terminal's stderr, fed by the core's ``progress(phase, done, total)``."""
    from rich.console import Console
    from rich.progress import Progress, TaskID

    console = Console(stderr=True)
    if not console.is_terminal:  # a pipe or a log gets the summary only
        yield None
        return
    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


@notices.command()
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only this kind: obligor, alert, digest, or any kind in the outbox"
                   " (repeatable; default: every pending e-mail).")
@click.option("--dry-run", is_flag=True, help="Say what would be queued and sent; send nothing.")
@output_options
@order_option
@pass_app
def send(app: App, kinds: tuple[str, ...], dry_run: bool, fmt: str, case: str | None) -> None:
    """Queue obligor e-mails and owed updated letters, then send pending e-mails over SMTP,
    each exactly once."""
    from workflow.actions import letters

    app.database.check_schema()
    counts = letters.send(app.database, app.settings, case=case, kinds=kinds, now=clock.now(),
                          worker=f"{socket.gethostname()}:{os.getpid()}", dry_run=dry_run)
    if print_record(counts, fmt):
        return
    to_print = counts.pop("to-print")
    click.echo(", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items()))
    if to_print:
        click.echo(f"{to_print} letter(s) to print (no e-mail on file):"
                   " `bondtrack notices render --queued --out DIR`")


@notices.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only notices in this status.")
@output_options
@order_option
@pass_app
def list_command(app: App, status: str | None, fmt: str, case: str | None) -> None:
    """The outbox: every queued e-mail and letter to print, and what became of it."""
    from workflow.actions import letters

    with app.order_session(case) as (session, court_order):
        rows = letters.outbox_rows(session, court_order, status=status)
        title = f"Outbox, order {court_order.case_number}"
        tz = court_order.time_zone
    if fmt not in ("json", "csv"):
        rows = [{**row, "sent_at": human_time(row["sent_at"], tz)} for row in rows]
    print_rows(rows, LIST_COLUMNS, fmt, title=title)


@notices.command()
@click.argument("notice_id", type=int)
@click.option("--delivered", "verdict", flag_value="delivered",
              help="It did arrive: mark it sent (a letter: printed).")
@click.option("--resend", "verdict", flag_value="resend",
              help="It did not arrive: send (or print) it again.")
@order_option
@pass_app
def resolve(app: App, notice_id: int, verdict: str | None, case: str | None) -> None:
    """Settle a needs-review (or failed) e-mail or letter after checking whether it arrived."""
    from workflow.actions import letters

    if verdict is None:
        raise click.UsageError("say --delivered or --resend")
    with app.order_session(case, write=True) as (session, court_order):
        status = letters.resolve_notice(session, court_order, notice_id,
                                        delivered=verdict == "delivered", actor=app.actor(),
                                        now=clock.now())
    click.echo(f"notice #{notice_id}: {status}")
