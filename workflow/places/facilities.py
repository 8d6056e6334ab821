"""The facility directory: DETLOC codes, names and aliases, field offices, time zones.

A directory ships with the tool (config/facilities.csv, config/field_offices.csv:
facts, each row naming its source). `bondtrack init` loads it; rows added or edited
here are "local" and a newer shipped directory never overwrites them. Every change
is an audited event. Names resolve to codes through one normalisation, so "CLAY CO
JUSTICE CTR", "Clay County Justice Center" and the alias "Clay County Jail" meet.

Sources named in the files' ``source`` column: ``DETLOC-2017`` is ICE's list of
facility codes from a 2017 FOIA release (codes, addresses, counties, AOR);
``ICE-FY26`` is ICE's FY26 detention statistics (facilities sheet, 2026-04-09:
current names and addresses, no codes); ``ice.gov`` is ICE's field-office page. A
note in brackets says which facts a source gave. Rows ICE lists without a code
carry a provisional one (``P-<state>-<name>``, ``provisional`` = yes). Zones are
from the county (workflow/places/zones.py).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import resource
from workflow.core.errors import NotFoundError, ValidationError
from workflow.record import schema
from workflow.record.audit import Actor, record
from workflow.record.models import Facility, FieldOffice

DIRECTORY = "directory"
LOCAL = "local"
# What a facility row holds besides its code, in the order tables show them.
FIELDS = ("name", "aliases", "kind", "address", "city", "county", "state", "zip", "phone",
          "field_office", "time_zone", "provisional", "source", "posting_hours")
OFFICE_FIELDS = ("aor", "office", "address", "city", "state", "zip", "phone", "email", "states",
                 "source", "posting_hours")

# Words the same facility is spelled with: the lists abbreviate, the directory does not.
_VARIANTS = {
    "CO": "COUNTY", "CNTY": "COUNTY", "CTY": "COUNTY", "DET": "DETENTION", "CTR": "CENTER",
    "CNTR": "CENTER", "CENTRE": "CENTER", "CORR": "CORRECTIONAL", "CORRECTIONS": "CORRECTIONAL",
    "COR": "CORRECTIONAL", "FAC": "FACILITY", "FCLTY": "FACILITY", "PROC": "PROCESSING",
    "PROCESSSING": "PROCESSING", "SVC": "SERVICE", "SERV": "SERVICE", "DEPT": "DEPARTMENT",
    "ST": "SAINT", "STE": "SAINTE", "MT": "MOUNT", "FT": "FORT", "INST": "INSTITUTE",
    "INSTITUTION": "INSTITUTE", "SPC": "SERVICE PROCESSING CENTER",
    "IPC": "ICE PROCESSING CENTER", "SHERIFFS": "SHERIFF", "PD": "POLICE DEPARTMENT",
    "JUV": "JUVENILE", "REG": "REGIONAL", "&": "AND",
}
_DROP = {"THE", "OF"}


def name_key(text: str) -> str:
    """The form two spellings of one facility name share (case, punctuation, abbreviations)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    text = text.replace("'", "").replace("\u2019", "")
    words = re.sub(r"[^A-Z0-9&]+", " ", text).split()
    return " ".join(_VARIANTS.get(w, w) for w in words if w not in _DROP)


def aliases_of(facility: Facility) -> list[str]:
    return [a.strip() for a in (facility.aliases or "").split(";") if a.strip()]


# ---------------------------------------------------------------- the shipped directory

def shipped_facilities() -> list[dict[str, Any]]:
    """The directory rows that ship with this version, as column → value (None for empty)."""
    return [_shipped_row(row) for row in _read_csv("facilities.csv")]


def shipped_field_offices() -> list[dict[str, Any]]:
    return [{k: (v.strip() or None) for k, v in row.items()}
            for row in _read_csv("field_offices.csv")]


