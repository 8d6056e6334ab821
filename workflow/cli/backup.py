"""`bondtrack backup|restore|purge`: copies of the data, and deleting it when a case closes."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.cli.common import (
    App,
    output_options,
    pass_app,
    print_record,
)
from workflow.core import clock


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The backup file to write (private to you; keep it as safe as the database).")
@pass_app
def backup(app: App, out: Path) -> None:
    """Copy the whole database to a file, consistently, even while others are working."""
    from workflow.record.backup import backup as make_backup

    app.database.check_schema()
    made = make_backup(app.database, out, actor=app.actor(), now=clock.now())
    click.echo(f"backup written to {made.path} ({made.size:,} bytes)")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@pass_app
def restore(app: App, file: Path, yes: bool) -> None:
    """Replace everything in the database with a backup made by `bondtrack backup`."""
    from workflow.record.backup import holds_data
    from workflow.record.backup import restore as restore_backup

    replacing = holds_data(app.database)
    if replacing and not yes:
        click.confirm("Replace everything in the database with this backup?", abort=True,
                      err=True)
    revision = restore_backup(app.database, file, actor=app.actor(), now=clock.now())
    click.echo(f"restored {file.name} (schema {revision})"
               + ("" if replacing else "; the database was empty, so nothing was replaced"))


@click.command()
@click.option("--order", "case", required=True, metavar="CASE",
              help="Case number of the closed case whose people are deleted.")
@click.option("--confirm", is_flag=True,
              help="Delete for good; without it, only show what would be deleted.")
@output_options
@pass_app
def purge(app: App, case: str, confirm: bool, fmt: str) -> None:
    """Delete every person of a closed case and all about them; the purge itself stays on record."""
    from workflow.record import backup as backups

    with app.order_session(case, write=confirm) as (session, court_order):
        if confirm:
            result = backups.purge(session, court_order, actor=app.actor(), now=clock.now(),
                                   settings=app.settings)
        else:
            result = backups.plan_purge(session, court_order)
    if confirm:
        backups.wipe_free_space(app.database)
    if print_record(result.as_dict(), fmt):
        return
    verb = "deleted" if confirm else "would delete"
    rows = ", ".join(f"{n} {table}" for table, n in sorted(result.rows.items()) if n)
    click.echo(f"{result.case_number}: {verb} {result.people} people ({rows or 'no rows'})"
               f" and {result.outbox_files} outbox file(s)")
    if result.outstanding:
        click.echo(f"{result.outstanding} of them are still outstanding", err=True)
    if result.files_elsewhere:
        click.echo("written earlier, outside the database (delete these yourself): "
                   + "; ".join(result.files_elsewhere), err=True)
    if not confirm:
        click.echo("nothing deleted: add --confirm to delete it for good")
