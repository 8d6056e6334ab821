"""Backups, restores, and purging an order's personal data when its case closes.

A backup is a consistent copy taken while others keep writing: SQLite's online
backup API (one read snapshot) or ``pg_dump`` (one repeatable-read snapshot).
It is written beside its target and renamed into place, so a crash never leaves
a half backup under the name the user asked for. A restore checks the file
before it touches the database, replaces everything in one step, and leaves no lock behind.

A purge deletes everything an order holds about its people (their rows and
every row that refers to them, their events, the e-mails queued for them and
the outbox files), keeps the order and an audit event of the purge itself, then
rewrites the database so the deleted data is not left behind in free pages or
in SQLite's write-ahead log.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, inspect, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from workflow.core import processes
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import private_file
from workflow.record import audit, db, schema
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event, Notice
from workflow.record.outbox import remove_unqueued_files

SQLITE_MAGIC = b"SQLite format 3\x00"
_HOST = socket.gethostname().replace("/", "_")[:64]  # scratch files name their machine
PG_DUMP_MAGIC = b"PGDMP"
# Order-level events that name a file written outside the database.
_FILE_EVENTS = ("exported", "report-generated")


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int


# ---------------------------------------------------------------- backup


def backup(database: db.Database, out: Path, *, actor: Actor, now: datetime) -> Backup:
    """Copy the whole database to ``out`` (0600), consistently, while others may write."""
    out = out.expanduser()
    if not out.parent.is_dir():
        raise BondtrackError(f"{out.parent}: no such folder")
    settings = database.settings
    if settings.is_sqlite and out.resolve() == _sqlite_path(database).resolve():
        raise BondtrackError("the backup cannot overwrite the database itself")
    with _partial(out) as partial:
        if settings.is_sqlite:
            _sqlite_backup(database, partial)
        else:
            _pg_dump(settings.database_url, partial)
    size = out.stat().st_size
    with database.write() as session:
        # A backup is a copy of everyone's data: who made it, when and where is on the record.
        audit.record(session, kind="backup-made", actor=actor, at=now, now=now,
                     payload={"file": out.name, "bytes": size})
    return Backup(path=out, size=size)


@contextmanager
def _partial(out: Path) -> Iterator[Path]:
    """A private scratch file beside ``out``, moved onto it (durably) only when complete.

    A backup killed half-way leaves its scratch file (a copy of everyone); the
    next backup to the same name deletes those of this machine's dead processes.
    """
    stem = f".{out.name}.partial-{_HOST}-"
    for stale in out.parent.glob(f"{glob.escape(stem)}*"):
        pid = stale.name.removeprefix(stem).removesuffix("-journal")
        if pid.isdigit() and not processes.alive(int(pid)):
            stale.unlink(missing_ok=True)
    partial = out.with_name(f"{stem}{os.getpid()}")
    partial.unlink(missing_ok=True)
    private_file(partial)
    try:
        yield partial
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, out)
        _fsync_dir(out.parent)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}-journal").unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_path(database: db.Database) -> Path:
    return Path(database.settings.database_url.removeprefix("sqlite:///"))


def _sqlite_backup(database: db.Database, target: Path) -> None:
    timeout = database.settings.busy_timeout_seconds
    try:
        with closing(sqlite3.connect(_sqlite_path(database), timeout=timeout)) as source, \
                closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            # One self-contained file: a backup in WAL mode would need its -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BondtrackError(f"the backup failed: {_sqlite_reason(exc)}") from None


def _sqlite_reason(exc: sqlite3.Error) -> str:
    # SQLite's messages name files and states, never row values.
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI and environment for the PostgreSQL tools; the password stays off argv."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore`` on PATH, else the newest in /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not candidates:
        raise BondtrackError(f"{name} is not installed: install the PostgreSQL client tools")
    return str(candidates[-1])


def _pg_run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BondtrackError(f"{what} failed: {_pg_reason(result.stderr)}")


def _pg_reason(stderr: str) -> str:
    """The tool's first error line, without the SQL or data it may quote after it."""
    for line in stderr.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:200]
    return "see the PostgreSQL server log"


def _pg_dump(database_url: str, target: Path) -> None:
    uri, env = _libpq(database_url)
    _pg_run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={target}", f"--dbname={uri}"], env, "the backup (pg_dump)")


# ---------------------------------------------------------------- restore


def holds_data(database: db.Database) -> bool:
    """Whether a restore would replace anything: a bondtrack schema with a row in any table.

    A home where `bondtrack init` never ran, or ran and nothing was added since, has nothing
    to lose, so restoring a backup into it (a new laptop, a new server) needs no question.
    """
    with database.read() as session:
        if not inspect(session.connection()).has_table("alembic_version"):
            return False
        return any(session.execute(select(literal(1)).select_from(table).limit(1)).first()
                   for table in schema.metadata.sorted_tables)


