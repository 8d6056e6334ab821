"""The scheduler as a user runs it: real processes, a real SMTP server, SIGKILL, SIGSTOP, SIGTERM.

Intervals are seconds here (``check_every_minutes = 0.01``) and each process
rehearses a moment of the order's timeline with the hidden ``--now``, whose
clock then runs on in real time, so hours of deadline are crossed in seconds.
"""

from __future__ import annotations

import math
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from tests.fixtures_flows import seed_order
from tests.fixtures_notices import Mailbox, SmtpServer, free_port
from workflow.core import clock, config
from workflow.core.errors import BondtrackError, ConfigError
from workflow.notices import alerts
from workflow.record import db, watch
from workflow.record.models import Alert, Event, Lock, Notice, SchedulerHeartbeat
from workflow.runners import scheduler

BONDTRACK = Path(sys.executable).parent / "bondtrack"
STAFF = ["attorney@legalaid.example", "paralegal@legalaid.example"]
CHECK_EVERY = 0.6  # seconds
STALE_AFTER = 3.0
# Where each killed run starts in court time (Chicago; deadline noon on the 21st).
KILLED_RUNS = ["2025-11-18 11:59:58.500", "2025-11-19 11:59:59.000", "2025-11-21 00:00:01",
               "2025-11-21 09:59:59.000", "2025-11-21 10:59:59.500", "2025-11-21 11:59:59.000"]

# How long a wait for a line or a state may take before the test fails: a bound for a hang, not a
# speed target (each wait ends as soon as what it waits for happens).
WAIT = 120.0

pytestmark = pytest.mark.serial  # kills, stops and wakes scheduler processes on the real clock


