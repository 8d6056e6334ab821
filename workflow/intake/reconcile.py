"""Matching a government custody list (who is held where) against the order, in one transaction.

The list is validated as strictly as the class list (every bad line reported
as ``FILE:LINE: column: message``, nothing written while any is bad). Then:

- a covered person not yet located who is listed as held is **found**:
  located at the listed facility;
- a located person listed at another facility has **moved**: transferred
  there and located there again;
- a covered, outstanding person the list does not show as held is
  **missing**, and one it shows as released or removed is **listed out**:
  both are flagged (a ``finding`` event, open until their stage changes);
- a person recorded as released, departed or never in custody whom the list
  shows as held is flagged too (``custody-list-says-held``);
- A-numbers that are not in the order are **strangers**: counted and listed
  by line number, never imported.

The report is printed and stored as a ``custody-list-reconciled`` event; the
list itself is kept in the private home (``custody-lists/<number>/``), so the
flow is passed a number, never a path or a person.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import clock, dates
from workflow.core.errors import NotFoundError, ValidationError
from workflow.core.files import ensure_private_dir, private_file
from workflow.core.identity import a_number_fields, normalize_a_number, normalize_name
from workflow.core.stages import RESOLVED, Stage
from workflow.intake import headers, tables
from workflow.people import tracking
from workflow.people.sweep import batches, record_findings
from workflow.places import facilities
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Facility

COLUMNS = headers.columns(
    "a_number", "facility_code", "facility_name", "facility_city", "facility_state",
    "book_in_date", "book_out_date", "release_reason", "status",
)
# A list names where people are by code or by name; one of the two columns is needed.
FACILITY_COLUMNS = ("facility_code", "facility_name")
HELD = frozenset({"", "in custody", "detained", "booked in", "book in", "held", "active",
                  "current"})
OUT = frozenset({"released", "removed", "departed", "booked out", "book out", "not in custody"})
MISSING = "not-on-custody-list"
LISTED_OUT = "custody-list-says-out"
SAYS_HELD = "custody-list-says-held"
_LOCATED = (Stage.LOCATED.value, Stage.BOND_SET.value, Stage.BOND_POSTED.value)
_NOT_FOUND = (Stage.INTAKE.value, Stage.LOCATING.value)
_RESOLVED = frozenset(s.value for s in RESOLVED)
INBOX = "custody-lists"


@dataclass
class ReconcileReport:
    case_number: str
    file: str
    dry_run: bool
    rows: int = 0
    found: list[int] = field(default_factory=list)  # person ids, now LOCATED
    moved: list[int] = field(default_factory=list)  # person ids, transferred and located
    confirmed: int = 0
    missing: list[int] = field(default_factory=list)
    listed_out: list[int] = field(default_factory=list)
    held_but_resolved: list[int] = field(default_factory=list)
    excluded: int = 0
    strangers: list[int] = field(default_factory=list)  # line numbers, never A-numbers
    new_flags: int = 0
    facilities_added: list[str] = field(default_factory=list)
    # Lines worth a look that change nothing: a facility name the directory lacks, an
    # A-number withheld (b(6)). Lines and facility names only, never a person.
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counts(self) -> dict[str, int]:
        """How many in each outcome: what logs and Prefect artifacts may show."""
        return {key: len(value) if isinstance(value, list) else value
                for key, value in self.as_dict().items()
                if key not in ("case_number", "file", "dry_run")}


@dataclass(frozen=True)
class _Listed:
    line: int
    a_number: str
    held: bool
    facility_code: str | None
    facility_name: str | None  # the name to add ``facility_code`` under, if it is new


def reconcile(session: Session, order: CourtOrder, path: Path, *, actor: Actor, now: datetime,
              dry_run: bool = False, encoding: str = "auto",
              sheet: str | None = None) -> ReconcileReport:
    """Match the custody list at ``path`` to ``order``; with any bad line, change nothing."""
    listed, notes = check(session, order, path, now, encoding=encoding, sheet=sheet)
    report = ReconcileReport(case_number=order.case_number, file=path.name, dry_run=dry_run,
                             rows=len(listed), notes=notes)
    # A dry run makes the same changes inside a savepoint, so its report is the real one.
    savepoint = session.begin_nested() if dry_run else None
    known = set(session.scalars(select(Facility.code)))
    _apply(session, order, listed, report, known, actor=actor, now=now)
    if savepoint is not None:
        savepoint.rollback()
    else:
        audit.record(session, kind="custody-list-reconciled", order_id=order.id, actor=actor,
                     at=now, now=now, payload=report.as_dict())
    return report


def check(session: Session, order: CourtOrder, path: Path, now: datetime, *,
          encoding: str = "auto", sheet: str | None = None) -> tuple[list[_Listed], list[str]]:
    """Read and validate the whole list, writing nothing: the lines, and the notes worth
    showing. Raises ValidationError naming every bad line. Cheap, so the CLI runs it before
    a flow starts."""
    table = tables.read(path, COLUMNS, ("a_number",), encoding=encoding, sheet=sheet)
    if not table.problems and not table.present & set(FACILITY_COLUMNS):
        for name in FACILITY_COLUMNS:
            table.problem(table.header_line, name, "required column is missing")
    if table.problems:
        raise ValidationError(_failure(path, table.problems), table.problems)
    directory = facilities.index(session)
    listed = _validate(table, clock.local(now, order.time_zone).date(), directory)
    if table.problems:
        raise ValidationError(_failure(path, table.problems), table.problems)
    return listed, table.notes


def listed_missing(session: Session, order: CourtOrder, listed: list[_Listed]) -> int:
    """How many outstanding people of ``order`` the checked list does not name (to be flagged
    missing)."""
    on_list = {entry.a_number for entry in listed}
    return sum(a_number not in on_list for a_number in _outstanding(session, order))


def many_missing(session: Session, order: CourtOrder, missing: int) -> str | None:
    """A warning when ``missing`` is more than half the people in custody: most likely a list
    cut short, so it must be confirmed before the flags are recorded."""
    outstanding = len(_outstanding(session, order))
    if missing * 2 <= outstanding:
        return None
    return (f"this custody list would flag {missing} of the {outstanding} people in custody as"
            " missing: make sure it is the whole list")


def _outstanding(session: Session, order: CourtOrder) -> list[str]:
    return list(session.scalars(select(Detainee.a_number).where(
        Detainee.order_id == order.id,
        Detainee.stage.not_in([*_RESOLVED, Stage.EXCLUDED.value]))))


def _failure(path: Path, problems: list[str]) -> str:
    return f"{len(problems)} problem(s) in {path.name}; nothing was changed"


def _validate(table: tables.Table, today: date, directory: facilities.Index) -> list[_Listed]:
    lines_of: dict[str, list[int]] = {}
    listed: list[_Listed] = []
    named: set[str] = set()
    bare: list[tuple[int, str]] = []
    for row in table.good_rows():
        if "a_number" in row.withheld:
            table.notes.append(f"{table.path.name}:{row.line}: a_number: withheld (FOIA "
                               "redaction); the line cannot be matched")
            continue
        errors: list[tuple[str, str]] = []
        entry = _parse(row, today, directory, errors, table.notes, table.path.name)
        for column, message in errors:
            table.problem(row.line, column, message)
        if entry is None:
            continue
        lines_of.setdefault(entry.a_number, []).append(row.line)
        if entry.facility_code and entry.facility_name:
            named.add(entry.facility_code)
        elif entry.facility_code and entry.facility_code not in directory.by_code:
            bare.append((entry.line, entry.facility_code))
        listed.append(entry)
    for line, code in bare:
        if code not in named:
            table.problem(line, "facility_code", "unknown facility: add facility_name")
    for lines in lines_of.values():
        for line in lines if len(lines) > 1 else ():
            others = ", ".join(str(n) for n in lines if n != line)
            table.problem(line, "a_number", f"the same A-number is on line(s) {others}")
    table.sort_problems()
    return listed


def _parse(row: tables.Row, today: date, directory: facilities.Index,
           errors: list[tuple[str, str]], notes: list[str], file: str) -> _Listed | None:
    def parsed(column: str, parse: Any) -> Any:
        return row.parsed(column, parse, errors)

    a_number = parsed("a_number", normalize_a_number)
    if not row.get("a_number"):
        errors.append(("a_number", "is required"))
    status = " ".join(row.get("status").lower().replace("_", " ").replace("-", " ").split())
    if status not in HELD | OUT:
        errors.append(("status", "not a custody status (in custody, released, removed, ...)"))
    # ICE's lists say "out" with a book-out time and a release reason, not a status.
    held = status in HELD and not (row.get("book_out_date") and row.get("release_reason"))
    # ICE's "Stay Book In Date Time": the date is what matters here, the time may follow.
    parsed("book_in_date", lambda text: dates.parse_day(text, today=today))
    parsed("book_out_date", lambda text: dates.parse_day(text, today=today))
    given = row.get("facility_code") or row.get("facility_name")
    if held and not given and not row.withheld & set(FACILITY_COLUMNS):
        errors.append(("facility_code", "is required for someone in custody"))
    code, name = _place(row, parsed, directory, errors, notes, file) if given else (None, None)
    if errors or a_number is None:
        return None
    return _Listed(row.line, a_number, held, code, name)


def _place(row: tables.Row, parsed: Any, directory: facilities.Index,
           errors: list[tuple[str, str]], notes: list[str],
           file: str) -> tuple[str | None, str | None]:
    """The code the line's facility columns name, and a name to add a new code under."""
    name = parsed("facility_name", normalize_name)
    text = row.get("facility_code")
    if len(text) > 32 and " " not in text:
        errors.append(("facility_code", "not a facility code (letters, digits, - _ . up to 32)"))
        return None, None
    where = facilities.place(directory, text, name, row.get("facility_city") or None,
                             row.get("facility_state") or None)
    if where.ambiguous:
        errors.append(("facility", where.ambiguous.listing()))
    elif where.unknown:
        notes.append(f"{file}:{row.line}: facility: {where.unknown}")
    return where.code or where.bare_code, where.new_name


