"""SIGKILL in the middle of the writes: the database survives whole, and no e-mail or text
goes out twice unseen.

Each trial runs a `bondtrack` command on a fresh copy of a prepared database
and kills it with SIGKILL at a step it names: the child announces each step
it reaches (workflow/core/crashpoints.py) and is killed the Nth time it reaches the
one under test, inside a batch's transaction, after the mail server accepted
a message and before it is marked sent, between writing an .eml file and the
commit, before and after the SMS provider's API call and after its record,
inside an import's commit, inside the scheduler's job. A kill so
placed lands there however fast or loaded the machine is. Then the database
must open, pass every invariant (tests/fixtures_hardening.py) and hold all or
none of what the command was doing, as that step implies; e-mails are counted
as the SMTP server received them, texts as the provider's stand-in received
them. A few more kills at random instants within the command's measured run
time (fixed seeds) reach validation and the rest; they are checked as
strictly, but how many of them landed is never asserted.

The commands run as children of a fork server (tests/forkserver.py) that has
imported bondtrack once: real processes running the real `bondtrack` code,
writing to the real database, minus Python's start-up, where a kill finds
nothing to break. The sweep's trials kill its database work as the flow runs
it (the flow's own task functions, all batches at once, without Prefect's
bookkeeping: tests/sweep_tasks.py), and the real Prefect flow, reporting to a
real Prefect server.
"""

from __future__ import annotations

import hashlib
import queue
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from threading import Lock
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests import pgcluster
from tests.fixtures_hardening import check_invariants, connected, drop_pg_database, environment
from tests.fixtures_notices import Mailbox, SmtpServer, free_port
from tests.fixtures_sms import StandIn, callback_fields, sign, sms_env, stand_in
from tests.forkserver import ForkServer
from tests.support import CASE, new_pg_database
from workflow.core import clock, config, dates
from workflow.core import crashpoints as steps
from workflow.core.files import ensure_private_dir
from workflow.intake.roster import import_class_list
from workflow.notices import alerts
from workflow.notices.sms import consent
from workflow.notices.sms import outbox as texts
from workflow.notices.sms.setup import TOKEN_ENV
from workflow.orders import orders
from workflow.people import sweep, tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Alert, Detainee, Event, Notice, SmsMessage
from workflow.runners import scheduler

RANDOM_TRIALS = 4  # kills at random instants, of each kind of command on each backend
BACKENDS = ("sqlite", "postgresql")
WORKERS = 2  # trials side by side, one per core
IMPORT_PEOPLE = 2000
PEOPLE = 300
OBLIGORS = 12
TEXTS = 12  # people who agreed to texts, a test text queued to each
STAFF = ("duty@example.org", "counsel@example.org")
REHEARSAL = "2030-11-21 02:00"  # ten hours before the deadline: the T-12h alert is due
SWEEP_AT = "2030-11-20 12:00"  # days after the import: everyone is stale
# What the commands import, loaded once by the fork servers.
COMMAND_MODULES = ("workflow.cli.people", "workflow.cli.notices", "workflow.cli.scheduler",
                   "workflow.cli.backup", "workflow.intake.roster", "workflow.intake.apply",
                   "workflow.people.tracking",
                   "workflow.notices.sending", "workflow.runners.scheduler",
                   "workflow.notices.alerts", "workflow.cli.sms", "workflow.notices.sms.outbox",
                   "workflow.record.backup")
SWEEP_MODULES = ("workflow.cli.run", "workflow.runners.flows", "tests.sweep_tasks")

