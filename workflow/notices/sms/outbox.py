"""The outbox's SMS channel: each text queued once, claimed by one worker, sent once.

A text is a notice (channel ``sms``) with its body in ``sms_messages``. It moves
pending → claimed → sending → sent as an e-mail does: ``sending`` is written
just before the API call, so a worker that dies between the call and the
record leaves a text nobody can know the fate of, and the next run marks it
``needs-review`` instead of sending it twice. Texts are held during quiet hours
in the recipient's zone (a test text is not: the person is with you), go out in
the order queued, one per ``pace_seconds`` from the sending number, and a number
that opted out or is failing is not texted.

The provider may report a text's status before the worker has recorded its
answer (the StatusCallback names the text: webhooks.py records the SID and the
status then): recording the answer keeps what a callback recorded, and a
failure it reported sends the text to ``needs-review`` rather than ``sent``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as day_time
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import clock, crashpoints, dates
from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.core.stages import RESOLVED
from workflow.notices.sms import consent, provider, setup, texts
from workflow.record import db
from workflow.record.models import CourtOrder, Detainee, Notice, SmsMessage, SmsNumber
from workflow.record.outbox import (
    CLAIMED,
    FAILED,
    NEEDS_REVIEW,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
)

SMS = "sms"
TEST = "test"
HELD = "held"  # quiet hours: back to pending until the morning
LOST = "lost"  # the lease ran out and another worker took the text: it is theirs now
OUTCOMES = (SENT, RETRYING, FAILED, NEEDS_REVIEW, HELD)
INTERRUPTED = ("interrupted after the text was handed to the provider: check whether it"
               " arrived, then `bondtrack notices resolve ID --delivered` or `--resend`")
FAILING_NUMBER = "the number failed twice: check it with the person before texting it again"
FAILED_DELIVERY = frozenset({"undelivered", "failed"})  # Twilio's statuses of a text lost


def undelivered(error_code: int | None) -> str:
    """Why a text the provider could not deliver needs review."""
    return f"the provider could not deliver it (error {error_code})"


def enqueue(session: Session, *, order: CourtOrder, detainee: Detainee, role: str, kind: str,
            context: dict[str, Any], key: str, now: datetime, settings: Settings,
            notice_kind: str | None = None) -> Notice | None:
    """Queue the text ``kind`` to the number ``role`` consented with; None if ``key`` was
    queued already. No consent, or SMS off, is a ValidationError."""
    reason = setup.off_reason(settings)
    if reason:
        raise ValidationError(reason)
    number = consent.consented_number(session, detainee.id, role)
    if number is None:
        raise ValidationError(f"no consent to text the {role}: record it first")
    if session.scalar(select(Notice.id).where(Notice.idempotency_key == key)) is not None:
        return None
    language = texts.language_for(detainee.language, settings)
    # The first text to a number says how to stop: none queued before (a withdrawn one
    # is gone, so the next is the first).
    first = session.scalar(select(SmsMessage.id).where(SmsMessage.number_id == number.id)
                           .limit(1)) is None
    text = texts.render(kind, language, {**sms_context(settings), **context}, first=first)
    notice = Notice(order_id=order.id, detainee_id=detainee.id, kind=notice_kind or kind,
                    language=language, channel=SMS, recipient=number.number,
                    subject=f"text: {kind}", idempotency_key=key, status=PENDING, attempts=0,
                    created_at=now)
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
            session.add(SmsMessage(notice_id=notice.id, number_id=number.id, body=text.body,
                                   segments=text.segments.count,
                                   encoding=text.segments.encoding, callbacks=0))
    except IntegrityError:  # another writer queued the same key first
        return None
    return notice


def sms_context(settings: Settings) -> dict[str, str]:
    """What every text may say about the sender."""
    notices = settings.section("notices")
    return {"org": notices["organization"], "hotline": notices["hotline"]}


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    kind: str


class _Run:
    """One delivery run: the worker, the clock, the pace and the counts."""

    def __init__(self, database: db.Database, settings: Settings, now: datetime, worker: str,
                 sleep: Callable[[float], None], only: int | None = None):
        self.database, self.worker, self.sleep, self.only = database, worker, sleep, only
        self.sms = settings.section("sms")
        self.setup = setup.load(settings)
        self.http = provider.client(float(self.sms["timeout_seconds"]))
        self.lease = timedelta(seconds=self.sms["lease_seconds"])
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._start, self._started = now, time.monotonic()
        self._last_sent: float | None = None

    def now(self) -> datetime:
        elapsed = timedelta(seconds=int(time.monotonic() - self._started))
        return (self._start + elapsed).replace(microsecond=0)

    def pace(self) -> None:
        """Wait until ``pace_seconds`` have passed since the provider answered the last text
        (from its answer, not our request: the provider counts what reached it)."""
        if self._last_sent is not None:
            wait = self._last_sent + float(self.sms["pace_seconds"]) - time.monotonic()
            if wait > 0:
                self.sleep(wait)

    def answered(self) -> None:
        self._last_sent = time.monotonic()


def deliver(database: db.Database, settings: Settings, *, now: datetime, worker: str,
            sleep: Callable[[float], None] = time.sleep, only: int | None = None
            ) -> dict[str, int]:
    """Send every due text (or ``only`` that one), in the order queued; how many were sent,
    retried, failed, need review, or are held for the morning. SMS off is a ConfigError."""
    run = _Run(database, settings, now, worker, sleep, only)
    with database.write() as session:
        run.counts[NEEDS_REVIEW] += _flag_interrupted(session, run.now())
    with run.http:
        while batch := _claim(run):
            for index, notice in enumerate(batch):
                outcome = _send_one(run, notice)
                if outcome in run.counts:
                    run.counts[outcome] += 1
                if outcome == RETRYING:  # the provider is busy: leave the rest for later
                    _release_rest(run, batch[index + 1:])
                    return run.counts
    return run.counts


def _flag_interrupted(session: Session, now: datetime) -> int:
    result = cast(CursorResult[Any], session.execute(
        update(Notice).where(Notice.channel == SMS, Notice.status == SENDING,
                             Notice.claimed_until < now)
        .values(status=NEEDS_REVIEW, error=INTERRUPTED, claimed_by=None, claimed_until=None)))
    return result.rowcount


def _claim(run: _Run, limit: int = 20) -> list[_Claimed]:
    now = run.now()
    due = or_((Notice.status == PENDING)
              & or_(Notice.claimed_until.is_(None), Notice.claimed_until <= now),
              (Notice.status == CLAIMED) & (Notice.claimed_until < now))
    claimed = []
    with run.database.write() as session:
        rows = session.execute(
            select(Notice.id, Notice.status, Notice.claimed_by, Notice.attempts, Notice.kind)
            .where(Notice.channel == SMS, due,
                   *([Notice.id == run.only] if run.only is not None else []))
            .order_by(Notice.id).limit(limit)).all()
        for row in rows:
            won = cast(CursorResult[Any], session.execute(
                update(Notice).where(Notice.id == row.id, Notice.status == row.status,
                                     Notice.claimed_by.is_(None) if row.claimed_by is None
                                     else Notice.claimed_by == row.claimed_by)
                .values(status=CLAIMED, claimed_by=run.worker, claimed_until=now + run.lease)
            )).rowcount
            if won:
                claimed.append(_Claimed(row.id, row.attempts, row.kind))
    return claimed


def _send_one(run: _Run, notice: _Claimed) -> str:
    with run.database.read() as session:
        message = session.scalar(select(SmsMessage).where(SmsMessage.notice_id == notice.id))
        if message is None:
            return _finish(run, notice.id, FAILED, "the text is missing from the outbox")
        number = session.get_one(SmsNumber, message.number_id)
        target, body, status, number_id = number.number, message.body, number.status, number.id
        zone = recipient_zone(session, session.get_one(Notice, notice.id))
    if status == consent.OPTED_OUT:
        return _finish(run, notice.id, FAILED, "the number opted out (STOP)")
    if status == consent.FAILING:
        return _finish(run, notice.id, NEEDS_REVIEW, FAILING_NUMBER)
    if notice.kind != TEST and (morning := quiet_until(run.now(), zone, run.sms)) is not None:
        _back_to_pending(run, notice, morning, "held for the morning: quiet hours")
        return HELD
    run.pace()
    if not _advance(run, notice.id):
        return LOST
    crashpoints.reached(crashpoints.SMS_SENDING)
    try:
        accepted = provider.send(run.http, run.setup, target, body, notice.id)
    except provider.Busy as exc:
        run.answered()
        return _retry(run, notice, str(exc))
    except provider.Refused as exc:
        run.answered()
        return _refused(run, notice, number_id, exc)
    except provider.Unknown as exc:
        return _finish(run, notice.id, NEEDS_REVIEW, f"{INTERRUPTED} ({exc})")
    crashpoints.reached(crashpoints.SMS_ACCEPTED)
    run.answered()
    outcome = _sent(run, notice.id, accepted)
    crashpoints.reached(crashpoints.SMS_RECORDED)
    return outcome


def recipient_zone(session: Session, notice: Notice) -> str:
    """The recipient's zone: the facility's while the person is held, the court's once out."""
    order = session.get_one(CourtOrder, notice.order_id)
    person = session.get(Detainee, notice.detainee_id) if notice.detainee_id else None
    if person is not None and person.stage not in RESOLVED and person.facility is not None \
            and person.facility.time_zone:
        return person.facility.time_zone
    return order.time_zone


