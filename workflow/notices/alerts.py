"""Deadline alerts and the daily digest: each fires exactly once per order.

Which threshold is due is the pure rule in ``workflow.notices.alerts.thresholds``; this
module records it, says it and sends it.

**Exactly once**: each (order, threshold) is one row of ``alerts`` (unique).
The row, the staff e-mails (one outbox notice per recipient, keyed by order,
threshold, its time and recipient) and the audit event are written in one
transaction with the order row locked, so two checks at once cannot both
fire; the outbox then delivers each e-mail once. Logs and audit events carry
counts and thresholds, never a person; the e-mails name people by internal id.

**The digest** goes once per court day while anyone is outstanding:
yesterday's moves, today's counts, the projection.

**The order moves**: while a court has stayed the order no deadline alert is
sent, nor for releases marked done. When the deadline is amended, a threshold
recorded against the old deadline is armed again for the new one. Each other
open obligation (a status report, a data production) gets the same
thresholds, named after it (``ob3@20251121T1800Z:T-24h``), until it is done;
so does each bond's open demand and appeal deadline (``workflow.notices.alerts.bond``),
stay or no stay: those dates are ICE's, not the court's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.core import clock, crashpoints, display, stages
from workflow.core.config import Settings
from workflow.core.errors import ConfigError
from workflow.core.stages import OUTSTANDING, Stage
from workflow.notices import bond_alerts, hearing_reminders, letters
from workflow.notices.sms import messages
from workflow.notices.sms import outbox as sms_outbox
from workflow.notices.sms import setup as sms_setup
from workflow.notices.thresholds import (
    DIGEST,
    Decision,
    Rules,
    Threshold,
    court_instant,
    decide,
    decide_digest,
    digest_due,
    how_close,
    next_threshold,
    scheduled_at,
    thresholds,
)
from workflow.orders import deadlines, obligations, orders
from workflow.record import audit, db, outbox
from workflow.record.audit import Actor
from workflow.record.models import Alert, CourtOrder, Event, Notice

SENT, SKIPPED, PENDING = "sent", "skipped", "pending"  # as stored
FIRED = "fired"  # how ``list_alerts`` names SENT: the e-mails may not be delivered yet
RETRYING = "retrying"
KINDS = ("alert", "digest")
AT_RISK_SHOWN = 10
_OPEN = [s.value for s in Stage if s in OUTSTANDING]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one check did for one order (thresholds and counts only)."""

    case_number: str
    time_zone: str
    sent: Threshold | None
    skipped: tuple[Threshold, ...]
    recipients: int
    outstanding: int
    upcoming: Threshold | None = None
    paused: str | None = None  # why no deadline alert can fire now
    obligations: tuple[Threshold, ...] = ()  # alerts sent for the order's other obligations

    def as_dict(self) -> dict[str, Any]:
        def shown(t: Threshold | None) -> dict[str, Any] | None:
            return None if t is None else {"threshold": t.name,
                                           "due_at": clock.iso(t.due_at, self.time_zone)}
        return {
            "case_number": self.case_number,
            "sent": shown(self.sent),
            "skipped": [shown(t) for t in self.skipped],
            "recipients": self.recipients,
            "outstanding": self.outstanding,
            "next": shown(self.upcoming),
            "paused": self.paused,
            "obligations": [shown(t) for t in self.obligations],
        }


@dataclass
class Report:
    """A whole run: each order's outcome, then what the outbox delivered."""

    outcomes: list[Outcome]
    delivery: dict[str, int] = field(default_factory=dict)
    texts: dict[str, int] = field(default_factory=dict)  # when SMS is on

    def as_dict(self) -> dict[str, Any]:
        shown = {"orders": [o.as_dict() for o in self.outcomes], "delivery": self.delivery}
        return {**shown, "texts": self.texts} if self.texts else shown


def describe(outcome: Outcome) -> str:
    """One line for people: what was sent and skipped, or what comes next."""
    others = "".join(f"; sent {t.name} to {outcome.recipients} staff" for t in outcome.obligations)
    return _describe_releases(outcome) + others


NAMED_SKIPS = 3  # more skipped thresholds than this are counted, not named