pytestmark = pytest.mark.serial  # kills processes, two trials side by side of its own


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

    @contextmanager
    def fresh(self, backend: str, **extra: str) -> Iterator[dict[str, str]]:
        """The environment of a new home holding a copy of the template; gone afterwards."""
        with self.lock:
            self.made[backend] += 1
            home = ensure_private_dir(self.base / f"{backend}-{self.made[backend]}")
        url = ""
        if backend == "sqlite":
            _sqlite_copy(self.sqlite, home / "bondtrack.db")
        else:
            url = new_pg_database(self.pg, self.pg_template)
        try:
            yield {**environment(home, url), **extra}
        finally:
            shutil.rmtree(home)
            if url:
                drop_pg_database(self.pg, url)


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
    home = ensure_private_dir(base / f"template-{name}")
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
        broadview = facilities.by_code(session, "BROADIL")
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


Step = tuple[str, int]  # a step of workflow/core/crashpoints.py, and which time it is reached


@dataclass(frozen=True)
class Kill:
    """Where a trial's command dies: the Nth time it reaches ``step``, or at a random instant
    (``fraction`` of its measured run time)."""

    step: Step | None = None
    fraction: float = 0.0

    def __str__(self) -> str:
        return f"{self.step[0]} #{self.step[1]}" if self.step else "a random instant"


@dataclass
class Outcomes:
    """What the trials left: per backend and announced step, and the random kills' tally."""

    at: dict[tuple[str, Step], str] = field(default_factory=dict)
    random: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        lines = [f"{backend} killed at {Kill(step)}: {what}"
                 for (backend, step), what in self.at.items()]
        return "\n".join([*lines, f"random kills: {dict(self.random)}"])

    def of(self, step: Step) -> set[str]:
        """What a kill at ``step`` left, on every backend."""
        return {self.at[backend, step] for backend in BACKENDS}


def fork_servers(modules: tuple[str, ...], env: dict[str, str]) -> Iterator[list[ForkServer]]:
    """A fork server per worker (it runs one command at a time), closed afterwards."""
    started = [ForkServer(modules, env) for _ in range(WORKERS)]
    yield started
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ForkServer]]:
    home = ensure_private_dir(tmp_path_factory.mktemp("forkserver"))
    yield from fork_servers(COMMAND_MODULES, environment(home))


def log(env: dict[str, str]) -> Path:
    """Where the command's stderr goes: its home (removed with it)."""
    return Path(env["BONDTRACK_HOME"]) / "stderr.log"


def measure(server: ForkServer, argv: list[str], env: dict[str, str]) -> float:
    """How long the command takes when left alone (it must succeed)."""
    started = time.monotonic()
    assert not server.run(argv, env, log(env))
    return time.monotonic() - started


def side_by_side(measure_on: Callable[[int, str], float]) -> dict[str, float]:
    """Each backend's ``measure_on(worker, backend)`` at once, so the machine is about as busy
    as when the trials run; only the random kills use it, and nothing asserts where they land."""
    assert len(BACKENDS) <= WORKERS
    with ThreadPoolExecutor(len(BACKENDS)) as pool:
        measured = pool.map(measure_on, range(len(BACKENDS)), BACKENDS)
        return dict(zip(BACKENDS, measured, strict=True))


# (worker, backend, kill) → (killed, outcome); the worker picks its fork server.
Trial = Callable[[int, str, Kill], tuple[bool, str]]


def run_trials(trial: Trial, at: list[Step], seed: str, randoms: int = RANDOM_TRIALS) -> Outcomes:
    """A trial killed at each step of ``at``, and ``randoms`` at random instants, on each
    backend, WORKERS at a time. Every announced kill must land at its step."""
    rng = random.Random(seed)
    jobs = [(backend, Kill(step)) for step in at for backend in BACKENDS]
    jobs += [(backend, Kill(fraction=rng.random())) for _ in range(randoms) for backend in BACKENDS]
    free: queue.Queue[int] = queue.Queue()
    for worker in range(WORKERS):
        free.put(worker)

    def run(backend: str, kill: Kill) -> tuple[str, Kill, bool, str]:
        worker = free.get()  # never waits: a pool thread holds one worker at a time
        try:
            return backend, kill, *trial(worker, backend, kill)
        finally:
            free.put(worker)

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda job: run(*job), jobs))
    outcomes = Outcomes()
    for backend, kill, killed, what in results:
        if kill.step is None:
            outcomes.random[f"{'killed' if killed else 'finished'}: {what}"] += 1
        else:
            assert killed, f"{backend}: the command was not killed at {kill}"
            outcomes.at[backend, kill.step] = what
    return outcomes


