"""The class list: read it, validate every row, then import it in one transaction.

People new to the order start in INTAKE (with the facility the list reports,
if any); people already in it are updated field by field, one event per
changed field. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from workflow.core import clock, crashpoints, dates
from workflow.core.errors import BondtrackError, ValidationError
from workflow.core.identity import (
    format_a_number,
    normalize_a_number,
    normalize_language,
    normalize_name,
    search_key,
)
from workflow.core.stages import Stage
from workflow.intake import headers, history, tables
from workflow.places import facilities
from workflow.record import bulk, schema
from workflow.record.audit import Actor, record
from workflow.record.models import CourtOrder, Detainee, Facility

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


class _Person(NamedTuple):
    line: int
    a_number: str
    values: tuple[Any, ...]  # in PERSON_FIELDS order
    facility_code: str | None


@bulk.collector_paused()
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
    if table.problems and (rejects is None or not table.records):
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
    records = table.good_records()
    cells = _Cells(table.columns, today, directory)
    people: list[_Person] = []
    a_numbers: list[str | None] = []  # each row's, where readable
    new_facility_names: dict[str, str] = {}
    for start in range(0, len(records), _CHUNK):
        chunk = records[start:start + _CHUNK]
        people += _parse_rows(table, chunk, cells, new_facility_names, a_numbers, notes)
        if progress:
            progress(start + len(chunk), len(records))
    # A twin with other problems is still a twin: name both lines now, not after a fix.
    duplicates: dict[str, list[int]] = {
        a: [] for a, count in Counter(a_numbers).items() if count > 1 and a is not None}
    if duplicates:
        for a_number, (line, _) in zip(a_numbers, records, strict=True):
            if a_number in duplicates:
                duplicates[a_number].append(line)
    for lines in duplicates.values():
        for line in lines:
            others = ", ".join(str(n) for n in lines if n != line)
            table.problem(line, "a_number", f"the same A-number is on line(s) {others}")
    table.sort_problems()
    if duplicates:
        people = [p for p in people if p.a_number not in duplicates]
    return people, new_facility_names


# Rows read at a time, column by column; progress is told after each.
_CHUNK = 1000


def _parse_rows(
    table: tables.Table,
    chunk: list[tuple[int, list[str]]],
    cells: _Cells,
    new_facility_names: dict[str, str],
    a_numbers: list[str | None],
    notes: list[str],
) -> list[_Person]:
    """The valid rows' people; the rows' A-numbers (None if unreadable) go on ``a_numbers``
    and their problems into ``table``, each row's in column order."""
    by_column = list(zip(*(texts for _, texts in chunk), strict=True))
    read, a_problems = cells.column("a_number", by_column[cells.a_number])
    a_numbers += read
    # Each field's values in PERSON_FIELDS order (None for a column the file lacks), and
    # the columns with a problem somewhere in the chunk.
    fields: list[Sequence[Any]] = [[None] * len(chunk)] * len(PERSON_FIELDS)
    problems = [("a_number", a_problems)]
    for name, at in cells.fields:
        values, found = cells.column(name, by_column[at])
        fields[PERSON_FIELDS.index(name)] = values
        problems.append((name, found))
    if cells.notes is not None:
        fields[PERSON_FIELDS.index("notes")] = [text or None for text in by_column[cells.notes]]
    rows = list(zip(*fields, strict=True))
    codes: list[str | None] = [None] * len(chunk)
    bad: dict[int, list[tuple[str, str]]] = {}
    for name, found in problems:
        for index, problem in enumerate(found or ()):
            if problem is not None:
                bad.setdefault(index, []).append((name, problem))
    if cells.facility != (None, None, None, None):
        for index, (line, texts) in enumerate(chunk):
            errors = bad.get(index, [])
            unknown: list[str] = []
            given = [texts[at] if at is not None else "" for at in cells.facility]
            codes[index] = _facility_code(given, cells, new_facility_names, errors, unknown)
            notes.extend(f"{table.path.name}:{line}: facility: {text}" for text in unknown)
            if errors:
                bad[index] = errors
    for index in sorted(bad):
        for column, message in bad[index]:
            table.problem(chunk[index][0], column, message)
    return [_Person(line, a_number, values, code)
            for index, ((line, _), a_number, values, code)
            in enumerate(zip(chunk, read, rows, codes, strict=True)) if index not in bad]


