"""The outbox: every e-mail is queued once, claimed by one worker, sent once.

A notice moves pending → claimed → sending → sent. ``claimed`` is a lease: a
worker that dies holding it leaves a claim that expires and is taken again,
which is safe because nothing reached the mail server. ``sending`` is written
just before the message is handed over (SMTP DATA); a worker that dies there
leaves a notice nobody can know the fate of, so a later run marks it
``needs-review`` for a human instead of sending it again. The mail server's
refusals are not guesses: 4xx replies retry with backoff, 5xx replies fail
with the reason.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import config, crashpoints
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import ensure_private_dir, private_file
from workflow.record import db
from workflow.record.models import CourtOrder, Detainee, Notice

PENDING, CLAIMED, SENDING, SENT = "pending", "claimed", "sending", "sent"
FAILED, NEEDS_REVIEW = "failed", "needs-review"
# A letter for someone with no e-mail address is queued to print, then printed.
TO_PRINT, PRINTED = "to-print", "printed"
STATUSES = (PENDING, CLAIMED, SENDING, SENT, FAILED, NEEDS_REVIEW, TO_PRINT, PRINTED)
EMAIL, LETTER = "email", "letter"  # the channels
RETRYING = "retrying"
OUTCOMES = (SENT, RETRYING, FAILED, NEEDS_REVIEW)
_LOST = "lost"  # the lease ran out and another worker took the notice: it is theirs now
_ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+")
_QUEUED_FILE = re.compile(r"[0-9a-f]{32}\.[a-z]+")  # see _queued_file
_INTERRUPTED = ("interrupted after the message was handed to the mail server: check whether it"
                " arrived, then `bondtrack notices resolve ID --delivered` or `--resend`")


def outbox_dir(settings: Settings) -> Path:
    return ensure_private_dir(settings.home / "outbox")


def remove_unqueued_files(session: Session, settings: Settings) -> int:
    """Delete the outbox files no notice names; how many.

    A queueing transaction writes each message file before it commits; killed
    or failed before the commit, it leaves files nobody will send, print or
    purge, each holding a person's letter. The caller's write transaction comes
    first: SQLite's BEGIN IMMEDIATE, or on PostgreSQL this lock on the table,
    waits for every open queueing transaction and holds off new ones, so a file
    still on its way into the outbox is never taken for one of these.
    """
    folder = settings.home / "outbox"
    if not folder.is_dir():
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("LOCK TABLE notices IN SHARE ROW EXCLUSIVE MODE"))
    named = {Path(p).name for p in session.scalars(
        select(Notice.file_path).where(Notice.file_path.is_not(None))) if p is not None}
    removed = 0
    for path in folder.iterdir():
        if _QUEUED_FILE.fullmatch(path.name) and path.name not in named:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def enqueue_email(session: Session, *, order: CourtOrder, kind: str, recipient: str,
                  subject: str, html: str, text: str, key: str, now: datetime,
                  detainee: Detainee | None = None, language: str = "en",
                  settings: Settings | None = None) -> Notice | None:
    """Queue one e-mail in the outbox; None if ``key`` was already queued (idempotent).

    The message is stored as an .eml file (0600) in the outbox of ``settings.home``
    (default: the settings of the environment), so what was sent can be read later.
    """
    notice = _insert(session, Notice(
        order_id=order.id, detainee_id=detainee.id if detainee else None, kind=kind,
        language=language, channel=EMAIL, recipient=recipient, subject=subject,
        idempotency_key=key, status=PENDING, attempts=0, created_at=now))
    if notice is not None:
        path = _queued_file(settings, key, "eml")
        path.write_bytes(_message(recipient, subject, html, text, key).as_bytes())
        notice.file_path = str(path)
        crashpoints.reached(crashpoints.MESSAGE_FILE)
    return notice


def enqueue_letter(session: Session, *, order: CourtOrder, kind: str, detainee: Detainee,
                   subject: str, body: str, key: str, now: datetime, language: str,
                   settings: Settings) -> Notice | None:
    """Queue one letter to print (``to-print``); None if ``key`` was already queued.

    The letter's body (an HTML fragment, as it reads when queued) waits in the
    outbox as a 0600 file until `bondtrack notices render --queued` prints it.
    """
    notice = _insert(session, Notice(
        order_id=order.id, detainee_id=detainee.id, kind=kind, language=language,
        channel=LETTER, recipient=None, subject=subject, idempotency_key=key, status=TO_PRINT,
        attempts=0, created_at=now))
    if notice is not None:
        path = _queued_file(settings, key, "html")
        path.write_text(body, encoding="utf-8")
        notice.file_path = str(path)
    return notice


def _insert(session: Session, notice: Notice) -> Notice | None:
    """Add ``notice`` unless its key is queued already (by us or, just now, another writer)."""
    key = notice.idempotency_key
    if session.scalar(select(Notice.id).where(Notice.idempotency_key == key)) is not None:
        return None
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:  # another writer queued the same key first
        return None
    return notice


def _queued_file(settings: Settings | None, key: str, suffix: str) -> Path:
    """A private file in the outbox named by a hash of the key (no names in file names)."""
    name = f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.{suffix}"
    return private_file(outbox_dir(settings or config.load()) / name)


def _message(recipient: str, subject: str, html: str, text: str, key: str) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["To"] = recipient
    message["Subject"] = subject
    # The same key gives the same Message-ID: a human can spot a duplicate in a mailbox.
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@bondtrack>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    file_path: str
    attempts: int


class _Run:
    """One delivery run: its worker name, its clock and its counts."""

    def __init__(self, database: db.Database, settings: Settings, now: datetime, worker: str):
        self.database, self.worker = database, worker
        self.smtp = settings.section("smtp")
        self.sender = settings.section("notices")["sender"]
        self.lease = timedelta(seconds=self.smtp["lease_seconds"])
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._start, self._started = now, time.monotonic()

    def now(self) -> datetime:
        """The run's ``now`` moved on by real elapsed time, so leases hold during long runs.

        Whole seconds: these times are shown to people, and nothing here needs less.
        """
        elapsed = timedelta(seconds=int(time.monotonic() - self._started))
        return (self._start + elapsed).replace(microsecond=0)


def deliver(database: db.Database, settings: Settings, *, now: datetime, worker: str,
            kinds: tuple[str, ...] | None = None) -> dict[str, int]:
    """Claim pending e-mails (compare-and-set + lease), send over SMTP, mark sent.

    Returns how many were sent, will be retried, failed, or need review.
    """
    run = _Run(database, settings, now, worker)
    with database.write() as session:
        remove_unqueued_files(session, settings)
        run.counts[NEEDS_REVIEW] += _flag_interrupted(session, run.now(), kinds)
    while batch := _claim(run, kinds):
        if not _send_batch(run, batch):
            break  # the mail server is unreachable: leave the rest for the next run
    return run.counts


def _kind_filter(kinds: tuple[str, ...] | None) -> list[Any]:
    return [Notice.kind.in_(kinds)] if kinds else []


def _flag_interrupted(session: Session, now: datetime, kinds: tuple[str, ...] | None) -> int:
    """Notices whose sender died during DATA: never re-sent, left for a human."""
    result = cast(CursorResult[Any], session.execute(
        update(Notice)
        .where(Notice.status == SENDING, Notice.claimed_until < now, *_kind_filter(kinds))
        .values(status=NEEDS_REVIEW, error=_INTERRUPTED, claimed_by=None, claimed_until=None)
    ))
    return result.rowcount


def _claim(run: _Run, kinds: tuple[str, ...] | None) -> list[_Claimed]:
    """Take up to a batch of due notices, each by compare-and-set so no two workers share one."""
    now = run.now()
    due = or_(
        (Notice.status == PENDING)
        & or_(Notice.claimed_until.is_(None), Notice.claimed_until <= now),
        (Notice.status == CLAIMED) & (Notice.claimed_until < now),
    )
    claimed = []
    with run.database.write() as session:
        candidates = session.execute(
            select(Notice.id, Notice.status, Notice.claimed_by, Notice.recipient, Notice.file_path,
                   Notice.attempts)
            .where(Notice.channel == EMAIL, due, *_kind_filter(kinds))
            .order_by(Notice.id).limit(run.smtp["batch_size"])
        ).all()
        for row in candidates:
            won = cast(CursorResult[Any], session.execute(
                update(Notice)
                .where(Notice.id == row.id, Notice.status == row.status,
                       _same(Notice.claimed_by, row.claimed_by))
                .values(status=CLAIMED, claimed_by=run.worker, claimed_until=now + run.lease)
            )).rowcount
            if won:
                claimed.append(_Claimed(row.id, row.recipient, row.file_path, row.attempts))
    return claimed


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _send_batch(run: _Run, batch: list[_Claimed]) -> bool:
    """Send a claimed batch over one connection; False if the server could not be reached."""
    try:
        connection = _connect(run.smtp)
    except (OSError, smtplib.SMTPException) as exc:
        for notice in batch:
            run.counts[_retry(run, notice, _reason(exc))] += 1
        return False
    with _closing(connection):
        for index, notice in enumerate(batch):
            outcome = _send_one(run, connection, notice)
            if outcome is None:  # the connection dropped before DATA: nothing was sent
                for rest in batch[index:]:
                    run.counts[_retry(run, rest, "the mail server closed the connection")] += 1
                return False
            if outcome in run.counts:
                run.counts[outcome] += 1
    return True


@contextmanager
def _closing(connection: smtplib.SMTP) -> Iterator[smtplib.SMTP]:
    try:
        yield connection
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()


def _connect(smtp: Any) -> smtplib.SMTP:
    """A logged-in connection per [smtp]: plain, STARTTLS or SSL; the password is never shown."""
    host, port, timeout = smtp["host"], smtp["port"], smtp["timeout_seconds"]
    context = ssl.create_default_context()
    if smtp["security"] == "ssl":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if smtp["security"] == "starttls":
            connection.starttls(context=context)
        if smtp["username"]:
            connection.login(smtp["username"], smtp["password"])
        connection.ehlo_or_helo_if_needed()
    except BaseException:
        connection.close()
        raise
    return connection


def _send_one(run: _Run, connection: smtplib.SMTP, notice: _Claimed) -> str | None:
    """One message: envelope, then mark ``sending``, then DATA. None if the connection died."""
    try:
        message = message_from_bytes(Path(notice.file_path).read_bytes(), policy=policy.SMTP)
    except OSError:
        _finish(run, notice.id, FAILED, "the queued message file is missing from the outbox")
        return FAILED
    message["From"] = run.sender
    message["Date"] = format_datetime(run.now())
    try:
        _check(connection.mail(run.sender), 250)
        _check(connection.rcpt(notice.recipient), 250, 251)
    except smtplib.SMTPResponseException as exc:
        _reset(connection)
        return _refused(run, notice, exc.smtp_code, exc.smtp_error)
    except UnicodeError:  # an address smtplib cannot put in an envelope: no retry will help
        _reset(connection)
        _finish(run, notice.id, FAILED, "the address is not plain ASCII")
        return FAILED
    except (OSError, smtplib.SMTPException):
        return None
    if not _advance(run, notice.id, CLAIMED, SENDING):
        _reset(connection)
        return _LOST
    try:
        code, reply = connection.data(message.as_bytes())
    except smtplib.SMTPDataError as exc:  # refused DATA: the message never left
        return _refused(run, notice, exc.smtp_code, exc.smtp_error)
    except (OSError, smtplib.SMTPException) as exc:  # the message may or may not have arrived
        _finish(run, notice.id, NEEDS_REVIEW, f"{_INTERRUPTED} ({_reason(exc)})")
        return NEEDS_REVIEW
    if code != 250:
        return _refused(run, notice, code, reply)
    crashpoints.reached(crashpoints.SMTP_ACCEPTED)
    _finish(run, notice.id, SENT, None)
    return SENT


def _check(reply: tuple[int, bytes], *good: int) -> None:
    if reply[0] not in good:
        raise smtplib.SMTPResponseException(*reply)


def _reset(connection: smtplib.SMTP) -> None:
    try:
        connection.rset()
    except (OSError, smtplib.SMTPException):
        pass  # the next command on this connection will report it


def _refused(run: _Run, notice: _Claimed, code: int, reply: bytes | str) -> str:
    reason = f"{code} {_redact(reply)}"
    if 400 <= code < 500:
        return _retry(run, notice, reason)
    _finish(run, notice.id, FAILED, f"the mail server refused it: {reason}")
    return FAILED


def _retry(run: _Run, notice: _Claimed, reason: str) -> str:
    """Back to pending after a backoff, or failed once the attempts are used up."""
    attempts = notice.attempts + 1
    if attempts >= run.smtp["max_attempts"]:
        _finish(run, notice.id, FAILED, f"gave up after {attempts} attempts: {reason}", attempts)
        return FAILED
    delay = min(run.smtp["retry_seconds"] * 2 ** (attempts - 1), 6 * 3600)
    with run.database.write() as session:
        session.execute(
            update(Notice).where(Notice.id == notice.id, Notice.claimed_by == run.worker,
                                 Notice.status.in_((CLAIMED, SENDING)))
            .values(status=PENDING, attempts=attempts, claimed_by=None, error=reason,
                    # For a pending notice, claimed_until is "not before".
                    claimed_until=run.now() + timedelta(seconds=delay))
        )
    return RETRYING


def _advance(run: _Run, notice_id: int, source: str, target: str) -> bool:
    """Compare-and-set this worker's notice from ``source`` to ``target``, renewing the lease."""
    with run.database.write() as session:
        return bool(cast(CursorResult[Any], session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.claimed_by == run.worker,
                                 Notice.status == source)
            .values(status=target, claimed_until=run.now() + run.lease)
        )).rowcount)


