"""Engine and transactions, built from Settings; nothing happens at import time.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue up instead of
failing half-way. The ORM is imported when a session is first asked for: a plain
Core ``connection()`` (what `bondtrack status` reads through) never loads it.
Database errors are turned into one-line BondtrackErrors here, never with their
SQL parameters (which can hold personal data).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from workflow import resource
from workflow.config import Settings
from workflow.errors import BondtrackError, ConflictError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

    # What a read takes: a Core connection, or an ORM session (it executes Core selects too).
    Reader: TypeAlias = Connection | Session

_WRITE = "bondtrack_write"
_R = TypeVar("_R", bound="Reader")


@dataclass(frozen=True)
class Database:
    settings: Settings
    engine: Engine

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection for reading, without the ORM; nothing it does is committed."""
        with _translated(self.settings), self.engine.connect() as conn:
            yield conn  # closing it rolls the transaction back

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        reader, _ = self._sessions
        with _translated(self.settings, self._conflicts), reader() as session, session.begin():
            yield session
            session.rollback()

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read session whose every query sees one snapshot, even while others write.

        SQLite's read transaction is a snapshot already; PostgreSQL's default
        (read committed) is not, so it is asked for repeatable read.
        """
        with self.read() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed if the block succeeds, rolled back otherwise."""
        _, writer = self._sessions
        with _translated(self.settings, self._conflicts), writer() as session, session.begin():
            yield session

    @cached_property
    def _sessions(self) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
        """The reading and the writing session factories, made on first use."""
        from sqlalchemy.orm import sessionmaker

        writer_engine = self.engine.execution_options(**{_WRITE: True})
        return (sessionmaker(self.engine, expire_on_commit=False),
                sessionmaker(writer_engine, expire_on_commit=False))

    @cached_property
    def _conflicts(self) -> tuple[type[Exception], ...]:
        """What the ORM raises when another writer changed a row first (optimistic lock)."""
        from sqlalchemy.orm.exc import StaleDataError

        return (StaleDataError,)

    def check_schema(self) -> None:
        """Refuse to work on a database that `bondtrack init` has not brought up to date."""
        with _translated(self.settings), self.engine.connect() as conn:
            try:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except (OperationalError, ProgrammingError):
                current = None
        if current is None:
            raise BondtrackError("the database is not set up yet: run `bondtrack init`")
        if current != head_revision():
            raise BondtrackError(
                "the database schema is not the one this bondtrack expects: run `bondtrack init`"
            )

    def dispose(self) -> None:
        self.engine.dispose()


def connect(settings: Settings) -> Database:
    """A Database for ``settings``; makes the private data directory if needed."""
    ensure_private_dir(settings.home)
    if settings.is_sqlite:
        engine = _sqlite_engine(settings)
    else:
        engine = create_engine(settings.database_url, pool_pre_ping=True)
    return Database(settings=settings, engine=engine)


def flushed(reader: _R) -> _R:
    """``reader``, a session's pending changes flushed first: its ORM queries autoflush, and
    the Core selects the read side runs through it would otherwise not see those changes."""
    if not isinstance(reader, Connection) and reader.autoflush:
        reader.flush()
    return reader


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid():
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists, so no one else can ever read it.

    An existing file is never opened: closing any descriptor of a SQLite database drops
    every POSIX lock this process holds on it, and SQLite, not knowing, would let another
    process checkpoint and delete the write-ahead log under our open connections.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    path.chmod(0o600)
    return path


def _sqlite_engine(settings: Settings) -> Engine:
    path = settings.database_url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        private_file(Path(path))
    engine = create_engine(
        settings.database_url, connect_args={"timeout": settings.busy_timeout_seconds}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def _translated(settings: Settings,
                conflicts: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    try:
        yield
    except conflicts:
        raise ConflictError(
            "the record was changed by someone else while you worked on it: re-run the command"
        ) from None
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "deadlock" in str(exc.orig):
            raise ConflictError(
                "the database is busy with another writer: re-run the command") from None
        if exc.statement is None and not settings.is_sqlite:  # no statement: connecting failed
            raise BondtrackError(
                connection_problem(settings.database_url, exc.orig or exc)) from None
        raise BondtrackError(f"database error: {type(exc.orig).__name__}") from None
    except DBAPIError as exc:
        # The message of a DBAPI error quotes SQL parameters: name the kind only.
        raise BondtrackError(f"database error: {type(exc.orig).__name__}") from None


def connection_problem(url: str, error: BaseException) -> str:
    """Which server, which database, and the server's reason, for a connection that failed.

    A wrong port, a database that does not exist and a refused password each need a different
    fix. The driver's message names hosts, ports, users and databases, never a person; the
    password is never printed (the driver does not, and it is scrubbed should it appear).
    """
    where = make_url(url)
    reason = "; ".join(_server_reason(line) for line in str(error).splitlines() if line.strip())
    if where.password:
        reason = reason.replace(where.password, "***")
    return (f"cannot connect to PostgreSQL at {where.host or 'localhost'}:{where.port or 5432},"
            f" database {where.database or '(default)'}, user {where.username or '(default)'}:"
            f" {reason or type(error).__name__}")


def _server_reason(line: str) -> str:
    """``connection to server at "h", port 5 failed: FATAL:  database "x" does not exist``
    → ``database "x" does not exist``: the host and port are said once, before."""
    reason = line.strip().rsplit(" failed: ", 1)[-1].removeprefix("connection failed: ")
    return reason.removeprefix("FATAL:").strip()


def head_revision() -> str:
    """The newest migration: the ``revision = '...'`` line of the last file by name
    (``0001_foundation.py`` → ``0001``; an id may hold underscores, ``0008c_search_key``).

    Cheap on purpose: every command checks the schema without importing Alembic.
    """
    versions = resource("migrations", "versions")
    newest = max(versions.glob("[0-9]*_*.py"), key=lambda p: p.name)
    found = re.search(r"^revision = ['\"]([^'\"]+)['\"]", newest.read_text("utf-8"), re.M)
    assert found, f"{newest.name} names no revision"
    return found[1]


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config(str(resource("alembic.ini")))
    cfg.set_main_option("script_location", str(resource("migrations")))
    return cfg


def upgrade(database: Database, revision: str = "head") -> None:
    """Create or upgrade the schema (idempotent)."""
    from alembic import command

    cfg = alembic_config()
    with _translated(database.settings), database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(database: Database, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    with _translated(database.settings), database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