def quiet_until(now: datetime, zone: str, sms: Any) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them in ``zone``; else None."""
    local = clock.local(now, zone)
    start, end = (day_time.fromisoformat(sms[k]) for k in ("quiet_from", "quiet_until"))
    at = local.time()
    quiet = (at >= start or at < end) if start > end else (start <= at < end)
    if not quiet:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    morning = datetime.combine(day, end, tzinfo=local.tzinfo)
    # Through the wall clock, so a DST change overnight still means 08:00 local.
    return dates.parse_instant(morning.strftime("%Y-%m-%d %H:%M"), zone)


def _locked_message(session: Session, notice_id: int) -> SmsMessage | None:
    """The text's row, locked first (as a status callback locks it, so the two never wait on
    each other's rows in opposite orders)."""
    return session.scalar(select(SmsMessage).where(SmsMessage.notice_id == notice_id)
                          .with_for_update())


def _advance(run: _Run, notice_id: int) -> bool:
    """Claimed → sending. A text sent again (a person chose ``--resend``) starts its delivery
    record afresh: the SID and callbacks that count from now on are the new send's."""
    with run.database.write() as session:
        message = _locked_message(session, notice_id)
        won = bool(cast(CursorResult[Any], session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.claimed_by == run.worker,
                                 Notice.status == CLAIMED)
            .values(status=SENDING, claimed_until=run.now() + run.lease))).rowcount)
        if won and message is not None and message.provider_sid is not None:
            message.provider_sid = message.delivery = message.error_code = None
            message.callbacks = 0
        return won