def restore(database: db.Database, source: Path, *, actor: Actor, now: datetime) -> str:
    """Replace the whole database with the backup at ``source``; returns its schema revision.

    The file is checked first (kind, integrity, schema), so a wrong or damaged
    file changes nothing. An older schema is brought up to date afterwards.
    """
    if not source.is_file():
        raise BondtrackError(f"{source.name}: no such file")
    sqlite = database.settings.is_sqlite
    _check_kind(source, SQLITE_MAGIC if sqlite else PG_DUMP_MAGIC)
    revision = _sqlite_restore(database, source) if sqlite else _pg_restore(database, source)
    database.engine.dispose()  # no pooled connection may outlive the old database
    if revision != db.head_revision():
        db.upgrade(database)
    with database.write() as session:
        # A lock names a process that ran on the backed-up database (its scheduler), never one
        # running on this one: kept, it would refuse the scheduler here until it went stale.
        session.execute(delete(schema.locks))
        audit.record(session, kind="restored", actor=actor, at=now, now=now,
                     payload={"file": source.name, "schema": revision})
    return revision


_KINDS = {SQLITE_MAGIC: "a SQLite backup", PG_DUMP_MAGIC: "a pg_dump archive"}


def _check_kind(source: Path, wanted: bytes) -> None:
    """Refuse a file that is not a backup for this kind of database, saying what it is."""
    with source.open("rb") as fh:
        magic = fh.read(16)
    if magic.startswith(wanted):
        return
    other = next((name for start, name in _KINDS.items() if magic.startswith(start)), None)
    raise BondtrackError(f"{source.name}: not {_KINDS[wanted]} made by `bondtrack backup`"
                         + (f" (it is {other})" if other else "") + "; nothing was restored")


def _check_revision(revision: str | None, name: str) -> str:
    if revision is None:
        raise BondtrackError(f"{name}: not a bondtrack database (no schema version)")
    if revision > db.head_revision():
        raise BondtrackError(
            f"{name}: made by a newer bondtrack (schema {revision}): upgrade bondtrack first")
    return revision


def _sqlite_restore(database: db.Database, source: Path) -> str:
    try:
        read_only = f"{source.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(read_only, uri=True)) as backup_db:
            if backup_db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BondtrackError(f"{source.name}: the backup is damaged; nothing was restored")
            try:
                revision = backup_db.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                revision = None
            _check_revision(revision[0] if revision else None, source.name)
            target = private_file(_sqlite_path(database))
            timeout = database.settings.busy_timeout_seconds
            with closing(sqlite3.connect(target, timeout=timeout)) as live:
                # One write transaction on the live file: other processes see all or none of it.
                backup_db.backup(live)
    except sqlite3.DatabaseError as exc:
        raise BondtrackError(f"{source.name}: cannot restore it: {_sqlite_reason(exc)}") from None
    return revision[0]


def _pg_restore(database: db.Database, source: Path) -> str:
    uri, env = _libpq(database.settings.database_url)
    listing = subprocess.run([pg_tool("pg_restore"), "--list", str(source)], env=env,
                             capture_output=True, text=True, check=False)
    if listing.returncode != 0 or " TABLE DATA public alembic_version " not in listing.stdout:
        raise BondtrackError(
            f"{source.name}: not a bondtrack pg_dump archive; nothing was restored")
    # The revision is read from the archive before anything is dropped.
    data = subprocess.run([pg_tool("pg_restore"), "--data-only", "--table=alembic_version",
                           "--file=-", str(source)], env=env, capture_output=True, text=True,
                          check=False)
    revision = _check_revision(_copy_value(data.stdout), source.name)
    # --single-transaction: a failure half-way rolls back to the database as it was.
    _pg_run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={uri}", str(source)],
            env, f"restoring {source.name} (nothing was changed)")
    return revision


def _copy_value(sql: str) -> str | None:
    """The one value of a one-row ``COPY ... FROM stdin`` block of pg_restore's SQL output."""
    lines = sql.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and index + 1 < len(lines) and lines[index + 1] != "\\.":
            return lines[index + 1].strip()
    return None


# ---------------------------------------------------------------- purge


@dataclass
class Purge:
    """What a purge deleted (or, as a preview, would delete), in counts only."""

    case_number: str
    people: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    outbox_files: int = 0
    outstanding: int = 0
    files_elsewhere: list[str] = field(default_factory=list)
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"case_number": self.case_number, "people": self.people, "rows": self.rows,
                "outbox_files": self.outbox_files, "outstanding": self.outstanding,
                "files_elsewhere": self.files_elsewhere, "done": self.done}


def _person_tables() -> list[tuple[Table, Any]]:
    """Every table with a column pointing at a person, and that column (the schema is the truth)."""
    found = []
    for table in schema.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is schema.detainees:
                found.append((table, fk.parent))
    return found


