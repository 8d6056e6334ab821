"""`bondtrack scheduler`: the alert check, the sweep, the look-ups due and the daily digest,
on a schedule.

APScheduler 3.11 runs a ``BlockingScheduler`` whose jobs live in a
``SQLAlchemyJobStore`` in the bondtrack database (table ``apscheduler_jobs``:
not in our metadata, so Alembic leaves it alone). Each watched order has four
jobs, each a function of this module named by reference with the case number
as its only argument: the alert check every ``[alerts] check_every_minutes``,
the sweep flow every ``[sweep] interval_minutes``, the locate flow every
``[locator] interval_minutes``, the digest daily at ``digest_hour`` in the court's zone.

- **Sleep**: jobs coalesce and have a misfire grace of
  ``misfire_grace_seconds``: a machine that slept through many check times
  runs the check once when it wakes, and the alert rule sends only the most
  urgent threshold passed meanwhile.
- **Restart**: job ids are fixed. A job whose definition is unchanged is kept
  with its next run time, so a restart neither duplicates nor resets it and a
  run missed while stopped is caught up once. A new or changed alert check or
  digest job runs at once; a new sweep waits for its interval.
- **One per database**: the scheduler holds the ``scheduler`` row of
  ``locks`` and renews its heartbeat; a second scheduler refuses to start. A
  lock not renewed for ``stale_after_seconds``, or held by a process of this
  machine that is gone, is taken over; the scheduler that lost it stops at
  its next heartbeat or job, without running the job.
- **One source of sweeps**: an order whose sweep deployment (`bondtrack serve`) has its own
  schedule on the Prefect server is not swept here; the sweep job says so each time.
- **Watched**: each job records when it ran (``workflow.record.watch``), so `status`
  and ``scheduler --check`` can say when no scheduler has run for too long.
- **Stopping**: SIGTERM or Ctrl-C lets running jobs finish, releases the lock
  and returns.

The jobs find this process's database and lock through ``_PROCESS``: APScheduler
stores only a function reference and its arguments.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.actions import alerts
from workflow.core import clock, processes
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError, debugging, public
from workflow.record import db, watch
from workflow.record.audit import Actor
from workflow.record.models import Lock

LOCK = "scheduler"
JOB_TABLE = "apscheduler_jobs"
_HOST = socket.gethostname()[:120]
_log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the lock


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: host, process id and a random token (pids are reused)."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Holder:
        return cls(_HOST, os.getpid(), secrets.token_hex(6))

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def is_gone(self) -> bool:
        """True when this holder ran on this machine and its process no longer exists."""
        if self.host != _HOST:
            return False
        if self.pid == os.getpid():
            return True  # that pid is us now: the holder died and the pid came round again
        return not processes.alive(self.pid)


def acquire(session: Session, me: Holder, now: datetime, stale_after: timedelta) -> str | None:
    """Take the scheduler lock for ``me``; says whose lock was taken over, if any.

    Raises BondtrackError while another scheduler holds it and is alive.
    """
    lock = session.get(Lock, LOCK, with_for_update=True)
    if lock is None:
        session.add(Lock(name=LOCK, holder=str(me), heartbeat_at=now))
        try:
            session.flush()
        except IntegrityError:
            raise BondtrackError("another scheduler is starting on this database now") from None
        return None
    silent = now - lock.heartbeat_at
    previous = Holder.parse(lock.holder)
    name = previous.describe() if previous else lock.holder
    if previous is not None and previous.is_gone():
        why = "its process is gone"
    elif silent > stale_after:
        why = f"no heartbeat for {int(silent.total_seconds())} s"
    else:
        raise BondtrackError(
            f"another scheduler is running on this database ({name}, heartbeat"
            f" {max(int(silent.total_seconds()), 0)} s ago): stop it first; if it is gone, its"
            f" lock goes stale {int(stale_after.total_seconds())} s after its last heartbeat")
    lock.holder, lock.heartbeat_at = str(me), now
    return f"took over the scheduler lock of {name} ({why})"


def renew(session: Session, me: Holder, now: datetime) -> bool:
    """Renew ``me``'s heartbeat; False when the lock is no longer ours."""
    result = cast(CursorResult[Any], session.execute(
        update(Lock).where(Lock.name == LOCK, Lock.holder == str(me)).values(heartbeat_at=now)
    ))
    return result.rowcount == 1


