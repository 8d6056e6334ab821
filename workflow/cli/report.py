"""`bondtrack report|export|dashboard`: the court report, offline exports, the dashboard.

The heavy parts (WeasyPrint, openpyxl, Jinja2) load inside the commands, so
`bondtrack --help` and `bondtrack status` never pay for them.
"""

from __future__ import annotations

from pathlib import Path

import click

from workflow.cli.common import App, order_option, pass_app
from workflow.core import clock, dates

_out = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.command()
@order_option
@click.option("--as-of", "as_of", metavar="TIME",
              help='State the record as it stood at this time, in court time'
                   ' (e.g. "2025-11-21 12:00"); default: now.')
@click.option("--format", "fmt", metavar="FORMAT",
              help="pdf, html, csv, xlsx or json (default: from the file name).")
@click.option("--out", required=True, type=_out, help="The file to write (private to you).")
@pass_app
def report(app: App, case: str | None, as_of: str | None, fmt: str | None, out: Path) -> None:
    """The compliance report for the court: who is out, who is not, and why not."""
    from workflow.core.files import format_for
    from workflow.views import compliance

    fmt = format_for(out, fmt, compliance.FORMATS)
    now = clock.now()
    with app.order_session(case) as (_, court_order):
        order_id, tz = court_order.id, court_order.time_zone
    moment = dates.parse_instant(as_of, tz) if as_of else None
    written = compliance.generate_report(app.database, order_id, fmt=fmt, path=out,
                                         actor=app.actor(), now=now, settings=app.settings,
                                         as_of=moment)
    click.echo(f"wrote the compliance report ({written.rows} people) to {written.path}")


@click.command()
@order_option
@click.option("--format", "fmt", metavar="FORMAT",
              help="csv, xlsx or json (default: from the file name).")
@click.option("--stage", "stages", multiple=True, metavar="STAGE",
              help="Only people in this stage; repeat for several.")
@click.option("--out", required=True, type=_out, help="The file to write (private to you).")
@pass_app
def export(app: App, case: str | None, fmt: str | None, stages: tuple[str, ...], out: Path) -> None:
    """Everyone's record for offline work (CSV, XLSX, JSON); formula-safe and audited."""
    from workflow.core.files import FORMATS, format_for
    from workflow.views.export import export_people

    fmt = format_for(out, fmt, FORMATS)
    with app.order_session(case) as (_, court_order):
        order_id = court_order.id
    written = export_people(app.database, order_id, fmt=fmt, path=out, actor=app.actor(),
                            now=clock.now(), stages=stages)
    click.echo(f"exported {written.rows} {'person' if written.rows == 1 else 'people'}"
               f" to {written.path}")


@click.command()
@order_option
@click.option("--out", required=True, type=_out, help="The HTML file to write (private to you).")
@click.option("--open", "open_it", is_flag=True, help="Open it in the browser afterwards.")
@pass_app
def dashboard(app: App, case: str | None, out: Path, open_it: bool) -> None:
    """A static HTML dashboard: countdown, burndown, funnel, places, who is furthest behind."""
    from workflow.views.dashboard import write_dashboard

    with app.order_session(case) as (_, court_order):
        order_id = court_order.id
    path = write_dashboard(app.database, order_id, path=out, now=clock.now(), settings=app.settings)
    click.echo(f"wrote the dashboard to {path}")
    if open_it:
        click.launch(str(path))