def _sent(run: _Run, notice_id: int, accepted: provider.Accepted) -> str:
    """Record the provider's answer. A callback about this very SID may have come first: its
    status stands (a later "queued" must not hide "delivered"), and if it said the text was
    lost, the text needs review instead of being marked sent."""
    with run.database.write() as session:
        message = _locked_message(session, notice_id)
        early = (message is not None and message.callbacks > 0
                 and message.provider_sid == accepted.sid)
        lost = early and message is not None and message.delivery in FAILED_DELIVERY
        status = NEEDS_REVIEW if lost else SENT
        error = undelivered(message.error_code) if lost and message is not None else None
        done = _finish_in(session, run, notice_id, status, error)
        if done and message is not None:
            message.provider_sid = accepted.sid
            if not early:  # (a callback about another SID, if any, was not about this send)
                message.delivery, message.error_code = accepted.status, None
                message.callbacks = 0
            if accepted.segments:
                message.segments = accepted.segments
            message.updated_at = run.now()
            session.execute(update(SmsNumber).where(SmsNumber.id == message.number_id,
                                                    SmsNumber.first_texted_at.is_(None))
                            .values(first_texted_at=run.now()))
    return status


def _refused(run: _Run, notice: _Claimed, number_id: int, exc: provider.Refused) -> str:
    with run.database.write() as session:
        if exc.code == provider.UNSUBSCRIBED:
            consent.opt_out(session, session.get_one(SmsNumber, number_id), run.now(),
                            how="provider")
        session.execute(update(SmsMessage).where(SmsMessage.notice_id == notice.id)
                        .values(error_code=exc.code, updated_at=run.now()))
        _finish_in(session, run, notice.id, FAILED, str(exc))
    return FAILED


def _retry(run: _Run, notice: _Claimed, reason: str) -> str:
    attempts = notice.attempts + 1
    if attempts >= run.sms["max_attempts"]:
        return _finish(run, notice.id, FAILED, f"gave up after {attempts} attempts: {reason}",
                       attempts)
    delay = min(run.sms["retry_seconds"] * 2 ** (attempts - 1), 6 * 3600)
    _back_to_pending(run, notice, run.now() + timedelta(seconds=delay), reason, attempts)
    return RETRYING


def _back_to_pending(run: _Run, notice: _Claimed, not_before: datetime, reason: str,
                     attempts: int | None = None) -> None:
    """Pending again, not before ``not_before`` (for a pending notice, claimed_until)."""
    values: dict[str, Any] = {"status": PENDING, "claimed_by": None, "error": reason,
                              "claimed_until": not_before}
    if attempts is not None:
        values["attempts"] = attempts
    with run.database.write() as session:
        session.execute(update(Notice).where(Notice.id == notice.id,
                                             Notice.claimed_by == run.worker,
                                             Notice.status.in_((CLAIMED, SENDING)))
                        .values(**values))


def _release_rest(run: _Run, rest: list[_Claimed]) -> None:
    for notice in rest:
        _back_to_pending(run, notice, run.now(), "waiting for the provider")


def _finish(run: _Run, notice_id: int, status: str, error: str | None,
            attempts: int | None = None) -> str:
    with run.database.write() as session:
        _finish_in(session, run, notice_id, status, error, attempts)
    return status


def _finish_in(session: Session, run: _Run, notice_id: int, status: str, error: str | None,
               attempts: int | None = None) -> bool:
    values: dict[str, Any] = {"status": status, "error": error, "claimed_until": None}
    if status == SENT:
        values["sent_at"] = run.now()
    if attempts is not None:
        values["attempts"] = attempts
    return bool(cast(CursorResult[Any], session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.claimed_by == run.worker,
                             Notice.status.in_((CLAIMED, SENDING))).values(**values))).rowcount)