class _Cells:
    """How one import reads its rows' cells: each column by its index, and each distinct
    text once. A class list repeats its dates of birth, countries, languages and facilities
    thousands of times; the rules stay those of ``workflow.core.identity``, only their results
    are kept."""

    def __init__(self, columns: tuple[str, ...], today: date,
                 directory: facilities.Index) -> None:
        self.directory = directory
        at = {name: index for index, name in enumerate(columns)}
        self.parsers: dict[str, Callable[[str], Any]] = {
            "a_number": normalize_a_number, "family_name": normalize_name,
            "given_name": normalize_name,
            "date_of_birth": partial(dates.parse_day, today=today, past=True),
            "country_of_birth": normalize_name, "language": normalize_language,
            "phone": _phone, "email": _email, "facility_name": normalize_name,
        }
        # column → text → its value (None if it has a problem) / its problem. An A-number is
        # each row's own: those are not kept.
        self.values: dict[str, dict[str, Any]] = {
            name: {} for name in self.parsers if name != "a_number"}
        self.problems: dict[str, dict[str, str]] = {name: {} for name in self.values}
        self.a_number = at["a_number"]  # required: a file without it is refused
        # The person's fields the file has, in the order their problems are reported.
        self.fields = [(name, at[name]) for name in PERSON_FIELDS
                       if name in at and name in self.values]
        self.notes = at.get("notes")
        self.facility = tuple(at.get(name) for name in _FACILITY_COLUMNS)
        self.places: dict[tuple[str, str | None, str | None, str | None], facilities.Place] = {}

    def column(self, name: str, texts: Sequence[str]
               ) -> tuple[list[Any], list[str | None] | None]:
        """Each text's value (None if it has a problem), and each one's problem (None if
        none of them has one)."""
        values = self.values.get(name, {})
        problems = self.problems.get(name, {})
        for text in set(texts).difference(values):
            values[text], problem = _outcome(name, self.parsers[name], text)
            if problem is not None:
                problems[text] = problem
        read = list(map(values.__getitem__, texts))
        if not problems or problems.keys().isdisjoint(texts):
            return read, None
        return read, [problems.get(text) for text in texts]

    def parsed(self, name: str, text: str, errors: list[tuple[str, str]]) -> Any:
        """One cell's value, or None with its problem added to ``errors``."""
        (value,), found = self.column(name, (text,))
        if found is not None and found[0] is not None:
            errors.append((name, found[0]))
        return value

    def place(self, code: str, name: str | None, city: str | None,
              state: str | None) -> facilities.Place:
        key = (code, name, city, state)
        try:
            return self.places[key]
        except KeyError:
            found = self.places[key] = facilities.place(self.directory, code, name, city, state)
            return found


_FACILITY_COLUMNS = ("facility_code", "facility_name", "facility_city", "facility_state")


def _outcome(column: str, parse: Callable[[str], Any], text: str) -> tuple[Any, str | None]:
    """(value, None) for a cell that reads and fits its column, else (None, the problem);
    (None, None) for an empty cell a column may have."""
    if not text:
        return None, "is required" if column in REQUIRED else None
    try:
        value = parse(text)
    except ValueError as exc:
        return None, str(exc)
    width = _WIDTHS.get(column)
    if width and isinstance(value, str) and len(value) > width:
        return None, f"longer than {width} characters"
    return value, None


def _facility_code(given: list[str], cells: _Cells, new_facility_names: dict[str, str],
                   errors: list[tuple[str, str]], unknown: list[str]) -> str | None:
    """The code of the facility the row names (``given``: its code, name, city and state
    cells); a name nothing matches goes in ``unknown`` and the person is imported without
    one."""
    code_text, name_text, city, state = given
    name = cells.parsed("facility_name", name_text, errors)
    if len(code_text) > _WIDTHS["facility_name"]:
        errors.append(("facility_code", "not a facility code or name"))
        return None
    where = cells.place(code_text, name, city or None, state or None)
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
    new_people: list[tuple[_Person, int | None]] = []
    for person in people:
        facility = facilities.get(person.facility_code) if person.facility_code else None
        current = existing.get(person.a_number)
        if current is None:
            new_people.append((person, facility.id if facility else None))
        elif _update(session, current, person, facility, result, actor=actor, now=now):
            result.updated += 1
        else:
            result.unchanged += 1
    result.created = len(new_people)
    if new_people:
        _insert_new(session, order, new_people, entered, actor=actor, now=now)


_INTAKE = Stage.INTAKE.value


