"""Everything staff need to work offline, as CSV, XLSX or JSON: private, audited, inert.

The file is written through ``workflow.core.files`` (private, no cell a formula) and the
export is recorded in the audit log before the file is moved into place: there is
never an export on disk that the log does not know about.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.core.clock import iso
from workflow.core.errors import BondtrackError
from workflow.core.files import (
    Sheet,
    Written,
    private_output,
    write_csv,
    write_json,
    write_xlsx,
)
from workflow.core.identity import a_number_fields
from workflow.core.stages import Stage
from workflow.record import audit, db
from workflow.record.audit import Actor
from workflow.record.models import Bond, CourtOrder, Detainee, Facility
from workflow.views.reports import order_summary

# (column, where it comes from): the order of the columns in every format.
EXPORT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("id", Detainee.id),
    ("a_number", Detainee.a_number),
    ("family_name", Detainee.family_name),
    ("given_name", Detainee.given_name),
    ("date_of_birth", Detainee.date_of_birth),
    ("country_of_birth", Detainee.country_of_birth),
    ("language", Detainee.language),
    ("stage", Detainee.stage),
    ("stage_since", Detainee.stage_since),
    ("exclusion_reason", Detainee.exclusion_reason),
    ("facility_code", Facility.code),
    ("facility_name", Facility.name),
    ("facility_city", Facility.city),
    ("facility_state", Facility.state),
    ("facility_phone", Facility.phone),
    ("field_office", Facility.field_office),
    ("phone", Detainee.phone),
    ("email", Detainee.email),
    ("counsel", Detainee.counsel),
    ("notes", Detainee.notes),
    ("bond_amount_usd", Bond.amount_cents),
    ("bond_conditions", Bond.conditions),
    ("obligor_name", Bond.obligor_name),
    ("obligor_relationship", Bond.obligor_relationship),
    ("obligor_phone", Bond.obligor_phone),
    ("obligor_email", Bond.obligor_email),
    ("payment_method", Bond.payment_method),
    ("receipt_number", Bond.receipt_number),
    ("bond_set_at", Bond.set_at),
    ("bond_posted_at", Bond.posted_at),
    ("updated_at", Detainee.updated_at),
)
_QUERIED = tuple(name for name, _ in EXPORT_COLUMNS)
_AFTER = _QUERIED.index("stage_since") + 1
# What the file holds: the queried columns, and how long each person has been in their stage.
COLUMNS = (*_QUERIED[:_AFTER], "hours_in_stage", *_QUERIED[_AFTER:])
# The person's next immigration-court hearing (workflow.bonds.bonds.hearings), in the court's zone.
HEARING_COLUMNS = ("next_hearing_at", "next_hearing_court")
COLUMNS = (*COLUMNS, *HEARING_COLUMNS)


# ---------------------------------------------------------------- the data


def export_rows(session: Session, order: CourtOrder, now: datetime,
                stages: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per person (every field staff need offline), by A-number, in one query."""
    active = (
        select(Bond.detainee_id, func.max(Bond.id).label("bond_id"))
        .where(Bond.cancelled_at.is_(None))
        .group_by(Bond.detainee_id)
        .subquery()
    )
    from workflow.bonds.hearings import describe_next, next_hearing_columns

    query = (
        select(*(source for _, source in EXPORT_COLUMNS), *next_hearing_columns(now))
        .outerjoin(Facility, Detainee.facility_id == Facility.id)
        .outerjoin(active, active.c.detainee_id == Detainee.id)
        .outerjoin(Bond, Bond.id == active.c.bond_id)
        .where(Detainee.order_id == order.id)
        .order_by(Detainee.a_number)
    )
    if stages:
        query = query.where(Detainee.stage.in_(check_stages(stages)))
    tz = order.time_zone
    rows = []
    for values in session.execute(query):
        row = _person_row(dict(zip(_QUERIED, values[:len(_QUERIED)], strict=True)), now, tz)
        row["next_hearing_at"], row["next_hearing_court"] = describe_next(*values[len(_QUERIED):])
        rows.append(row)
    return rows


def check_stages(stages: Sequence[str]) -> list[str]:
    """Stage names as stored (any case); an unknown one is a user error naming the known ones."""
    known = {stage.value for stage in Stage}
    wanted = [stage.strip().upper() for stage in stages]
    unknown = [stage for stage in wanted if stage not in known]
    if unknown:
        names = ", ".join(stage.value for stage in Stage)
        raise BondtrackError(f"unknown stage {unknown[0][:40]}: use one of {names}")
    return wanted


def _person_row(queried: dict[str, Any], now: datetime, tz: str) -> dict[str, Any]:
    hours = round((now - queried["stage_since"]).total_seconds() / 3600, 1)
    row = {name: queried.get(name, hours) for name in COLUMNS if name not in HEARING_COLUMNS}
    row.update(a_number_fields(row["a_number"]))
    cents = row["bond_amount_usd"]
    row["bond_amount_usd"] = cents / 100 if cents is not None else None
    for name, value in row.items():
        if isinstance(value, datetime):
            row[name] = iso(value, tz)
        elif isinstance(value, date):
            row[name] = value.isoformat()
    return row


# ---------------------------------------------------------------- the command


def export_people(database: db.Database, order_id: int, *, fmt: str, path: Path,
                  actor: Actor, now: datetime, stages: Sequence[str] = ()) -> Written:
    """Write the export to ``path`` (0600) and record who exported what; return what was written."""
    wanted = check_stages(stages)
    with database.read() as session:
        order = _order(session, order_id)
        rows = export_rows(session, order, now, wanted)
        header = {"order": order_summary(order), "exported_at": iso(now, order.time_zone),
                  "stages": wanted}
    with private_output(path) as partial:
        _write_export(partial, fmt, rows, header)
        with database.write() as session:
            event = audit.record(
                session, kind="exported", order_id=order_id, actor=actor, at=now, now=now,
                payload={"format": fmt, "stages": wanted, "rows": len(rows), "file": path.name},
            )
            session.flush()
            event_id = event.id
    return Written(path=path, rows=len(rows), event_id=event_id)


def _write_export(path: Path, fmt: str, rows: list[dict[str, Any]], header: dict[str, Any]) -> None:
    if fmt == "csv":
        write_csv(path, COLUMNS, rows)
    elif fmt == "xlsx":
        write_xlsx(path, [Sheet("People", COLUMNS, rows)])
    else:
        write_json(path, {**header, "columns": list(COLUMNS), "people": rows})


def _order(session: Session, order_id: int) -> CourtOrder:
    order = session.get(CourtOrder, order_id)
    if order is None:
        raise BondtrackError(f"no order #{order_id}")
    return order
