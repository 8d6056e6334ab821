"""Files that come in: a class list, an apply file, a custody list; kept while the browser
shows what they would do, then confirmed or discarded. All rows or none.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.core import display
from workflow.core.config import Settings
from workflow.core.errors import ConflictError, NotFoundError, ValidationError
from workflow.core.files import ensure_private_dir, private_file
from workflow.core.identity import format_a_number
from workflow.intake import apply as applying
from workflow.intake import reconcile, tables
from workflow.intake.reconcile import ReconcileReport
from workflow.orders import orders, terms
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee, Event, Facility

if TYPE_CHECKING:
    from workflow.intake.roster import ImportResult

__all__ = ["ReconcileReport"]

UPLOADS = "web-uploads"


def import_class_list(database: Database, settings: Settings, case: str | None, path: Path, *,
                      actor: Actor, now: datetime, **options: Any) -> ImportResult:
    """Import a class list into the order, all rows or none (``options``: dry_run, rejects,
    progress, encoding, sheet); a set bond without an amount is the configured default."""
    from workflow.intake import roster  # the spreadsheet readers load on first use

    with database.write() as session:
        return roster.import_class_list(
            session, orders.resolve_order(session, case), path, actor=actor, now=now,
            default_bond_cents=terms.default_bond_cents(settings), **options)


def class_list_columns() -> list[str]:
    """The columns a class list may have (each also read under its usual other names)."""
    from workflow.intake import roster

    return list(roster.COLUMNS)


def apply_file(database: Database, settings: Settings, case: str | None, path: Path, *,
               actor: Actor, now: datetime, encoding: str = "auto",
               sheet: str | None = None) -> int:
    """Apply every move of a bulk file to the order, in file order, all or none."""
    with database.write() as session:
        return apply_file_in(session, orders.resolve_order(session, case), path, actor=actor,
                             now=now, settings=settings, encoding=encoding, sheet=sheet)


def apply_file_in(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                  now: datetime, settings: Settings, encoding: str = "auto",
                  sheet: str | None = None) -> int:
    """``apply_file`` inside the caller's transaction (the browser's confirm step)."""
    return applying.apply_file(session, order, path, actor=actor, now=now,
                               default_bond_cents=terms.default_bond_cents(settings),
                               encoding=encoding, sheet=sheet)


class StaleImport(ConflictError):
    """A previewed class list would now do something else: ``result`` is the new dry run."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("the record changed since the preview and the file would now do"
                         " something else: check the new preview and confirm again")
        self.result = result


def confirm_class_list(database: Database, settings: Settings, case: str | None, path: Path, *,
                       actor: Actor, now: datetime, expected: str,
                       encoding: str = "auto", sheet: str | None = None) -> ImportResult:
    """Import a class list the browser previewed, in one transaction, only if it still does
    what the preview said (``expected``: the dry run's ``import_digest``); if the record changed
    in between so that it would now do something else, nothing is written and the
    StaleImport carries the new dry run to show instead."""
    from workflow.intake import roster

    with database.write() as session:
        order = orders.resolve_order(session, case)
        result = roster.import_class_list(
            session, order, path, actor=actor, now=now, encoding=encoding, sheet=sheet,
            default_bond_cents=terms.default_bond_cents(settings))
        if import_digest(result) != expected:
            result.dry_run = True
            raise StaleImport(result)  # the transaction rolls back: nothing is written
        return result


