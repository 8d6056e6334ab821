"""Backups, restores and the purge of a closed case, on SQLite and PostgreSQL.

A backup taken while another process writes is one consistent moment (every
invariant holds in its copy, and it holds every change committed before it
began); a restore gives back exactly what was backed up; a purge leaves no
byte of the purged people in the database files, and says so in the record.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import create_engine, func, select, text

from tests.fixtures_hardening import (
    BONDTRACK,
    check_invariants,
    connected,
    environment,
    table_rows,
)
from tests.fixtures_notices import Mailbox, SmtpServer, free_port
from tests.support import CASE, README, Cli, new_pg_database
from workflow.core import clock, config
from workflow.core.identity import format_a_number
from workflow.intake.roster import import_class_list
from workflow.orders import orders
from workflow.people import tracking
from workflow.record import backup, db
from workflow.record.audit import Actor
from workflow.record.models import Alert, Detainee, Event, Notice
from workflow.runners import scheduler

OTHER = "1:25-cv-00001"
# Distinctive values, so a hit in the database's bytes can only be these people.
PURGED = [("417305926", "Quetzalcoatl", "Xochiquetzal", "3/4/1961", "1961-03-04"),
          ("528416037", "Zyxwvutsrq", "Ptolemaios", "7/8/1972", "1972-07-08")]
KEPT = [("639527148", "Ixtlilxochitl", "Nezahualpiltzintli", "1/2/1983", "1983-01-02")]


def _list(path: Path, people: list[tuple[str, ...]]) -> Path:
    rows = [f"{a},{family},{given},{dob},es,BROADIL,Broadview" for a, family, given, dob, _ in
            people]
    path.write_text("A#,Last Name,First Name,DOB,Language,Facility Code,Facility Name\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _order(cli: Cli, case: str) -> None:
    cli("order", "add", "--case", case, "--court", "N.D. Ill.", "--judge", "J", "--deadline",
        "2025-11-21 12:00", "--tz", "America/Chicago")


@pytest.fixture
def two_orders(cli: Cli, tmp_path: Path) -> Cli:
    """The order to purge (two people, moved on, bonds with obligors) and one to keep."""
    _order(cli, CASE)
    _order(cli, OTHER)
    cli("import", _list(tmp_path / "a.csv", PURGED), "--order", CASE)
    cli("import", _list(tmp_path / "b.csv", KEPT), "--order", OTHER)
    for a, family, *_ in PURGED:
        cli("locate", a, "--order", CASE, "--facility", "BROADIL")
        cli("bond", a, "--order", CASE, "--obligor", f"Obligor {family}",
            "--obligor-email", f"{family.lower()}@example.org")
        cli("note", a, f"spoke with {family}'s sister", "--order", CASE)
    cli("locate", KEPT[0][0], "--order", OTHER, "--facility", "BROADIL")
    return cli


def _queue_obligor_emails(database: db.Database) -> list[Path]:
    """The obligor e-mails of both orders, as `bondtrack notices send` queues them."""
    from workflow.notices.sending import queue_obligor_emails

    with database.write() as session:
        for case in (CASE, OTHER):
            queue_obligor_emails(session, orders.resolve_order(session, case), database.settings,
                                 now=clock.now())
    with database.read() as session:
        return [Path(p) for p in session.scalars(select(Notice.file_path))]


def needles(people: list[tuple[str, ...]]) -> list[bytes]:
    """Every spelling of these people the database could hold: A-numbers, names, birth dates."""
    found = []
    for a, family, given, _, iso in people:
        found += [a, format_a_number(a), family, given, iso, f"{family.lower()}@example.org"]
    return [text.encode() for text in found]


# ---------------------------------------------------------------- backup and restore


def test_a_backup_restores_exactly_what_was_backed_up(two_orders: Cli, database: db.Database,
                                                       tmp_path: Path) -> None:
    before = table_rows(database)
    out = tmp_path / "backups" / "monday.backup"
    out.parent.mkdir()
    made = two_orders("backup", "--out", out).output
    assert f"backup written to {out}" in made
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["monday.backup"]  # no partial file left
    two_orders("release", KEPT[0][0], "--order", OTHER, "--reason", "recognizance")
    two_orders("note", PURGED[0][0], "after the backup", "--order", CASE)
    assert two_orders("restore", out, "--yes").output.startswith("restored monday.backup")
    after = table_rows(database)
    events = after.pop("events")
    assert {k: v for k, v in before.items() if k != "events"} == after
    assert set(before["events"]) < set(events)
    with database.read() as session:
        kinds = list(session.scalars(select(Event.kind).order_by(Event.id.desc()).limit(1)))
    assert kinds == ["restored"]
    assert len(events) == len(before["events"]) + 1
    check_invariants(database, clock.now())


@pytest.mark.parametrize("backend", ["sqlite"])  # the scratch file is the same on both
def test_a_backup_deletes_the_copy_a_killed_backup_left_beside_it(two_orders: Cli,
                                                                  tmp_path: Path) -> None:
    """A backup killed half-way leaves its scratch copy of everyone beside the target; the next
    backup to that name deletes it once its process is gone (on this machine: a process
    elsewhere cannot be asked)."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder = tmp_path / "backups"
    folder.mkdir()
    killed = folder / f".monday.backup.partial-{backup._HOST}-{gone.pid}"
    running = folder / f".monday.backup.partial-{backup._HOST}-{os.getppid()}"
    elsewhere = folder / f".monday.backup.partial-another-machine-{gone.pid}"
    for path in (killed, Path(f"{killed}-journal"), running, elsewhere):
        path.write_bytes(backup.SQLITE_MAGIC + KEPT[0][1].encode())
    two_orders("backup", "--out", folder / "monday.backup")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [running.name, elsewhere.name, "monday.backup"])


