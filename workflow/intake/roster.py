"""The class list: read it, validate every row, then import it in one transaction.

People new to the order start in INTAKE (with the facility the list reports,
if any); people already in it are updated field by field, one event per
changed field. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from workflow import bulk, clock, crashpoints, facilities, schema
from workflow.audit import Actor, record
from workflow.errors import BondtrackError, ValidationError
from workflow.identity import normalize_a_number, normalize_language, normalize_name, parse_date
from workflow.intake import headers, history, tables
from workflow.models import CourtOrder, Detainee, Facility
from workflow.stages import Stage

COLUMNS = {
    **headers.columns(
        "a_number", "family_name", "given_name", "date_of_birth", "country_of_birth", "language",
        "facility_code", "facility_name", "facility_city", "facility_state", "phone", "email",
        "notes",
    ),
    # Each person's stage and the dates that led there (workflow/intake/history.py).
    **history.COLUMNS,
}
# The language is required so every letter and call can be in it; "unknown" is accepted and
# counted (status), so a missing value is a decision someone made, not an accident.
REQUIRED = ("a_number", "family_name", "given_name", "language")
# Fields the class list may set on a person, in the order events are written.
PERSON_FIELDS = (
    "family_name", "given_name", "date_of_birth", "country_of_birth", "language",
    "phone", "email", "notes",
)
# What the database holds per column: a longer value is a line's problem, not a failed INSERT.
_WIDTHS = {
    **{c.name: c.type.length for c in schema.detainees.columns
       if isinstance(c.type, String) and c.type.length},
    "facility_name": cast(int, cast(String, schema.facilities.c.name.type).length),
}
# The list's facility is a report, not a confirmation: it only fills in people not yet located.
_UNCONFIRMED = (Stage.INTAKE.value, Stage.LOCATING.value)

Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    field_changes: int = 0
    rejected: int = 0
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    history: dict[str, Any] | None = None  # moves recorded from the history columns
    # Not wrong, worth saying: the encoding or sheet read, facility names nothing matches.
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            **({"history": self.history} if self.history is not None else {}),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "field_changes": self.field_changes,
            "rejected": self.rejected,
            "dry_run": self.dry_run,
            "ignored_columns": self.ignored_columns,
        }


@dataclass(frozen=True)
class _Person:
    line: int
    a_number: str
    values: dict[str, Any]
    facility_code: str | None


def import_class_list(
    session: Session,
    order: CourtOrder,
    path: Path,
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
    rejects: Path | None = None,
    progress: Progress | None = None,
    default_bond_cents: int | None = None,
    encoding: str = "auto",
    sheet: str | None = None,
) -> ImportResult:
    """Import ``path`` into ``order``; with problems and no ``rejects`` file, write nothing.

    A list with history columns (stage, dates) also records each person's moves, with the
    file's dates (``workflow.intake.history``); ``default_bond_cents`` is a set bond with no amount.
    """
    table = tables.read(path, COLUMNS, REQUIRED, encoding=encoding, sheet=sheet)
    result = ImportResult(dry_run=dry_run, ignored_columns=table.ignored_columns,
                          notes=table.notes)
    # A bad header leaves no rows; a row the reader refused (too many cells, a cell too long)
    # is a rejected row like any other when the valid rows are wanted.
    if table.problems and (rejects is None or not table.rows):
        raise ValidationError(_failure(path, table.problems), table.problems)
    today = clock.local(now, order.time_zone).date()
    directory = facilities.index(session)
    plans = history.plan(session, order, table, now=now, default_bond_cents=default_bond_cents)
    people, new_facilities = _validate(table, today, directory, progress, result.notes)
    known = directory.by_code
    if table.problems and rejects is None:
        raise ValidationError(_failure(path, table.problems), table.problems)
    result.problems = table.problems
    result.rejected = len(table.bad_lines)
    if rejects is not None and table.bad_lines:
        _write_rejects(table, rejects)
    # A dry run goes through the same writes inside a savepoint, so its counts are the real ones.
    savepoint = session.begin_nested() if dry_run else None
    _apply(session, order, people, known, new_facilities, result, actor=actor, now=now,
           entered=history.entered_times(plans))
    kept = [plans[p.a_number] for p in people if p.a_number in plans]
    moved = history.record(session, order, kept, file=path.name, actor=actor, now=now)
    if plans:
        result.history = moved.as_dict()
    if savepoint is not None:
        savepoint.rollback()
    elif result.created or result.updated or moved.moves:
        record(session, kind="class-list-imported", order_id=order.id, actor=actor, at=now,
               now=now, payload={"file": path.name, **result.summary()})
        crashpoints.reached(crashpoints.IMPORT_WRITTEN)
    return result


def _failure(path: Path, problems: list[str]) -> str:
    return f"{len(problems)} problem(s) in {path.name}; nothing was imported"


def _validate(
    table: tables.Table, today: date, directory: facilities.Index, progress: Progress | None,
    notes: list[str],
) -> tuple[list[_Person], dict[str, str]]:
    """The people to import, and the names of the facilities the list introduces."""
    seen: dict[str, list[int]] = defaultdict(list)
    people: list[_Person] = []
    rows = table.good_rows()
    new_facility_names: dict[str, str] = {}
    for done, row in enumerate(rows, start=1):
        errors: list[tuple[str, str]] = []
        unknown: list[str] = []
        a_number, person = _parse_row(row, today, directory, new_facility_names, errors, unknown)
        notes.extend(f"{table.path.name}:{row.line}: facility: {text}" for text in unknown)
        for column, message in errors:
            table.problem(row.line, column, message)
        # A twin with other problems is still a twin: name both lines now, not after a fix.
        if a_number is not None:
            seen[a_number].append(row.line)
        if person is not None:
            people.append(person)
        if progress and (done % 1000 == 0 or done == len(rows)):
            progress(done, len(rows))
    duplicates = {a: lines for a, lines in seen.items() if len(lines) > 1}
    for lines in duplicates.values():
        for line in lines:
            others = ", ".join(str(n) for n in lines if n != line)
            table.problem(line, "a_number", f"the same A-number is on line(s) {others}")
    table.sort_problems()
    return [p for p in people if p.a_number not in duplicates], new_facility_names


def _parse_row(
    row: tables.Row,
    today: date,
    directory: facilities.Index,
    new_facility_names: dict[str, str],
    errors: list[tuple[str, str]],
    unknown: list[str],
) -> tuple[str | None, _Person | None]:
    """The row's A-number (if readable) and the person (if the whole row is valid)."""

    def parsed(column: str, parse: Callable[[str], Any], required: bool = False) -> Any:
        text = row.get(column)
        if not text:
            if required:
                errors.append((column, "is required"))
            return None
        try:
            value = parse(text)
        except ValueError as exc:
            errors.append((column, str(exc)))
            return None
        width = _WIDTHS.get(column)
        if width and isinstance(value, str) and len(value) > width:
            errors.append((column, f"longer than {width} characters"))
            return None
        return value

    a_number = parsed("a_number", normalize_a_number, required=True)
    values = {
        "family_name": parsed("family_name", normalize_name, required=True),
        "given_name": parsed("given_name", normalize_name, required=True),
        "date_of_birth": parsed("date_of_birth", lambda t: parse_date(t, today=today)),
        "country_of_birth": parsed("country_of_birth", normalize_name),
        "language": parsed("language", normalize_language, required=True),
        "phone": parsed("phone", _phone),
        "email": parsed("email", _email),
        "notes": row.get("notes") or None,
    }
    code = _facility_code(row, parsed, directory, new_facility_names, errors, unknown)
    if errors:
        return a_number, None
    return a_number, _Person(row.line, a_number, values, code)