def command_trial(templates: Templates, servers: list[ForkServer], argv: list[str],
                  check: Callable[[db.Database], str],
                  extra: Callable[[int], dict[str, str]] = lambda worker: {},
                  randoms: bool = True) -> Trial:
    """Kill ``bondtrack argv`` at a step (or a random instant), then ``check`` what is left."""
    def measure_on(worker: int, backend: str) -> float:
        with templates.fresh(backend, **extra(worker)) as env:
            return measure(servers[worker], argv, env)

    took = side_by_side(measure_on) if randoms else {}

    def trial(worker: int, backend: str, kill: Kill) -> tuple[bool, str]:
        with templates.fresh(backend, **extra(worker)) as env:
            after = None if kill.step else kill.fraction * took[backend]
            killed = servers[worker].run(argv, env, log(env), after, kill_at=kill.step)
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


def test_a_killed_import_leaves_all_of_the_list_or_none(
        order_only: Templates, servers: list[ForkServer], tmp_path: Path) -> None:
    listing = class_list(tmp_path / "list.csv", IMPORT_PEOPLE)

    def check(database: db.Database) -> str:
        imported = count(database, Event.kind == "imported")
        files = count(database, Event.kind == "class-list-imported")
        with database.read() as session:
            people = session.scalar(select(func.count()).select_from(Detainee))
        assert (people, imported, files) in ((0, 0, 0), (IMPORT_PEOPLE, IMPORT_PEOPLE, 1))
        return "all" if people else "none"

    written = (steps.IMPORT_WRITTEN, 1)  # every row inserted; the commit not yet made
    outcomes = run_trials(command_trial(order_only, servers, ["import", str(listing)], check),
                          [written], "import")
    assert outcomes.of(written) == {"none"}
    assert "finished: none" not in outcomes.random, str(outcomes)


