"""`facility import`: facility lists in the shapes they come in, merged into the directory.

- ICE's detention-statistics workbook: the facility sheet found among ten, its header
  below a preamble and a group-header row; no codes, so rows are matched by name,
  city and state, and the unmatched added under provisional codes (P-<state>-<name>);
- DETLOC lists, pipe- or comma-delimited, gzipped or not: matched by code;
- our own CSV/XLSX (the columns of config/facilities.csv).

A matched facility gains what it lacked (a ZIP, a county, a phone); what it already
has is kept. Everything is checked first and written in one transaction, each change
an audited event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.errors import ValidationError
from workflow.intake import headers, tables
from workflow.places import facilities, zones
from workflow.places.facilities import normalize_facility_code
from workflow.record import schema
from workflow.record.audit import Actor
from workflow.record.models import Facility, FieldOffice
from workflow.record.schema import check_widths

COLUMNS = headers.columns(
    "facility_code", "facility_name", "name", "aliases", "address", "city", "county", "state",
    "zip", "phone", "field_office", "time_zone", "kind", "source",
)
FILLED = ("aliases", "address", "city", "county", "state", "zip", "phone", "field_office",
          "time_zone", "kind")
# Words that say what a place is, not which: left out of a provisional code.
_GENERIC = {"COUNTY", "JAIL", "DETENTION", "CENTER", "FACILITY", "CORRECTIONAL", "SHERIFF",
            "OFFICE", "ICE", "PROCESSING", "SERVICE", "CONTRACT", "FEDERAL", "JUSTICE",
            "REGIONAL", "DEPARTMENT", "INSTITUTE", "COMPLEX", "AND", "SAINT"}


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    matched: int = 0
    filled: int = 0  # matched facilities that gained a field
    added: list[str] = field(default_factory=list)
    provisional: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "matched": self.matched,
                "filled": self.filled, "added": self.added, "provisional": self.provisional,
                "notes": self.notes, "dry_run": self.dry_run}


@dataclass
class _Line:
    line: int
    code: str | None
    values: dict[str, Any]


def import_facilities(session: Session, path: Path, *, actor: Actor, now: datetime,
                      sheet: str | None = None, encoding: str = "auto",
                      dry_run: bool = False) -> ImportReport:
    """Merge the facilities of ``path`` into the directory; all lines or, with problems, none."""
    table = tables.read(path, COLUMNS, (), encoding=encoding, sheet=sheet)
    if not table.problems and not table.present & {"facility_name", "name"}:
        table.problem(table.header_line, "name", "required column is missing")
    if table.problems:
        raise ValidationError(_failure(path, table.problems), table.problems)
    offices = list(session.scalars(select(FieldOffice)))
    lines = [line for row in table.rows if (line := _parse(row, offices, table)) is not None]
    if table.problems:
        raise ValidationError(_failure(path, table.problems), table.problems)
    report = ImportReport(file=path.name, rows=len(lines), notes=table.notes, dry_run=dry_run)
    savepoint = session.begin_nested() if dry_run else None
    _merge(session, lines, report, actor=actor, now=now, file=path.name)
    if savepoint is not None:
        savepoint.rollback()
    return report


def _failure(path: Path, problems: list[str]) -> str:
    return f"{len(problems)} problem(s) in {path.name}; nothing was imported"


def _parse(row: tables.Row, offices: list[FieldOffice], table: tables.Table) -> _Line | None:
    name = " ".join((row.get("facility_name") or row.get("name")).split())
    if not name:
        table.problem(row.line, "name", "is required")
        return None
    code = None
    if row.get("facility_code"):
        try:
            code = normalize_facility_code(row.get("facility_code"))
        except ValueError as exc:
            table.problem(row.line, "facility_code", str(exc))
    values: dict[str, Any] = {"name": name}
    for column in FILLED:
        text = " ".join(row.get(column).split())
        if text and text.upper() not in ("NA", "N/A", "UNAVAILABLE"):
            values[column] = text
    if "state" in values:
        values["state"] = values["state"].upper()
        if len(values["state"]) != 2:
            table.problem(row.line, "state", "not a two-letter state code")
    if "field_office" in values:
        office = _office(values["field_office"], offices)
        if office is None:
            table.problem(row.line, "field_office", "not an ERO field office or AOR code")
        else:
            values["field_office"] = office
    if row.line not in table.bad_lines:
        try:
            check_widths(schema.facilities, values, what="")
        except ValidationError as exc:
            table.problem(row.line, "(row)", str(exc))
    if "time_zone" not in values and "state" in values:
        values["time_zone"] = zones.zone_for(values["state"], values.get("county"))
    return _Line(row.line, code, values)


def _office(text: str, offices: list[FieldOffice]) -> str | None:
    office = facilities.office_named(offices, text)
    return office.name if office else None


def _merge(session: Session, lines: list[_Line], report: ImportReport, *, actor: Actor,
           now: datetime, file: str) -> None:
    directory = facilities.index(session)
    for line in lines:
        facility = _match(directory, line, report, file)
        if facility is None:
            _add(session, directory, line, report, actor=actor, now=now, file=file)
            continue
        report.matched += 1
        gained = {k: [None, v] for k, v in line.values.items()
                  if k in FILLED and v and not getattr(facility, k)}
        if gained:
            for name, (_, value) in gained.items():
                setattr(facility, name, value)
            facility.origin = facilities.LOCAL
            facilities.audit_change(session, ("facility", facility.code), "edited", gained,
                              actor=actor, now=now, by=f"import {file}")
            report.filled += 1
    session.flush()


def _match(directory: facilities.Index, line: _Line, report: ImportReport,
           file: str) -> Facility | None:
    if line.code:
        return directory.by_code.get(line.code)
    try:
        facility = directory.find(line.values["name"], line.values.get("city"),
                                  line.values.get("state"))
    except facilities.AmbiguousFacility as exc:
        report.notes.append(f"{file}:{line.line}: name: {exc}; added as a new facility")
        return None
    if facility is not None and line.values.get("state") not in (None, facility.state):
        return None
    return facility


def _add(session: Session, directory: facilities.Index, line: _Line, report: ImportReport, *,
         actor: Actor, now: datetime, file: str) -> None:
    provisional = line.code is None
    code = line.code or provisional_code(line.values["name"], line.values.get("state"),
                                         directory.by_code)
    facility = Facility(code=code, origin=facilities.LOCAL, provisional=provisional or None,
                        source=f"imported from {file}"[:300], **line.values)
    session.add(facility)
    session.flush()
    directory.add(facility)
    (report.provisional if provisional else report.added).append(code)
    state = line.values.get("state")
    if state in zones.SPLIT_STATES and not line.values.get("county"):
        report.notes.append(f"{file}:{line.line}: time_zone: {state} is split and the line "
                            f"names no county; {code} set to {facility.time_zone} (`bondtrack "
                            "facility edit --time-zone` corrects it)")
    facilities.audit_change(session, ("facility", code), "added",
                      {k: [None, v] for k, v in line.values.items()}, actor=actor, now=now,
                      by=f"import {file}")


def provisional_code(name: str, state: str | None, taken: Any) -> str:
    """``P-KY-CAMPBELL`` for "CAMPBELL CO DET CTR" in KY: marked as made up, and unique."""
    words = [w for w in facilities.name_key(name).split() if w not in _GENERIC] or ["FACILITY"]
    stem = f"P-{(state or 'XX').upper()}-{''.join(words[:2])[:20]}"
    code, n = stem, 2
    while code in taken:
        code, n = f"{stem}-{n}", n + 1
    return code