def _skipped(passed: Sequence[Threshold]) -> str:
    """`` (skipped T-72h, T-48h)``, or `` (skipped 389 earlier thresholds)`` after a long
    sleep: a line, not a paragraph."""
    if not passed:
        return ""
    if len(passed) > NAMED_SKIPS:
        return f" (skipped {len(passed)} earlier thresholds)"
    return f" (skipped {', '.join(t.name for t in passed)})"


def _describe_releases(outcome: Outcome) -> str:
    case = outcome.case_number
    if outcome.sent is not None:
        what = ("the digest for " + outcome.sent.name.removeprefix(DIGEST)
                if outcome.sent.name.startswith(DIGEST) else outcome.sent.name)
        skipped = _skipped(outcome.skipped)
        return f"{case}: sent {what} to {outcome.recipients} staff{skipped}"
    if outcome.paused:
        return f"{case}: {outcome.paused}"
    if outcome.outstanding == 0:
        return f"{case}: nobody is outstanding: nothing to send"
    if outcome.upcoming is None:
        return f"{case}: today's digest is already sent (or its hour has not come)"
    when = display.moment(outcome.upcoming.due_at, outcome.time_zone)
    return f"{case}: no alert due; next {outcome.upcoming.name} at {when}"


def staff_emails(settings: Settings) -> list[str]:
    """The staff list, or a clear error: an alert nobody receives is a missed deadline."""
    staff = [address.strip() for address in settings.section("notices")["staff_emails"]
             if address.strip()]
    if not staff:
        raise ConfigError("no staff to alert: list their addresses in [notices] staff_emails"
                          " (or BONDTRACK_NOTICES_STAFF_EMAILS=a@x.org,b@x.org)")
    return staff


def orders_to_watch(session: Session, case: str | None) -> list[CourtOrder]:
    """The order named ``case``, or every order in the database."""
    if case:
        return [orders.resolve_order(session, case)]
    found = list(session.scalars(select(CourtOrder).order_by(CourtOrder.id)))
    return found or [orders.resolve_order(session, None)]  # none: it says how to add one


def check(session: Session, order: CourtOrder, now: datetime, settings: Settings,
          actor: Actor) -> Outcome:
    """Fire the deadline alert due for ``order`` at ``now``, if any, exactly once."""
    rules, staff, counts, outstanding, rows = _prepare(session, order, settings)
    armed = {name for name, row in rows.items()
             if scheduled_at(name, order.deadline, rules) in (None, row.due_at)}
    paused = paused_because(order)
    decision = (Decision(None) if paused else
                decide(order.deadline, rules, now, armed, outstanding))
    for threshold in decision.skip:
        _record(session, order, rows, threshold, SKIPPED, None)
    if decision.send is not None:
        context = alert_context(session, order, now, settings, decision.send, counts)
        _fire(session, order, now, settings, actor, "alert", decision.send, context, staff,
              rows=rows, skipped=decision.skip)
    others = () if order.stayed_since else tuple(
        _obligation_alerts(session, order, now, settings, actor, rules, staff, rows, counts))
    # ICE's dates for the bonds run even while a stay holds.
    for due in bond_alerts.due(session, order, now, rules, rows):
        for threshold in due.skipped:
            _record(session, order, rows, threshold, SKIPPED, None)
        if due.send is not None:
            context = {**alert_context(session, order, now, settings, due.send, counts),
                       **due.context}
            _fire(session, order, now, settings, actor, "alert", due.send, context, staff,
                  rows=rows, skipped=due.skipped)
            others += (due.send,)
    hearing_reminders.queue_reminders(session, order, now, settings)
    messages.queue_bond_texts(session, order, now, settings)
    return Outcome(order.case_number, order.time_zone, decision.send, decision.skip,
                   len(staff), outstanding, next_threshold(order.deadline, rules, now), paused,
                   others)


