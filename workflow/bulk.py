"""Many pre-validated rows into one table through the DBAPI, in the session's transaction.

``COPY ... FROM STDIN`` on PostgreSQL, the fastest way in; one ``executemany`` on SQLite
(as fast as Core's, measured: sqlite3 is the cost there). Each value still goes through its
column's own bind conversion (the one every other write uses, UTC times included), once per
distinct value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine


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
    # SQLite: a write transaction (BEGIN IMMEDIATE, workflow/db.py) holds the only write
    # lock, and max + 1 is what SQLite itself would assign.
    top = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + count))


def insert_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``.

    The rows go straight to the database: flush the session first if they refer to rows
    it has not written yet."""
    connection = session.connection()
    dialect = connection.dialect
    steps = [(i, c) for i, name in enumerate(columns)
             if (c := _converter(table.c[name].type, dialect)) is not None]

    def converted(row: Sequence[Any]) -> Sequence[Any]:
        if not steps:
            return row
        values = list(row)
        for i, convert in steps:
            values[i] = convert(values[i])
        return values

    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    target = dialect.identifier_preparer.format_table(table)
    raw: Any = connection.connection.driver_connection  # psycopg's or sqlite3's own
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(converted(row))
    else:
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})",
                       map(converted, rows))


def _converter(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind conversion for ``dialect``, remembered per distinct value."""
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(type_, JSON) and dialect.name == "postgresql":
        # psycopg would serialize its JSON wrapper anew on every row; COPY takes the text.
        process = getattr(dialect, "_json_serializer", None) or json.dumps
    if process is None:
        return None
    done: dict[Any, Any] = {}
    # An unhashable value (a JSON document) is remembered by identity, held here so its id
    # stays its own: the rows of one insert share one payload object.
    held: dict[int, tuple[Any, Any]] = {}

    def convert(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            done[value] = result = process(value)
            return result
        except TypeError:
            if id(value) not in held:
                held[id(value)] = (value, process(value))
            return held[id(value)][1]

    return convert