def test_a_killed_apply_leaves_every_move_or_none(
        with_people: Templates, servers: list[ForkServer], tmp_path: Path) -> None:
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

    # After the first move, half of them, and all of them, the file's transaction still open.
    at = [(steps.APPLY_ROW, n) for n in (1, PEOPLE // 2, PEOPLE)]
    outcomes = run_trials(command_trial(with_people, servers, ["apply", str(moves)], check),
                          at, "apply")
    assert all(outcomes.of(step) == {"none"} for step in at), str(outcomes)
    assert "finished: none" not in outcomes.random, str(outcomes)


# ---------------------------------------------------------------- e-mail


@pytest.fixture
def mailboxes() -> Iterator[list[SmtpServer]]:
    """A real SMTP server per worker, so trials side by side count their own e-mails."""
    smtp = [SmtpServer(Mailbox(), free_port()) for _ in range(WORKERS)]
    for server in smtp:
        server.start()
    yield smtp
    for server in smtp:
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


def _smtp(mailboxes: list[SmtpServer], worker: int) -> dict[str, str]:
    mailboxes[worker].mailbox.messages.clear()  # each trial counts its own deliveries
    return {"BONDTRACK_SMTP_PORT": str(mailboxes[worker].port),
            "BONDTRACK_NOTICES_STAFF_EMAILS": ",".join(STAFF)}


def _mailbox(mailboxes: list[SmtpServer], database: db.Database) -> Mailbox:
    """The mailbox of the SMTP server this database's trial sent to."""
    port = database.settings.section("smtp")["port"]
    return next(server.mailbox for server in mailboxes if server.port == port)


def unnamed_files(database: db.Database) -> list[Path]:
    """Files in the outbox that no notice names (nothing would ever send or purge them)."""
    outbox = database.settings.home / "outbox"
    with database.read() as session:
        named = {Path(p).name for p in session.scalars(select(Notice.file_path)) if p}
    return [p for p in outbox.iterdir() if p.name not in named] if outbox.is_dir() else []


SEND = ["notices", "send", "--kind", "obligor"]


def test_a_killed_send_never_delivers_an_email_twice_unmarked(
        with_obligors: Templates, servers: list[ForkServer],
        mailboxes: list[SmtpServer]) -> None:
    from workflow.notices.sending import send_notices

    def check(database: db.Database) -> str:
        left = _left_by_the_send(database)
        # Whatever the kill left, the next run (after the lease) finishes the job.
        send_notices(database, database.settings, case=CASE, kinds=("obligor",),
                     now=clock.now() + timedelta(hours=1), worker="after-the-crash")
        assert unnamed_files(database) == []
        return f"{left}, then {delivered_once(database, _mailbox(mailboxes, database), OBLIGORS)}"

    trial = command_trial(with_obligors, servers, SEND, check,
                          lambda worker: _smtp(mailboxes, worker))
    queueing = [(steps.MESSAGE_FILE, n) for n in (1, OBLIGORS)]
    sending = [(steps.SMTP_ACCEPTED, n) for n in (1, OBLIGORS // 2, OBLIGORS)]
    outcomes = run_trials(trial, queueing + sending, "notices")
    # Killed before the queueing committed: nothing queued, and the next send sends each once.
    assert all(outcomes.of(step) == {"none queued, then each sent once"} for step in queueing)
    # Killed with a message accepted but not marked: that one is left for a person to settle.
    assert outcomes.of(sending[0]) == {"none sent, then 1 need review"}, str(outcomes)
    assert outcomes.of(sending[1]) == {"some sent, then 1 need review"}, str(outcomes)
    assert outcomes.of(sending[2]) == {"some sent, then 1 need review"}, str(outcomes)


def _left_by_the_send(database: db.Database) -> str:
    """Where the kill found the send: queueing, sending, or done."""
    with database.read() as session:
        statuses = Counter(session.scalars(select(Notice.status)))
    if not statuses:
        return "none queued"
    sent = statuses["sent"]
    return "all sent" if sent == OBLIGORS else f"{'some' if sent else 'none'} sent"


@contextmanager
def killed_while_queueing(templates: Templates, backend: str, server: ForkServer,
                          extra: dict[str, str]) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """A send killed once its first message file is written, before its queueing transaction
    commits: no notice queued, the file left."""
    with templates.fresh(backend, **extra) as env:
        server.run(SEND, env, log(env), kill_at=(steps.MESSAGE_FILE, 1))
        with connected(env) as database, database.read() as session:
            assert session.scalar(select(func.count()).select_from(Notice)) == 0
        left = sorted((Path(env["BONDTRACK_HOME"]) / "outbox").glob("*.eml"))
        assert len(left) == 1, left
        yield env, left


def test_a_send_killed_while_queueing_leaves_no_letter_behind(
        with_obligors: Templates, servers: list[ForkServer],
        mailboxes: list[SmtpServer]) -> None:
    """Each message file holds a letter about a person and is written before the queueing
    commits; the files a kill left there must go with the next send, or with a purge."""

    def after_kill(worker: int, backend: str, then: str) -> None:
        with killed_while_queueing(with_obligors, backend, servers[worker],
                                   _smtp(mailboxes, worker)) as (env, left):
            assert any(b"@example.org" in path.read_bytes() for path in left)
            if then == "send":
                with connected(env) as database, database.write() as session:
                    # Everyone's bond is posted meanwhile: no obligor letter is queued again.
                    for person in session.scalars(select(Detainee)):
                        tracking.post_bond(session, person, actor=Actor("setup"), now=clock.now())
                servers[worker].run(SEND, env, log(env))
            else:
                servers[worker].run(["purge", "--order", CASE, "--confirm"], env, log(env))
            outbox = Path(env["BONDTRACK_HOME"]) / "outbox"
            assert list(outbox.iterdir()) == [], f"left behind after the {then}"

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda w: [after_kill(w, BACKENDS[w % len(BACKENDS)], then)
                                 for then in ("send", "purge")], range(WORKERS)))


# ---------------------------------------------------------------- text messages


def phone(n: int) -> str:
    """The n-th person's number (n from 1): one number each, so the stand-in counts per text."""
    return f"+13125550{99 + n}"


def _with_texts(database: db.Database, folder: Path) -> None:
    """People who agreed to texts, each with a test text queued (quiet hours never hold a
    test text, so the trials run at any hour)."""
    _add_order(database)
    listing = class_list(folder / "texts.csv", TEXTS)
    actor, now = Actor("setup"), clock.now()
    on = config.load({**sms_env("http://127.0.0.1:9"), "BONDTRACK_HOME": str(folder)})
    with database.write() as session:
        order = orders.resolve_order(session, CASE)
        import_class_list(session, order, listing, actor=actor, now=now)
        for n, person in enumerate(session.scalars(select(Detainee).order_by(Detainee.id)), 1):
            consent.record(session, person, role="client", phone=phone(n), how="form",
                           actor=actor, now=now)
            assert texts.enqueue(session, order=order, detainee=person, role="client",
                                 kind="test", context={}, key=f"crash:{n}", now=now, settings=on)


@pytest.fixture(scope="module")
def token() -> Iterator[None]:
    """The SMS auth token in this process's environment, where bondtrack reads it (the
    commands' children get it in theirs)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOKEN_ENV, sms_env("")[TOKEN_ENV])
        yield


@pytest.fixture(scope="module")
def with_texts(empty: tuple, token: None) -> Templates:
    return prepare(empty, "texts", _with_texts)


@pytest.fixture
def providers() -> Iterator[list[StandIn]]:
    """A stand-in for the SMS provider per worker, so trials side by side count their own."""
    with ExitStack() as stack:
        yield [stack.enter_context(stand_in()) for _ in range(WORKERS)]


def _sms(providers: list[StandIn], worker: int) -> dict[str, str]:
    with providers[worker].lock:
        providers[worker].requests.clear()  # each trial counts its own texts
    return sms_env(providers[worker].url)


def _provider(providers: list[StandIn], database: db.Database) -> StandIn:
    """The stand-in this database's trial texted through."""
    api = database.settings.section("sms")["api_base_url"]
    return next(provider for provider in providers if provider.url == api)


def _left_by_the_texts(database: db.Database) -> str:
    with database.read() as session:
        sent = session.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == "sent")) or 0
    return "all sent" if sent == TEXTS else f"{'some' if sent else 'none'} sent"