def _obligation_alerts(session: Session, order: CourtOrder, now: datetime, settings: Settings,
                       actor: Actor, rules: Rules, staff: Sequence[str], rows: dict[str, Alert],
                       counts: dict[str, int]) -> list[Threshold]:
    """The same rule for each open obligation besides the releases, while it is not done."""
    sent = []
    for due in obligations.open_obligations(session, order):
        if due.key == obligations.RELEASES:
            continue
        prefix = f"{due.alert_prefix()}:"
        armed = {name.removeprefix(prefix) for name in rows if name.startswith(prefix)}
        decision = decide(due.due_at, rules, now, armed, outstanding=1)
        skipped = [Threshold(prefix + t.name, t.due_at) for t in decision.skip]
        for threshold in skipped:
            _record(session, order, rows, threshold, SKIPPED, None)
        if decision.send is None:
            continue
        named = Threshold(prefix + decision.send.name, decision.send.due_at)
        owed = f" owed by {due.owed_by}" if due.owed_by else ""
        context = {**alert_context(session, order, now, settings, named, counts),
                   "title": f"{due.kind.replace('-', ' ').capitalize()}{owed}:"
                            f" {how_close(decision.send.name)}",
                   "time_left": display.span((due.due_at - now).total_seconds())}
        _fire(session, order, now, settings, actor, "alert", named, context, staff, rows=rows,
              skipped=skipped)
        sent.append(named)
    return sent


def paused_because(order: CourtOrder) -> str | None:
    """Why no alert for the releases deadline may fire now, if so."""
    if order.stayed_since is not None:
        since = display.moment(order.stayed_since, order.time_zone)
        return f"the order is stayed since {since}: alerts are paused"
    if order.releases_done_at is not None:
        return "the releases are marked done: no more deadline alerts"
    return None


def digest(session: Session, order: CourtOrder, now: datetime, settings: Settings,
           actor: Actor) -> Outcome:
    """Send today's digest for ``order`` if its hour has passed and it was not sent yet."""
    rules, staff, counts, outstanding, rows = _prepare(session, order, settings)
    due = decide_digest(now, order.time_zone, rules.digest_hour, set(rows), outstanding)
    if due is not None:
        context = digest_context(session, order, now, settings, due, counts)
        _fire(session, order, now, settings, actor, "digest", due, context, staff, rows=rows)
    return Outcome(order.case_number, order.time_zone, due, (), len(staff),
                   outstanding)


def run(database: db.Database, settings: Settings, *, case: str | None, now: datetime,
        actor: Actor, worker: str, daily_digest: bool = False) -> Report:
    """Check every watched order (or send its digest) in one transaction, then deliver.

    Delivery also retries staff e-mails an earlier run could not send.
    """
    staff_emails(settings)
    step = digest if daily_digest else check
    with database.write() as session:
        report = Report([step(session, order, now, settings, actor)
                         for order in orders_to_watch(session, case)])
        crashpoints.reached(crashpoints.ALERTS_CHECKED)
    for outcome in report.outcomes:  # logged once committed: a log never claims a rolled-back alert
        if outcome.sent is not None or outcome.obligations:
            _log.info("%s; %d outstanding", describe(outcome), outcome.outstanding)
    report.delivery = outbox.deliver(database, settings, now=now, worker=worker, kinds=KINDS)
    if sms_setup.off_reason(settings) is None:
        report.texts = sms_outbox.deliver(database, settings, now=now, worker=worker)
    return report


def _prepare(session: Session, order: CourtOrder, settings: Settings
             ) -> tuple[Rules, list[str], dict[str, int], int, dict[str, Alert]]:
    """What a check and a digest both start from, with the order row locked first:
    the rules, the staff list, people per stage, how many are outstanding, the alert rows."""
    rules = Rules.from_settings(settings)
    staff = staff_emails(settings)
    _lock(session, order)
    counts = stages.totals(orders.stage_counts(session, order))["by_stage"]
    return rules, staff, counts, sum(counts[s] for s in _OPEN), _rows(session, order)


def _lock(session: Session, order: CourtOrder) -> None:
    """Serialize checks of one order (PostgreSQL row lock; SQLite writers queue already)."""
    session.execute(select(CourtOrder.id).where(CourtOrder.id == order.id).with_for_update())


def _rows(session: Session, order: CourtOrder) -> dict[str, Alert]:
    return {row.threshold: row
            for row in session.scalars(select(Alert).where(Alert.order_id == order.id))}


def _record(session: Session, order: CourtOrder, rows: dict[str, Alert], threshold: Threshold,
            status: str, fired_at: datetime | None) -> None:
    """One row per (order, threshold); a row left by an amended deadline is armed again."""
    row = rows.get(threshold.name)
    if row is None:
        session.add(Alert(order_id=order.id, threshold=threshold.name, due_at=threshold.due_at,
                          fired_at=fired_at, status=status))
    else:
        row.due_at, row.fired_at, row.status = threshold.due_at, fired_at, status


