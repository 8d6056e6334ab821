"""The outbox against a real SMTP server: every e-mail arrives once, whatever happens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.fixtures_notices import (
    NOW,
    OBLIGOR_EMAILS,
    Letters,
    Mailbox,
    SmtpServer,
    order_of,
    with_smtp,
)
from tests.support import CASE
from workflow.core import config
from workflow.notices.letters import render_staff_email
from workflow.notices.sending import queue_obligor_emails
from workflow.record import outbox
from workflow.record.models import Notice
from workflow.record.outbox import deliver, enqueue_email

STAFF_ADDRESSES = ("duty@example.org", "counsel@example.org")
ALERT_CONTEXT = {
    "order": {"case_number": "1:18-cv-03757", "court": "N.D. Ill.",
              "deadline_local": "Fri 21 Nov 2025, 12:00 CST", "time_zone": "America/Chicago"},
    "title": "24 hours left: 8 people outstanding", "threshold": "T-24h",
    "time_left": "1 d", "counts": {"LOCATED": 3, "BOND_SET": 2}, "outstanding": 8,
    "at_risk": [{"id": 2, "stage": "LOCATED", "facility": "KROMEFL", "hours_in_stage": 30.5}],
    "projection": None, "moves_yesterday": None, "command": "bondtrack status --at-risk",
}


def queue_everything(case: Letters, settings: config.Settings) -> int:
    """Two obligor e-mails and two staff alerts, as the send command and the alerts do."""
    subject, html, text = render_staff_email("alert", ALERT_CONTEXT, settings)
    with case.database.write() as session:
        order = order_of(session, case.order_id)
        queued = queue_obligor_emails(session, order, settings, now=NOW)
        for address in STAFF_ADDRESSES:
            queued += enqueue_email(session, order=order, kind="alert", recipient=address,
                                    subject=subject, html=html, text=text,
                                    key=f"alert:T-24h:{address}", now=NOW,
                                    settings=settings) is not None
    return queued


def statuses(case: Letters) -> dict[str, str]:
    with case.database.read() as session:
        return {n.recipient: n.status for n in session.scalars(select(Notice))}


def notice_of(case: Letters, recipient: str) -> Notice:
    with case.database.read() as session:
        notice = session.scalars(select(Notice).where(Notice.recipient == recipient)).one()
        session.expunge(notice)
        return notice


ALL = (*OBLIGOR_EMAILS.values(), *STAFF_ADDRESSES)


def test_two_send_runs_deliver_every_email_once(letters_order: Letters, smtp_server: SmtpServer,
                                                 mailbox: Mailbox, cli) -> None:  # type: ignore[no-untyped-def]
    settings = with_smtp(letters_order.settings, smtp_server.port)
    assert queue_everything(letters_order, settings) == 4
    first = json.loads(cli("notices", "send", "--json").output)
    second = json.loads(cli("notices", "send", "--json").output)
    assert first == {"queued": 0, "sent": 4, "retrying": 0, "failed": 0, "needs-review": 0,
                     "to-print": 0}
    assert second == {"queued": 0, "sent": 0, "retrying": 0, "failed": 0, "needs-review": 0,
                      "to-print": 0}
    assert sorted(address for m in mailbox.messages for address in m.rcpt_tos) == sorted(ALL)
    assert set(statuses(letters_order).values()) == {"sent"}


def test_the_notices_flow_sends_what_send_sends_once(
        letters_order: Letters, smtp_server: SmtpServer, mailbox: Mailbox,
        prefect_harness: None) -> None:
    """The `notices` deployment's flow, run twice: each obligor e-mail arrives once."""
    from workflow.runners import flows

    stamp = int(NOW.timestamp())
    first = flows.notices(case=CASE, now=stamp)
    second = flows.notices(case=CASE, now=stamp)
    for engine in flows._DATABASES.values():
        engine.dispose()
    assert (first["queued"], first["sent"], second["queued"], second["sent"]) == (2, 2, 0, 0)
    assert sorted(a for m in mailbox.messages for a in m.rcpt_tos) == \
        sorted(OBLIGOR_EMAILS.values())