def _apply(session: Session, order: CourtOrder, listed: list[_Listed], report: ReconcileReport,
           known: set[str], *, actor: Actor, now: datetime) -> None:
    people = {d.a_number: d for d in session.scalars(
        select(Detainee).where(Detainee.order_id == order.id))}
    held: set[int] = set()
    flags: list[tuple[Detainee, str]] = []
    for entry in listed:
        detainee = people.get(entry.a_number)
        if detainee is None:
            report.strangers.append(entry.line)
            continue
        if entry.held:
            held.add(detainee.id)
        flag = _match(session, detainee, entry, report, known, actor=actor, now=now)
        if flag:
            flags.append((detainee, flag))
    listed_out = set(report.listed_out)
    for detainee in people.values():
        outstanding = detainee.stage not in _RESOLVED and detainee.stage != Stage.EXCLUDED.value
        if outstanding and detainee.id not in held and detainee.id not in listed_out:
            report.missing.append(detainee.id)
            flags.append((detainee, MISSING))
    report.missing.sort()
    report.new_flags = record_findings(session, flags, now, actor)


def _match(session: Session, detainee: Detainee, entry: _Listed, report: ReconcileReport,
           known: set[str], *, actor: Actor, now: datetime) -> str | None:
    """Apply what one listed line says about one person; the check to flag, if any."""
    stage = detainee.stage
    if stage == Stage.EXCLUDED.value:
        report.excluded += 1
    elif not entry.held:
        if stage in _RESOLVED:
            report.confirmed += 1
        else:
            report.listed_out.append(detainee.id)
            return LISTED_OUT
    elif stage in _RESOLVED:
        report.held_but_resolved.append(detainee.id)
        return SAYS_HELD
    elif entry.facility_code is None:
        pass  # held where the directory cannot say (a note says so): nothing to record
    else:
        facility = _facility(session, entry, report, known)
        if stage in _NOT_FOUND:
            tracking.locate(session, detainee, facility, actor=actor, now=now)
            report.found.append(detainee.id)
        elif detainee.facility_id == facility.id:
            report.confirmed += 1
        else:
            tracking.transfer(session, detainee, facility, actor=actor, now=now)
            tracking.locate(session, detainee, facility, actor=actor, now=now)
            report.moved.append(detainee.id)
    return None