def _fire(session: Session, order: CourtOrder, now: datetime, settings: Settings, actor: Actor,
          kind: str, threshold: Threshold, context: dict[str, Any], staff: Sequence[str], *,
          rows: dict[str, Alert], skipped: Sequence[Threshold] = ()) -> None:
    """Record the alert, queue one e-mail per staff member, audit and log it: one transaction."""
    _record(session, order, rows, threshold, SENT, now)
    subject, html, text = letters.render_staff_email(kind, context, settings)
    for recipient in staff:
        outbox.enqueue_email(session, order=order, kind=kind, recipient=recipient,
                              subject=subject, html=html, text=text,
                              key=notice_key(order.id, threshold, recipient), now=now,
                              settings=settings)
    facts = {"threshold": threshold.name, "due_at": threshold.due_at.isoformat(),
             "skipped": [t.name for t in skipped], "outstanding": context["outstanding"],
             "at_risk": (context["projection"] or {}).get("at_risk"), "recipients": len(staff)}
    audit.record(session, kind="alert", order_id=order.id, actor=actor, at=now, now=now,
                 payload=facts)
    session.flush()  # a concurrent duplicate fails here, inside the transaction


def notice_key(order_id: int, threshold: Threshold, recipient: str) -> str:
    """The outbox key of one staff e-mail: one per (order, threshold and its time, recipient)."""
    who = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:16]
    return f"alert:{order_id}:{int(threshold.due_at.timestamp())}:{threshold.name}:{who}"


def key_threshold(key: str) -> tuple[int, str]:
    """(due time as Unix seconds, threshold name) of a staff e-mail's key."""
    _, _, due, rest = key.split(":", 3)
    return int(due), rest.rsplit(":", 1)[0]


# ---------------------------------------------------------------- what the e-mails say


def alert_context(session: Session, order: CourtOrder, now: datetime, settings: Settings,
                  threshold: Threshold, counts: dict[str, int]) -> dict[str, Any]:
    """A deadline alert: time left, outstanding by stage, projection, the ten most at risk."""
    open_counts = {stage: counts[stage] for stage in _OPEN}
    outstanding = sum(open_counts.values())
    return {**_common(session, order, now, settings, outstanding),
            "title": alert_title(threshold.name, outstanding),
            "threshold": threshold.name, "counts": open_counts, "moves_yesterday": None}


def digest_context(session: Session, order: CourtOrder, now: datetime, settings: Settings,
                   due: Threshold, counts: dict[str, int]) -> dict[str, Any]:
    """The daily digest: yesterday's moves, today's counts (every stage), the projection."""
    day = date.fromisoformat(due.name.removeprefix(DIGEST))
    outstanding = sum(counts[s] for s in _OPEN)
    return {**_common(session, order, now, settings, outstanding),
            "title": f"Daily digest for {day:%a %d %b %Y}: {_people(outstanding)} outstanding",
            "threshold": None, "counts": dict(counts),
            "moves_yesterday": moves_on(session, order, day - timedelta(days=1))}


def _common(session: Session, order: CourtOrder, now: datetime, settings: Settings,
            outstanding: int) -> dict[str, Any]:
    forecast = deadlines.projection(session, order, now, settings)
    risks = deadlines.at_risk(session, order, now, settings, limit=AT_RISK_SHOWN, forecast=forecast)
    return {
        "order": {"case_number": order.case_number, "court": order.court,
                  "deadline_local": display.moment(order.deadline, order.time_zone),
                  "time_zone": order.time_zone},
        "time_left": display.span(orders.effective_seconds_left(order, now)),
        "outstanding": outstanding,
        "at_risk": [{"id": r.detainee_id, "stage": r.stage, "facility": r.facility,
                     "hours_in_stage": round(r.hours_in_stage, 1)} for r in risks],
        "projection": forecast.as_dict(),
        "command": f"bondtrack status --order {order.case_number}",
    }


def alert_title(threshold: str, outstanding: int) -> str:
    """The headline: how close the deadline is and how many people are still held."""
    return f"{how_close(threshold)}: {_people(outstanding)} still outstanding"