def test_restore_asks_first_and_refuses_what_is_not_a_backup(two_orders: Cli, database: db.Database,
                                                             tmp_path: Path, backend: str) -> None:
    out = tmp_path / "good.backup"
    two_orders("backup", "--out", out)
    before = table_rows(database)
    asked = two_orders.runner.invoke(_main(), ["restore", str(out)], input="n\n")
    assert asked.exit_code == 1 and "Replace everything" in asked.output
    csv_file = _list(tmp_path / "list.csv", KEPT)
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(out.read_bytes()[: out.stat().st_size * 3 // 5])  # cut off in a copy
    for wrong in (csv_file, damaged, _other_kind(tmp_path, backend)):
        result = two_orders("restore", wrong, "--yes", ok=False)
        assert result.exit_code == 1, wrong.name
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert wrong.name in result.output
    assert table_rows(database) == before


def test_restore_into_a_home_with_no_database_does_not_ask(two_orders: Cli, tmp_path: Path,
                                                           backend: str, request) -> None:  # type: ignore[no-untyped-def]
    """A new laptop or server: nothing to replace, so no question, and it says so."""
    out = tmp_path / "good.backup"
    two_orders("backup", "--out", out)
    home = tmp_path / "new-home"
    url = new_pg_database(request.getfixturevalue("pg"), None) if backend == "postgresql" else ""
    saved = dict(os.environ)
    os.environ.update(environment(home, url))
    try:
        done = two_orders.runner.invoke(_main(), ["restore", str(out)], input="")
        assert done.exit_code == 0, done.output
        assert "Replace everything" not in done.output
        assert done.output == (f"restored good.backup (schema {db.head_revision()}); the database"
                               " was empty, so nothing was replaced\n")
        with connected(environment(home, url)) as restored:
            with restored.read() as session:
                assert session.scalar(select(func.count()).select_from(Detainee)) == 3
        # Now it holds data: the next restore asks again.
        asked = two_orders.runner.invoke(_main(), ["restore", str(out)], input="n\n")
        assert asked.exit_code == 1 and "Replace everything" in asked.output
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_restore_leaves_no_scheduler_lock_behind(two_orders: Cli, database: db.Database,
                                                   tmp_path: Path) -> None:
    """The backed-up database had a running scheduler (on another machine, heartbeat fresh): the
    restored one claims no scheduler, so the scheduler here starts at once."""
    elsewhere = scheduler.Holder("another-machine", 4242, "f00d")
    stale_after = timedelta(hours=1)
    with database.write() as session:
        scheduler.acquire(session, elsewhere, clock.system_clock(), stale_after)
    out = tmp_path / "with-a-lock.backup"
    two_orders("backup", "--out", out)
    two_orders("restore", out, "--yes")
    with database.write() as session:
        assert scheduler.holder_now(session) == "nobody"
        here = scheduler.Holder.this_process()
        assert scheduler.acquire(session, here, clock.system_clock(), stale_after) is None
        scheduler.release(session, here)


def _main() -> click.Group:
    from workflow.cli import main

    return main


def _other_kind(tmp_path: Path, backend: str) -> Path:
    """A backup made on the other backend: a pg_dump archive or a SQLite file."""
    path = tmp_path / "other-kind.backup"
    path.write_bytes(backup.PG_DUMP_MAGIC + b"\0" * 100 if backend == "sqlite"
                     else backup.SQLITE_MAGIC + b"\0" * 100)
    return path


def _writer(environ: dict[str, str], person: int, stop: Any, warm: Any, asked: Any,
            answered: Any) -> None:
    """Add notes to one person until told to stop: ``warm`` is set once 20 are committed,
    ``answered`` by the first commit begun after ``asked`` was set."""
    os.environ.update(environ)
    database = db.connect(config.load())
    committed = 0
    while not stop.is_set():
        was_asked = asked.is_set()
        with database.write() as session:
            tracking.add_note(session, session.get(Detainee, person), "still writing",
                              actor=Actor("writer"), now=clock.now())
        committed += 1
        if committed == 20:
            warm.set()
        if was_asked:
            answered.set()
    database.dispose()


def _notes(database: db.Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "note")) or 0


def test_backups_taken_while_another_process_writes_are_each_one_moment(
        two_orders: Cli, database: db.Database, tmp_path: Path, backend: str,
        request: pytest.FixtureRequest) -> None:
    with database.read() as session:
        person = session.scalar(select(Detainee.id).where(Detainee.a_number == KEPT[0][0]))
    ctx = multiprocessing.get_context("spawn")
    stop, warm, asked, answered = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    environ = {k: v for k, v in os.environ.items() if k.startswith("BONDTRACK_")}
    writer = ctx.Process(target=_writer, args=(environ, person, stop, warm, asked, answered))
    writer.start()
    try:
        assert warm.wait(timeout=120), "the writer never committed 20 notes"
        windows = []
        for number in range(3):
            out = tmp_path / f"during-{number}.backup"
            before = _notes(database)
            two_orders("backup", "--out", out)
            windows.append((out, before, _notes(database)))
        asked.set()
        assert answered.wait(timeout=60), "the writer must still be writing after the backups"
    finally:
        stop.set()
        writer.join(timeout=60)
    assert writer.exitcode == 0
    for out, before, after in windows:
        copy = _restored_elsewhere(out, tmp_path, backend, request)
        with connected(copy) as restored:
            check_invariants(restored, clock.now())
            with restored.read() as session:
                versions = dict(session.execute(select(Detainee.id, Detainee.version)).all())
                events = dict(session.execute(
                    select(Event.detainee_id, func.count()).where(Event.detainee_id.is_not(None))
                    .group_by(Event.detainee_id)).all())
            assert before <= _notes(restored) <= after, "not the moment of the backup"
            assert versions[person] == events[person], "half a change in the backup"


# Six orders whose T-12h thresholds the rehearsal crosses one after another, 0.6 s apart.
WATCHED = [f"1:30-cv-{n:05d}" for n in range(6)]
FIRST_DEADLINE = datetime(2030, 11, 21, 12, 0)  # court time
REHEARSE_FROM = FIRST_DEADLINE - timedelta(hours=12, seconds=2.5)


def _watched_orders(database: db.Database, tmp_path: Path) -> None:
    actor, now = Actor("setup"), clock.now()
    with database.write() as session:
        for n, case in enumerate(WATCHED):
            deadline = FIRST_DEADLINE + timedelta(seconds=0.6 * n)
            order = orders.add_order(session, case_number=case, court="N.D. Ill.", judge="J",
                                     deadline=deadline.isoformat(sep=" "),
                                     time_zone="America/Chicago", actor=actor, now=now)
            people = [(f"7{n}{i:07d}", f"Family{i}", f"Given{i}", "1/2/1980", "")
                      for i in range(20)]
            import_class_list(session, order, _list(tmp_path / f"{n}.csv", people), actor=actor,
                              now=now)


def _alert_counts(database: db.Database) -> tuple[int, int, int]:
    """(alerts sent, their audit events, their staff e-mails): one transaction writes all three."""
    with database.read() as session:
        sent = session.scalar(select(func.count()).select_from(Alert).where(
            Alert.status == "sent")) or 0
        events = session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "alert")) or 0
        emails = session.scalar(select(func.count()).select_from(Notice).where(
            Notice.kind.in_(("alert", "digest")))) or 0
    return sent, events, emails