class Run:
    """One `bondtrack scheduler` process, its output in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen([str(BONDTRACK), "scheduler", *args], env=env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = WAIT, start: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output()[start:])
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the scheduler's output:\n{self.output()}")

    def send(self, number: int) -> None:
        os.kill(self.proc.pid, number)

    def stop(self, number: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.send(number)
        return self.proc.wait(timeout=timeout)


def stop_between_writes(run: Run, database: db.Database) -> None:
    """SIGSTOP ``run`` at an instant it holds no write lock on the SQLite file. Stopped inside
    its heartbeat's transaction it would keep the lock, and every writer, the scheduler taking
    over too, would find the database busy: that is SQLite, not the scheduler's lock."""
    path = database.engine.url.database
    for _ in range(100):
        run.send(signal.SIGSTOP)
        probe = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")  # the write lock, at once or not at all
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:  # stopped mid-write: let it finish, then again
            run.send(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the scheduler held the write lock at each of 100 tries")


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    server = SmtpServer(box, port)
    server.start()
    yield box, port
    server.stop()


@pytest.fixture
def order_id(database: db.Database, tmp_path: Path) -> int:
    return seed_order(database, 9, tmp_path)


@pytest.fixture
def env(settings: config.Settings, mailbox: tuple[Mailbox, int]) -> dict[str, str]:
    """The environment of every scheduler process: this test's database and SMTP server."""
    return {
        **os.environ,
        "BONDTRACK_NOTICES_STAFF_EMAILS": ",".join(STAFF),
        "BONDTRACK_SMTP_PORT": str(mailbox[1]),
        "BONDTRACK_ALERTS_CHECK_EVERY_MINUTES": str(CHECK_EVERY / 60),
        "BONDTRACK_ALERTS_HEARTBEAT_SECONDS": "0.5",
        "BONDTRACK_ALERTS_STALE_AFTER_SECONDS": str(STALE_AFTER),
        "BONDTRACK_SWEEP_INTERVAL_MINUTES": "60",
    }


@pytest.fixture
def runs(tmp_path: Path, env: dict[str, str]) -> Iterator[list[Run]]:
    """Start runs with ``start(*args)``; whatever is still alive at the end is killed."""
    started: list[Run] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def start(runs: list[Run], env: dict[str, str], tmp_path: Path, *args: str) -> Run:
    run = Run(env, tmp_path / f"scheduler-{len(runs)}.log", *args)
    runs.append(run)
    return run


def message_ids(box: Mailbox) -> Counter[str]:
    return Counter(message_from_bytes(m.content, policy=policy.default)["Message-ID"]
                   for m in box.messages)


def outbox(database: db.Database) -> list[tuple[str, str, str]]:
    """(idempotency key, status, Message-ID) of every staff e-mail."""
    with database.read() as session:
        rows = session.execute(select(Notice.idempotency_key, Notice.status, Notice.file_path))
        return [(key, status, message_from_bytes(Path(path).read_bytes(),
                                                 policy=policy.default)["Message-ID"])
                for key, status, path in rows]


def recorded(database: db.Database) -> dict[str, str]:
    with database.read() as session:
        return {a.threshold: a.status for a in session.scalars(select(Alert))}


def wait_until(condition, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


# ---------------------------------------------------------------- exactly once


def test_killed_and_restarted_again_and_again_every_alert_arrives_once(
        database, order_id, env, runs, mailbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    pace = random.Random(6)
    for at in KILLED_RUNS:
        run = start(runs, env, tmp_path, "--now", at)
        run.wait_for("Scheduler started")  # then killed anywhere in its first seconds of work
        time.sleep(pace.uniform(0.0, 1.6))
        run.stop(signal.SIGKILL)
    final = start(runs, env, tmp_path, "--now", "2025-11-22 11:59:58")
    expected = [f"T-{h}h" for h in (72, 48, 24, 12, 6, 2, 1)] + ["deadline", "overdue-1"]

    def settled() -> bool:
        return set(expected) <= set(recorded(database)) and all(
            status not in ("pending", "claimed", "sending") for _, status, _ in outbox(database))

    wait_until(settled)
    assert final.stop(signal.SIGTERM) == 0
    assert "(its process is gone)" in final.output()  # the killed run's lock, taken at once

    alerts_sent = {name for name, status in recorded(database).items() if status == "sent"}
    emails = outbox(database)
    received = message_ids(box)
    assert len(alerts_sent) >= 4 and len(box.messages) >= 8
    assert max(received.values()) == 1, "an e-mail arrived twice"
    assert set(received) <= {mid for *_, mid in emails}
    for _key, status, mid in emails:
        # needs-review: killed while handing the message over; never sent again, a human decides.
        assert (status, received[mid]) in (("sent", 1), ("needs-review", 0), ("needs-review", 1))
    for name, status in recorded(database).items():
        mine = [e for e in emails if alerts.key_threshold(e[0])[1] == name]
        assert len(mine) == (len(STAFF) if status == "sent" else 0), name


# ---------------------------------------------------------------- sleep


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the lock: both, in process
def test_a_scheduler_that_slept_catches_up_once(database, order_id, env, runs, mailbox,  # type: ignore[no-untyped-def]
                                                tmp_path) -> None:
    box, _ = mailbox
    run = start(runs, env, tmp_path, "--now", "2025-11-21 09:59:53")
    # Four thresholds passed while it slept (T-72h, T-48h, T-24h, T-12h): counted, not named.
    run.wait_for(r"alert check: .*sent T-6h to 2 staff \(skipped 4 earlier thresholds\)")
    run.wait_for(r"no alert due; next T-2h")  # between two runs of the check
    run.send(signal.SIGSTOP)  # asleep: T-2h passes and a dozen check times go by
    slept = datetime.now(UTC) + timedelta(seconds=0.05)
    time.sleep(8)
    woke = datetime.now(UTC)
    run.send(signal.SIGCONT)
    run.wait_for(r"alert check: .*sent T-2h to 2 staff")
    run.wait_for(r"no alert due; next T-1h")  # and on schedule again
    assert run.stop() == 0
    scheduled = [datetime.fromisoformat(at) for at in re.findall(
        r'Running job "alert check [^\n]*\(scheduled at ([^)]+)\)', run.output())]
    assert len([at for at in scheduled if slept < at < woke]) == 1, run.output()
    assert "was missed by" not in run.output()
    assert len([m for m in box.messages if b"2 hours to the deadline" in m.content]) == 2


# ---------------------------------------------------------------- one per database


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the lock: both, in process
def test_a_second_scheduler_refuses_and_a_stale_lock_is_taken_over(
        database, order_id, env, runs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = start(runs, env, tmp_path, "--now", "2025-11-20 12:00")
    first.wait_for(r"alert check: .*sent T-24h")
    second = subprocess.run([str(BONDTRACK), "scheduler"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert second.stderr.strip().splitlines()[-1].startswith(
        f"Error: another scheduler is running on this database (pid {first.proc.pid} on ")

    stop_between_writes(first, database)  # alive but silent longer than the stale time
    time.sleep(STALE_AFTER + 1)
    third = start(runs, env, tmp_path, "--now", "2025-11-20 12:10")
    third.wait_for(rf"took over the scheduler lock of pid {first.proc.pid} on \S+"
                   r" \(no heartbeat for \d+ s\)")
    first.send(signal.SIGCONT)
    assert first.proc.wait(timeout=30) == 1
    assert f"Error: this scheduler lost its lock on the database to pid {third.proc.pid}" in (
        first.output())
    assert third.stop() == 0
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Lock)) == 0
    with database.read() as session:
        sent = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "alert"))
    assert sent == 2  # T-24h by the first, the digest by the first: the third found both done


# ---------------------------------------------------------------- restart and stop


def test_sigterm_stops_cleanly_and_a_restart_keeps_its_jobs(database, order_id, env, runs,  # type: ignore[no-untyped-def]
                                                            tmp_path) -> None:
    first = start(runs, env, tmp_path, "--now", "2025-11-20 12:00")
    first.wait_for(r"alert check: .*sent T-24h")
    assert first.stop(signal.SIGTERM) == 0
    assert "scheduler stopped" in first.output() and "Traceback" not in first.output()
    second = start(runs, env, tmp_path, "--now", "2025-11-20 12:10")
    second.wait_for(r"kept job sweep 1:18-cv-03757")
    second.wait_for(r"alert check: .*no alert due")
    assert second.stop(signal.SIGINT) == 0
    assert "added job" not in second.output()
    with database.read() as session:
        jobs = session.execute(text(f"SELECT id FROM {scheduler.JOB_TABLE} ORDER BY id")).all()
        assert session.scalar(select(func.count()).select_from(Lock)) == 0
    assert [row[0] for row in jobs] == ["alerts:1:18-cv-03757", "digest:1:18-cv-03757",
                                        "locate:1:18-cv-03757", "sweep:1:18-cv-03757"]
    assert scheduler.JOB_TABLE in inspect(database.engine).get_table_names()
    cfg = db.alembic_config()
    with database.engine.begin() as conn:  # the real job table is not Alembic's business
        cfg.attributes["connection"] = conn
        command.check(cfg)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # Prefect's start is the cost
def test_once_runs_each_job_once_and_exits(database, order_id, env, mailbox) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    started = time.monotonic()
    done = subprocess.run([str(BONDTRACK), "scheduler", "--once", "--now", "2025-11-20 12:00"],
                          env=env, capture_output=True, text=True, timeout=150)
    ran = timedelta(seconds=math.ceil(time.monotonic() - started))  # the process's whole life
    assert done.returncode == 0, done.stderr
    assert "alert check: 1:18-cv-03757: sent T-24h to 2 staff" in done.stderr
    assert "sweep: 1:18-cv-03757: 9 outstanding people checked" in done.stderr
    assert "locate: 1:18-cv-03757: 9 due for a look-up (0 to ask the field office)" in done.stderr
    assert "digest: 1:18-cv-03757: sent the digest for 2025-11-20" in done.stderr
    assert len(box.messages) == 4
    with database.read() as session:
        flagged = session.scalar(select(func.count(func.distinct(Event.detainee_id)))
                                 .where(Event.kind == "finding"))
        assert flagged == 9  # everyone has been stuck in INTAKE for a week
        assert session.scalar(select(func.count()).select_from(Lock)) == 0
        beat = session.get(SchedulerHeartbeat, watch.NAME)
        assert beat is not None and beat.job in {"alert check", "sweep", "locate", "digest"}
        rehearsed = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)  # noon in Chicago
        assert rehearsed <= beat.last_seen <= rehearsed + ran  # written while it ran
        assert beat.interval_seconds == pytest.approx(CHECK_EVERY)
    assert scheduler.JOB_TABLE not in inspect(database.engine).get_table_names()


# ---------------------------------------------------------------- the lock, in process


ME = scheduler.Holder("here", 1, "a")
OTHER = scheduler.Holder("elsewhere", 2, "b")
STALE = timedelta(seconds=120)


def test_the_lock_is_held_renewed_refused_and_taken_when_stale(database) -> None:  # type: ignore[no-untyped-def]
    now = clock.system_clock()
    with database.write() as session:
        assert scheduler.acquire(session, OTHER, now, STALE) is None
    with database.write() as session:
        assert scheduler.renew(session, OTHER, now + timedelta(seconds=60))
    with pytest.raises(BondtrackError, match=r"pid 2 on elsewhere, heartbeat 60 s ago"):
        with database.write() as session:
            scheduler.acquire(session, ME, now + timedelta(seconds=120), STALE)
    with database.write() as session:
        taken = scheduler.acquire(session, ME, now + timedelta(seconds=181), STALE)
    assert taken == "took over the scheduler lock of pid 2 on elsewhere (no heartbeat for 121 s)"
    with database.write() as session:
        assert not scheduler.renew(session, OTHER, now + timedelta(seconds=182))
        assert scheduler.holder_now(session) == "pid 1 on here"
        scheduler.release(session, OTHER)  # not theirs any more: nothing happens
        assert scheduler.holder_now(session) == "pid 1 on here"
        scheduler.release(session, ME)
        assert scheduler.holder_now(session) == "nobody"


def test_a_lock_of_a_process_gone_from_this_machine_is_taken_at_once(database) -> None:  # type: ignore[no-untyped-def]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ghost = scheduler.Holder(scheduler.Holder.this_process().host, dead.pid, "c")
    now = clock.system_clock()
    with database.write() as session:
        scheduler.acquire(session, ghost, now, STALE)
    with database.write() as session:
        taken = scheduler.acquire(session, ME, now + timedelta(seconds=1), STALE)
    assert taken is not None and taken.endswith("(its process is gone)")


def test_jobs_are_functions_named_by_reference(settings) -> None:  # type: ignore[no-untyped-def]
    from apscheduler.util import ref_to_obj

    planned = scheduler.plan(settings, [("1:18-cv-03757", "America/Chicago")])
    assert [job.id for job in planned] == ["alerts:1:18-cv-03757", "digest:1:18-cv-03757",
                                           "sweep:1:18-cv-03757", "locate:1:18-cv-03757"]
    for job in planned:
        assert callable(ref_to_obj(job.func)) and job.func.startswith("workflow.runners.scheduler:")
    digest = planned[1].trigger
    assert str(digest) == "cron[hour='7', minute='0']" and str(digest.timezone) == "America/Chicago"


def test_the_scheduler_refuses_to_start_without_staff(database, order_id, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no staff to alert"):
        scheduler.run(database, settings, case=None, once=True, say=print)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Lock)) == 0
