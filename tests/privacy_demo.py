"""The whole demo and a staff member's next steps, logging everything at DEBUG to a file.

Run by tests/demo/test_privacy.py in a process of its own (``python -m tests.privacy_demo
HOME LOG SMTP_PORT``), so Prefect starts fresh with its home inside the demo's
home, and under the default umask (022): what is private must be private by
construction, not because the CLI happened to set a umask.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from workflow.core.files import ensure_private_dir

STAFF = "duty@example.org"


def main(home: Path, log: Path, smtp_port: str) -> None:
    os.umask(0o022)
    os.environ.update({
        "BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": "", "BONDTRACK_SMTP_PORT": smtp_port,
        "BONDTRACK_NOTICES_STAFF_EMAILS": STAFF, "PREFECT_LOGGING_LEVEL": "DEBUG",
    })
    handler = logging.FileHandler(log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)

    from workflow import demo

    result = demo.run(people=615, home=home, say=print)
    logging.getLogger("prefect").addHandler(handler)  # Prefect set its own loggers up meanwhile
    after_the_demo(home, result)


def after_the_demo(home: Path, result) -> None:  # type: ignore[no-untyped-def]
    """What staff do next, through the same functions the commands call: send the e-mails,
    export the list, back it up, and run every scheduled job once."""
    from workflow.core import config
    from workflow.demo import NOW
    from workflow.notices.sending import send_notices
    from workflow.record import backup, db
    from workflow.record.audit import Actor
    from workflow.runners import scheduler
    from workflow.views import export

    settings = config.load()
    database = db.connect(settings)
    actor = Actor("staff")
    try:
        print(send_notices(database, settings, case=None, kinds=(), now=NOW, worker="privacy"))
        with database.read() as session:
            from workflow.orders.orders import resolve_order

            order_id = resolve_order(session, None).id
        exports = ensure_private_dir(home / "exports")
        export.export_people(database, order_id, fmt="csv", path=exports / "people.csv",
                             actor=actor, now=NOW)
        backups = ensure_private_dir(home / "backups")
        backup.backup(database, backups / "demo.backup", actor=actor, now=NOW)
        scheduler.run(database, settings, case=None, once=True, say=print, rehearse_from=NOW)
    finally:
        database.dispose()
    print(f"done: {result.status['total']} people")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