# Two trials check side by side, in threads. Making a Flask app compiles its URL rules with
# ast.parse, which on CPython 3.11 is not safe in two threads at once ("AST constructor
# recursion depth mismatch", python/cpython#106905): one app at a time.
_MAKING_AN_APP = Lock()


def _report_delivered(database: db.Database, provider: StandIn) -> None:
    """The provider reports every text it accepted as delivered, signed, to the StatusCallback
    URL it was given (through bondtrack's web app), as Twilio does after the worker's death."""
    from workflow.web import create_app

    with _MAKING_AN_APP:
        client = create_app(database.settings, database).test_client()
    for request in provider.sent():
        if "_sid" in request:
            url, fields = request["StatusCallback"], callback_fields(request["_sid"], "delivered")
            answer = client.post(url.removeprefix(sms_env("")["BONDTRACK_SMS_PUBLIC_URL"]),
                                 data=fields, headers={"X-Twilio-Signature": sign(url, fields)})
            assert answer.status_code == 204


def texted_once(database: db.Database, provider: StandIn, expected: int) -> str:
    """Every queued text reached the provider at most once; one marked sent reached it exactly
    once and holds its SID; none is left pending. A text in doubt needs review, and the
    provider's callbacks record on it what became of it: its SID, if the provider had it."""
    _report_delivered(database, provider)
    reached = Counter(request["To"] for request in provider.sent())
    sids = {request["To"]: request.get("_sid") for request in provider.sent()}
    with database.read() as session:
        rows = session.execute(
            select(Notice.recipient, Notice.status, SmsMessage.provider_sid, SmsMessage.delivery)
            .join(SmsMessage, SmsMessage.notice_id == Notice.id)).all()
    assert len(rows) == expected, "a text was queued twice, or not at all"
    for to, status, sid, delivery in rows:
        assert status in ("sent", "needs-review"), status
        assert reached[to] <= 1, "a text was sent twice"
        assert status == "needs-review" or reached[to] == 1, "a text marked sent never went"
        assert sid == sids.get(to), "a text does not hold the SID the provider gave it"
        assert delivery == ("delivered" if sid else None)
    assert sum(reached.values()) == sum(reached[to] for to, *_ in rows)
    review = [to for to, status, *_ in rows if status == "needs-review"]
    if not review:
        return "each sent once"
    return f"{len(review)} need review ({sum(reached[to] for to in review)} reached the provider)"


