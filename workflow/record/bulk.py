"""Many pre-validated rows into one table through the DBAPI, in the session's transaction.

``COPY ... FROM STDIN`` on PostgreSQL, the fastest way in; one ``executemany`` on SQLite
(as fast as Core's, measured: sqlite3 is the cost there). Each value still goes through its
column's own bind conversion (the one every other write uses, UTC times included), once per
distinct value of its column; a column that is NULL in every row is left out of the insert.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a bulk load holds its rows: it would walk the
    hundreds of thousands of them again and again (a fifth of a 100,000-row import) and
    find no cycles; reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def new_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` ids for new rows of ``table`` that no concurrent writer can also take."""
    if count == 0:
        return []
    if session.connection().dialect.name == "postgresql":
        # The sequence hands each caller its own values, whatever else inserts meanwhile.
        taken = session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        ), {"table": table.name, "n": count})
        return sorted(taken)
    # SQLite: a write transaction (BEGIN IMMEDIATE, workflow/record/db.py) holds the only write
    # lock, and max + 1 is what SQLite itself would assign.
    top = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + count))


def insert_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``: ``insert_columns``."""
    by_column = list(zip(*rows, strict=True))
    insert_columns(session, table, dict(zip(columns, by_column, strict=True)) if by_column else {})


def insert_columns(session: Session, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows given column by column (name → each row's value) into ``table``.

    The rows go straight to the database: flush the session first if they refer to rows
    it has not written yet."""
    connection = session.connection()
    dialect = connection.dialect
    if len({len(cells) for cells in columns.values()}) > 1:
        raise ValueError("the columns of one insert have different lengths")
    kept: list[str] = []
    values: list[Sequence[Any]] = []
    for name, cells in columns.items():
        if not cells:
            return
        process = _processor(table.c[name].type, dialect)
        if process is not None:
            cells = _converted(cells, process)
        # NULL in every row: left out, which the database stores as NULL too (no server
        # default), and binding it row by row was a fifth of SQLite's insert.
        if (cells[0] is None and cells.count(None) == len(cells)
                and table.c[name].server_default is None):
            continue
        kept.append(name)
        values.append(cells)
    rows = zip(*values, strict=True)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in kept)
    target = dialect.identifier_preparer.format_table(table)
    raw: Any = connection.connection.driver_connection  # psycopg's or sqlite3's own
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in kept)
        raw.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", rows)


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind conversion for ``dialect``."""
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(type_, JSON) and dialect.name == "postgresql":
        # psycopg would serialize its JSON wrapper anew on every row; COPY takes the text.
        process = getattr(dialect, "_json_serializer", None) or json.dumps
    return process


def _converted(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``values`` (one column's) through ``process``, called once per distinct value."""
    try:
        done = {value: process(value) for value in set(values)}
    except TypeError:
        # An unhashable value (a JSON document) is remembered by identity: the rows of one
        # insert share one payload object.
        by_id = {id(value): process(value) for value in {id(v): v for v in values}.values()}
        return [by_id[id(value)] for value in values]
    return list(map(done.__getitem__, values))