def release(session: Session, me: Holder) -> None:
    session.execute(delete(Lock).where(Lock.name == LOCK, Lock.holder == str(me)))


def holder_now(session: Session) -> str:
    """Who holds the lock now, for people."""
    text = session.scalar(select(Lock.holder).where(Lock.name == LOCK))
    parsed = Holder.parse(text) if text else None
    return parsed.describe() if parsed else (text or "nobody")


# ---------------------------------------------------------------- this process


@dataclass
class _Process:
    """The running scheduler: its database, its lock, and how to stop it."""

    settings: Settings
    database: db.Database
    holder: Holder
    scheduler: BlockingScheduler | None = None
    problem: str | None = None
    stopping: bool = False
    quit: threading.Event = field(default_factory=threading.Event)
    stopper: threading.Thread | None = None
    _stop_lock: Any = field(default_factory=threading.RLock)  # reentrant: signal handlers

    @property
    def actor(self) -> Actor:
        return Actor(operator=self.settings.operator, source="scheduler")

    def renew(self) -> bool | None:
        """Renew the heartbeat: True, False (lost: stop), or None (database unreachable)."""
        try:
            with self.database.write() as session:
                if renew(session, self.holder, clock.system_clock()):
                    return True
                winner = holder_now(session)
        except BondtrackError as exc:
            _log.warning("could not renew the scheduler lock (%s); will try again", exc)
            return None
        self.problem = (f"this scheduler lost its lock on the database to {winner} (it was silent"
                        " longer than [alerts] stale_after_seconds, e.g. the machine slept):"
                        " stopped, so that only one scheduler runs")
        _log.error(self.problem)
        self.request_stop()
        return False

    def may_run(self) -> bool:
        """A job runs only while the scheduler is not stopping and still holds the lock."""
        return not self.stopping and self.renew() is True

    def record(self, job: str) -> None:
        """The heartbeat others read: this scheduler is running ``job`` now."""
        try:
            with self.database.write() as session:
                watch.record_run(session, holder=str(self.holder), job=job, now=clock.now(),
                                 interval_seconds=watch.check_interval_seconds(self.settings))
        except BondtrackError as exc:
            _log.warning("could not record the scheduler's heartbeat (%s)", exc)

    def beat(self) -> None:
        """The heartbeat thread: renew the lock until told to quit or the lock is lost."""
        every = float(self.settings.section("alerts")["heartbeat_seconds"])
        while not self.quit.wait(every):
            if self.renew() is False:
                return

    def request_stop(self) -> None:
        """Stop once: running jobs finish, no new job starts (safe from a signal handler)."""
        with self._stop_lock:
            if self.stopping:
                return
            self.stopping = True
        self.quit.set()
        if self.scheduler is not None and self.scheduler.running:
            self._shut_down()

    def _shut_down(self) -> None:
        # Not in the caller's thread: a job or a signal handler must not wait for itself.
        with self._stop_lock:
            if self.stopper is not None:
                return
            self.stopper = threading.Thread(target=self._shutdown_scheduler, name="scheduler-stop")
        self.stopper.start()

    def _shutdown_scheduler(self) -> None:
        try:
            assert self.scheduler is not None
            self.scheduler.shutdown(wait=True)
        except SchedulerNotRunningError:
            pass

    def on_started(self, planned: list[Planned]) -> None:
        """Once the job store is open: make its jobs the planned ones (or stop if that fails)."""
        try:
            assert self.scheduler is not None
            reconcile(self.scheduler, planned,
                      self.settings.section("alerts")["misfire_grace_seconds"])
        except Exception as exc:  # noqa: BLE001 - a listener's error would only be logged
            self.problem = f"could not set up the scheduled jobs ({public(exc)})"
            _log.error(self.problem)
            self.request_stop()
        if self.stopping:
            self._shut_down()


_PROCESS: _Process | None = None


# ---------------------------------------------------------------- the jobs (by reference)


def check_alerts(case: str) -> bool:
    """Job: the deadline alert check for one order, then delivery of staff e-mails."""
    return _job("alert check", case, _check_alerts)


def send_digest(case: str) -> bool:
    """Job: today's digest for one order, if due and not sent yet."""
    return _job("digest", case, _send_digest)


def run_sweep(case: str) -> bool:
    """Job: the sweep flow (Prefect) for one order."""
    return _job("sweep", case, _run_sweep)


