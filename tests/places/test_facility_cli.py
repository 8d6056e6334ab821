"""`bondtrack facility` and `field-office`, and `facility import` of the shapes lists come in."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.support import ROOT
from workflow.record import db
from workflow.record.models import Event, Facility

# The real files live in shared/ beside the repository (CI has it); BONDTRACK_SHARED says
# where it is when the repository is elsewhere (a worktree).
SHARED = Path(os.environ.get("BONDTRACK_SHARED", ROOT.parent / "shared"))
PUBLIC = SHARED / "data" / "public"
ICE_WORKBOOK = PUBLIC / "ice-detention-stats-fy26-2026-04-09.xlsx"
DETLOC_LIST = PUBLIC / "detloc-facilities-2017.csv.gz"
ICE_COLUMNS = ["Name", "Address", "City", "State", "Zip", "AOR", "Type Detailed", "Male/Female",
               "FY26 ALOS", "Level A", "Level B"]
DETLOC_HEADER = ("detloc|name|address|city|county|state|zip|circuit|aor|docket|type|"
                 "type_detailed|authorizing_authority|capacity")


@pytest.fixture
def directory(cli):  # type: ignore[no-untyped-def]
    cli("init")
    return cli


def ice_workbook(path: Path, rows: list[list[object]]) -> Path:
    """A workbook in the shape of ICE's detention statistics: cover sheets, then the facility
    sheet with eight preamble rows, a group-header row and the column names on row 10."""
    workbook = Workbook()
    workbook.active.title = "Header"
    workbook.active.append(["These statistics are made available to the public pursuant to ..."])
    detention = workbook.create_sheet("Detention FY26")
    detention.append(["Detention", None, "FY26"])
    detention.append(["Average Daily Population", 1, 2])
    sheet = workbook.create_sheet("Facilities FY26")
    for preamble in (["These statistics are made available ..."], [], ["ICE Facilities Data"],
                     ["ICE Enforcement and Removal Operations Data, FY26"],
                     ["Data Source: ICE Integrated Decision Support (IIDS), 04/02/2026"], [],
                     ["This list is limited to facilities ..."], []):
        sheet.append(preamble)
    sheet.append(["Facility Information", None, None, None, None, None, None, None,
                  "Facility Average Length of Stay", "FY26 ADP: Detainee Classification Level"])
    sheet.append(ICE_COLUMNS)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("Footnotes").append(["1. ..."])
    workbook.save(path)
    return path


ICE_ROWS = [[*row, "Male", 3.5, 1, 0] for row in (
    ["CAMPBELL CO DET CTR", "601 CENTRAL AVE", "NEWPORT", "KY", "41071", "CHI", "USMS IGA"],
    ["CLAY COUNTY JUSTICE CENTER", "611 EAST JACKSON STREET", "BRAZIL", "IN", 47834, "CHI",
     "USMS IGA"],
    ["KROME NORTH SERVICE PROCESSING CENTER", "18201 SW 12TH ST", "MIAMI", "FL", "33194", "MIA",
     "SPC"],
    ["NEWTOWN COUNTY JAIL", "1 MAIN ST", "NEWTOWN", "KS", "66000", "CHI", "IGSA"],
    ["NEWTOWN COUNTY JAIL", "1 MAIN ST", "NEWTOWN", "TX", "79000", "ELP", "IGSA"],
)]


def test_facility_show_json_has_the_promised_keys(  # type: ignore[no-untyped-def]
        directory) -> None:
    shown = json.loads(directory("facility", "show", "BSAHOLD", "--json").output)
    assert {k: shown[k] for k in ("code", "name", "address", "city", "state", "zip",
                                  "field_office", "time_zone")} == {
        "code": "BSAHOLD", "name": "Broadview Service Staging", "address": "1930 Beach Street",
        "city": "Broadview", "state": "IL", "zip": "60155", "field_office": "Chicago",
        "time_zone": "America/Chicago"}


def test_facility_list_filters_by_office_and_state(  # type: ignore[no-untyped-def]
        directory) -> None:
    rows = json.loads(directory("facility", "list", "--field-office", "CHI", "--state", "IN",
                                "--json").output)
    assert rows and {(r["field_office"], r["state"]) for r in rows} == {("Chicago", "IN")}
    text = directory("facility", "list", "--state", "AZ").output
    assert "EAZ" in text and "KRO" not in text
    listed = list(csv.DictReader(io.StringIO(directory("facility", "list", "--csv").output)))
    assert {"code", "county", "source", "provisional"} <= set(listed[0])


def test_facility_search_finds_by_name_alias_and_city(  # type: ignore[no-untyped-def]
        directory) -> None:
    found = json.loads(directory("facility", "search", "clay county jail", "--json").output)
    assert {r["code"] for r in found} == {"CLACOMO", "CLAYCIN"}
    assert "KRO" in directory("facility", "search", "krome").output


def test_add_and_edit_are_audited_and_refused_when_wrong(  # type: ignore[no-untyped-def]
        directory, database: db.Database) -> None:
    out = directory("facility", "add", "NEWJAIL", "--name", "New County Jail", "--state", "KS",
                    "--county", "Hamilton", "--field-office", "Chicago").output
    assert "added NEWJAIL: New County Jail (America/Denver)" in out
    assert "posting_hours: (none) → 09:00-12:00" in directory(
        "facility", "edit", "NEWJAIL", "--posting-hours", "9:00-12:00").output
    for args, message in (
        (("add", "NEWJAIL", "--name", "Again"), "exists already"),
        (("add", "OTHER"), "--name is required"),
        (("edit", "NEWJAIL", "--time-zone", "Mars/Olympus"), "not an IANA zone"),
        (("edit", "NEWJAIL", "--field-office", "Atlantis"), "no field office 'Atlantis'"),
        (("edit", "NEWJAIL", "--posting-hours", "15:00-09:00"), "posting hours"),
        (("show", "NOPE"), "no facility 'NOPE'"),
    ):
        result = directory("facility", *args, ok=False)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    with database.read() as session:
        kinds = list(session.scalars(select(Event.kind).where(
            Event.kind.in_(["facility-added", "facility-edited"]),
            Event.payload["facility"].as_string() == "NEWJAIL")))
    assert kinds == ["facility-added", "facility-edited"]


def test_field_offices_list_and_show(directory) -> None:  # type: ignore[no-untyped-def]
    offices = json.loads(directory("field-office", "list", "--json").output)
    assert len(offices) == 25
    for name in ("Chicago", "CHI", "Chicago Field Office"):
        shown = json.loads(directory("field-office", "show", name, "--json").output)
        assert shown["address"] == "101 W Ida B Wells Drive, Suite 4000"
        assert shown["facilities"] >= 130
    assert "Miramar" in directory("field-office", "show", "MIA").output


def test_ice_workbook_rows_match_by_name_city_state_and_the_rest_get_provisional_codes(
        directory, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = ice_workbook(tmp_path / "ice-stats.xlsx", ICE_ROWS)
    result = directory("facility", "import", path)
    assert "read sheet 'Facilities FY26' (its header is on row 10)" in result.output
    assert "5 facilities; 3 matched the directory" in result.output
    assert "2 under provisional codes" in result.output
    assert "TX is split and the line names no county" in result.output
    with database.read() as session:
        new = {f.code: f for f in session.scalars(select(Facility).where(Facility.provisional))
               if f.source and f.source.startswith("imported")}
        assert set(new) == {"P-KS-NEWTOWN", "P-TX-NEWTOWN"}
        assert (new["P-KS-NEWTOWN"].field_office, new["P-KS-NEWTOWN"].time_zone) == (
            "Chicago", "America/Chicago")
        assert new["P-TX-NEWTOWN"].field_office == "El Paso"
    again = directory("facility", "import", path).output
    assert "5 matched the directory" in again and "added 0 by code and 0" in again


def test_detloc_lists_pipe_delimited_and_gzipped(  # type: ignore[no-untyped-def]
        directory, database: db.Database, tmp_path: Path) -> None:
    lines = [DETLOC_HEADER,
             "BSAHOLD|BROADVIEW SERVICE STAGING|1930 BEACH STREET|BROADVIEW|COOK|IL|60155|7|CHI|"
             "CHI|Other|STAGING|DMCP|NA",
             "ZZTOPKS|ZZ COUNTY JAIL|1 ELM|SYRACUSE|HAMILTON |KS|67878|10|CHI|CHI|IGSA|IGSA|DMCP|"
             "NA"]
    path = tmp_path / "detloc.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    report = json.loads(directory("facility", "import", path, "--json").output)
    assert (report["rows"], report["matched"], report["added"]) == (2, 1, ["ZZTOPKS"])
    shown = json.loads(directory("facility", "show", "ZZTOPKS", "--json").output)
    assert (shown["county"], shown["time_zone"], shown["field_office"]) == (
        "HAMILTON", "America/Denver", "Chicago")
    plain = tmp_path / "detloc.csv"
    plain.write_text("\n".join(lines).replace("|", ",") + "\n", encoding="utf-8")
    assert json.loads(directory("facility", "import", plain, "--json").output)["matched"] == 2


def test_a_bad_facility_list_changes_nothing(  # type: ignore[no-untyped-def]
        directory, database: db.Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("detloc,name,state,field_office\nGOOD1,Good Jail,IL,CHI\n"
                    "BAD CODE!,Bad,IL,CHI\nGOOD2,,IL,CHI\nGOOD3,Jail,Illinois,Atlantis\n",
                    encoding="utf-8")
    before = directory("facility", "list", "--csv").output
    result = directory("facility", "import", path, ok=False)
    assert result.exit_code == 1
    for problem in ("bad.csv:3: facility_code: not a facility code",
                    "bad.csv:4: name: is required", "bad.csv:5: state: not a two-letter",
                    "bad.csv:5: field_office: not an ERO"):
        assert problem in result.output
    assert directory("facility", "list", "--csv").output == before


@pytest.mark.skipif(not ICE_WORKBOOK.exists(), reason="ICE's FY26 workbook is in ../shared only")
def test_the_real_ice_workbook_matches_every_chicago_facility(  # type: ignore[no-untyped-def]
        directory, database: db.Database) -> None:
    report = json.loads(directory("facility", "import", ICE_WORKBOOK, "--json").output)
    assert report["rows"] == 203 and report["matched"] >= 60
    with database.read() as session:
        imported_chicago = session.scalars(select(Facility.code).where(
            Facility.field_office == "Chicago", Facility.source.like("imported%"))).all()
    assert imported_chicago == []  # all 25 CHI rows are in the shipped directory


@pytest.mark.skipif(not DETLOC_LIST.exists(), reason="the 2017 DETLOC list is in ../shared only")
def test_the_real_detloc_list_imports_by_code(directory) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(directory("facility", "import", DETLOC_LIST, "--dry-run",
                                  "--json").output)
    assert report["rows"] == 1532 and report["provisional"] == []
    assert report["matched"] + len(report["added"]) == 1532
    assert report["matched"] >= 150