def _insert_new(session: Session, order: CourtOrder, new_people: list[tuple[_Person, int | None]],
                entered: dict[str, datetime], *, actor: Actor, now: datetime) -> None:
    """The new people (with their facility's id) in INTAKE since now, or since they came under
    the order (history), then one ``imported`` event each at that time, straight through the
    DBAPI (workflow/record/bulk.py: COPY on PostgreSQL), column by column. One payload object for
    all: it is serialized once."""
    people = schema.detainees
    count = len(new_people)
    ids = bulk.new_ids(session, people, count)
    since = [entered.get(person.a_number) or now for person, _ in new_people]
    fields = dict(zip(PERSON_FIELDS, zip(*(person.values for person, _ in new_people),
                                         strict=True), strict=True))
    bulk.insert_columns(session, people, {
        "id": ids, "order_id": [order.id] * count,
        "a_number": [person.a_number for person, _ in new_people],
        **fields,
        "search_key": list(map(search_key, fields["family_name"], fields["given_name"])),
        "facility_id": [facility_id for _, facility_id in new_people],
        "stage": [_INTAKE] * count, "stage_since": since, "version": [1] * count,
        "created_at": [now] * count, "updated_at": [now] * count,
    })
    payload: dict = {}
    bulk.insert_columns(session, schema.events, {
        "order_id": [order.id] * count, "detainee_id": ids, "kind": ["imported"] * count,
        "from_stage": [None] * count, "to_stage": [_INTAKE] * count,
        "payload": [payload] * count, "actor": [actor.operator] * count,
        "source": [actor.source] * count, "at": since, "recorded_at": [now] * count,
    })


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
        for name, value in zip(PERSON_FIELDS, person.values, strict=True)
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
        (table.row(line, cells).cells, "; ".join(table.bad_lines[line]))
        for line, cells in table.records
        if line in table.bad_lines
    ]
    try:
        tables.write_rejects(path, header, rows)
    except OSError as exc:
        raise BondtrackError(f"cannot write {path.name}: {exc.strerror}") from None


# The fields a person added by hand may have: the class list's own columns, one row of them.
FORM_FIELDS = ("a_number", "family_name", "given_name", "date_of_birth", "country_of_birth",
               "language", "phone", "facility_code")


def add_person(session: Session, order: CourtOrder, fields: Mapping[str, str], *,
               actor: Actor, now: datetime) -> Detainee:
    """Add one person to ``order`` from a form, read by exactly the class list's rules (a
    one-row class list); every problem as ``column: message``; an A-number already in the
    order, or a facility the directory does not know, is refused, never an update."""
    values = [" ".join(str(fields.get(name) or "").split()) for name in FORM_FIELDS]
    table = tables.Table(path=Path("the form"), present=set(FORM_FIELDS), columns=FORM_FIELDS,
                         records=[(1, values)])
    problems: list[str] = []
    for name, text in zip(FORM_FIELDS, values, strict=True):
        if len(text) > tables.MAX_CELL:
            problems.append(f"{name}: longer than {tables.MAX_CELL} characters")
        elif "\x00" in text:
            problems.append(f"{name}: contains a NUL character")
    if problems:
        raise ValidationError("the person was not added", problems)
    notes: list[str] = []
    today = clock.local(now, order.time_zone).date()
    directory = facilities.index(session)
    people, new_facilities = _validate(table, today, directory, None, notes)
    unknown = "facility_code: not in the directory (`bondtrack facility add` adds it)"
    problems = [unknown if problem.startswith("facility_code: unknown facility") else problem
                for problem in table.bad_lines.get(1, [])]
    # A name the directory does not know is a note on a class list: here, nothing is added.
    problems += [f"facility_code: {note.split(': facility: ', 1)[1].split(';')[0]}"
                 for note in notes if ": facility: " in note]
    if new_facilities and unknown not in problems:
        problems.append(unknown)
    if not problems and session.scalar(select(Detainee.id).where(
            Detainee.order_id == order.id, Detainee.a_number == people[0].a_number)):
        problems.append(f"a_number: {format_a_number(people[0].a_number)} is already in order"
                        f" {order.case_number}: change them on their page")
    if problems:
        raise ValidationError("the person was not added", problems)
    result = ImportResult()
    _apply(session, order, people, directory.by_code, {}, result, actor=actor, now=now,
           entered={})
    added = session.scalars(select(Detainee).where(
        Detainee.order_id == order.id, Detainee.a_number == people[0].a_number)).one()
    record(session, kind="person-added", order_id=order.id, detainee=added, actor=actor, at=now,
           now=now, payload={"fields": [name for name, text in zip(FORM_FIELDS, values,
                                                                   strict=True) if text]})
    return added