def import_digest(result: ImportResult) -> str:
    """What an import does (its counts, its history's moves, its notes), dry run or not, in
    a few bytes a signed session cookie can keep between the preview and the confirmation."""
    outcome = {**result.summary(), "dry_run": None, "notes": result.notes}
    text = json.dumps(outcome, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def keep_upload(home: Path, filename: str, data: bytes) -> str:
    """Keep an uploaded file in ``home/web-uploads/<token>/`` (0700/0600); its token."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationError("upload a .csv or .xlsx file")
    token = secrets.token_hex(16)
    folder = ensure_private_dir(home / UPLOADS / token)
    # Kept under its own name (made safe), so a problem names the file the user chose.
    stem = re.sub(r"[^\w .-]+", "_", Path(filename).stem).strip(" .")[:80] or "upload"
    target = private_file(folder / f"{stem}{suffix}")
    target.write_bytes(data)
    return token


def kept_upload(home: Path, token: str) -> Path:
    """The file kept under ``token``."""
    if not (len(token) == 32 and all(ch in "0123456789abcdef" for ch in token)):
        raise NotFoundError("no such upload")
    folder = home / UPLOADS / token
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    if len(files) != 1:
        raise NotFoundError("no such upload (it was confirmed or discarded)")
    return files[0]


def discard_upload(home: Path, token: str) -> None:
    shutil.rmtree(kept_upload(home, token).parent, ignore_errors=True)


@dataclass
class ApplyPreview:
    """What an apply file would do: a change per line, or every problem by line."""

    changes: list[dict[str, Any]]
    problems: list[str]


def preview_apply(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                  now: datetime, settings: Settings) -> ApplyPreview:
    """Apply the file inside a savepoint, note what each line did, and roll it all back."""
    before = session.scalar(select(func.max(Event.id))) or 0
    savepoint = session.begin_nested()
    try:
        applying.apply_file(session, order, path, actor=actor, now=now,
                            default_bond_cents=terms.default_bond_cents(settings))
    except ValidationError as exc:
        savepoint.rollback()
        return ApplyPreview([], exc.problems or [str(exc)])
    session.flush()
    made = session.scalars(select(Event).where(
        Event.id > before, Event.detainee_id.is_not(None), Event.actor == actor.operator,
        Event.recorded_at == now).order_by(Event.id)).all()
    lines = [row.line for row in tables.read(path, applying.APPLY_COLUMNS,
                                             ("a_number", "action")).good_rows()]
    people = {d.id: d for d in session.scalars(
        select(Detainee).where(Detainee.id.in_({e.detainee_id for e in made})))}
    changes = [{"line": line, "person": e.detainee_id, "kind": e.kind,
                "a_number": format_a_number(person.a_number),
                "name": f"{person.family_name}, {person.given_name}",
                "what": display.history([{"kind": e.kind, "payload": e.payload}],
                                        person.court_order.time_zone)[0],
                "from_stage": e.from_stage, "to_stage": e.to_stage}
               for line, e in zip(lines, made, strict=False)
               if (person := people[e.detainee_id or 0])]
    savepoint.rollback()
    return ApplyPreview(changes, [])


@dataclass
class ReconcilePreview:
    """What a custody list would do: its counts, one row per person it changes or flags
    (by internal id and name, for the signed-in page only), and its notes by FILE:LINE."""

    counts: dict[str, int]
    changes: list[dict[str, Any]]
    notes: list[str]
    many_missing: str | None = None  # the warning to confirm when most would be flagged


# What each outcome of a reconcile means for the person, in the page's words.
_RECONCILE_CHANGE = {"found": "located", "moved": "transferred and located",
                     "missing": "flagged: not on the custody list",
                     "listed_out": "flagged: the list says they are out",
                     "held_but_resolved": "flagged: the list says they are held"}


def preview_reconcile(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                      now: datetime) -> ReconcilePreview:
    """Reconcile the custody list as a dry run (as `bondtrack run reconcile --dry-run`) and
    say, line by line, what it would do; every bad line raises as in the real run."""
    report = reconcile.reconcile(session, order, path, actor=actor, now=now, dry_run=True)
    listed, _ = reconcile.check(session, order, path, now)
    by_number = {entry.a_number: entry for entry in listed}
    outcome_of = {i: outcome for outcome in _RECONCILE_CHANGE for i in getattr(report, outcome)}
    rows = session.execute(
        select(Detainee.id, Detainee.a_number, Detainee.family_name, Detainee.given_name,
               Detainee.stage, Facility.code)
        .outerjoin(Facility, Facility.id == Detainee.facility_id)
        .where(Detainee.id.in_(outcome_of))).all() if outcome_of else []
    changes: list[dict[str, Any]] = []
    for person, a_number, family, given, stage, code in rows:
        entry = by_number.get(a_number)
        outcome = outcome_of[person]
        change = _RECONCILE_CHANGE[outcome]
        if outcome in ("found", "moved") and entry is not None:
            moved_from = f" (was {code})" if outcome == "moved" and code else ""
            change += f" at {entry.facility_code}{moved_from}"
        changes.append({"line": f"{path.name}:{entry.line}" if entry else None,
                        "person": person, "name": f"{family}, {given}", "stage": stage,
                        "outcome": outcome.replace("_", " "), "change": change})
    changes.sort(key=lambda row: (row["line"] is None, _line_number(row["line"]), row["person"]))
    notes = [*report.notes, *(f"{path.name}:{line}: a_number: not in order {order.case_number}"
                              for line in report.strangers)]
    counts = report.counts()
    return ReconcilePreview(counts, changes, sorted(notes, key=_line_number),
                            reconcile.many_missing(session, order, counts["missing"]))


def _line_number(where: str | None) -> int:
    """The line of ``FILE:LINE[: ...]`` (0 when there is none), to sort by."""
    parts = (where or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def columns(kind: str) -> Mapping[str, tuple[str, ...]]:
    """The columns an upload of ``kind`` (``apply``, else a custody list) reads, with the
    header names each accepts."""
    return applying.APPLY_COLUMNS if kind == "apply" else reconcile.COLUMNS


# ---------------------------------------------------------------- custody lists


def check_custody_list(database: Database, case: str | None, path: Path, *, now: datetime,
                       encoding: str = "auto", sheet: str | None = None,
                       ask_missing: bool = True) -> str | None:
    """Refuse a custody list with any bad line, every problem by line, before a flow starts;
    with ``ask_missing``, the warning to confirm when it would flag more than half of the
    people in custody as missing (None: nothing to confirm)."""
    with database.read() as session:
        order = orders.resolve_order(session, case)
        listed, _ = reconcile.check(session, order, path, now, encoding=encoding, sheet=sheet)
        if not ask_missing:
            return None
        return reconcile.many_missing(session, order,
                                      reconcile.listed_missing(session, order, listed))


def missing_warning_in(session: Session, order: CourtOrder, path: Path, *,
                       now: datetime) -> str | None:
    """``check_custody_list``'s warning, in the caller's transaction (the browser's confirm)."""
    listed, _ = reconcile.check(session, order, path, now)
    return reconcile.many_missing(session, order, reconcile.listed_missing(session, order, listed))


def keep_custody_list(home: Path, path: Path) -> int:
    """Keep a custody list in the private inbox; its number (a flow's parameter, never a
    name)."""
    return reconcile.keep(home, path)


def discard_custody_list(home: Path, number: int) -> None:
    """Remove a kept custody list from the inbox."""
    reconcile.discard(home, number)


def reconcile_kept(database: Database, settings: Settings, case: str | None, number: int, *,
                   actor: Actor, now: datetime, dry_run: bool = False, encoding: str = "auto",
                   sheet: str | None = None) -> ReconcileReport:
    """Validate and apply the kept custody list ``number``, all in one transaction."""
    path = reconcile.kept(settings.home, number)
    with database.write() as session:
        return reconcile.reconcile(session, orders.resolve_order(session, case), path,
                                   actor=actor, now=now, dry_run=dry_run, encoding=encoding,
                                   sheet=sheet)


def reconcile_in(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                 now: datetime) -> ReconcileReport:
    """Reconcile a custody list inside the caller's transaction (the browser's confirm)."""
    return reconcile.reconcile(session, order, path, actor=actor, now=now)


def reconcile_people(database: Database, report: ReconcileReport) -> list[dict[str, Any]]:
    """One row per person the list changed or flagged, for the signed-in user."""
    with database.read() as session:
        return reconcile.people(session, report)


def reconcile_markdown(report: ReconcileReport) -> str:
    """A reconcile's counts as a Prefect artifact (no person)."""
    return reconcile.markdown(report)
