"""`bondtrack init` and `bondtrack demo`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from workflow.cli.common import App, human_time, pass_app


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the database (safe to run again)."""
    from workflow.actions import places
    from workflow.core import clock
    from workflow.record import db

    db.upgrade(app.database)
    synced = places.sync_directory(app.database, actor=app.actor(), now=clock.now())
    click.echo("facility directory: " + _counts(synced.facilities) + "; field offices: "
               + _counts(synced.field_offices))
    where = app.settings.database_url if not app.settings.is_sqlite else str(app.settings.home)
    if not app.settings.is_sqlite:
        where = where.split("@")[-1]  # never echo a password
    click.echo(f"database ready (schema {db.head_revision()}) in {where}")


def _counts(outcome: dict[str, int]) -> str:
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in sorted(outcome.items()))


@click.command()
@click.option("--people", default=615, show_default=True, type=click.IntRange(1, 200_000),
              help="How many synthetic people.")
@click.option("--seed", default=2025, show_default=True, help="Random seed (same seed, same demo).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path),
              help="Where to build it (default: beside the home in use, BONDTRACK_HOME's"
                   " name with '-demo').")
def demo(people: int, seed: int, home: Path | None) -> None:
    """Build a synthetic order like the real one and walk it to the eve of the deadline.

    Never touches your real data: the demo lives in its own home, rebuilt on each run.
    """
    from workflow import demo as demo_module
    from workflow.cli.people import print_status

    result = demo_module.run(people=people, seed=seed, home=home, say=click.echo)
    now = human_time(result.status["now"], result.status["order"]["time_zone"])
    click.echo(f"\nstatus as of {now} (the demo's now):")
    print_status(result.status, "table")
    click.echo(f"\nexplore it: BONDTRACK_HOME={result.home} bondtrack list --stage BOND_SET")
    click.echo(how_to_run())


def how_to_run() -> str:
    """Where the ``bondtrack`` command is, for someone who just ran ``make demo``."""
    folder = Path(sys.executable).parent
    if shutil.which("bondtrack") == str(folder / "bondtrack"):
        return "the bondtrack command is on your PATH"
    try:
        shown = folder.relative_to(Path.cwd())
    except ValueError:
        shown = folder
    return f"to run bondtrack: {shown}/bondtrack, or `source {shown}/activate` first"