def _facility_code(row: tables.Row, parsed: Callable[..., Any], directory: facilities.Index,
                   new_facility_names: dict[str, str], errors: list[tuple[str, str]],
                   unknown: list[str]) -> str | None:
    """The code of the facility the row names (by code, name, or name, city and state); a
    name nothing matches goes in ``unknown`` and the person is imported without one."""
    name = parsed("facility_name", normalize_name)
    if len(row.get("facility_code")) > _WIDTHS["facility_name"]:
        errors.append(("facility_code", "not a facility code or name"))
        return None
    where = facilities.place(directory, row.get("facility_code"), name,
                             row.get("facility_city") or None, row.get("facility_state") or None)
    if where.ambiguous:
        errors.append(("facility", where.ambiguous.listing()))
    elif where.unknown:
        unknown.append(where.unknown)
    elif where.bare_code and where.bare_code not in new_facility_names:
        errors.append(("facility_code", "unknown facility: add facility_name to create it"))
    elif where.new_name:
        new_facility_names.setdefault(where.code or "", where.new_name)
    return where.code or where.bare_code


def _phone(text: str) -> str:
    digits = [ch for ch in text if ch.isdigit()]
    if not 7 <= len(digits) <= 15 or any(ch not in "0123456789+-(). x" for ch in text):
        raise ValueError("not a phone number")
    return text


