"""`bondtrack scheduler`: alert checks, sweeps and the daily digest until stopped.

APScheduler (and, for the sweep, Prefect) are imported only when it runs.
"""

from __future__ import annotations

import logging
import os

import click

from workflow.cli.common import App, pass_app


@click.command()
@click.option("--order", "case", metavar="CASE",
              help="Case number of the order to watch (default: every order).")
@click.option("--once", is_flag=True,
              help="Run each job once (alert check, sweep, digest) and exit.")
@click.option("--check", is_flag=True,
              help="Exit 1 when alerts are due and no scheduler has run lately (for monitors).")
@click.option("--start-prefect", is_flag=True,
              help="Start the local Prefect server for the sweeps first, unless it runs"
                   " (it keeps running after).")
@click.option("--now", "at", metavar="TIME", hidden=True,
              help="Rehearse: the jobs' clock starts at this court time and runs on.")
@pass_app
def scheduler(app: App, case: str | None, once: bool, check: bool, start_prefect: bool,
              at: str | None) -> None:
    """Run the alert check every few minutes, the sweep, and the daily digest (one per database).

    Jobs live in the bondtrack database, so a restart neither repeats nor loses
    them; a second scheduler on the same database refuses to start. Ctrl-C or
    SIGTERM stops it after the running jobs finish.
    """
    if check:
        check_watched(app, case)
        return
    from workflow.cli.alerts import instant
    from workflow.runners import scheduler as scheduling

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.database.check_schema()
    start = instant(app, case, at) if at else None
    prepare_prefect(app, start_prefect)
    scheduling.run(app.database, app.settings, case=case, once=once, rehearse_from=start,
                   say=lambda line: click.echo(line, err=True))


def check_watched(app: App, case: str | None) -> None:
    """Say whether alerts are watched; exit 1 when they are due and no scheduler runs."""
    from workflow.actions.orders import resolve
    from workflow.core import clock
    from workflow.record import watch

    with app.read() as session:
        orders = [resolve(session, case)] if case else watch.all_orders(session)
        seen = watch.watch(session, app.settings, clock.now(), orders)
        zones = {order.time_zone for order in orders}
        zone = zones.pop() if len(zones) == 1 else "UTC"  # court time when there is one court
    if seen.unwatched:
        click.echo(seen.describe(zone), err=True)
        raise click.exceptions.Exit(1)
    click.echo(seen.describe(zone))


def prepare_prefect(app: App, start_it: bool) -> None:
    """The sweeps use the local Prefect server: start it if asked, else hint when it is down."""
    from workflow.runners import prefect_server

    if os.environ.get("PREFECT_API_URL"):
        return
    if start_it:
        server = prefect_server.start(app.settings)
        click.echo(f"local Prefect server at {server.url} (pid {server.pid})", err=True)
    elif prefect_server.running(app.settings) is None:
        click.echo(prefect_server.HINT, err=True)