def _read_csv(name: str) -> list[dict[str, str]]:
    with resource("config", name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _shipped_row(row: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {k: (v.strip() or None) for k, v in row.items()}
    values["code"] = values.pop("detloc")
    values["kind"] = values.pop("type_detailed", None)
    values["provisional"] = values.get("provisional") == "yes"
    return values


@dataclass
class SyncResult:
    """How many rows of each table were added, updated, unchanged or kept as edited here."""

    facilities: dict[str, int] = field(default_factory=dict)
    field_offices: dict[str, int] = field(default_factory=dict)


def sync_directory(session: Session, *, actor: Actor, now: datetime) -> SyncResult:
    """Bring the shipped directory in: new rows added, shipped rows updated, local rows kept."""
    result = SyncResult()
    offices = {o.name: o for o in session.scalars(select(FieldOffice))}
    for row in shipped_field_offices():
        name = row.pop("name")
        outcome = _sync_one(session, offices.get(name) or FieldOffice(name=name), row,
                            actor=actor, now=now, what=("field-office", name))
        result.field_offices[outcome] = result.field_offices.get(outcome, 0) + 1
    facilities = {f.code: f for f in session.scalars(select(Facility))}
    for row in shipped_facilities():
        code = row.pop("code")
        outcome = _sync_one(session, facilities.get(code) or Facility(code=code), row,
                            actor=actor, now=now, what=("facility", code))
        result.facilities[outcome] = result.facilities.get(outcome, 0) + 1
    session.flush()
    return result


def _sync_one(session: Session, current: Facility | FieldOffice, row: dict[str, Any], *,
              actor: Actor, now: datetime, what: tuple[str, str]) -> str:
    """One shipped row onto its database row (new ones have no id yet)."""
    is_new = current.id is None
    if not is_new and current.origin != DIRECTORY:
        return "kept_local"
    if is_new:
        changes = {k: [None, v] for k, v in row.items() if v not in (None, False)}
    else:
        changes = {k: [getattr(current, k), v] for k, v in row.items()
                   if getattr(current, k) != v}
    if not changes and not is_new:
        return "unchanged"
    for name, value in row.items():
        setattr(current, name, value)
    current.origin = DIRECTORY
    if is_new:
        session.add(current)
    audit_change(session, what, "added" if is_new else "updated", changes, actor=actor, now=now,
           by=DIRECTORY)
    return "added" if is_new else "updated"


def audit_change(session: Session, what: tuple[str, str], verb: str, changes: dict[str, list[Any]],
           *, actor: Actor, now: datetime, by: str) -> None:
    kind, key = what
    record(session, kind=f"{kind}-{verb}", actor=actor, at=now, now=now,
           payload={kind.replace("-", "_"): key, "changes": changes, "by": by})


# ---------------------------------------------------------------- names to codes

SHOWN_CANDIDATES = 10  # a name that fits more lists this many, with the count of the rest
# rapidfuzz's 0-100 ratio from which a name reads as a misspelling of one facility's, when no
# other comes within CLEAR_WINNER of it ("Kenosa County Jail" fits Kenton and Reno alike).
CLOSE_SPELLING, CLEAR_WINNER, WORTH_SUGGESTING = 90, 5, 60


class AmbiguousFacility(ValidationError):
    """A name that fits more than one facility: one line, and the candidates as problems."""

    def __init__(self, text: str, candidates: Iterable[Facility]):
        ordered = sorted(candidates, key=lambda f: f.code)
        lines = [f"  {f.code}  {f.name}, {f.city or '?'} {f.state or ''}".rstrip()
                 for f in ordered[:SHOWN_CANDIDATES]]
        if len(ordered) > SHOWN_CANDIDATES:
            lines.append(f"  ... and {len(ordered) - SHOWN_CANDIDATES} more"
                         " (`bondtrack facility search` lists them)")
        super().__init__(f"{text!r} fits {len(ordered)} facilities; give the code, or the city "
                         "and state", lines)

    def listing(self) -> str:
        """The message and the candidates, one per line, for a file's problem list."""
        return "\n".join([f"{self}:", *self.problems])


@dataclass
class Index:
    """The facilities of a database by code and by every name they go by."""

    by_code: dict[str, Facility]
    by_name: dict[str, list[Facility]]

    @classmethod
    def of(cls, facilities: Iterable[Facility]) -> Index:
        by_code: dict[str, Facility] = {}
        by_name: dict[str, list[Facility]] = {}
        for facility in facilities:
            by_code[facility.code] = facility
            for name in {name_key(n) for n in (facility.name, *aliases_of(facility))}:
                by_name.setdefault(name, []).append(facility)
        return cls(by_code, by_name)

    def add(self, facility: Facility) -> None:
        self.by_code[facility.code] = facility
        for name in {name_key(n) for n in (facility.name, *aliases_of(facility))}:
            self.by_name.setdefault(name, []).append(facility)

    def find(self, text: str, city: str | None = None, state: str | None = None,
             ) -> Facility | None:
        """The facility ``text`` (a code or a name, with its city and state if known) names;
        None when nothing fits. Raises AmbiguousFacility when several do."""
        text = " ".join(text.split())
        if not text:
            return None
        facility = self.by_code.get(text.upper())
        if facility is not None:
            return facility
        key = name_key(text)
        candidates = self.by_name.get(key) or self._by_words(key)
        if state:
            candidates = [f for f in candidates if (f.state or "").upper() == state.strip().upper()]
        if city and len(candidates) > 1:
            in_city = [f for f in candidates if name_key(f.city or "") == name_key(city)]
            candidates = in_city or candidates
        if len(candidates) > 1:
            raise AmbiguousFacility(text, candidates)
        if candidates:
            return candidates[0]
        close = self.closest(key)
        return close[0] if close is not None and close[1] >= CLOSE_SPELLING else None

    def _by_words(self, key: str) -> list[Facility]:
        """The facilities one of whose names holds every word of ``key`` ("kenosha county
        detention" is the Kenosha County Detention Center)."""
        words = set(key.split())
        found = {f.code: f for name, fits in self.by_name.items() if words <= set(name.split())
                 for f in fits}
        return list(found.values())

    def closest(self, key: str) -> tuple[Facility, float] | None:
        """The facility whose name is spelled most like ``key``, and how alike (0-100); a
        near tie with another facility counts as no more than a suggestion."""
        from rapidfuzz import fuzz, process  # only when a name is not found as written

        best = process.extract(key, list(self.by_name), limit=8, scorer=fuzz.token_sort_ratio)
        if not best or len(self.by_name[best[0][0]]) > 1:
            return None
        first = self.by_name[best[0][0]][0]
        rivals = [score for name, score, _ in best[1:]
                  if any(f.code != first.code for f in self.by_name[name])]
        score = best[0][1]
        if rivals and score - rivals[0] < CLEAR_WINNER:
            score = min(score, CLOSE_SPELLING - 1)
        return first, score

    def suggestion(self, text: str) -> str:
        """`` (the closest is KENOSWI, Kenosha County Detention Center)``, or nothing."""
        close = self.closest(name_key(text))
        if close is None or close[1] < WORTH_SUGGESTING:
            return ""
        return f" (the closest is {close[0].code}, {close[0].name})"


def index(session: Session) -> Index:
    return Index.of(session.scalars(select(Facility)))


def normalize_facility_code(code: str) -> str:
    value = code.strip().upper()
    if not value or len(value) > 32 or not all(ch.isalnum() or ch in "-_." for ch in value):
        raise ValueError("not a facility code (letters, digits, - _ . up to 32)")
    return value


def by_code(session: Session, code: str, name: str | None = None) -> Facility:
    """The facility with ``code`` (get or create): a new code needs a name and is added."""
    code = normalize_facility_code(code)
    facility = session.scalar(select(Facility).where(Facility.code == code))
    if facility is None:
        if not (name and name.strip()):
            raise NotFoundError(f"unknown facility {code}: give its name to add it")
        name = " ".join(name.split())
        schema.check_widths(schema.facilities, {"name": name}, what="facility ")
        facility = Facility(code=code, name=name)
        session.add(facility)
        session.flush()
    return facility


def resolve(session: Session, text: str, city: str | None = None,
            state: str | None = None) -> Facility:
    """The facility a code or name means; a clear error when none or several fit."""
    directory = index(session)
    facility = directory.find(text, city, state)
    if facility is None:
        raise NotFoundError(f"no facility {' '.join(text.split())!r} in the directory"
                            f"{directory.suggestion(text)}: `bondtrack facility search` finds"
                            " one, `facility add` adds one")
    return facility


def facility_for(session: Session, text: str, name: str | None = None, city: str | None = None,
                 state: str | None = None, directory: Index | None = None) -> Facility:
    """The facility a code or a name means (locate, transfer, apply, a custody list, a test):
    the one lookup every edge shares. A code the directory lacks is added when its name is
    given."""
    directory = directory or index(session)
    where = place(directory, text, name, city, state)
    if where.ambiguous:
        raise where.ambiguous
    if where.unknown:
        raise NotFoundError(where.unknown.split(";")[0])
    if where.bare_code:
        raise NotFoundError(f"unknown facility {where.bare_code}: give its name to add it")
    if where.new_name:
        facility = by_code(session, where.code or "", where.new_name)
        facility.origin = LOCAL
        directory.add(facility)
        return facility
    if where.code is None:
        raise ValidationError("no facility given")
    return directory.by_code[where.code]


# ---------------------------------------------------------------- reading and changing

def facility_row(facility: Facility) -> dict[str, Any]:
    """One facility as the commands print it (stable keys)."""
    return {"code": facility.code, **{name: getattr(facility, name) for name in FIELDS},
            "origin": facility.origin or LOCAL}


def office_row(office: FieldOffice) -> dict[str, Any]:
    return {"name": office.name, **{name: getattr(office, name) for name in OFFICE_FIELDS},
            "origin": office.origin or LOCAL}


def list_facilities(session: Session, field_office: str | None = None,
                    state: str | None = None) -> list[Facility]:
    query = select(Facility).order_by(Facility.field_office, Facility.state, Facility.name)
    if field_office:
        query = query.where(Facility.field_office == find_office(session, field_office).name)
    if state:
        query = query.where(Facility.state == state.strip().upper())
    return list(session.scalars(query))


def search(session: Session, text: str) -> list[Facility]:
    """Facilities whose code, name, alias or city contains every word of ``text``."""
    words = name_key(text).split()
    found = []
    for facility in session.scalars(select(Facility).order_by(Facility.code)):
        haystack = " ".join(name_key(t) for t in (facility.code, facility.name, facility.city
                                                  or "", *aliases_of(facility)))
        if all(word in haystack for word in words):
            found.append(facility)
    return found


def find_office(session: Session, text: str) -> FieldOffice:
    """A field office by its name ("Chicago"), its office name or its AOR code ("CHI")."""
    office = office_named(list(session.scalars(select(FieldOffice))), text)
    if office is None:
        raise NotFoundError(f"no field office {text!r}: `bondtrack field-office list` shows them")
    return office


def office_named(offices: Iterable[FieldOffice], text: str) -> FieldOffice | None:
    code = text.strip().upper()
    wanted = name_key(re.sub(r"(?i)\s*field office\s*", " ", text))
    for office in offices:
        names = (name_key(office.name), name_key(re.sub(r"(?i)\s*field office\s*", " ",
                                                        office.office)))
        if code == (office.aor or "") or wanted in names:
            return office
    return None


def list_offices(session: Session) -> list[FieldOffice]:
    return list(session.scalars(select(FieldOffice).order_by(FieldOffice.name)))


def get(session: Session, code: str) -> Facility:
    facility = session.scalar(select(Facility).where(Facility.code == code.strip().upper()))
    if facility is None:
        raise NotFoundError(f"no facility {code.strip().upper()}")
    return facility


def add(session: Session, code: str, values: Mapping[str, Any], *, actor: Actor,
        now: datetime) -> Facility:
    """A facility added here (local, never overwritten by the shipped directory)."""
    try:
        code = normalize_facility_code(code)
    except ValueError as exc:
        raise ValidationError(f"code: {exc}") from None
    if session.scalar(select(Facility).where(Facility.code == code)) is not None:
        raise ValidationError(f"facility {code} exists already: use `facility edit`")
    checked = _checked(session, values)
    if not checked.get("name"):
        raise ValidationError("--name is required for a new facility")
    facility = Facility(code=code, origin=LOCAL, **checked)
    session.add(facility)
    session.flush()
    audit_change(session, ("facility", code), "added", {k: [None, v] for k, v in checked.items()},
           actor=actor, now=now, by=actor.source)
    return facility


def edit(session: Session, code: str, values: Mapping[str, Any], *, actor: Actor,
         now: datetime) -> dict[str, list[Any]]:
    """Change a facility; from now on it is local, so the shipped directory leaves it be."""
    facility = get(session, code)
    checked = _checked(session, values)
    changes = {k: [getattr(facility, k), v] for k, v in checked.items()
               if getattr(facility, k) != v}
    if not changes:
        return {}
    for name, (_, value) in changes.items():
        setattr(facility, name, value)
    facility.origin = LOCAL
    audit_change(session, ("facility", facility.code), "edited", changes, actor=actor, now=now,
           by=actor.source)
    return changes


def edit_office(session: Session, name: str, values: Mapping[str, Any], *, actor: Actor,
                now: datetime) -> dict[str, list[Any]]:
    """Change a field office (an address, its own posting hours); kept from then on."""
    office = find_office(session, name)
    checked = {k: " ".join(v.split()) for k, v in values.items() if v is not None}
    if checked.get("posting_hours"):
        checked["posting_hours"] = "-".join(parse_hours(checked["posting_hours"]))
    schema.check_widths(schema.field_offices, checked, what="field office ")
    changes = {k: [getattr(office, k), v] for k, v in checked.items() if getattr(office, k) != v}
    for key, (_, value) in changes.items():
        setattr(office, key, value)
    if changes:
        office.origin = LOCAL
        audit_change(session, ("field-office", office.name), "edited", changes, actor=actor,
                     now=now, by=actor.source)
    return changes


def _checked(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """Given values, cleaned and checked: state code, IANA zone, a known field office."""
    from workflow.core import clock
    out = {k: (" ".join(v.split()) if isinstance(v, str) else v) for k, v in values.items()
           if v is not None}
    if out.get("state"):
        out["state"] = out["state"].upper()
        if len(out["state"]) != 2 or not out["state"].isalpha():
            raise ValidationError("state: a two-letter code (IL, IN, ...)")
    if out.get("time_zone"):
        try:
            clock.zone(out["time_zone"])
        except Exception:  # noqa: BLE001 - any failure means the same to the user
            raise ValidationError(f"time zone: not an IANA zone ({out['time_zone']!r})") from None
    if out.get("field_office"):
        out["field_office"] = find_office(session, out["field_office"]).name
    if out.get("posting_hours"):
        out["posting_hours"] = "-".join(parse_hours(out["posting_hours"]))
    schema.check_widths(schema.facilities, {k: v for k, v in out.items() if isinstance(v, str)},
                 what="facility ")
    return out


def parse_hours(text: str) -> tuple[str, str]:
    """``09:00-15:00`` → ("09:00", "15:00"), opening before closing."""
    match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", text)
    if not match or match.group(1).zfill(5) >= match.group(2).zfill(5):
        raise ValidationError(f"posting hours: HH:MM-HH:MM, opening first ({text!r})")
    return match.group(1).zfill(5), match.group(2).zfill(5)


@dataclass(frozen=True)
class Place:
    """Where one line of a list says a person is, read against the directory."""

    code: str | None = None  # the facility: a known code, or a new one named by ``new_name``
    new_name: str | None = None
    bare_code: str | None = None  # a code the directory lacks, with no name to add it by
    ambiguous: AmbiguousFacility | None = None  # a name that fits several facilities
    unknown: str | None = None  # a name that fits none: the person goes without a facility


def place(index: Index, code_text: str, name: str | None = None, city: str | None = None,
          state: str | None = None) -> Place:
    """Read a facility code cell (which may hold a name), a name, a city and a state."""
    code_text = " ".join(code_text.split())
    code = None
    if code_text:
        known = index.by_code.get(code_text.upper())
        if known is not None:
            return Place(code=known.code)
        try:
            code = normalize_facility_code(code_text)
        except ValueError:
            code = None
        if code and name:
            return Place(code=code, new_name=name)
    text = code_text or (name or "")
    if not text:
        return Place()
    try:
        found = index.find(text, city, state)
    except AmbiguousFacility as exc:
        return Place(ambiguous=exc)
    if found is not None:
        return Place(code=found.code)
    if code:
        return Place(bare_code=code)
    return Place(unknown=f"no facility in the directory is called {text!r}"
                 f"{' in ' + ', '.join(p for p in (city, state) if p) if city or state else ''}"
                 f"{index.suggestion(text)};"
                 " imported without a facility (`bondtrack facility add` adds it)")