def run_locate(case: str) -> bool:
    """Job: the locate flow (Prefect) for one order: who is due for a look-up."""
    return _job("locate", case, _run_locate)


def _check_alerts(process: _Process, case: str, now: datetime) -> str:
    return _describe(alerts.run(process.database, process.settings, case=case, now=now,
                                actor=process.actor, worker=str(process.holder)))


def _send_digest(process: _Process, case: str, now: datetime) -> str:
    return _describe(alerts.run(process.database, process.settings, case=case, now=now,
                                actor=process.actor, worker=str(process.holder),
                                daily_digest=True))


def _run_sweep(process: _Process, case: str, now: datetime) -> str:
    from workflow.runners import flows

    # One source of sweeps: an order served as deployments sweeps on their schedule.
    deployment = flows.scheduled_sweep(case)
    if deployment:
        return (f"{case}: not swept here: the Prefect deployment {deployment} sweeps it on its"
                " own schedule")
    summary = flows.run_sweep(case, now)
    return (f"{case}: {summary.checked} outstanding people checked,"
            f" {sum(summary.new.values())} new findings")


def _run_locate(process: _Process, case: str, now: datetime) -> str:
    from workflow.runners import flows

    counts = flows.run_locate(case, now)
    return (f"{case}: {counts['due']} due for a look-up ({counts['call_office']} to ask the"
            " field office)")


def _describe(report: alerts.Report) -> str:
    lines = [alerts.describe(outcome) for outcome in report.outcomes]
    delivered = ", ".join(f"{n} {what}" for what, n in report.delivery.items() if n)
    return "; ".join(lines) + (f"; staff e-mails {delivered}" if delivered else "")


def _job(what: str, case: str, work: Callable[[_Process, str, datetime], str]) -> bool:
    """Run one job under the lock; its outcome and failures are logged (counts, never people)."""
    process = _PROCESS
    if process is None or not process.may_run():
        return False
    process.record(what)
    try:
        line = work(process, case, clock.now())
    except BondtrackError as exc:
        _log.error("%s for %s failed: %s", what, case, exc)
        return False
    except Exception as exc:
        if debugging():
            raise
        _log.error("%s for %s failed: %s", what, case, public(exc))
        return False
    _log.info("%s: %s", what, line)
    return True


# ---------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Planned:
    """One job as it should be in the store."""

    id: str
    name: str
    func: str
    case: str
    trigger: BaseTrigger
    at_once: bool


def plan(settings: Settings, watched: list[tuple[str, str]]) -> list[Planned]:
    """The four jobs of each watched (case number, court time zone)."""
    section = settings.section("alerts")
    check = IntervalTrigger(seconds=float(section["check_every_minutes"]) * 60, timezone=UTC)
    sweep = IntervalTrigger(minutes=settings.section("sweep")["interval_minutes"], timezone=UTC)
    locate = IntervalTrigger(minutes=settings.section("locator")["interval_minutes"],
                             timezone=UTC)
    jobs = []
    for case, zone in watched:
        digest = CronTrigger(hour=section["digest_hour"], minute=0, timezone=clock.zone(zone))
        jobs += [
            Planned(f"alerts:{case}", f"alert check {case}", f"{__name__}:check_alerts", case,
                    check, True),
            Planned(f"digest:{case}", f"digest {case}", f"{__name__}:send_digest", case, digest,
                    True),
            Planned(f"sweep:{case}", f"sweep {case}", f"{__name__}:run_sweep", case, sweep, False),
            Planned(f"locate:{case}", f"locate {case}", f"{__name__}:run_locate", case, locate,
                    False),
        ]
    return jobs


def _fingerprint(func: str, args: Any, trigger: BaseTrigger, grace: int | None) -> tuple:
    # str() of a trigger leaves out its start date, which differs on every start.
    return func, tuple(args), type(trigger).__name__, str(trigger), str(trigger.timezone), grace