@pytest.mark.serial  # backups race a scheduler's alerts on the real clock
def test_backups_taken_while_the_scheduler_writes_restore_whole(
        database: db.Database, tmp_path: Path, backend: str,
        request: pytest.FixtureRequest) -> None:
    """`bondtrack backup` while `bondtrack scheduler` fires alerts, renews its lock and moves its
    jobs on: each backup restores into a new home as one consistent moment."""
    _watched_orders(database, tmp_path)
    smtp = SmtpServer(Mailbox(), free_port())
    smtp.start()
    env = {**os.environ, "BONDTRACK_NOTICES_STAFF_EMAILS": "duty@example.org,counsel@example.org",
           "BONDTRACK_SMTP_PORT": str(smtp.port),
           "BONDTRACK_ALERTS_CHECK_EVERY_MINUTES": str(0.2 / 60),
           "BONDTRACK_ALERTS_HEARTBEAT_SECONDS": "0.2", "BONDTRACK_SWEEP_INTERVAL_MINUTES": "60"}
    with (tmp_path / "scheduler.log").open("wb") as out:
        running = subprocess.Popen(
            [str(BONDTRACK), "scheduler", "--now", REHEARSE_FROM.isoformat(sep=" ")], env=env,
            stdout=out, stderr=subprocess.STDOUT)
    windows = []
    try:
        started = time.monotonic()
        while _alert_counts(database)[0] == 0:  # its first check has fired (T-24h)
            assert running.poll() is None and time.monotonic() - started < 180, \
                (tmp_path / "scheduler.log").read_text()
            time.sleep(0.05)
        while len(windows) < 5 and _fired(database, "T-12h") < len(WATCHED):
            out = tmp_path / f"during-{len(windows)}.backup"
            before = _alert_counts(database)[0], _events(database)
            Cli()("backup", "--out", out)
            windows.append((out, before, (_alert_counts(database)[0], _events(database))))
            time.sleep(0.4)
        assert running.poll() is None, (tmp_path / "scheduler.log").read_text()
    finally:
        running.send_signal(signal.SIGTERM)
        code = running.wait(timeout=60)
        smtp.stop()
    assert code == 0, (tmp_path / "scheduler.log").read_text()
    assert windows[0][1][0] < windows[-1][2][0], "no alert fired while the backups were taken"
    for out, before, after in windows:
        with connected(_restored_elsewhere(out, tmp_path, backend, request)) as restored:
            _assert_intact(restored)
            check_invariants(restored, clock.now())
            sent, events, emails = _alert_counts(restored)
            assert before[0] <= sent <= after[0], "not the moment of the backup"
            assert before[1] <= _events(restored) <= after[1]
            assert events == sent and emails == 2 * sent, "half an alert in the backup"
            store = scheduler.job_store(restored)
            store.start(None, "default")  # type: ignore[arg-type]  # loads; nothing runs
            assert len(store.get_all_jobs()) == 4 * len(WATCHED)  # alerts, digest, sweep, locate


