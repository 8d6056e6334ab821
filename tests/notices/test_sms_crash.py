"""SIGKILL between the provider's answer and the record: the text is left for review, and
nothing is texted twice.

A `bondtrack sms send` child announces each step (workflow/crashpoints.py) and is killed at
the Nth ``sms-accepted``: the provider has the text, the database still says ``sending``.
The next run, once the dead worker's lease has run out, marks that text ``needs-review``
and sends the rest; the stand-in counts what reached it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_sms import StandIn, sms_env
from tests.fixtures_web import write_people
from workflow.core import clock, config
from workflow.notices.sms import consent, outbox
from workflow.orders import orders
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Notice

CHILD = """
import itertools, os, signal, sys
from workflow.core import crashpoints
seen = itertools.count(1)
kill_at = int(sys.argv[1])

def hook(step):
    if step == crashpoints.SMS_ACCEPTED and next(seen) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

crashpoints.install(hook)
from workflow.cli import main
main(["sms", "send"])
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [1, 3])
def test_a_worker_killed_after_the_provider_accepted_a_text_leaves_it_for_review(
        kill_at: int, cli, court_order: str, twilio: StandIn, sms_on: config.Settings,  # type: ignore[no-untyped-def]
        database: db.Database, tmp_path: Path) -> None:
    cli("import", write_people(tmp_path / "people.csv"))
    now = clock.now()
    with database.write() as session:
        order = orders.resolve_order(session, court_order)
        for n, person in enumerate(session.scalars(select(Detainee).order_by(Detainee.id))):
            consent.record(session, person, role="client", phone=f"+1312555010{n}", how="form",
                           actor=Actor("t"), now=now)
            outbox.enqueue(session, order=order, detainee=person, role="client", kind="test",
                           context={}, key=f"crash:{n}", now=now, settings=sms_on)
    child = subprocess.run([sys.executable, "-c", CHILD, str(kill_at)], capture_output=True,
                           env={**os.environ, **sms_env(twilio.url)}, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert len(twilio.sent()) == kill_at  # the kill came after the provider's answer
    with database.write() as session:
        assert session.scalars(select(Notice.status).order_by(Notice.id)).all()[kill_at - 1] == (
            outbox.SENDING)
    later = datetime.now(UTC) + timedelta(seconds=sms_on.section("sms")["lease_seconds"] + 1)
    counts = outbox.deliver(database, sms_on, now=later, worker="next")
    assert counts["needs-review"] == 1 and counts["sent"] == 3 - kill_at
    with database.write() as session:
        statuses = session.scalars(select(Notice.status).order_by(Notice.id)).all()
    assert statuses == ["sent"] * (kill_at - 1) + ["needs-review"] + ["sent"] * (3 - kill_at)
    received = [r["To"] for r in twilio.sent()]
    assert sorted(received) == ["+13125550100", "+13125550101", "+13125550102"]  # once each
    outbox.deliver(database, sms_on, now=later + timedelta(hours=1), worker="again")
    assert len(twilio.sent()) == 3
