"""`bondtrack web`: the browser workspace, served by waitress."""

from __future__ import annotations

import logging
import os

import click

from workflow.cli.common import App, pass_app


@click.command()
@click.option("--host", metavar="ADDRESS",
              help="Address to listen on (default: 127.0.0.1, this machine only).")
@click.option("--port", type=int, help="Port to listen on (default: 8000).")
@pass_app
def web(app: App, host: str | None, port: int | None) -> None:
    """Serve the browser workspace (sign in with an account from `bondtrack user add`)."""
    import waitress

    from workflow.web import create_app

    settings = app.settings.section("web")
    host, port = host or settings["host"], port if port is not None else settings["port"]
    level = os.environ.get("BONDTRACK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app.database.check_schema()
    wsgi = create_app(app.settings, app.database)
    click.echo(f"bondtrack web: http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    waitress.serve(wsgi, host=host, port=port, threads=int(settings["threads"]),
                   ident="bondtrack", clear_untrusted_proxy_headers=True)
