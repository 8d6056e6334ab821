"""Is anyone watching the deadline? The scheduler's heartbeat, and the rule that reads it.

A deadline tool that has stopped sending alerts looks exactly like one with
nothing to say. So each scheduler job records when it ran (one row,
``scheduler_heartbeats``, kept after the scheduler stops), and an order that
still has alerts to come is *unwatched* when no scheduler has run a job within
twice its alert-check interval. ``status``, the dashboard, the web and
``scheduler --check`` all ask ``watch`` and say the same sentence.

``running`` is whether a scheduler holds the lock now (its lock heartbeat is
real time, renewed every ``heartbeat_seconds``); ``last_seen`` is the injected
clock at its last job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from workflow.core import clock, display
from workflow.core.config import Settings
from workflow.core.stages import OUTSTANDING
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, court_orders, detainees, locks, obligations
from workflow.record.schema import scheduler_heartbeats as heartbeats

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader

NAME = "scheduler"
_OPEN = [s.value for s in OUTSTANDING]


@dataclass(frozen=True)
class Watch:
    """What the heartbeat says at ``now`` for some orders."""

    now: datetime
    last_seen: datetime | None
    running: bool
    interval: timedelta
    alerts_to_come: bool

    @property
    def silent(self) -> bool:
        """No scheduler has run a job within twice its interval (or ever)."""
        return self.last_seen is None or self.now - self.last_seen > 2 * self.interval

    @property
    def unwatched(self) -> bool:
        """Alerts are due to come and nobody is there to send them."""
        return self.alerts_to_come and self.silent

    def warning(self, time_zone: str = "UTC") -> str | None:
        """The one sentence people must see, or None while alerts are watched."""
        if not self.unwatched:
            return None
        if self.last_seen is None:
            return ("alerts are not being watched: no scheduler has ever run on this database;"
                    " start `bondtrack scheduler`")
        return (f"alerts are not being watched: no scheduler has run since"
                f" {display.moment(self.last_seen, time_zone)}"
                f" ({display.ago((self.now - self.last_seen).total_seconds())});"
                " start `bondtrack scheduler`")

    def describe(self, time_zone: str = "UTC") -> str:
        """One line for `scheduler --check` and the status summary."""
        warning = self.warning(time_zone)
        if warning:
            return warning
        if self.last_seen is None:
            return "no scheduler has run yet; no alerts are to come"
        state = "running" if self.running else "not running"
        return (f"scheduler {state}; last ran a job {display.moment(self.last_seen, time_zone)}"
                f" ({display.ago((self.now - self.last_seen).total_seconds())})")

    def as_dict(self, time_zone: str = "UTC") -> dict[str, Any]:
        last = clock.local(self.last_seen, time_zone).isoformat() if self.last_seen else None
        return {"last_seen": last, "running": self.running,
                "interval_seconds": self.interval.total_seconds(),
                "alerts_to_come": self.alerts_to_come, "watched": not self.unwatched,
                "warning": self.warning(time_zone)}


def record_run(session: Session, *, holder: str, job: str, now: datetime,
               interval_seconds: float) -> None:
    """A scheduler ran ``job`` at ``now``: the heartbeat others read."""
    from workflow.record.models import SchedulerHeartbeat  # the ORM: the scheduler has loaded it

    row = session.get(SchedulerHeartbeat, NAME)
    if row is None:
        session.add(SchedulerHeartbeat(name=NAME, holder=holder, job=job, last_seen=now,
                                       interval_seconds=interval_seconds))
        return
    row.holder, row.job, row.last_seen, row.interval_seconds = holder, job, now, interval_seconds


def check_interval_seconds(settings: Settings) -> float:
    """How often the scheduler checks alerts (its most frequent job)."""
    return float(settings.section("alerts")["check_every_minutes"]) * 60


def alerts_to_come(reader: Reader, order: OrderRow) -> bool:
    """Whether ``order`` can still fire an alert: not stayed, and releases or another
    obligation still open (an open deadline repeats ``overdue`` alerts while anyone waits)."""
    if order.stayed_since is not None:
        return False
    # The first row answers: no count over a large order.
    reader = flushed(reader)
    if order.releases_done_at is None and reader.scalar(select(detainees.c.id).where(
            detainees.c.order_id == order.id, detainees.c.stage.in_(_OPEN)).limit(1)) is not None:
        return True
    return reader.scalar(select(obligations.c.id).where(
        obligations.c.order_id == order.id, obligations.c.done_at.is_(None)).limit(1)) is not None


def watch(reader: Reader, settings: Settings, now: datetime,
          orders: Sequence[OrderRow] | None = None) -> Watch:
    """The heartbeat at ``now`` for ``orders`` (default: every order in the database)."""
    if orders is None:
        orders = all_orders(reader)
    row = flushed(reader).execute(select(heartbeats.c.last_seen, heartbeats.c.interval_seconds)
                                  .where(heartbeats.c.name == NAME)).first()
    interval = row.interval_seconds if row is not None else check_interval_seconds(settings)
    return Watch(now=now, last_seen=row.last_seen if row is not None else None,
                 running=_lock_is_live(reader, settings),
                 interval=timedelta(seconds=interval),
                 alerts_to_come=any(alerts_to_come(reader, order) for order in orders))


def all_orders(reader: Reader) -> list[OrderRow]:
    rows = flushed(reader).execute(select(court_orders).order_by(court_orders.c.id))
    return [cast(OrderRow, row) for row in rows]


def _lock_is_live(reader: Reader, settings: Settings) -> bool:
    """A scheduler holds the lock and renewed it lately (real time, like the lock itself)."""
    renewed = reader.scalar(select(locks.c.heartbeat_at).where(locks.c.name == NAME))
    stale_after = timedelta(seconds=float(settings.section("alerts")["stale_after_seconds"]))
    return renewed is not None and clock.system_clock() - renewed <= stale_after
