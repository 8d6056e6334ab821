"""The 615-person demo and a staff member's next steps, logging everything at DEBUG to a file.

Run in a process of its own under the default umask (022), so Prefect starts fresh with its
home inside the demo's home, and what is private must be private by construction, not
because the CLI happened to set a umask:

- ``python -m tests.privacy_demo build HOME LOG``: `bondtrack demo --home HOME` at the
  suite's demo instant (tests/fixtures_demo.py builds the run's one 615-person demo so);
- ``python -m tests.privacy_demo after HOME LOG SMTP_PORT``: on a copy of that home, what
  staff do next (tests/demo/test_privacy.py).

The log is appended to, so one file holds both.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from workflow.core.files import ensure_private_dir

STAFF = "duty@example.org"


def debug_log(log: Path) -> logging.Handler:
    """Everything logged at DEBUG into ``log``, Prefect's own loggers included."""
    os.environ["PREFECT_LOGGING_LEVEL"] = "DEBUG"
    handler = logging.FileHandler(log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    return handler


def build(home: Path, log: Path) -> None:
    """`bondtrack demo --home HOME`, as a user runs it, at the suite's demo instant."""
    from tests.fixtures_demo import NOW
    from workflow.cli import main
    from workflow.core import clock

    debug_log(log)
    clock._clock = clock.fixed(NOW)  # the demo is built around the clock
    main(["demo", "--home", str(home)], prog_name="bondtrack", standalone_mode=False)


def after_the_demo(home: Path, log: Path, smtp_port: str) -> None:
    """What staff do next, through the same functions the commands call: send the e-mails,
    export the list, back it up, and run every scheduled job once."""
    os.environ.update({
        "BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": "", "BONDTRACK_SMTP_PORT": smtp_port,
        "BONDTRACK_NOTICES_STAFF_EMAILS": STAFF,
    })
    handler = debug_log(log)
    import workflow.runners.flows  # noqa: F401  (Prefect set up as a run sets it up)
    from workflow.core import config
    from workflow.demo import NOW
    from workflow.notices.sending import send_notices
    from workflow.orders.orders import resolve_order
    from workflow.record import backup, db
    from workflow.record.audit import Actor
    from workflow.runners import scheduler
    from workflow.views import export

    logging.getLogger("prefect").addHandler(handler)  # then its own loggers joined to the file
    settings = config.load()
    database = db.connect(settings)
    actor = Actor("staff")
    try:
        print(send_notices(database, settings, case=None, kinds=(), now=NOW, worker="privacy"))
        with database.read() as session:
            order_id = resolve_order(session, None).id
        exports = ensure_private_dir(home / "exports")
        export.export_people(database, order_id, fmt="csv", path=exports / "people.csv",
                             actor=actor, now=NOW)
        backups = ensure_private_dir(home / "backups")
        backup.backup(database, backups / "demo.backup", actor=actor, now=NOW)
        scheduler.run(database, settings, case=None, once=True, say=print, rehearse_from=NOW)
    finally:
        database.dispose()
    print("done: the next steps")


if __name__ == "__main__":
    os.umask(0o022)
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        after_the_demo(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