def _people(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} people"


def moves_on(session: Session, order: CourtOrder, day: date) -> dict[str, int]:
    """Moves (stage changes) per kind during ``day``, court time."""
    start = court_instant(day, 0, order.time_zone)
    end = court_instant(day + timedelta(days=1), 0, order.time_zone)
    rows = session.execute(
        select(Event.kind, func.count())
        .where(Event.order_id == order.id, Event.to_stage.is_not(None),
               Event.at >= start, Event.at < end)
        .group_by(Event.kind).order_by(Event.kind)
    )
    return {kind: count for kind, count in rows}


# ---------------------------------------------------------------- the list


def list_alerts(session: Session, order: CourtOrder, now: datetime,
                settings: Settings) -> list[dict[str, Any]]:
    """Every alert of ``order``: fired or skipped, then the next ones (``pending``), by due time.

    ``status`` is the alert's own state: ``fired`` once its e-mails are queued, whether or
    not the mail server has them yet; ``delivery`` says that (see ``_delivery``), and
    ``emails`` counts the alert's staff e-mails by outbox status (``retrying``: pending
    again after a refusal).
    """
    rules = Rules.from_settings(settings)
    rows = list(session.scalars(select(Alert).where(Alert.order_id == order.id)))
    names = {row.threshold for row in rows}
    emails = _email_statuses(session, order)
    upcoming = [t for t in (next_threshold(order.deadline, rules, now),
                            _next_digest(now, order.time_zone, rules.digest_hour),
                            *_still_ahead(order.deadline, rules, now))
                if t.name not in names]
    listed = [(row.due_at, row.threshold, row.fired_at, FIRED if row.status == SENT else row.status)
              for row in rows]
    listed += [(t.due_at, t.name, None, PENDING) for t in {t.name: t for t in upcoming}.values()]
    found: list[tuple[datetime, str, datetime | None, str, Counter[str] | dict[str, int]]] = [
        (due_at, name, fired_at, status, emails.get((int(due_at.timestamp()), name), {}))
             for due_at, name, fired_at, status in sorted(listed, key=lambda r: (r[0], r[1]))]
    return [{"threshold": name, "due_at": clock.iso(due_at, order.time_zone),
             "fired_at": clock.iso(fired_at, order.time_zone), "status": status,
             "delivery": _delivery(counts), "emails": dict(counts)}
            for due_at, name, fired_at, status, counts in found]


# The least advanced state of an alert's e-mails is its delivery: one stuck e-mail is news.
_DELIVERY_ORDER = ("needs-review", "failed", RETRYING, PENDING, "claimed", "sending", "sent")


def _delivery(counts: Counter[str] | dict[str, int]) -> str | None:
    """``sent`` once every e-mail is with the mail server, else the furthest behind; None
    for an alert with no e-mails (skipped, still to come)."""
    return next((status for status in _DELIVERY_ORDER if counts.get(status)), None)


def _still_ahead(deadline: datetime, rules: Rules, now: datetime) -> list[Threshold]:
    """The thresholds before (and at) the deadline that have not come yet."""
    return [t for t in thresholds(deadline, rules, deadline) if t.due_at > now]


def _next_digest(now: datetime, time_zone: str, hour: int) -> Threshold:
    latest = digest_due(now, time_zone, hour)
    day = date.fromisoformat(latest.name.removeprefix(DIGEST)) + timedelta(days=1)
    return Threshold(f"{DIGEST}{day.isoformat()}", court_instant(day, hour, time_zone))


def _email_statuses(session: Session, order: CourtOrder) -> dict[tuple[int, str], Counter[str]]:
    found: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(Notice.idempotency_key, Notice.status, Notice.attempts)
        .where(Notice.order_id == order.id, Notice.kind.in_(KINDS))
    )
    for key, status, attempts in rows:
        found[key_threshold(key)][RETRYING if status == PENDING and attempts else status] += 1
    return found


def with_staff(settings: Settings, staff: list[str]) -> Settings:
    """``settings`` with ``[notices] staff_emails`` replaced (for the demo and rehearsals)."""
    sections = dict(settings.sections)
    sections["notices"] = MappingProxyType({**settings.section("notices"), "staff_emails": staff})
    return dataclasses.replace(settings, sections=MappingProxyType(sections))
