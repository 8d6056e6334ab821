"""The `bondtrack` command: a thin, lazily loaded layer over plain functions.

Each subcommand lives in a module of this package and is imported only when
it runs (or when --help lists it), so `bondtrack status` never pays for
Prefect, Alembic, APScheduler or WeasyPrint.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from workflow.core import processes
from workflow.core.errors import BondtrackError, ValidationError, debugging, public

# command name → "module:attribute" inside workflow.cli
COMMANDS = {
    "init": "setup:init",
    "demo": "setup:demo",
    "order": "order:order",
    "import": "people:import_command",
    "status": "people:status",
    "list": "people:list_command",
    "show": "people:show",
    "apply": "people:apply",
    "search": "moves:search",
    "locate": "moves:locate",
    "transfer": "moves:transfer",
    "bond": "moves:bond",
    "post": "moves:post",
    "release": "moves:release",
    "exclude": "moves:exclude",
    "depart": "moves:depart",
    "not-in-custody": "moves:not_in_custody",
    "redetain": "moves:redetain",
    "note": "moves:note",
    "terms": "terms:terms",
    "assign": "terms:assign",
    "report": "report:report",
    "export": "report:export",
    "dashboard": "report:dashboard",
    "notices": "notices:notices",
    "run": "run:run",
    "serve": "serve:serve",
    "prefect": "local_prefect:prefect",
    "alerts": "alerts:alerts",
    "scheduler": "scheduler:scheduler",
    "backup": "backup:backup",
    "restore": "backup:restore",
    "purge": "backup:purge",
    "bonds": "bonds:bonds",
    "hearing": "hearings:hearing",
    "facility": "facility:facility",
    "field-office": "facility:field_office",
    "user": "users:user",
    "web": "web:web",
    "sms": "sms:sms",
    "caseload": "caseload:caseload",
    "queue": "caseload:queue",
    "locator": "locator:locator",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, and whose errors are one line."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy[cmd_name].split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        return getattr(module, attribute)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BondtrackError as exc:
            if isinstance(exc, ValidationError):
                for problem in exc.problems:
                    click.echo(problem, err=True)
            raise click.ClickException(str(exc)) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader went away (`| head`): ``entry`` ends quietly
        except Exception as exc:  # the edge: no traceback, no personal data
            if debugging():
                raise
            raise click.ClickException(
                f"{public(exc)}; set BONDTRACK_DEBUG=1 to see the details") from None


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bondtrack", prog_name="bondtrack")
def main() -> None:
    """Track every person covered by a court-ordered release, against the deadline.

    Data lives in BONDTRACK_HOME (default ~/.local/share/bondtrack), private to
    you; BONDTRACK_DATABASE_URL points at PostgreSQL instead. Start with
    `bondtrack init`, `bondtrack order add` and `bondtrack import`.
    """
    # Everything bondtrack writes (database, letters, exports) is for its owner only.
    os.umask(0o077)


def entry() -> None:
    """The installed `bondtrack` command: ``main``, then, once Prefect is loaded, a quick exit
    (``processes.exit_now``)."""
    try:
        main(prog_name="bondtrack")
        code: Any = 0
    except SystemExit as done:
        code = done.code
    try:
        for stream in (sys.stdout, sys.__stdout__):
            if stream is not None:
                stream.flush()
    except BrokenPipeError:
        # The reader went away (`bondtrack list --json | head -2`), in any output format: what
        # is still buffered goes nowhere, so the interpreter's last flush says nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())  # type: ignore[union-attr]
        code = 1
    if "prefect" in sys.modules:
        processes.exit_now(code)
    sys.exit(code)