def _facility(session: Session, entry: _Listed, report: ReconcileReport,
              known: set[str]) -> Facility:
    assert entry.facility_code is not None, "validated: someone held has a facility"
    if entry.facility_code not in known:
        known.add(entry.facility_code)
        report.facilities_added.append(entry.facility_code)
    return facilities.facility_for(session, entry.facility_code, entry.facility_name)


_OUTCOMES = ("found", "moved", "missing", "listed_out", "held_but_resolved")


def people(session: Session, report: ReconcileReport) -> list[dict[str, Any]]:
    """The people the report names, for the person who ran it: outcome, id, A-number, stage."""
    ids = {i: outcome for outcome in _OUTCOMES for i in getattr(report, outcome)}
    found = []
    for chunk in batches(sorted(ids), 5000):
        rows = session.execute(
            select(Detainee.id, Detainee.a_number, Detainee.stage, Facility.code)
            .outerjoin(Facility, Facility.id == Detainee.facility_id)
            .where(Detainee.id.in_(chunk))
        )
        found += [{"outcome": ids[i].replace("_", " "), "id": i, **a_number_fields(a),
                   "stage": stage, "facility": code} for i, a, stage, code in rows]
    return sorted(found, key=lambda row: (_OUTCOMES.index(row["outcome"].replace(" ", "_")),
                                          row["id"]))


def markdown(report: ReconcileReport) -> str:
    """The Prefect artifact: counts only, never a person or a line's contents."""
    verb = "Would change" if report.dry_run else "Changed"
    rows = "\n".join(f"| {key.replace('_', ' ')} | {value} |"
                     for key, value in report.counts().items())
    return (f"# Custody list for {report.case_number}\n\n{verb} the order as follows.\n\n"
            f"| outcome | people |\n|---|---:|\n{rows}\n")


# ---------------------------------------------------------------- the private inbox


def keep(home: Path, path: Path) -> int:
    """Copy the list into ``home/custody-lists/<number>/`` (0700/0600); its number."""
    inbox = ensure_private_dir(home / INBOX)
    taken = [int(p.name) for p in inbox.iterdir() if p.name.isdigit()]
    number = max(taken, default=0) + 1
    folder = inbox / f"{number:06d}"
    folder.mkdir(mode=0o700)
    target = private_file(folder / path.name)
    shutil.copyfile(path, target)
    return number


def kept(home: Path, number: int) -> Path:
    """The list kept under ``number``."""
    folder = home / INBOX / f"{number:06d}"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    if len(files) != 1:
        raise NotFoundError(f"no custody list number {number} in {home / INBOX}")
    return files[0]


def discard(home: Path, number: int) -> None:
    """Forget a kept list (after a dry run, or a list that changed nothing because it was bad)."""
    shutil.rmtree(home / INBOX / f"{number:06d}", ignore_errors=True)
