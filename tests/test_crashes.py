"""SIGKILL at random moments: the database survives whole, and no e-mail goes out twice unseen.

Each trial starts the installed `bondtrack` as a user would, on a fresh copy
of a prepared database, and kills it with SIGKILL after a random delay within
the command's measured run time (so kills land in start-up, validation, the
writes and the commit alike). Then the database must open, pass every
invariant (tests/hardening_fixtures.py) and hold all or none of what the
command was doing; e-mails are counted as the SMTP server received them.
Every command gets 30 trials, half on SQLite and half on PostgreSQL, the two
backends side by side (one per core); the sweep, which must start a Prefect
client each time, gets 10 aimed at the moments its batches are written. The
delays come from fixed seeds.
"""

from __future__ import annotations

import hashlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from threading import Lock
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests import pgcluster
from tests.conftest import CASE, new_pg_database
from tests.hardening_fixtures import BONDTRACK, check_invariants, connected, environment
from tests.notices_fixtures import Mailbox, SmtpServer, free_port
from tests.prefect_fixtures import prefect_harness  # noqa: F401 - the fixture
from workflow import alerts, clock, db, orders, scheduler, sweep, tracking
from workflow.audit import Actor
from workflow.models import Alert, Detainee, Event, Notice
from workflow.roster import import_class_list

TRIALS = 30
SWEEP_TRIALS = 10  # each starts a Prefect client (about 3 s), so few, aimed at the writes
BACKENDS = ("sqlite", "postgresql")
IMPORT_PEOPLE = 2000
PEOPLE = 300
OBLIGORS = 12
STAFF = ("duty@example.org", "counsel@example.org")
REHEARSAL = "2030-11-21 02:00"  # ten hours before the deadline: the T-12h alert is due
SWEEP_AT = "2030-11-20 12:00"  # days after the import: everyone is stale


# ---------------------------------------------------------------- databases


@dataclass
class Templates:
    """A prepared database per backend, copied fresh for every trial."""

    base: Path
    sqlite: Path
    pg: pgcluster.Cluster
    pg_template: str
    made: Counter = field(default_factory=Counter)
    lock: Lock = field(default_factory=Lock)

    def fresh(self, backend: str, **extra: str) -> dict[str, str]:
        """The environment of a new home holding a copy of the template."""
        with self.lock:
            self.made[backend] += 1
            home = db.ensure_private_dir(self.base / f"{backend}-{self.made[backend]}")
        if backend == "sqlite":
            _sqlite_copy(self.sqlite, home / "bondtrack.db")
            return {**environment(home), **extra}
        url = new_pg_database(self.pg, self.pg_template)
        return {**environment(home, url), **extra}


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy, through SQLite's backup API."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    target.chmod(0o600)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
          pg: pgcluster.Cluster, pg_template: str) -> tuple:
    """The migrated, empty databases every template starts from."""
    return tmp_path_factory.mktemp("crash"), sqlite_template, pg, pg_template


def prepare(empty: tuple, name: str, fill: Callable[[db.Database, Path], None]) -> Templates:
    """Templates on both backends holding what ``fill`` puts in an empty database."""
    base, sqlite_template, pg, pg_template = empty
    home = db.ensure_private_dir(base / f"template-{name}")
    _sqlite_copy(sqlite_template, home / "bondtrack.db")
    with connected(environment(home)) as database:
        fill(database, base)
    url = new_pg_database(pg, pg_template)
    with connected(environment(base / f"template-{name}-pg", url)) as database:
        fill(database, base)
    return Templates(base, home / "bondtrack.db", pg, url.rsplit("/", 1)[1])


def class_list(path: Path, people: int) -> Path:
    path.write_text("A#,Last Name,First Name,Language,Facility Code,Facility Name\n" + "".join(
        f"{n:09d},Family{n},Given{n},es,BROADIL,Broadview\n" for n in range(1, people + 1)),
        encoding="utf-8")
    return path


def _add_order(database: db.Database, _folder: Path | None = None) -> None:
    with database.write() as session:
        orders.add_order(session, case_number=CASE, court="N.D. Ill.", judge="J",
                         deadline="2030-11-21 12:00", time_zone="America/Chicago",
                         actor=Actor("setup"), now=clock.now())


