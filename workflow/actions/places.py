"""The facility directory and the field offices: list, find, add, edit, import, and bring the
shipped directory up to date. Each returns rows ready to print or the change it made. And one
look-up at ICE's locator, for an operator to try it (`locator_selftest`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.identity import normalize_a_number
from workflow.places import facilities, zones
from workflow.record.audit import Actor
from workflow.record.db import Database

if TYPE_CHECKING:
    from workflow.intake.facility_import import ImportReport
    from workflow.places.facilities import SyncResult


def facility_rows(database: Database, *, field_office: str | None = None,
                  state: str | None = None) -> list[dict[str, Any]]:
    """Every facility of the directory, optionally of one field office or state."""
    with database.read() as session:
        return [facilities.facility_row(f)
                for f in facilities.list_facilities(session, field_office, state)]


def facility(database: Database, text: str) -> dict[str, Any]:
    """The facility a code or name means (a clear error when none or several fit)."""
    with database.read() as session:
        return facilities.facility_row(facilities.resolve(session, text))


def search(database: Database, text: str) -> list[dict[str, Any]]:
    """Facilities whose code, name, other names or city match ``text``."""
    with database.read() as session:
        return [facilities.facility_row(f) for f in facilities.search(session, text)]


def add_facility(database: Database, code: str, values: dict[str, Any], *, actor: Actor,
                 now: datetime) -> dict[str, Any]:
    """Add a facility (its zone from the state and county unless given); the new row."""
    if not values.get("time_zone") and values.get("state"):
        values = {**values, "time_zone": zones.zone_for(values["state"], values.get("county"))}
    with database.write() as session:
        return facilities.facility_row(facilities.add(session, code, values, actor=actor,
                                                      now=now))


def edit_facility(database: Database, code: str, values: dict[str, Any], *, actor: Actor,
                  now: datetime) -> dict[str, list[Any]]:
    """Change a facility (kept when a newer directory ships); what changed, old and new."""
    with database.write() as session:
        return facilities.edit(session, code, values, actor=actor, now=now)


def import_facilities(database: Database, path: Path, *, actor: Actor, now: datetime,
                      sheet: str | None = None, encoding: str = "auto",
                      dry_run: bool = False) -> ImportReport:
    """Merge a facility list into the directory: all lines or, with problems, none."""
    from workflow.intake.facility_import import import_facilities  # spreadsheet readers

    with database.write() as session:
        return import_facilities(session, path, actor=actor, now=now, sheet=sheet,
                                 encoding=encoding, dry_run=dry_run)


def office_rows(database: Database) -> list[dict[str, Any]]:
    """The field offices."""
    with database.read() as session:
        return [facilities.office_row(o) for o in facilities.list_offices(session)]


def office(database: Database, text: str) -> dict[str, Any]:
    """One field office (by name, office name or AOR code) and how many facilities it has."""
    with database.read() as session:
        found = facilities.find_office(session, text)
        return {**facilities.office_row(found),
                "facilities": len(facilities.list_facilities(session, found.name))}


def edit_office(database: Database, name: str, values: dict[str, Any], *, actor: Actor,
                now: datetime) -> dict[str, list[Any]]:
    """Change a field office (kept when a newer directory ships); what changed."""
    with database.write() as session:
        return facilities.edit_office(session, name, values, actor=actor, now=now)


def sync_directory(database: Database, *, actor: Actor, now: datetime) -> SyncResult:
    """Bring the shipped directory up to date, keeping local additions and edits."""
    with database.write() as session:
        return facilities.sync_directory(session, actor=actor, now=now)


def shipped_facilities() -> list[dict[str, Any]]:
    """The directory as it ships (for the demo's synthetic people)."""
    return facilities.shipped_facilities()


def locator_selftest(settings: Settings, a_number: str, country: str) -> dict[str, Any]:
    """One look-up at the configured locator ([locator] base_url), for an operator to see what
    it answers: where it asked, as whom, the country as sent, and the answer (no A-number)."""
    from workflow.places import locator  # httpx and pycountry: only when a look-up is made

    setup = locator.LocatorSettings.from_settings(settings)
    try:
        digits = normalize_a_number(a_number)
    except ValueError as exc:
        raise BondtrackError(f"A-number: {exc}") from None
    try:
        spelled = locator.locator_country(country)
    except ValueError as exc:
        raise BondtrackError(f"country of birth: {exc}") from None
    with locator.OdlsClient.from_settings(setup) as client:
        answer = client.look_up(digits, spelled)
    return {"base_url": setup.base_url, "user_agent": setup.user_agent, "country": spelled,
            **answer.as_dict()}
