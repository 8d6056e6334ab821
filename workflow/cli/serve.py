"""`bondtrack serve`: the flows as Prefect deployments on a Prefect server."""

from __future__ import annotations

import click

from workflow.cli.common import App, order_option, pass_app


@click.command()
@order_option
@click.option("--pool", metavar="NAME",
              help="Register the deployments with this Prefect work pool and return;"
                   " its workers run them.")
@pass_app
def serve(app: App, case: str | None, pool: str | None) -> None:
    """Serve the sweep and the notices (every [sweep] interval_minutes) and reconcile as
    Prefect deployments.

    Needs PREFECT_API_URL (a Prefect server). Without --pool it runs them here
    until interrupted.
    """
    from workflow.runners import flows

    app.database.check_schema()
    flows.serve(app.settings, case, pool)
    if pool:
        click.echo(f"deployments registered with work pool {pool}; the sweep runs every"
                   f" {app.settings.section('sweep')['interval_minutes']} min on its schedule,"
                   " and `bondtrack scheduler` leaves this order's sweeps to it")