def _with_people(database: db.Database, folder: Path) -> None:
    _add_order(database)
    listing = class_list(folder / "people.csv", PEOPLE)
    with database.write() as session:
        import_class_list(session, orders.resolve_order(session, CASE), listing,
                          actor=Actor("setup", "import"), now=clock.now())


def _with_obligors(database: db.Database, folder: Path) -> None:
    """People whose bonds are set, each with an obligor who has an e-mail address."""
    _add_order(database)
    listing = class_list(folder / "obligors.csv", OBLIGORS)
    actor, now = Actor("setup"), clock.now()
    with database.write() as session:
        import_class_list(session, orders.resolve_order(session, CASE), listing, actor=actor,
                          now=now)
        broadview = orders.facility_for(session, "BROADIL")
        for person in session.scalars(select(Detainee)):
            tracking.locate(session, person, broadview, actor=actor, now=now)
            tracking.set_bond(session, person, amount_cents=150_000, obligor_name="Ana Family",
                              obligor_email=f"obligor{person.id}@example.org", actor=actor,
                              now=now)


@pytest.fixture(scope="module")
def order_only(empty: tuple) -> Templates:
    return prepare(empty, "order", _add_order)


@pytest.fixture(scope="module")
def with_people(empty: tuple) -> Templates:
    return prepare(empty, "people", _with_people)


@pytest.fixture(scope="module")
def with_obligors(empty: tuple) -> Templates:
    return prepare(empty, "obligors", _with_obligors)


# ---------------------------------------------------------------- killing


@dataclass
class Tally:
    """What the trials of one command did: each outcome, as ``check`` named it."""

    outcomes: Counter = field(default_factory=Counter)

    @property
    def killed(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome.startswith("killed"))