def _finish(run: _Run, notice_id: int, status: str, error: str | None,
            attempts: int | None = None) -> None:
    values: dict[str, Any] = {"status": status, "error": error, "claimed_until": None}
    if status == SENT:
        values["sent_at"] = run.now()
    if attempts is not None:
        values["attempts"] = attempts
    with run.database.write() as session:
        session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.claimed_by == run.worker,
                                 Notice.status.in_((CLAIMED, SENDING))).values(**values)
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_redact(exc.smtp_error)}"
    return f"{type(exc).__name__}: {_redact(str(exc))}"


def _redact(reply: bytes | str) -> str:
    """A server's words without any e-mail address in them (errors are shown and logged)."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return _ADDRESS.sub("<address>", " ".join(text.split()))[:300]



def resolve(session: Session, notice: Notice, *, delivered: bool, operator: str) -> None:
    """A human's verdict on a notice needing review (or a failed one): delivered, or send (or
    print) again."""
    if notice.status not in (NEEDS_REVIEW, FAILED):
        raise BondtrackError(f"notice #{notice.id} is {notice.status}: only needs-review or"
                             " failed notices can be resolved")
    letter = notice.channel == LETTER
    if delivered:
        notice.status = PRINTED if letter else SENT
        notice.error = f"confirmed delivered by {operator}"
    else:
        notice.status = TO_PRINT if letter else PENDING
        notice.error, notice.claimed_until, notice.attempts = None, None, 0
