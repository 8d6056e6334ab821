"""`bondtrack apply`: many moves from one CSV/XLSX, in file order, all or nothing.

Each row names a person, an action (a stage verb, ``note``, ``terms``, or an event of a
posted bond) and what that action takes; the row goes to the same function the single
command calls (``tracking``, ``terms``, ``bonds``), inside the caller's one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from workflow.bonds import bonds
from workflow.core import crashpoints, dates
from workflow.core.errors import BondtrackError, ValidationError
from workflow.core.money import parse_amount
from workflow.intake import headers, tables
from workflow.orders import orders, terms
from workflow.people import moves
from workflow.places import facilities
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event

APPLY_COLUMNS = headers.columns(
    "a_number", "action", "facility_code", "facility_name", "facility_city", "facility_state",
    "amount", "receipt", "method", "at", "reason", "notes", "conditions", "obligor_name",
    "obligor_phone", "obligor_email", "relationship", "imposed_bond", "imposed_conditions",
    # bond events (workflow.bonds.bonds): a demand's surrender time, an appeal's outcome, a designee
    "due", "outcome", "designee",
)
TERMS_ACTION = "terms"  # the terms the court ordered for the person: amount, conditions
ACTIONS = (*moves.MOVES, TERMS_ACTION)
_FIELDS = sorted({field for fields in moves.FIELDS.values() for field in fields})
# An apply file's columns by the names ``moves.make`` reads (the CLI's option names).
_MOVE_FIELDS = {"facility": "facility_code", "obligor": "obligor_name", "note": "notes"}


def apply_file(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
               now: datetime, default_bond_cents: int, encoding: str = "auto",
               sheet: str | None = None) -> int:
    """Apply every move in a CSV/XLSX, in file order, all or nothing; returns how many."""
    table = tables.read(path, APPLY_COLUMNS, ("a_number", "action"), encoding=encoding,
                        sheet=sheet)
    applied = 0
    if not table.problems:
        for row in table.good_rows():
            try:
                _apply_row(session, order, row, actor=actor, now=now,
                           default_bond_cents=default_bond_cents)
                applied += 1
                crashpoints.reached(crashpoints.APPLY_ROW)
            except _RowError as exc:
                table.problem(row.line, exc.column, exc.message)
    if table.problems:
        # The caller's transaction rolls back: not one row of a bad file lands.
        raise ValidationError(
            f"{len(table.problems)} problem(s) in {path.name}; nothing was applied",
            table.problems,
        )
    audit.record(session, kind="bulk-applied", order_id=order.id, actor=actor, at=now, now=now,
                 payload={"file": path.name, "rows": applied})
    return applied


class _RowError(Exception):
    def __init__(self, column: str, message: str):
        self.column, self.message = column, message


@contextmanager
def _column(name: str) -> Iterator[None]:
    """Problems inside are this column's, or the column of the move's field that failed."""
    try:
        yield
    except moves.FieldError as exc:
        raise _RowError(_MOVE_FIELDS.get(exc.field, exc.field), _message(exc.error)) from None
    except (BondtrackError, ValueError) as exc:
        raise _RowError(name, _message(exc)) from None


def _message(error: BondtrackError | ValueError) -> str:
    return error.listing() if isinstance(error, facilities.AmbiguousFacility) else str(error)


def _apply_row(session: Session, order: CourtOrder, row: tables.Row, *, actor: Actor,
               now: datetime, default_bond_cents: int) -> None:
    with _column("action"):
        name = row.get("action").lower().replace("_", "-")
        if name not in ACTIONS and name not in _bond_events():
            raise ValueError(f"not an action (use one of: {', '.join(ACTIONS)};"
                             f" for a posted bond: {', '.join(_bond_events())})")
    with _column("a_number"):
        detainee = orders.find_detainee(session, order, row.get("a_number"))
    fields = {field: row.get(_MOVE_FIELDS.get(field, field)) for field in _FIELDS}
    facility = None
    if row.get("facility_code") or row.get("facility_name"):  # checked for any action
        with _column("facility_code"):
            facility = moves.resolve_facility(session, fields)
    # A row is checked whole: a time or an amount its action does not read must still be one.
    at = amount = None
    whole_day = False
    if row.get("at"):
        with _column("at"):
            at, whole_day = dates.parse_when(row.get("at"), order.time_zone)
    if row.get("amount"):
        with _column("amount"):
            amount = parse_amount(row.get("amount"))
    if name in _bond_events():
        with _column("action"):
            _record_bond_event(session, order, detainee, name, row, at=at, amount=amount,
                               whole_day=whole_day, actor=actor, now=now)
        return
    if name == TERMS_ACTION:
        with _column("action"):
            _set_terms(session, detainee, row, amount, actor=actor, now=now)
        return
    with _column("action"):
        moves.make(session, detainee, name, fields, actor=actor, now=now,
                   default_bond_cents=default_bond_cents, facility=facility)


def _bond_events() -> tuple[str, ...]:
    return bonds.EVENTS


def _record_bond_event(session: Session, order: CourtOrder, detainee: Detainee, name: str,
                       row: tables.Row, *, at: datetime | None, amount: int | None,
                       whole_day: bool, actor: Actor, now: datetime) -> None:
    """An ``apply`` row for the bond fund's spreadsheet: one event of a posted bond."""
    options: dict[str, Any] = {}
    if row.get("due"):
        with _column("due"):
            options["due"] = dates.parse_instant(row.get("due"), order.time_zone)
    if amount is not None:
        options["amount"] = amount
    for option, column in (("reason", "reason"), ("outcome", "outcome"), ("name", "designee")):
        if row.get(column):
            options[option] = row.get(column)
    bonds.record(session, detainee, name, actor=actor, now=now, at=at, whole_day=whole_day,
                 note=row.get("notes") or None, **options)


def _set_terms(session: Session, detainee: Detainee, row: tables.Row, amount: int | None, *,
               actor: Actor, now: datetime) -> Event:
    """An ``apply`` row setting ordered terms: ``amount`` (0: no bond) and/or ``conditions``."""
    if not row.get("amount") and not row.get("conditions"):
        raise ValueError("a terms row needs an amount (0 for no bond) or conditions (or none)")
    event = terms.set_person_terms(
        session, detainee, bond_cents=amount,
        conditions=row.get("conditions") or None, note=row.get("notes") or None,
        actor=actor, now=now)
    if event is None:
        raise ValueError("the person already has these terms")
    return event