def _fired(database: db.Database, threshold: str) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Alert).where(
            Alert.threshold == threshold, Alert.status == "sent")) or 0


def _events(database: db.Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _assert_intact(database: db.Database) -> None:
    """The restored database opens at the current schema; a SQLite file passes integrity_check."""
    database.check_schema()
    if database.settings.is_sqlite:
        import sqlite3

        path = database.settings.database_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _restored_elsewhere(out: Path, tmp_path: Path, backend: str,
                        request: pytest.FixtureRequest) -> dict[str, str]:
    """The backup restored with `bondtrack restore` into a new, empty home (or database)."""
    home = tmp_path / f"restored-{out.stem}"
    url = ""
    if backend == "postgresql":
        url = new_pg_database(request.getfixturevalue("pg"), None)
    env = environment(home, url)
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        Cli()("restore", out, "--yes")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


# ---------------------------------------------------------------- purge


def test_purge_shows_first_then_deletes_every_trace_of_the_order(
        two_orders: Cli, database: db.Database, tmp_path: Path) -> None:
    files = _queue_obligor_emails(database)
    assert len(files) == 2 and all(f.exists() for f in files)
    before = table_rows(database)
    preview = two_orders("purge", "--order", CASE).output
    assert "would delete 2 people" in preview and "add --confirm" in preview
    assert table_rows(database) == before
    done = two_orders("purge", "--order", CASE, "--confirm").output
    assert f"{CASE}: deleted 2 people" in done and "2 outbox file(s)" in done
    assert not any(f.exists() for f in files)
    with database.read() as session:
        order = orders.resolve_order(session, CASE)
        assert session.scalar(select(func.count()).select_from(Detainee).where(
            Detainee.order_id == order.id)) == 0
        assert session.scalar(select(func.count()).select_from(Notice)) == 0
        purged = session.scalars(select(Event).where(Event.kind == "purged")).one()
        assert purged.order_id == order.id and purged.payload["people"] == 2
        kept = orders.find_detainee(session, orders.resolve_order(session, OTHER), KEPT[0][0])
        assert kept.stage == "LOCATED"
    check_invariants(database, clock.now())
    assert _in_database_files(database, needles(PURGED)) == []
    assert _in_database_files(database, needles(KEPT)[:3]) != []  # the search does find data


def _in_database_files(database: db.Database, wanted: list[bytes]) -> list[tuple[str, bytes]]:
    """Which of ``wanted`` appear in the bytes of the database's files.

    SQLite: the database file and its write-ahead log. PostgreSQL: the files of
    every bondtrack table, its indexes and its TOAST (the server's WAL is the
    administrator's, see SECURITY.md).
    """
    database.dispose()  # reading a SQLite file while connected would drop this process's locks
    if database.settings.is_sqlite:
        path = Path(database.settings.database_url.removeprefix("sqlite:///"))
        paths = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    else:
        paths = _pg_table_files(database)
    return [(p.name, n) for p in paths for data in [p.read_bytes()] for n in wanted if n in data]


def _pg_table_files(database: db.Database) -> list[Path]:
    engine = create_engine(database.settings.database_url)
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
        data_dir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        relations = conn.execute(text(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('public', 'pg_toast')")).scalars()
        found = [data_dir / r for r in relations if r]
    engine.dispose()
    return [p for base in found for p in [base, *base.parent.glob(f"{base.name}.*")]
            if p.exists() and p.is_file()]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_purge_interrupted_by_an_open_reader_says_so_and_finishes_when_run_again(
        two_orders: Cli, database: db.Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    monkeypatch.setenv("BONDTRACK_BUSY_TIMEOUT_SECONDS", "1")
    path = database.settings.database_url.removeprefix("sqlite:///")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM detainees").fetchall()  # a snapshot held open
    try:
        held = two_orders("purge", "--order", CASE, "--confirm", ok=False)
        assert held.exit_code == 1
        assert "another bondtrack process holds the database open" in held.output
        assert "run the purge again" in held.output
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    again = two_orders("purge", "--order", CASE, "--confirm").output
    assert "deleted 0 people" in again
    assert _in_database_files(database, needles(PURGED)) == []


def test_purge_needs_the_order_named(two_orders: Cli) -> None:
    assert two_orders("purge", "--confirm", ok=False).exit_code == 2
    unknown = two_orders("purge", "--order", "no-such-case", "--confirm", ok=False)
    assert unknown.exit_code == 1 and "no order no-such-case" in unknown.output


# ---------------------------------------------------------------- the README


def data_safety_commands() -> list[list[str]]:
    """The commands the README's "Data safety" section shows, in order."""
    import re
    import shlex

    readme = README.read_text()
    section = readme.split("## Data safety", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_data_safety_commands_in_the_readme_run_as_shown(
        two_orders: Cli, database: db.Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = data_safety_commands()
    assert [argv[:2] for argv in lines] == [["bondtrack", "backup"], ["bondtrack", "restore"],
                                            ["bondtrack", "purge"], ["bondtrack", "purge"]]
    for argv in lines:
        result = two_orders.runner.invoke(_main(), argv[1:], input="y\n", catch_exceptions=False)
        assert result.exit_code == 0, (argv, result.output)
    assert (tmp_path / "bondtrack-2025-11-20.backup").stat().st_mode & 0o777 == 0o600
    with database.read() as session:
        kinds = list(session.scalars(select(Event.kind).where(
            Event.kind.in_(("restored", "purged"))).order_by(Event.id)))
        assert kinds == ["restored", "purged"]
        assert session.scalar(select(func.count()).select_from(Detainee)) == len(KEPT)