def test_a_killed_text_send_never_texts_anyone_twice_unmarked(
        with_texts: Templates, servers: list[ForkServer], providers: list[StandIn]) -> None:
    """`bondtrack sms send` killed before the provider's API call (the text marked sending),
    after it (accepted, not yet recorded) and after the record, at the first text and the
    last; then the next run, once the dead worker's lease is over."""

    def check(database: db.Database) -> str:
        left = _left_by_the_texts(database)
        lease = timedelta(seconds=database.settings.section("sms")["lease_seconds"] + 1)
        texts.deliver(database, database.settings, now=clock.now() + lease,
                      worker="after-the-crash")
        return f"{left}, then {texted_once(database, _provider(providers, database), TEXTS)}"

    trial = command_trial(with_texts, servers, ["sms", "send"], check,
                          lambda worker: _sms(providers, worker))
    before, after, recorded = ([(step, n) for n in (1, TEXTS)] for step in (
        steps.SMS_SENDING, steps.SMS_ACCEPTED, steps.SMS_RECORDED))
    outcomes = run_trials(trial, before + after + recorded, "texts")
    # Killed with the text marked sending: nobody can know it was not sent, so a person
    # settles it; the provider never had it.
    assert outcomes.of(before[0]) == {"none sent, then 1 need review (0 reached the provider)"}
    assert outcomes.of(before[1]) == {"some sent, then 1 need review (0 reached the provider)"}
    # Killed with the text accepted, not recorded: left for review, its callback recorded.
    assert outcomes.of(after[0]) == {"none sent, then 1 need review (1 reached the provider)"}, \
        str(outcomes)
    assert outcomes.of(after[1]) == {"some sent, then 1 need review (1 reached the provider)"}, \
        str(outcomes)
    # Killed once the text was recorded: the next run sends the rest, each once.
    assert outcomes.of(recorded[0]) == {"some sent, then each sent once"}, str(outcomes)
    assert outcomes.of(recorded[1]) == {"all sent, then each sent once"}, str(outcomes)


# ---------------------------------------------------------------- the scheduler


def _jobs_load(database: db.Database) -> None:
    """The job store a kill interrupted still loads every job (what a restart reads first)."""
    store = scheduler.job_store(database)
    store.start(None, "default")  # type: ignore[arg-type]  # no scheduler: nothing may run
    assert len(store.get_all_jobs()) <= 4  # alerts, digest, sweep, locate


# A scheduler never stops by itself: one that has not reached its step in this long never will.
SCHEDULER_GIVES_UP = 300.0