def kill_after(argv: list[str], env: dict[str, str], delay: float) -> bool:
    """Run ``bondtrack argv``; SIGKILL it after ``delay`` seconds. True if it was killed."""
    process = subprocess.Popen([str(BONDTRACK), *argv], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return True
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return False


def measure(argv: list[str], env: dict[str, str]) -> float:
    """How long the command takes when left alone (it must succeed)."""
    started = time.monotonic()
    assert not kill_after(argv, env, 600)
    return time.monotonic() - started


Trial = Callable[[str, float], tuple[bool, str]]  # (backend, random 0..1) → (killed, outcome)


def run_trials(trial: Trial, seed: str, count: int = TRIALS) -> Tally:
    """``count`` trials, half on each backend; the backends side by side (one per core),
    each backend's trials one after another."""
    rng = random.Random(seed)
    fractions = {b: [rng.random() for _ in range(count // len(BACKENDS))] for b in BACKENDS}
    with ThreadPoolExecutor(len(BACKENDS)) as pool:
        runs = pool.map(lambda b: [trial(b, f) for f in fractions[b]], BACKENDS)
        results = [result for run in runs for result in run]
    tally = Tally(Counter(f"{'killed' if killed else 'finished'}: {what}"
                          for killed, what in results))
    assert tally.killed >= count // 2, f"most trials must be killed, or nothing was tested: {tally}"
    return tally


def command_trial(templates: Templates, argv: list[str], check: Callable[[db.Database], str],
                  extra: Callable[[str], dict[str, str]] = lambda backend: {}) -> Trial:
    """Kill ``bondtrack argv`` within its measured run time, then ``check`` what is left."""
    took = {b: measure(argv, templates.fresh(b, **extra(b))) for b in BACKENDS}

    def trial(backend: str, fraction: float) -> tuple[bool, str]:
        env = templates.fresh(backend, **extra(backend))
        killed = kill_after(argv, env, fraction * took[backend] * 1.1)
        with connected(env) as database:
            return killed, check_database(database, check)

    return trial


def check_database(database: db.Database, check: Callable[[db.Database], str]) -> str:
    """The database opens, is intact, passes the invariants, and ``check`` says what it holds."""
    database.check_schema()
    if database.settings.is_sqlite:
        with sqlite3.connect(database.settings.database_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check_invariants(database, clock.now())
    return check(database)


def count(database: db.Database, *where: Any) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(*where)) or 0


# ---------------------------------------------------------------- import and apply


def test_a_killed_import_leaves_all_of_the_list_or_none(order_only: Templates,
                                                       tmp_path: Path) -> None:
    listing = class_list(tmp_path / "list.csv", IMPORT_PEOPLE)

    def check(database: db.Database) -> str:
        imported = count(database, Event.kind == "imported")
        files = count(database, Event.kind == "class-list-imported")
        with database.read() as session:
            people = session.scalar(select(func.count()).select_from(Detainee))
        assert (people, imported, files) in ((0, 0, 0), (IMPORT_PEOPLE, IMPORT_PEOPLE, 1))
        return "all" if people else "none"

    tally = run_trials(command_trial(order_only, ["import", str(listing)], check), "import")
    assert "finished: none" not in tally.outcomes, tally


def test_a_killed_apply_leaves_every_move_or_none(with_people: Templates, tmp_path: Path) -> None:
    moves = tmp_path / "moves.csv"
    moves.write_text("a_number,action,facility_code\n" + "".join(
        f"{n:09d},locate,BROADIL\n" for n in range(1, PEOPLE + 1)), encoding="utf-8")

    def check(database: db.Database) -> str:
        with database.read() as session:
            located = session.scalar(select(func.count()).select_from(Detainee).where(
                Detainee.stage == "LOCATED"))
        events = count(database, Event.kind.in_(("locate", "bulk-applied")))
        assert (located, events) in ((0, 0), (PEOPLE, PEOPLE + 1)), (located, events)
        return "all" if located else "none"

    tally = run_trials(command_trial(with_people, ["apply", str(moves)], check), "apply")
    assert "finished: none" not in tally.outcomes, tally


# ---------------------------------------------------------------- e-mail


@pytest.fixture
def mailboxes() -> Iterator[dict[str, tuple[Mailbox, int]]]:
    """A real SMTP server per backend, so trials side by side count their own e-mails."""
    servers = {}
    for backend in BACKENDS:
        mailbox, port = Mailbox(), free_port()
        servers[backend] = SmtpServer(mailbox, port)
        servers[backend].start()
    yield {backend: (server.mailbox, server.port) for backend, server in servers.items()}
    for server in servers.values():
        server.stop()


def message_id(key: str) -> str:
    """The Message-ID the outbox gives the e-mail with idempotency ``key``."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@bondtrack>"


def delivered_once(database: db.Database, mailbox: Mailbox, expected: int) -> str:
    """Every queued e-mail arrived at most once; one marked sent arrived exactly once; none
    is left pending. Anything in doubt is marked needs-review for a person to settle."""
    arrived = Counter(message_from_bytes(m.content, policy=policy.SMTP)["Message-ID"]
                      for m in mailbox.messages)
    with database.read() as session:
        notices = session.execute(select(Notice.idempotency_key, Notice.status)).all()
    assert len(notices) == expected, "an e-mail was queued twice, or not at all"
    for key, status in notices:
        assert status in ("sent", "needs-review"), status
        assert arrived[message_id(key)] <= 1, "an e-mail was delivered twice"
        assert status == "needs-review" or arrived[message_id(key)] == 1, \
            "an e-mail marked sent never arrived"
    assert sum(arrived.values()) == sum(arrived[message_id(k)] for k, _ in notices)
    review = sum(status == "needs-review" for _, status in notices)
    return f"{review} need review" if review else "each sent once"


def _smtp(mailboxes: dict[str, tuple[Mailbox, int]], backend: str) -> dict[str, str]:
    mailboxes[backend][0].messages.clear()  # each trial counts its own deliveries
    return {"BONDTRACK_SMTP_PORT": str(mailboxes[backend][1]),
            "BONDTRACK_NOTICES_STAFF_EMAILS": ",".join(STAFF)}


def _backend(database: db.Database) -> str:
    return "sqlite" if database.settings.is_sqlite else "postgresql"


def test_a_killed_send_never_delivers_an_email_twice_unmarked(
        with_obligors: Templates, mailboxes: dict[str, tuple[Mailbox, int]]) -> None:
    from workflow.notices import send_notices

    def check(database: db.Database) -> str:
        # Whatever the kill left, the next run (after the lease) finishes the job.
        send_notices(database, database.settings, case=CASE, kinds=("obligor",),
                     now=clock.now() + timedelta(hours=1), worker="after-the-crash")
        return delivered_once(database, mailboxes[_backend(database)][0], OBLIGORS)

    trial = command_trial(with_obligors, ["notices", "send", "--kind", "obligor"], check,
                          lambda backend: _smtp(mailboxes, backend))
    run_trials(trial, "notices")


# ---------------------------------------------------------------- the scheduler


def _alert_emails_sent(database: db.Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Notice).where(
            Notice.kind == "alert", Notice.status == "sent")) or 0


def measure_scheduler(env: dict[str, str]) -> float:
    """Seconds from start until the scheduler has sent its first alert; then stopped cleanly."""
    started = time.monotonic()
    process = subprocess.Popen([str(BONDTRACK), "scheduler", "--now", REHEARSAL], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with connected(env) as database:
            while _alert_emails_sent(database) < len(STAFF):
                assert process.poll() is None and time.monotonic() - started < 120
                time.sleep(0.02)
        return time.monotonic() - started
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0


def _jobs_load(database: db.Database) -> None:
    """The job store a kill interrupted still loads every job (what a restart reads first)."""
    store = scheduler.job_store(database)
    store.start(None, "default")  # type: ignore[arg-type]  # no scheduler: nothing may run
    assert len(store.get_all_jobs()) <= 3


def test_a_killed_scheduler_is_taken_over_and_alerts_once(
        with_obligors: Templates, mailboxes: dict[str, tuple[Mailbox, int]]) -> None:
    took = {b: measure_scheduler(with_obligors.fresh(b, **_smtp(mailboxes, b))) for b in BACKENDS}

    def trial(backend: str, fraction: float) -> tuple[bool, str]:
        env = with_obligors.fresh(backend, **_smtp(mailboxes, backend))
        killed = kill_after(["scheduler", "--now", REHEARSAL], env, fraction * took[backend] * 1.1)
        with connected(env) as database:
            return killed, check_database(database, lambda d: _after_scheduler(d, mailboxes))

    tally = run_trials(trial, "scheduler")
    assert tally.killed == TRIALS  # a scheduler never stops by itself


def _after_scheduler(database: db.Database, mailboxes: dict[str, tuple[Mailbox, int]]) -> str:
    """A new scheduler takes the dead one's lock at once, loads the jobs, and its alert check
    sends nothing twice: the T-12h alert (and perhaps the digest) fired once each."""
    with database.write() as session:
        scheduler.acquire(session, scheduler.Holder.this_process(), clock.now(),
                          timedelta(minutes=2))
    _jobs_load(database)
    at = clock.parse_instant(REHEARSAL, "America/Chicago") + timedelta(hours=1)
    alerts.run(database, database.settings, case=CASE, now=at, actor=Actor("after"),
               worker="after-the-crash")
    with database.read() as session:
        fired = list(session.scalars(select(Alert.threshold).where(Alert.status == "sent")))
    assert "T-12h" in fired and len(set(fired)) == len(fired), fired
    return delivered_once(database, mailboxes[_backend(database)][0], len(STAFF) * len(fired))


# ---------------------------------------------------------------- the sweep


def sweep_until(env: dict[str, str], delay: float | None) -> tuple[bool, float]:
    """`bondtrack run sweep`, killed ``delay`` s after its first finding is committed.

    With ``delay`` None it runs to the end; returns (killed, seconds from the first finding
    to the last one: the window in which its batches are written).
    """
    process = subprocess.Popen([str(BONDTRACK), "run", "sweep", "--now", SWEEP_AT], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with connected(env) as database:
        findings = lambda: count(database, Event.kind == "finding")  # noqa: E731
        started = time.monotonic()
        while process.poll() is None and findings() == 0:
            assert time.monotonic() - started < 180, "the sweep never wrote a finding"
            time.sleep(0.01)
        writing = time.monotonic()
        if delay is None:
            while findings() < 2 * PEOPLE and process.poll() is None:  # stale and at risk
                time.sleep(0.01)
            window = time.monotonic() - writing
    if delay is None:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
        return False, window
    try:
        process.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return True, 0.0
    return False, 0.0


def _findings_by_person(database: db.Database) -> dict[int, Counter]:
    """Each person's findings: check → how many times it was recorded."""
    found: dict[int, Counter] = {}
    with database.read() as session:
        for person, payload in session.execute(
                select(Event.detainee_id, Event.payload).where(Event.kind == "finding")):
            found.setdefault(person, Counter())[payload["check"]] += 1
    return found


def _finish_sweep(database: db.Database) -> None:
    """What the next sweep does after a crash: the same checks, recording only what is new."""
    now = clock.parse_instant(SWEEP_AT, "America/Chicago")
    with database.read() as session:
        plan = sweep.plan(session, orders.resolve_order(session, CASE), now, database.settings)
    for ids in sweep.batches(plan.detainee_ids, sweep.batch_size(database.settings)):
        with database.write() as session:
            sweep.check_batch(session, plan, ids, now, Actor("after", "flow"))


def _whole_batches(database: db.Database) -> str:
    """Each batch the kill interrupted is all there or not there; the next sweep adds the
    rest and nothing twice."""
    left = _findings_by_person(database)
    _finish_sweep(database)
    done = _findings_by_person(database)
    assert len(done) == PEOPLE, "someone was not checked"
    assert all(n == 1 for checks in done.values() for n in checks.values()), \
        "a finding was recorded twice"
    size = sweep.batch_size(database.settings)
    batches = sweep.batches(sorted(done), size)
    for batch in batches:
        assert {p for p in batch if p in left} in (set(), set(batch)), "half a batch"
        assert all(left[p] == done[p] for p in batch if p in left)
    return f"{len(left) // size} of {len(batches)} batches written"


def test_a_killed_sweep_leaves_whole_batches_and_no_finding_twice(
        with_people: Templates, prefect_harness: None, tmp_path: Path) -> None:  # noqa: F811
    from prefect.settings import PREFECT_API_URL

    extra = {"PREFECT_API_URL": str(PREFECT_API_URL.value()),
             "PREFECT_HOME": str(tmp_path / "prefect-client"), "BONDTRACK_SWEEP_BATCH_SIZE": "10"}
    window = {b: sweep_until(with_people.fresh(b, **extra), None)[1] for b in BACKENDS}

    def trial(backend: str, fraction: float) -> tuple[bool, str]:
        env = with_people.fresh(backend, **extra)
        killed, _ = sweep_until(env, fraction * window[backend] * 1.2)
        with connected(env) as database:
            return killed, check_database(database, _whole_batches)

    run_trials(trial, "sweep", SWEEP_TRIALS)


# ---------------------------------------------------------------- SQLite's locks


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_second_engine_in_one_process_keeps_its_sqlite_locks(database: db.Database) -> None:
    """A command that opens the database twice (the CLI, then a flow) must keep its locks.

    Closing any descriptor of a SQLite file drops the process's POSIX locks on it; another
    process closing its last connection then thinks it is the last one and deletes the
    write-ahead log under our feet ("disk I/O error" in every concurrent sweep batch).
    """
    path = Path(database.settings.database_url.removeprefix("sqlite:///"))
    with database.engine.connect() as held:
        held.execute(text("SELECT count(*) FROM events")).all()
        second = db.connect(database.settings)  # what `bondtrack run sweep` does
        probe = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                 " c.execute('SELECT count(*) FROM events').fetchall(); c.close()")
        subprocess.run([sys.executable, "-c", probe, str(path)], check=True, timeout=60)
        assert Path(f"{path}-wal").exists(), "another process deleted our write-ahead log"
        held.execute(text("SELECT count(*) FROM events")).all()
        second.dispose()