def test_send_queues_obligor_emails_itself_once(letters_order: Letters, smtp_server: SmtpServer,
                                                mailbox: Mailbox, cli) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(cli("notices", "send", "--json").output)["queued"] == 2
    assert json.loads(cli("notices", "send", "--json").output)["queued"] == 0
    assert sorted(a for m in mailbox.messages for a in m.rcpt_tos) == \
        sorted(OBLIGOR_EMAILS.values())
    message = message_from_bytes(mailbox.to("ana.nunez@example.org")[0].content,
                                 policy=policy.default)
    assert message["Subject"] == "Fianza de José Núñez: cómo pagarla"
    assert message["From"] == "bondtrack@localhost"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "A012-345-678" in text and "$1,500.00" in text and "<p>" not in text
    assert "A012-345-678" in html and "<table" in html


def test_a_changed_bond_is_a_new_email_and_an_unchanged_one_is_not(
        letters_order: Letters, smtp_server: SmtpServer, mailbox: Mailbox, cli) -> None:  # type: ignore[no-untyped-def]
    cli("notices", "send")
    cli("bond", "012345678", "--amount", "2500")
    assert json.loads(cli("notices", "send", "--json").output)["sent"] == 1
    amounts = [m.content for m in mailbox.to("ana.nunez@example.org")]
    assert len(amounts) == 2 and b"evil@example.org" not in b"".join(amounts)


def test_enqueue_is_idempotent(letters_order: Letters) -> None:
    with letters_order.database.write() as session:
        order = order_of(session, letters_order.order_id)
        first = enqueue_email(session, order=order, kind="alert", recipient="duty@example.org",
                              subject="s", html="<p>h</p>", text="h", key="alert:1", now=NOW)
        again = enqueue_email(session, order=order, kind="alert", recipient="duty@example.org",
                              subject="s", html="<p>h</p>", text="h", key="alert:1", now=NOW)
    assert first is not None and again is None
    path = Path(first.file_path)  # type: ignore[arg-type]
    assert path.parent == letters_order.settings.home / "outbox"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_an_smtp_outage_loses_nothing(letters_order: Letters, mailbox: Mailbox,
                                      smtp_port: int) -> None:
    settings = with_smtp(letters_order.settings, smtp_port)
    queue_everything(letters_order, settings)
    down = deliver(letters_order.database, settings, now=NOW, worker="w1")
    assert down == {"sent": 0, "retrying": 4, "failed": 0, "needs-review": 0}
    assert set(statuses(letters_order).values()) == {"pending"}
    assert notice_of(letters_order, "duty@example.org").attempts == 1
    server = SmtpServer(mailbox, smtp_port)
    server.start()
    try:
        # Backing off: the retry is not due yet.
        assert deliver(letters_order.database, settings, now=NOW, worker="w1")["sent"] == 0
        later = NOW + timedelta(seconds=70)
        assert deliver(letters_order.database, settings, now=later, worker="w1")["sent"] == 4
        assert deliver(letters_order.database, settings, now=later, worker="w1")["sent"] == 0
    finally:
        server.stop()
    assert sorted(a for m in mailbox.messages for a in m.rcpt_tos) == sorted(ALL)