def test_a_killed_scheduler_is_taken_over_and_alerts_once(
        with_obligors: Templates, servers: list[ForkServer],
        mailboxes: list[SmtpServer]) -> None:
    """The scheduler killed inside its alert job: as it queues the alert, with the alert's
    e-mail file written, and with each e-mail accepted by the mail server but not marked."""
    def trial(worker: int, backend: str, kill: Kill) -> tuple[bool, str]:
        with with_obligors.fresh(backend, **_smtp(mailboxes, worker)) as env:
            killed = servers[worker].run(["scheduler", "--now", REHEARSAL], env, log(env),
                                         SCHEDULER_GIVES_UP, kill_at=kill.step)
            with connected(env) as database:
                return killed, check_database(database, lambda d: _after_scheduler(d, mailboxes))

    queueing = [(steps.ALERTS_CHECKED, 1), (steps.MESSAGE_FILE, 1)]
    sending = [(steps.SMTP_ACCEPTED, n) for n in range(1, len(STAFF) + 1)]
    outcomes = run_trials(trial, queueing + sending, "scheduler", randoms=0)
    assert all(outcomes.of(step) == {"not yet alerted, then each sent once"}
               for step in queueing), str(outcomes)
    # The e-mail accepted when the kill came needs review; so may one that the digest job,
    # delivering beside the alert check, had accepted in the instant before. None is sent twice.
    assert all(outcomes.of(step) <= {"alerted, then 1 need review", "alerted, then 2 need review"}
               for step in sending), str(outcomes)


def _after_scheduler(database: db.Database, mailboxes: list[SmtpServer]) -> str:
    """A new scheduler takes the dead one's lock at once, loads the jobs, and its alert check
    sends nothing twice: the T-12h alert (and perhaps the digest) fired once each."""
    with database.read() as session:
        alerted = session.scalar(select(func.count()).select_from(Alert).where(
            Alert.status == "sent"))
    with database.write() as session:
        scheduler.acquire(session, scheduler.Holder.this_process(), clock.now(),
                          timedelta(minutes=2))
    _jobs_load(database)
    at = dates.parse_instant(REHEARSAL, "America/Chicago") + timedelta(hours=1)
    alerts.run(database, database.settings, case=CASE, now=at, actor=Actor("after"),
               worker="after-the-crash")
    with database.read() as session:
        fired = list(session.scalars(select(Alert.threshold).where(Alert.status == "sent")))
    assert "T-12h" in fired and len(set(fired)) == len(fired), fired
    before = "alerted" if alerted else "not yet alerted"
    mailbox = _mailbox(mailboxes, database)
    return f"{before}, then {delivered_once(database, mailbox, len(STAFF) * len(fired))}"


# ---------------------------------------------------------------- the sweep


def start_sweep(server: ForkServer, env: dict[str, str], tasks: bool,
                kill_at: Step | None = None) -> None:
    """`bondtrack run sweep`, or with ``tasks`` its tasks alone (tests/sweep_tasks.py)."""
    if tasks:
        now = int(dates.parse_instant(SWEEP_AT, "America/Chicago").timestamp())
        server.start([CASE, str(now)], env, log(env), call="tests.sweep_tasks:run",
                     kill_at=kill_at)
    else:
        server.start(["run", "sweep", "--now", SWEEP_AT], env, log(env), kill_at=kill_at)


def sweep_until(server: ForkServer, env: dict[str, str], delay: float | None,
                tasks: bool) -> tuple[bool, float]:
    """A sweep killed ``delay`` s after its first finding is committed (a random kill).

    With ``delay`` None it runs to the end; returns (killed, seconds from the first finding
    to the last one: the window in which its batches are written).
    """
    start_sweep(server, env, tasks)
    with connected(env) as database:
        findings = lambda: count(database, Event.kind == "finding")  # noqa: E731
        # Generous: a sweep that has written nothing in this long is broken, not slow.
        started = time.monotonic()
        while server.poll() is None and findings() == 0:
            assert time.monotonic() - started < 180, "the sweep never wrote a finding"
            time.sleep(0.005)
        writing = time.monotonic()
        if delay is None:
            while findings() < 2 * PEOPLE and server.poll() is None:  # stale and at risk
                time.sleep(0.005)
            window = time.monotonic() - writing
    code, killed = server.end(after=delay)
    assert killed or code == 0, log(env).read_text(errors="replace")[-2000:]
    return killed, 0.0 if delay is not None else window


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
    now = dates.parse_instant(SWEEP_AT, "America/Chicago")
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


