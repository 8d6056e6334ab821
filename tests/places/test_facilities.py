"""The facility directory: shipped facts loaded by init, local rows kept, names resolved."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from workflow import resource
from workflow.places import facilities, zones
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Event, Facility, FieldOffice

ACTOR = Actor("tester")
NOW = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)
CHICAGO_AOR = {"IL", "IN", "WI", "MO", "KY", "KS"}


def shipped() -> list[dict[str, str]]:
    with resource("config", "facilities.csv").open(encoding="utf-8") as fh:
        return [{"code": row.pop("detloc"), **row} for row in csv.DictReader(fh)]


def test_every_shipped_row_has_a_code_a_name_a_real_zone_an_office_and_a_source() -> None:
    rows = shipped()
    offices = {o["name"] for o in facilities.shipped_field_offices()}
    assert len({r["code"] for r in rows}) == len(rows)
    for row in rows:
        assert row["code"] and row["name"] and row["source"], row["code"]
        assert ZoneInfo(row["time_zone"]), row["code"]
        assert row["field_office"] in offices, row["code"]
        assert row["provisional"] in ("", "yes")
        assert row["provisional"] == "yes" or not row["code"].startswith("P-")


def test_the_directory_covers_the_chicago_aor_and_the_transfer_facilities() -> None:
    rows = {r["code"]: r for r in shipped()}
    states = Counter(r["state"] for r in rows.values() if r["field_office"] == "Chicago")
    assert CHICAGO_AOR <= set(states)
    assert sum(states.values()) >= 130
    assert rows["BSAHOLD"]["name"] == "Broadview Service Staging"
    assert "O'Hare" in rows["CHIHOLD"]["name"]
    for code in ("KRO", "EAZ", "STFRCTX", "ADLNTCA", "OTRPCNM", "JENADLA", "PRLDCTX", "PIC"):
        assert code in rows, code
    assert rows["KRO"]["field_office"] == "Miami" and rows["EAZ"]["field_office"] == "Phoenix"


@pytest.mark.parametrize(("code", "zone"), [
    ("CLAYCIN", "America/Indiana/Indianapolis"),  # Clay County IN: Eastern
    ("BOONEKY", "America/New_York"),  # Boone County KY: Eastern
    ("GRAYSKY", "America/Chicago"),  # Grayson County KY: Central
    ("HAMILKS", "America/Denver"),  # Hamilton County KS: Mountain
    ("EPC", "America/Denver"),  # El Paso County TX: Mountain
    ("PRLDCTX", "America/Chicago"),  # the rest of Texas: Central
    ("EAZ", "America/Phoenix"),  # Arizona keeps MST
    ("BSAHOLD", "America/Chicago"),
])
def test_the_zone_comes_from_the_county(code: str, zone: str) -> None:
    assert {r["code"]: r for r in shipped()}[code]["time_zone"] == zone


# Counties the IANA time zone database names in its own zones (zone1970.tab): an outside
# source for the county lists in workflow/places/zones.py, which follow 49 CFR part 71.
IANA_COUNTIES = [
    ("ND", "Oliver", "America/North_Dakota/Center"),
    ("ND", "Morton", "America/North_Dakota/New_Salem"),
    ("ND", "Mercer", "America/North_Dakota/Beulah"),
    ("IN", "Perry", "America/Indiana/Tell_City"),
    ("IN", "Starke", "America/Indiana/Knox"),
    ("IN", "Pulaski", "America/Indiana/Winamac"),
    ("IN", "Crawford", "America/Indiana/Marengo"),
    ("IN", "Pike", "America/Indiana/Petersburg"),
    ("IN", "Switzerland", "America/Indiana/Vevay"),
    ("IN", "Daviess", "America/Indiana/Vincennes"),
    ("IN", "Knox", "America/Indiana/Vincennes"),
    ("KY", "Wayne", "America/Kentucky/Monticello"),
    ("KY", "Jefferson", "America/Kentucky/Louisville"),
    ("MI", "Menominee", "America/Menominee"),
    ("ID", "Ada", "America/Boise"),
    ("OR", "Malheur", "America/Boise"),
    ("ID", "Kootenai", "America/Los_Angeles"),
    ("NE", "Scotts Bluff", "America/Denver"),
    ("NE", "Douglas", "America/Chicago"),
    ("SD", "Pennington", "America/Denver"),
    ("SD", "Minnehaha", "America/Chicago"),
    ("ND", "Stark", "America/Denver"),
    ("ND", "Cass", "America/Chicago"),
]
# Every 1 and 15 of the month across 2025-2027, and both sides of each DST change.
INSTANTS = [datetime(year, month, day, hour, tzinfo=UTC) for year in (2025, 2026, 2027)
            for month in range(1, 13) for day in (1, 15) for hour in (6, 18)] + [
    datetime(2025, 3, 9, h, tzinfo=UTC) for h in range(6, 12)] + [
    datetime(2025, 11, 2, h, tzinfo=UTC) for h in range(5, 11)]


@pytest.mark.parametrize(("state", "county", "iana"), IANA_COUNTIES)
def test_a_countys_zone_keeps_the_clock_the_iana_database_keeps(
        state: str, county: str, iana: str) -> None:
    ours = ZoneInfo(zones.zone_for(state, county) or "UTC")
    for instant in INSTANTS:
        assert instant.astimezone(ours).utcoffset() == instant.astimezone(
            ZoneInfo(iana)).utcoffset(), (state, county, instant)


def test_every_shipped_zone_is_its_countys_unless_the_row_says_why() -> None:
    for row in shipped():
        derived = zones.zone_for(row["state"], row["county"])
        if derived != row["time_zone"]:
            # A finer zone of the same clock (Indianapolis, Louisville) is fine.
            for instant in INSTANTS:
                assert instant.astimezone(ZoneInfo(row["time_zone"])).utcoffset() == \
                    instant.astimezone(ZoneInfo(derived or "UTC")).utcoffset(), row["code"]


def test_the_25_field_offices_have_an_address_an_email_and_their_states() -> None:
    offices = facilities.shipped_field_offices()
    assert len(offices) == 25 == len({o["aor"] for o in offices})
    for office in offices:
        assert office["address"] and office["email"] and office["states"], office["name"]
    chicago = next(o for o in offices if o["name"] == "Chicago")
    assert chicago["address"] == "101 W Ida B Wells Drive, Suite 4000"
    assert chicago["states"] == "Illinois, Indiana, Wisconsin, Missouri, Kentucky, Kansas"


def sync(database: db.Database) -> facilities.SyncResult:
    with database.write() as session:
        return facilities.sync_directory(session, actor=ACTOR, now=NOW)


def test_init_loads_the_directory_and_audits_each_row(database: db.Database) -> None:
    result = sync(database)
    count = len(shipped())
    assert result.facilities == {"added": count} and result.field_offices == {"added": 25}
    with database.read() as session:
        assert len(session.scalars(select(Facility)).all()) == count
        kinds = Counter(session.scalars(select(Event.kind)))
    assert kinds == {"facility-added": count, "field-office-added": 25}
    assert sync(database).facilities == {"unchanged": count}


def test_a_local_edit_survives_a_newer_directory(database: db.Database) -> None:
    sync(database)
    with database.write() as session:
        facilities.edit(session, "BSAHOLD", {"phone": "+1 708-555-0100"}, actor=ACTOR, now=NOW)
        session.get(Facility, facilities.get(session, "KRO").id).name = "Old Krome name"
        session.scalar(select(FieldOffice).where(FieldOffice.name == "Chicago")).phone = "x"
    sync(database)  # the shipped directory again: KRO and Chicago (shipped rows) are put back
    with database.read() as session:
        assert facilities.get(session, "BSAHOLD").phone == "+1 708-555-0100"
        assert facilities.get(session, "BSAHOLD").origin == "local"
        assert facilities.get(session, "KRO").name == "Krome North Service Processing Center"
        assert facilities.find_office(session, "CHI").phone == "(872) 351-3990"
        edited = session.scalars(select(Event.payload).where(Event.kind == "facility-edited"))
        assert edited.one() == {"facility": "BSAHOLD", "by": "cli",
                              "changes": {"phone": [None, "+1 708-555-0100"]}}


def test_a_facility_added_before_the_directory_is_kept(database: db.Database) -> None:
    with database.write() as session:
        session.add(Facility(code="BSAHOLD", name="Broadview (ours)"))
    assert sync(database).facilities["kept_local"] == 1
    with database.read() as session:
        assert facilities.get(session, "BSAHOLD").name == "Broadview (ours)"


@pytest.mark.parametrize(("text", "city", "state", "code"), [
    ("BSAHOLD", None, None, "BSAHOLD"),
    ("bsahold", None, None, "BSAHOLD"),
    ("CLAY COUNTY JUSTICE CENTER", None, None, "CLAYCIN"),
    ("Clay Co. Justice Ctr.", None, None, "CLAYCIN"),
    ("Clay County Jail", "Brazil", "IN", "CLAYCIN"),  # the directory knows both names
    ("Clay County Jail", None, "MO", "CLACOMO"),
    ("CAMPBELL CO DET CTR", None, None, "P-KY-CAMPBELL"),
    ("Krome", None, None, "KRO"),
    ("Eloy Detention Center", None, None, "EAZ"),
    ("Dodge County Jail", "Juneau", "WI", "DODGEWI"),
])
def test_names_resolve_to_codes(database: db.Database, text: str, city: str | None,
                                state: str | None, code: str) -> None:
    sync(database)
    with database.read() as session:
        assert facilities.resolve(session, text, city, state).code == code


def test_an_ambiguous_name_lists_the_candidates_with_code_and_city(database: db.Database) -> None:
    sync(database)
    with database.read() as session, pytest.raises(facilities.AmbiguousFacility) as caught:
        facilities.resolve(session, "Clay County Jail")
    assert str(caught.value) == ("'Clay County Jail' fits 2 facilities; give the code, or the "
                                 "city and state")
    assert caught.value.problems == ["  CLACOMO  Clay County Jail, Liberty MO",
                                     "  CLAYCIN  Clay County Justice Center, Brazil IN"]


def test_an_unknown_name_is_a_clear_error(database: db.Database) -> None:
    sync(database)
    with database.read() as session, pytest.raises(facilities.NotFoundError) as caught:
        facilities.resolve(session, "Nowhere County Jail")
    assert "no facility 'Nowhere County Jail' in the directory" in str(caught.value)