def reconcile(scheduler: BlockingScheduler, planned: list[Planned], grace: int) -> None:
    """Make the stored jobs exactly ``planned``; an unchanged job keeps its next run time."""
    stored: dict[str, Job] = {job.id: job for job in scheduler.get_jobs()}
    for job in planned:
        old = stored.pop(job.id, None)
        wanted = _fingerprint(job.func, [job.case], job.trigger, grace)
        if old is not None and _fingerprint(old.func_ref, old.args, old.trigger,
                                            old.misfire_grace_time) == wanted:
            _log.info("kept job %s, next run %s", job.name, old.next_run_time)
            continue
        when = {"next_run_time": datetime.now(UTC)} if job.at_once else {}
        scheduler.add_job(job.func, job.trigger, args=[job.case], id=job.id, name=job.name,
                          replace_existing=True, misfire_grace_time=grace, **when)
        _log.info("%s job %s", "replaced" if old is not None else "added", job.name)
    for old in stored.values():
        scheduler.remove_job(old.id)
        _log.info("removed job %s (its order is not watched)", old.name)


def job_store(database: db.Database) -> SQLAlchemyJobStore:
    """APScheduler's table in our database, on our engine (its own metadata, not ours)."""
    return SQLAlchemyJobStore(engine=database.engine, tablename=JOB_TABLE)


def build(process: _Process, planned: list[Planned]) -> BlockingScheduler:
    section = process.settings.section("alerts")
    scheduler = BlockingScheduler(
        jobstores={"default": job_store(process.database)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": section["misfire_grace_seconds"]},
        timezone=UTC,
    )

    def started(_event: SchedulerEvent) -> None:
        process.on_started(planned)

    scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    return scheduler


# ---------------------------------------------------------------- running it


def rehearsal_clock(start: datetime) -> clock.Clock:
    """A clock that starts at ``start`` and runs at real speed (``--now`` rehearsals)."""
    offset = start - clock.system_clock()
    return lambda: clock.system_clock() + offset


def run(database: db.Database, settings: Settings, *, case: str | None, once: bool,
        say: Callable[[str], None], rehearse_from: datetime | None = None) -> None:
    """Hold the lock and run the jobs: on their schedule until stopped, or each once.

    ``rehearse_from`` runs the jobs on a clock that starts there (the lock keeps real time).
    """
    alerts.check_staff(settings)
    previous = clock.set_clock(rehearsal_clock(rehearse_from)) if rehearse_from else None
    try:
        _hold_and_run(database, settings, case=case, once=once, say=say)
    finally:
        if previous is not None:
            clock.set_clock(previous)


def _hold_and_run(database: db.Database, settings: Settings, *, case: str | None, once: bool,
                  say: Callable[[str], None]) -> None:
    global _PROCESS
    watched = alerts.watched(database, case)
    process = _Process(settings, database, Holder.this_process())
    stale = timedelta(seconds=float(settings.section("alerts")["stale_after_seconds"]))
    with database.write() as session:
        taken = acquire(session, process.holder, clock.system_clock(), stale)
    if taken:
        _log.warning(taken)
    _PROCESS = process
    heartbeat = threading.Thread(target=process.beat, name="scheduler-heartbeat", daemon=True)
    heartbeat.start()
    try:
        if once:
            _run_once(watched)
        else:
            _run_scheduled(process, watched, say)
    finally:
        process.quit.set()
        heartbeat.join()
        with database.write() as session:
            release(session, process.holder)
        _PROCESS = None
    if process.problem:
        raise BondtrackError(process.problem)


def _run_once(watched: list[tuple[str, str]]) -> None:
    failed = [f"{job.__name__} {case}" for case, _ in watched
              for job in (check_alerts, run_sweep, run_locate, send_digest) if not job(case)]
    if failed:
        raise BondtrackError(f"jobs that did not complete (see the log): {', '.join(failed)}")


def _run_scheduled(process: _Process, watched: list[tuple[str, str]],
                   say: Callable[[str], None]) -> None:
    section = process.settings.section("alerts")
    process.scheduler = build(process, plan(process.settings, watched))
    say(f"scheduler running for {', '.join(case for case, _ in watched)}: alert check every"
        f" {float(section['check_every_minutes']):g} min, sweep every"
        f" {process.settings.section('sweep')['interval_minutes']} min, look-ups due every"
        f" {process.settings.section('locator')['interval_minutes']} min, digest daily at"
        f" {section['digest_hour']:02d}:00 court time; Ctrl-C or SIGTERM stops it")
    with _stop_on_signals(process):
        process.scheduler.start()
    if process.stopper is not None:
        process.stopper.join()
    _log.info("scheduler stopped")


@contextmanager
def _stop_on_signals(process: _Process) -> Iterator[None]:
    """SIGTERM and SIGINT ask the scheduler to stop cleanly (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: Any) -> None:
        process.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
