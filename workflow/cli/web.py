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
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Threads serving requests in this process (default: [web] threads).")
@pass_app
def web(app: App, host: str | None, port: int | None, threads: int | None) -> None:
    """Serve the browser workspace (sign in with an account from `bondtrack user add`).

    One process, several threads (waitress). On PostgreSQL, serve with more processes
    or machines by starting one `bondtrack web --port P` each behind a proxy
    (docs/deploy.md; deploy/systemd/bondtrack-web@.service starts one per port).
    """
    import waitress

    from workflow.web import create_app

    settings = app.settings.section("web")
    host, port = host or settings["host"], port if port is not None else settings["port"]
    level = os.environ.get("BONDTRACK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app.database.check_schema()
    wsgi = create_app(app.settings, app.database)
    threads = threads or int(settings["threads"])
    click.echo(f"bondtrack web: http://{host}:{port}/ with {threads} threads (Ctrl-C to stop)",
               err=True)
    waitress.serve(wsgi, host=host, port=port, threads=threads,
                   ident="bondtrack", clear_untrusted_proxy_headers=True)
