"""The use cases of the browser workspace that the CLI has no verb for yet.

A person by internal id, the version check that turns a stale form into
"changed by someone else", a filtered page of people, search by A-number or
name (a move is ``moves.make``, as on the command line), and the dry run
of an apply file. Plain functions over a session: the web parses and
presents, the rules are here and in the modules they call.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from workflow import clock, display, moves, stages, terms
from workflow.audit import Actor
from workflow.config import Settings
from workflow.db import ensure_private_dir, private_file
from workflow.errors import ConflictError, NotFoundError, ValidationError
from workflow.identity import a_number_fields, fold, format_a_number, normalize_a_number
from workflow.intake import apply as applying
from workflow.intake import tables
from workflow.models import CourtOrder, Detainee, Event, Facility
from workflow.stages import Stage

PER_PAGE = 50
SEARCH_LIMIT = 50
UPLOADS = "web-uploads"


def find_person(session: Session, detainee_id: int) -> Detainee:
    """The person with internal id ``detainee_id``."""
    detainee = session.get(Detainee, detainee_id)
    if detainee is None:
        raise NotFoundError(f"no person #{detainee_id}")
    return detainee


def check_version(detainee: Detainee, seen: str | int | None) -> None:
    """Refuse a change made from a page showing an older version of the person."""
    if str(seen or "") != str(detainee.version):
        raise ConflictError(
            f"person #{detainee.id} was changed by someone else since you opened the page:"
            " reload it and try again"
        )


def allowed_moves(detainee: Detainee) -> list[str]:
    """The moves the stage table allows from the person's stage, then a note (always)."""
    found = [t.action.value for t in stages.allowed_from(Stage(detainee.stage))]
    return [*dict.fromkeys(found), moves.NOTE]


def _row(d: Detainee, code: str | None, office: str | None, now: datetime,
         tz: str) -> dict[str, Any]:
    return {
        "id": d.id, **a_number_fields(d.a_number), "family_name": d.family_name,
        "given_name": d.given_name, "stage": d.stage, "facility": code, "field_office": office,
        "hours_in_stage": round((now - d.stage_since).total_seconds() / 3600, 1),
        "stage_since": clock.local(d.stage_since, tz).isoformat(),
    }


def _people_query(order: CourtOrder) -> Select[Detainee, str, str | None]:
    return (
        select(Detainee, Facility.code, Facility.field_office)
        .outerjoin(Facility, Detainee.facility_id == Facility.id)
        .where(Detainee.order_id == order.id)
    )


@dataclass
class PeoplePage:
    rows: list[dict[str, Any]]
    page: int
    has_next: bool
    filters: dict[str, str] = field(default_factory=dict)
    total: int = 0  # people the filters select, on every page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


# How the list may be sorted: by name (accents ignored), stage (in pipeline order), time in
# stage (longest first) or facility; the A-number breaks ties.
SORTS = {
    "a_number": (),
    "name": (Detainee.search_key,),
    "stage": (case({stage.value: index for index, stage in enumerate(Stage)},
                   value=Detainee.stage),),
    "time_in_stage": (Detainee.stage_since,),
    "facility": (Facility.code.is_(None), Facility.code),
}


def people_page(session: Session, order: CourtOrder, now: datetime, *, stage: str = "",
                facility: str = "", field_office: str = "", page: int = 1,
                per_page: int = PER_PAGE, sort: str = "a_number") -> PeoplePage:
    """One page of people, filtered and sorted, and how many the filters select (one count
    on the order's index: milliseconds at 100,000 people)."""
    if stage and stage not in Stage.__members__:
        raise ValidationError("not a stage")
    if sort not in SORTS:
        raise ValidationError(f"sort by one of: {', '.join(SORTS)}")
    page = max(1, page)
    query = _people_query(order)
    if stage:
        query = query.where(Detainee.stage == stage)
    if facility:
        query = query.where(Facility.code == facility.strip().upper())
    if field_office:
        query = query.where(Facility.field_office == field_office)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = (query.order_by(*SORTS[sort], Detainee.a_number)
             .offset((page - 1) * per_page).limit(per_page + 1))
    found = session.execute(query).all()
    tz = order.time_zone
    rows = [_row(d, code, office, now, tz) for d, code, office in found[:per_page]]
    return PeoplePage(rows, page, len(found) > per_page,
                      {"stage": stage, "facility": facility, "field_office": field_office,
                       "sort": sort}, total)