def test_a_temporary_refusal_is_retried_with_backoff(letters_order: Letters, mailbox: Mailbox,
                                                     smtp_server: SmtpServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A run's clock is its ``now`` moved on by time.monotonic(); here it stands still, so the
    # backoff is read exactly, whatever the machine's speed.
    monkeypatch.setattr(outbox, "time", SimpleNamespace(monotonic=lambda: 0.0))
    settings = with_smtp(letters_order.settings, smtp_server.port)
    queue_everything(letters_order, settings)
    mailbox.refuse_rcpt["duty@example.org"] = "451 4.3.0 mailbox busy for duty@example.org"
    counts = deliver(letters_order.database, settings, now=NOW, worker="w1")
    assert counts == {"sent": 3, "retrying": 1, "failed": 0, "needs-review": 0}
    retry = notice_of(letters_order, "duty@example.org")
    assert retry.status == "pending" and retry.attempts == 1
    assert retry.error == "451 4.3.0 mailbox busy for <address>"
    assert retry.claimed_until == NOW + timedelta(seconds=60)  # retry_seconds from the run's clock
    database = letters_order.database
    assert deliver(database, settings, now=NOW + timedelta(seconds=59), worker="w1")["sent"] == 0
    assert deliver(database, settings, now=NOW + timedelta(seconds=70), worker="w1")["sent"] == 1
    assert len(mailbox.to("duty@example.org")) == 1


def test_a_permanent_refusal_fails_with_the_reason(letters_order: Letters, mailbox: Mailbox,
                                                   smtp_server: SmtpServer) -> None:
    settings = with_smtp(letters_order.settings, smtp_server.port)
    queue_everything(letters_order, settings)
    mailbox.refuse_always["evil@example.org"] = "550 5.1.1 <evil@example.org>: no such user"
    counts = deliver(letters_order.database, settings, now=NOW, worker="w1")
    assert counts == {"sent": 3, "retrying": 0, "failed": 1, "needs-review": 0}
    failed = notice_of(letters_order, "evil@example.org")
    assert failed.status == "failed"
    assert failed.error == "the mail server refused it: 550 5.1.1 <<address>>: no such user"
    later = NOW + timedelta(days=1)
    assert deliver(letters_order.database, settings, now=later, worker="w1")["sent"] == 0


def test_retries_stop_after_max_attempts(letters_order: Letters, mailbox: Mailbox,
                                         smtp_server: SmtpServer) -> None:
    settings = with_smtp(letters_order.settings, smtp_server.port, max_attempts=3)
    queue_everything(letters_order, settings)
    mailbox.refuse_always["duty@example.org"] = "421 4.7.0 try again later"
    when = NOW
    outcomes = []
    for _ in range(3):
        counts = deliver(letters_order.database, settings, now=when, worker="w1")
        outcomes.append((counts["retrying"], counts["failed"]))
        when += timedelta(hours=1)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    gave_up = notice_of(letters_order, "duty@example.org")
    assert (gave_up.status, gave_up.attempts) == ("failed", 3)
    assert gave_up.error.startswith("gave up after 3 attempts: 421")  # type: ignore[union-attr]


def test_two_workers_at_once_send_each_email_once(letters_order: Letters, mailbox: Mailbox,
                                                  smtp_server: SmtpServer) -> None:
    settings = with_smtp(letters_order.settings, smtp_server.port, batch_size=1)
    with letters_order.database.write() as session:
        order = order_of(session, letters_order.order_id)
        for index in range(12):
            enqueue_email(session, order=order, kind="alert", recipient=f"staff{index}@example.org",
                          subject="s", html="<p>h</p>", text="h", key=f"alert:{index}", now=NOW,
                          settings=settings)
    # Worker a is held inside its first message's DATA while worker b runs: the two overlap,
    # and a's claimed e-mail is never b's. A worker's exception reaches the test through its
    # future; every wait is bounded.
    mailbox.hold_data = threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(deliver, letters_order.database, settings, now=NOW, worker="a")
        assert mailbox.hold_data.wait(timeout=60), "worker a never reached the server"
        second = pool.submit(deliver, letters_order.database, settings, now=NOW, worker="b")
        try:
            b = second.result(timeout=120)
        finally:
            mailbox.release.set()
        a = first.result(timeout=120)
    assert (a["sent"], b["sent"]) == (1, 11), "both workers sent, each its own claims"
    assert sorted(a for m in mailbox.messages for a in m.rcpt_tos) == sorted(
        f"staff{i}@example.org" for i in range(12))


def after_the_subprocess_lease(settings: config.Settings) -> datetime:
    """The subprocess ran on the real clock: its lease ends ``lease_seconds`` from now."""
    return datetime.now(UTC) + timedelta(seconds=settings.section("smtp")["lease_seconds"] + 1)


def _send_in_a_subprocess() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workflow", "notices", "send", "--kind",
                             "alert"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_when(event: threading.Event, process: subprocess.Popen) -> None:
    try:
        assert event.wait(timeout=60), "the send never reached the server"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


@pytest.mark.slow  # kills a process at an event, as the test after it: needs no machine of its own
def test_a_send_killed_during_data_leaves_needs_review_and_no_duplicate(
        letters_order: Letters, mailbox: Mailbox, smtp_server: SmtpServer, cli) -> None:  # type: ignore[no-untyped-def]
    settings = with_smtp(letters_order.settings, smtp_server.port)
    queue_everything(letters_order, settings)
    mailbox.hold_data = threading.Event()
    _kill_when(mailbox.hold_data, _send_in_a_subprocess())
    # The first alert reached the server; the process died before it could say so.
    assert statuses(letters_order)["duty@example.org"] == "sending"
    assert statuses(letters_order)["counsel@example.org"] == "claimed"  # same batch, not yet sent
    after_lease = after_the_subprocess_lease(settings)
    counts = deliver(letters_order.database, settings, now=after_lease, worker="w2")
    assert counts == {"sent": 3, "retrying": 0, "failed": 0, "needs-review": 1}
    again = deliver(letters_order.database, settings, now=after_lease, worker="w3")
    assert again == {"sent": 0, "retrying": 0, "failed": 0, "needs-review": 0}
    assert [len(mailbox.to(a)) for a in ALL] == [1, 1, 1, 1]
    review = notice_of(letters_order, "duty@example.org")
    assert review.status == "needs-review" and "check whether it arrived" in review.error  # type: ignore[operator]
    listed = json.loads(cli("notices", "list", "--status", "needs-review", "--json").output)
    assert [row["id"] for row in listed] == [review.id]


@pytest.mark.slow
def test_a_send_killed_before_data_is_taken_over_after_the_lease(
        letters_order: Letters, mailbox: Mailbox, smtp_server: SmtpServer) -> None:
    settings = with_smtp(letters_order.settings, smtp_server.port)
    queue_everything(letters_order, settings)
    mailbox.hold_rcpt = threading.Event()
    _kill_when(mailbox.hold_rcpt, _send_in_a_subprocess())
    mailbox.hold_rcpt = None
    assert statuses(letters_order)["duty@example.org"] == "claimed"
    after_lease = after_the_subprocess_lease(settings)
    counts = deliver(letters_order.database, settings, now=after_lease, worker="w2")
    assert counts == {"sent": 4, "retrying": 0, "failed": 0, "needs-review": 0}
    assert [len(mailbox.to(a)) for a in ALL] == [1, 1, 1, 1]


def test_needs_review_is_resolved_by_a_human(letters_order: Letters, mailbox: Mailbox,
                                             smtp_server: SmtpServer, cli) -> None:  # type: ignore[no-untyped-def]
    settings = with_smtp(letters_order.settings, smtp_server.port)
    queue_everything(letters_order, settings)
    with letters_order.database.write() as session:
        for notice in session.scalars(select(Notice).where(Notice.kind == "alert")):
            notice.status, notice.claimed_by, notice.claimed_until = "sending", "dead", NOW
    deliver(letters_order.database, settings, now=NOW + timedelta(seconds=1), worker="w")
    duty, counsel = (notice_of(letters_order, a) for a in STAFF_ADDRESSES)
    assert duty.status == counsel.status == "needs-review"
    assert cli("notices", "resolve", duty.id, "--delivered").output.strip() == \
        f"notice #{duty.id}: sent"
    assert cli("notices", "resolve", counsel.id, "--resend").output.strip() == \
        f"notice #{counsel.id}: pending"
    refused = cli("notices", "resolve", duty.id, "--resend", ok=False)
    assert refused.exit_code == 1 and "only needs-review or failed" in refused.output
    cli("notices", "send", "--kind", "alert")
    assert len(mailbox.to("counsel@example.org")) == 1 and not mailbox.to("duty@example.org")


def test_dry_run_sends_and_writes_nothing(letters_order: Letters, mailbox: Mailbox,
                                          smtp_server: SmtpServer, cli) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(cli("notices", "send", "--dry-run", "--json").output)
    assert out == {"would_queue": 2, "would_send": 2, "to-print": 0}
    assert statuses(letters_order) == {} and mailbox.messages == []


def test_login_failure_never_shows_the_password(letters_order: Letters, mailbox: Mailbox,
                                                smtp_port: int, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(mailbox, smtp_port, auth_require_tls=False,
                        authenticator=lambda *args: AuthResult(success=False, handled=False))
    server.start()
    monkeypatch.setenv("BONDTRACK_SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("BONDTRACK_SMTP_USERNAME", "bondtrack")
    monkeypatch.setenv("BONDTRACK_SMTP_PASSWORD", "hunter2-secret")
    try:
        result = cli("notices", "send")
    finally:
        server.stop()
    assert "retrying 2" in result.output and "hunter2" not in result.output
    listed = cli("notices", "list", "--json").output
    assert "535" in listed and "hunter2" not in listed


def test_an_address_smtp_cannot_carry_fails_at_once(letters_order: Letters, mailbox: Mailbox,
                                                    smtp_server: SmtpServer) -> None:
    settings = with_smtp(letters_order.settings, smtp_server.port)
    with letters_order.database.write() as session:
        enqueue_email(session, order=order_of(session, letters_order.order_id), kind="alert",
                      recipient="josé@example.org", subject="s", html="<p>h</p>", text="h",
                      key="alert:accent", now=NOW, settings=settings)
    assert deliver(letters_order.database, settings, now=NOW, worker="w")["failed"] == 1
    assert notice_of(letters_order, "josé@example.org").error == "the address is not plain ASCII"
