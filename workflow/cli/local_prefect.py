"""`bondtrack prefect start|stop|status`: the local Prefect server that runs reuse.

No Prefect import here: the server is a process of its own (``prefect server start``).
"""

from __future__ import annotations

import click

from workflow.cli.common import (
    App,
    output_options,
    pass_app,
    print_record,
)
from workflow.runners import prefect_server


@click.group()
def prefect() -> None:
    """A local Prefect server for this BONDTRACK_HOME, reused by `run`, `scheduler` and `serve`."""


@prefect.command()
@click.option("--ui", is_flag=True, help="Serve Prefect's web UI too (off by default).")
@pass_app
def start(app: App, ui: bool) -> None:
    """Start the local Prefect server (127.0.0.1, a free port), or reuse the running one."""
    before = prefect_server.status(app.settings)
    server = prefect_server.start(app.settings, ui=ui)
    verb = "already running" if before is not None and before.pid == server.pid else "started"
    click.echo(f"local Prefect server {verb} at {server.url} (pid {server.pid})")


@prefect.command()
@pass_app
def stop(app: App) -> None:
    """Stop the local Prefect server; its recorded runs stay in its database."""
    server = prefect_server.stop(app.settings)
    click.echo(f"stopped the local Prefect server (pid {server.pid})" if server else
               "no local Prefect server is running")


@prefect.command()
@output_options
@pass_app
def status(app: App, fmt: str) -> None:
    """Whether the local Prefect server runs and answers; exit 1 when it does not."""
    server = prefect_server.status(app.settings)
    if print_record({"running": server is not None, "healthy": bool(server and server.healthy),
                     "pid": server.pid if server else None,
                     "api_url": server.api_url if server else None}, fmt):
        pass
    elif server is None:
        click.echo("no local Prefect server is running; `bondtrack prefect start` starts one")
    else:
        state = "healthy" if server.healthy else "not answering (starting?)"
        click.echo(f"local Prefect server at {server.url} (pid {server.pid}): {state}")
    if server is None or not server.healthy:
        raise click.exceptions.Exit(1)