_PARTIAL_A_NUMBER = 3  # digits: fewer would match most of a class list


def search_people(session: Session, order: CourtOrder, text: str,
                  now: datetime) -> list[dict[str, Any]]:
    """People ``text`` names: ``#8`` (an internal id, as the overview and the bulk preview name
    people), an A-number in any spelling or at least three of its digits, or words each
    found in the name, accents and case ignored ("garcia" finds García)."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError("type an A-number, a name or #id to search for")
    query = _people_query(order)
    digits = re.sub(r"[\s.-]", "", text.removeprefix("A").removeprefix("a"))
    if re.fullmatch(r"#\s*\d{1,12}", text):
        query = query.where(Detainee.id == int(text[1:]))
    elif digits.isdigit():
        try:
            query = query.where(Detainee.a_number == normalize_a_number(text))
        except ValueError:
            if len(digits) < _PARTIAL_A_NUMBER:
                raise ValidationError(
                    f"type at least {_PARTIAL_A_NUMBER} digits of an A-number") from None
            query = query.where(Detainee.a_number.contains(digits, autoescape=True))
    else:
        for word in fold(text).split()[:4]:
            query = query.where(Detainee.search_key.contains(word, autoescape=True))
    found = session.execute(query.order_by(Detainee.a_number).limit(SEARCH_LIMIT)).all()
    return [_row(d, code, office, now, order.time_zone) for d, code, office in found]


def places(session: Session) -> dict[str, list[Any]]:
    """Facilities (code, name) and field offices for the filter menus."""
    codes = session.execute(select(Facility.code, Facility.name).order_by(Facility.code)).all()
    offices = session.scalars(select(Facility.field_office).where(
        Facility.field_office.is_not(None)).distinct().order_by(Facility.field_office)).all()
    return {"facilities": [tuple(row) for row in codes],
            "field_offices": [office for office in offices if office is not None]}


# ---------------------------------------------------------------- uploads


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
                "what": display.history([{"kind": e.kind, "payload": e.payload}])[0],
                "from_stage": e.from_stage, "to_stage": e.to_stage}
               for line, e in zip(lines, made, strict=False)
               if (person := people[e.detainee_id or 0])]
    savepoint.rollback()
    return ApplyPreview(changes, [])


def confirm_apply(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                  now: datetime, settings: Settings) -> int:
    """Apply the file for real (all or nothing), as `bondtrack apply` does."""
    return applying.apply_file(session, order, path, actor=actor, now=now,
                               default_bond_cents=terms.default_bond_cents(settings))


@dataclass
class ReconcilePreview:
    """What a custody list would do: its counts, one row per person it changes or flags
    (by internal id and name, for the signed-in page only), and its notes by FILE:LINE."""

    counts: dict[str, int]
    changes: list[dict[str, Any]]
    notes: list[str]


# What each outcome of a reconcile means for the person, in the page's words.
_RECONCILE_CHANGE = {"found": "located", "moved": "transferred and located",
                     "missing": "flagged: not on the custody list",
                     "listed_out": "flagged: the list says they are out",
                     "held_but_resolved": "flagged: the list says they are held"}


def preview_reconcile(session: Session, order: CourtOrder, path: Path, *, actor: Actor,
                      now: datetime) -> ReconcilePreview:
    """Reconcile the custody list as a dry run (as `bondtrack run reconcile --dry-run`) and
    say, line by line, what it would do; every bad line raises as in the real run."""
    from workflow.intake import reconcile

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
    return ReconcilePreview(report.counts(), changes, sorted(notes, key=_line_number))


def _line_number(where: str | None) -> int:
    """The line of ``FILE:LINE[: ...]`` (0 when there is none), to sort by."""
    parts = (where or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