@pytest.fixture(scope="module")
def prefect_client(prefect_harness: None,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The Prefect settings of the sweeps: they report to the session's test server."""
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-client")),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false"}


@pytest.fixture(scope="module")
def sweep_servers(prefect_client: dict[str, str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ForkServer]]:
    """Fork servers that have imported the flows (and so read Prefect's settings) once."""
    home = ensure_private_dir(tmp_path_factory.mktemp("sweep-forkserver"))
    yield from fork_servers(SWEEP_MODULES, {**environment(home), **prefect_client})


BATCHES = PEOPLE // 10  # at BONDTRACK_SWEEP_BATCH_SIZE=10


def test_killed_sweep_work_leaves_whole_batches_and_no_finding_twice(
        with_people: Templates, sweep_servers: list[ForkServer],
        prefect_client: dict[str, str]) -> None:
    """The sweep's database work (the flow's own tasks, all batches at once as Prefect runs
    them: tests/sweep_tasks.py) killed inside the transaction of its 1st, 10th, 20th and
    last batch to write its findings."""
    at = [(steps.SWEEP_BATCH, n) for n in (1, BATCHES // 3, 2 * BATCHES // 3, BATCHES)]
    sweep_trials(with_people, sweep_servers, prefect_client, "sweep work", at, tasks=True)


def test_a_killed_sweep_flow_leaves_whole_batches_and_no_finding_twice(
        with_people: Templates, sweep_servers: list[ForkServer],
        prefect_client: dict[str, str]) -> None:
    """`bondtrack run sweep`, the real Prefect flow reporting to a real Prefect server, killed
    inside the transaction of its first, middle and last batch."""
    at = [(steps.SWEEP_BATCH, n) for n in (1, BATCHES // 2, BATCHES)]
    sweep_trials(with_people, sweep_servers, prefect_client, "sweep flow", at, tasks=False)


def sweep_trials(templates: Templates, servers: list[ForkServer], prefect: dict[str, str],
                 seed: str, at: list[Step], *, tasks: bool) -> None:
    """Kill sweeps inside a batch's transaction (and, for its tasks, at random instants while
    the batches are written), then check the batches."""
    extra = {**prefect, "BONDTRACK_SWEEP_BATCH_SIZE": "10"}
    randoms = RANDOM_TRIALS if tasks else 0  # the flow's start-up is seconds: only its steps

    def measure_on(worker: int, backend: str) -> float:
        with templates.fresh(backend, **extra) as env:
            return sweep_until(servers[worker], env, None, tasks)[1]

    window = side_by_side(measure_on) if randoms else {}

    def trial(worker: int, backend: str, kill: Kill) -> tuple[bool, str]:
        with templates.fresh(backend, **extra) as env:
            if kill.step is None:
                killed, _ = sweep_until(servers[worker], env,
                                        kill.fraction * window[backend] * 1.2, tasks)
            else:
                start_sweep(servers[worker], env, tasks, kill.step)
                killed = servers[worker].end()[1]
                assert servers[worker].at_step, log(env).read_text(errors="replace")[-2000:]
            with connected(env) as database:
                return killed, check_database(database, _whole_batches)

    outcomes = run_trials(trial, at, seed, randoms)
    # The batch killed in its transaction is missing (the next sweep wrote it), whole.
    for (backend, step), what in outcomes.at.items():
        assert not what.startswith(f"{BATCHES} of"), (backend, step, what)


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