def plan_purge(session: Session, order: CourtOrder) -> Purge:
    """What purging ``order`` would delete, without deleting anything."""
    from workflow.core.stages import OUTSTANDING

    people = select(Detainee.id).where(Detainee.order_id == order.id).scalar_subquery()
    plan = Purge(case_number=order.case_number)
    plan.people = session.scalar(select(func.count()).where(Detainee.order_id == order.id)) or 0
    plan.outstanding = session.scalar(select(func.count()).where(
        Detainee.order_id == order.id,
        Detainee.stage.in_([s.value for s in OUTSTANDING]))) or 0
    for table, column in _person_tables():
        plan.rows[table.name] = session.scalar(
            select(func.count()).select_from(table).where(column.in_(people))) or 0
    plan.rows["notices"] = session.scalar(
        select(func.count()).select_from(Notice).where(Notice.order_id == order.id)) or 0
    plan.rows["detainees"] = plan.people
    plan.outbox_files = len(_outbox_files(session, order))
    plan.files_elsewhere = _files_elsewhere(session, order)
    return plan


def _outbox_files(session: Session, order: CourtOrder) -> list[Path]:
    paths = session.scalars(select(Notice.file_path).where(
        Notice.order_id == order.id, Notice.file_path.is_not(None)))
    return [Path(p) for p in paths if p and Path(p).exists()]


def _files_elsewhere(session: Session, order: CourtOrder) -> list[str]:
    """Files written outside the database (exports, reports, letters, backups): named only."""
    events = session.execute(select(Event.kind, Event.payload).where(
        ((Event.order_id == order.id) & Event.kind.in_((*_FILE_EVENTS, "letters-rendered")))
        | (Event.kind == "backup-made")).order_by(Event.id)).all()
    names = []
    for kind, payload in events:
        if kind == "letters-rendered":
            names.append(f"{payload.get('count', 0)} {payload.get('letters', '')} letter(s)")
        else:
            names.append(f"{kind.replace('-made', '').replace('-generated', '')}"
                         f" {payload.get('file', '?')}")
    return names


def purge(session: Session, order: CourtOrder, *, actor: Actor, now: datetime,
          settings: Settings) -> Purge:
    """Delete every person of ``order`` and all that refers to them; keep the order and the record.

    Runs in the caller's transaction (all or nothing). Outbox files go once the
    rows are gone, and with them any file a killed queueing left that no notice
    names (it may be about these people); call ``wipe_free_space`` after the commit.
    """
    remove_unqueued_files(session, settings)  # first: on PostgreSQL it locks the outbox
    result = plan_purge(session, order)
    files = _outbox_files(session, order)
    if session.get_bind().dialect.name == "sqlite":
        # Freed pages are zeroed as they are freed, not only at the VACUUM.
        session.execute(text("PRAGMA secure_delete=ON"))
    people = select(Detainee.id).where(Detainee.order_id == order.id).scalar_subquery()
    for table, column in reversed(_person_tables()):
        session.execute(delete(table).where(column.in_(people)))
    session.execute(delete(Notice).where(Notice.order_id == order.id))
    session.execute(delete(Detainee).where(Detainee.order_id == order.id))
    for path in files:
        path.unlink(missing_ok=True)
    result.done = True
    audit.record(session, kind="purged", order_id=order.id, actor=actor, at=now, now=now,
                 payload={"people": result.people, "rows": result.rows,
                          "outbox_files": result.outbox_files})
    return result


def wipe_free_space(database: db.Database) -> None:
    """Rewrite the database so deleted rows survive nowhere in its files.

    SQLite: VACUUM rebuilds the file, then a TRUNCATE checkpoint empties the
    write-ahead log that still held the old pages. PostgreSQL: VACUUM FULL
    rewrites the tables that held people (the server's WAL and backups are the
    administrator's: see SECURITY.md).
    """
    if database.settings.is_sqlite:
        _sqlite_wipe(database)
    else:
        tables = sorted({t.name for t, _ in _person_tables()} | {"detainees", "notices", "events"})
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in tables:
                conn.execute(text(f'VACUUM FULL "{name}"'))


def _sqlite_wipe(database: db.Database) -> None:
    database.engine.dispose()
    timeout = database.settings.busy_timeout_seconds
    try:
        with closing(sqlite3.connect(_sqlite_path(database), timeout=timeout,
                                     isolation_level=None)) as conn:
            conn.execute("VACUUM")
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        raise BondtrackError(f"the purge is done but the free space was not wiped:"
                             f" {_sqlite_reason(exc)}; run the purge again") from None
    if busy:
        raise BondtrackError("the purge is done, but another bondtrack process holds the database"
                             " open so its old pages could not be wiped: stop it and run the purge"
                             " again")