def _email(text: str) -> str:
    local, _, domain = text.partition("@")
    if not local or "." not in domain or any(ch.isspace() for ch in text):
        raise ValueError("not an e-mail address")
    return text


def _apply(
    session: Session,
    order: CourtOrder,
    people: list[_Person],
    facilities: dict[str, Facility],
    new_facilities: dict[str, str],
    result: ImportResult,
    *,
    actor: Actor,
    now: datetime,
    entered: dict[str, datetime],
) -> None:
    for person in people:
        if person.facility_code and person.facility_code not in facilities:
            added = Facility(code=person.facility_code,
                             name=new_facilities[person.facility_code])
            session.add(added)
            facilities[person.facility_code] = added
    session.flush()
    existing = {
        d.a_number: d
        for d in session.scalars(select(Detainee).where(Detainee.order_id == order.id))
    }
    new_rows = []
    for person in people:
        facility = facilities.get(person.facility_code) if person.facility_code else None
        current = existing.get(person.a_number)
        if current is None:
            new_rows.append(_new_row(order, person, facility, now, entered.get(person.a_number)))
        elif _update(session, current, person, facility, result, actor=actor, now=now):
            result.updated += 1
        else:
            result.unchanged += 1
    result.created = len(new_rows)
    if new_rows:
        _insert_new(session, order, new_rows, actor=actor, now=now)


def _new_row(order: CourtOrder, person: _Person, facility: Facility | None, now: datetime,
             entered: datetime | None) -> tuple:
    """A new person in INTAKE since now, or since they came under the order (history), as
    values in ``_NEW_PERSON`` order."""
    return (order.id, person.a_number, *(person.values[name] for name in PERSON_FIELDS),
            facility.id if facility else None, Stage.INTAKE.value, entered or now, 1, now, now)


_NEW_PERSON = ("order_id", "a_number", *PERSON_FIELDS, "facility_id", "stage", "stage_since",
               "version", "created_at", "updated_at")
_IMPORTED = ("order_id", "detainee_id", "kind", "from_stage", "to_stage", "payload", "actor",
             "source", "at", "recorded_at")


def _insert_new(session: Session, order: CourtOrder, rows: list[tuple], *, actor: Actor,
                now: datetime) -> None:
    """The new people, then one ``imported`` event each at their ``stage_since`` (now, or
    when their history says they came under the order), straight through the DBAPI
    (workflow/bulk.py: COPY on PostgreSQL). One payload object for all: it is serialized once."""
    people = schema.detainees
    ids = bulk.new_ids(session, people, len(rows))
    bulk.insert_rows(session, people, ("id", *_NEW_PERSON),
                     ((id_, *row) for id_, row in zip(ids, rows, strict=True)))
    since = _NEW_PERSON.index("stage_since")
    payload: dict = {}
    bulk.insert_rows(session, schema.events, _IMPORTED, (
        (order.id, id_, "imported", None, Stage.INTAKE.value, payload, actor.operator,
         actor.source, row[since], now)
        for id_, row in zip(ids, rows, strict=True)))


def _update(
    session: Session,
    detainee: Detainee,
    person: _Person,
    facility: Facility | None,
    result: ImportResult,
    *,
    actor: Actor,
    now: datetime,
) -> bool:
    changes = [
        (name, getattr(detainee, name), value)
        for name, value in person.values.items()
        if value is not None and getattr(detainee, name) != value
    ]
    if (facility is not None and detainee.facility_id != facility.id
            and detainee.stage in _UNCONFIRMED):
        was = detainee.facility.code if detainee.facility else None
        changes.append(("facility", was, facility.code))
        detainee.facility = facility
    if not changes:
        return False
    for name, old, new in changes:
        if name != "facility":
            setattr(detainee, name, new)
        record(session, kind="updated", detainee=detainee, actor=actor, at=now, now=now,
               payload={"field": name, "from": _jsonable(old), "to": _jsonable(new)})
    detainee.updated_at = now
    result.field_changes += len(changes)
    return True


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _write_rejects(table: tables.Table, path: Path) -> None:
    header = list(COLUMNS)
    rows = [
        (row.cells, "; ".join(table.bad_lines[row.line]))
        for row in table.rows
        if row.line in table.bad_lines
    ]
    try:
        tables.write_rejects(path, header, rows)
    except OSError as exc:
        raise BondtrackError(f"cannot write {path.name}: {exc.strerror}") from None
