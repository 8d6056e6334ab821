"""Real inputs on day one: government column names and shapes, facility names, encodings,
withheld cells, a custody list refused before any flow starts; posting in each facility's zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.support import CASE
from workflow.core import config
from workflow.intake import headers, tables
from workflow.intake.reconcile import reconcile
from workflow.notices import sending
from workflow.orders import orders
from workflow.places import posting
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Facility

NOW = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture
def ready(cli, court_order):  # type: ignore[no-untyped-def]
    """An order in a database whose facility directory is loaded."""
    cli("init")
    return cli


def people_by_a_number(database: db.Database) -> dict[str, tuple[str | None, str]]:
    with database.read() as session:
        rows = session.execute(select(Detainee.a_number, Facility.code, Detainee.stage)
                               .outerjoin(Facility, Detainee.facility_id == Facility.id))
        return {a: (code, stage) for a, code, stage in rows}


def test_every_alias_belongs_to_one_concept() -> None:
    seen: dict[str, str] = {}
    for concept, aliases in headers.ALIASES.items():
        for alias in (concept, *aliases):
            key = tables._key(alias)
            assert seen.setdefault(key, concept) == concept, (alias, concept, seen[key])


def test_a_class_list_naming_facilities_by_name_city_and_state(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "court-list.csv"
    path.write_text(
        "Alien File Number,Last Name,First Name,Language,Current Detention Facility,"
        "Facility City,Facility State\n"
        "A-012-345-671,Uno,Ana,Spanish,CLAY COUNTY JUSTICE CENTER,,\n"
        "A-012-345-672,Dos,Beto,Spanish,Clay County Jail,Liberty,MO\n"
        "A-012-345-673,Tres,Carla,Spanish,CAMPBELL CO DET CTR,,\n"
        "A-012-345-674,Cuatro,Dani,Spanish,Nowhere Regional Jail,Springfield,IL\n"
        "A-012-345-675,Cinco,Eva,Spanish,,,\n", encoding="utf-8")
    result = ready("import", path)
    assert "imported: 5 new" in result.output
    assert ("court-list.csv:5: facility: no facility in the directory is called "
            "'Nowhere Regional Jail' in Springfield, IL; imported without a facility") \
        in result.output
    assert "ignored columns" not in result.output
    assert people_by_a_number(database) == {
        "012345671": ("CLAYCIN", "INTAKE"), "012345672": ("CLACOMO", "INTAKE"),
        "012345673": ("P-KY-CAMPBELL", "INTAKE"), "012345674": (None, "INTAKE"),
        "012345675": (None, "INTAKE")}


def test_an_ambiguous_facility_name_refuses_the_list_and_lists_the_candidates(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.csv"
    path.write_text("A-Number,Last Name,First Name,Language,Detention Facility\n"
                    "012345671,Uno,Ana,es,Clay County Jail\n", encoding="utf-8")
    result = ready("import", path, ok=False)
    assert result.exit_code == 1
    assert ("list.csv:2: facility: 'Clay County Jail' fits 2 facilities; give the code, or the "
            "city and state:\n  CLACOMO  Clay County Jail, Liberty MO\n"
            "  CLAYCIN  Clay County Justice Center, Brazil IN") in result.output
    assert people_by_a_number(database) == {}


def test_locate_and_transfer_take_a_code_or_a_name(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.csv"
    path.write_text("A#,Last Name,First Name,Language\n012345671,Uno,Ana,es\n", encoding="utf-8")
    ready("import", path)
    ready("locate", "012345671", "--facility", "Krome North SPC")
    assert people_by_a_number(database)["012345671"] == ("KRO", "LOCATED")
    ready("transfer", "012345671", "--facility", "eaz")
    assert people_by_a_number(database)["012345671"] == ("EAZ", "LOCATING")
    result = ready("locate", "012345671", "--facility", "Clay County Jail", ok=False)
    assert result.exit_code == 1
    assert "  CLACOMO  Clay County Jail, Liberty MO" in result.output
    assert "Error: 'Clay County Jail' fits 2 facilities" in result.output
    unknown = ready("locate", "012345671", "--facility", "Nowhere Regional Jail", ok=False)
    assert "no facility in the directory is called 'Nowhere Regional Jail'" in unknown.output


def test_an_apply_file_names_facilities_by_name(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,Language\n012345671,Uno,Ana,es\n"
                       "012345672,Dos,Beto,es\n", encoding="utf-8")
    ready("import", listing)
    moves = tmp_path / "moves.csv"
    moves.write_text("A-Number,Action,Facility,Facility State,Notes\n"
                     "012345671,locate,Broadview Service Staging,,\n"
                     "012345672,locate,Clay County Jail,IN,\n", encoding="utf-8")
    ready("apply", moves)
    assert people_by_a_number(database) == {"012345671": ("BSAHOLD", "LOCATED"),
                                            "012345672": ("CLAYCIN", "LOCATED")}


def test_a_windows_1252_csv_is_read_when_asked_or_detected(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "excel.csv"
    path.write_bytes("A#,Last Name,First Name,Language,Notes\n"
                     "012345671,Núñez,José,Spanish,“urgent” – call first\n".encode("cp1252"))
    refused = ready("import", path, "--encoding", "utf-8", ok=False)
    assert "excel.csv:2: not UTF-8 text (in Excel, save as 'CSV UTF-8')" in refused.output
    detected = ready("import", path)  # the default: UTF-8, else Windows-1252
    assert "excel.csv: not UTF-8; read as Windows-1252" in detected.output
    shown = json.loads(ready("show", "012345671", "--json").output)
    assert (shown["family_name"], shown["notes"]) == ("Núñez", "“urgent” – call first")
    assert "imported: 0 new" in ready("import", path, "--encoding", "cp1252").output


def test_a_header_below_a_preamble_and_withheld_cells(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("Detainee report\nData as of 11/19/2025\n\n"
                    "Alien File Number,Last Name,First Name\n"
                    "b(6); b(7)(C),(b)(6),Ana\n012345672,Dos,Beto\n", encoding="utf-8")
    table = tables.read(path, headers.columns("a_number", "family_name", "given_name"),
                        ("a_number",))
    assert (table.header_line, table.problems) == (4, [])
    first, second = table.rows
    assert (first.line, first.get("a_number"), first.withheld) == (
        5, "", frozenset({"a_number", "family_name"}))
    assert (second.get("a_number"), second.withheld) == ("012345672", frozenset())
    for text in ("b(6), b(7)c", "(b)(6)", "B6", "b(7)(C)"):
        assert tables.is_withheld(text), text
    for text in ("Bob", "6", "b", "Building 6"):
        assert not tables.is_withheld(text), text


def test_a_cell_that_only_looks_like_a_marker_is_kept(tmp_path: Path) -> None:
    """The row is looked at as a whole first; a near miss is then read cell by cell."""
    path = tmp_path / "near.csv"
    path.write_text("A-Number,Last Name,First Name\n012345672,Lab 7,b(6)\n"
                    "012345673,Bob,B 6 Jr\n", encoding="utf-8")
    first, second = tables.read(path, headers.columns("a_number", "family_name", "given_name"),
                                ("a_number",)).rows
    assert (first.get("family_name"), first.get("given_name"), first.withheld) == (
        "Lab 7", "", frozenset({"given_name"}))
    assert (second.get("given_name"), second.withheld) == ("B 6 Jr", frozenset())


def custody_workbook(path: Path, rows: list[list[object]]) -> Path:
    """A custody list in the government's shape: a cover sheet, then a sheet whose header
    (ICE's column names) sits on row 7 below a title block."""
    workbook = Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["U.S. Immigration and Customs Enforcement"])
    workbook.active.append(["Production in Castañon Nava v. DHS"])
    sheet = workbook.create_sheet("Detained")
    for preamble in (["ICE ERO Chicago"], ["Class members in custody"], [],
                     ["Data as of 11/19/2025"], ["Source: EID"], []):
        sheet.append(preamble)
    sheet.append(["Alien File Number", "Last Name", "First Name", "Detention Facility Code",
                  "Detention Facility", "Stay Book In Date Time", "Book Out Date Time",
                  "Detention Release Reason"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_a_government_shaped_custody_workbook(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,Language\n" + "".join(
        f"01234567{n},P{n},Q{n},es\n" for n in range(1, 5)), encoding="utf-8")
    ready("import", listing)
    path = custody_workbook(tmp_path / "custody.xlsx", [
        ["A012345671", "P1", "Q1", "BSAHOLD", "BROADVIEW SERVICE STAGING",
         datetime(2025, 11, 10, 8, 0), None, None],
        ["A012345672", "P2", "Q2", None, "CLAY COUNTY JUSTICE CENTER",
         datetime(2025, 11, 11, 9, 0), None, None],
        ["A012345673", "P3", "Q3", "KRO", "KROME NORTH SPC", datetime(2025, 11, 1, 9, 0),
         datetime(2025, 11, 15, 10, 0), "Bonded Out"],
        ["b(6), b(7)c", "b(6)", "b(6)", "EAZ", "ELOY", None, None, None],
        ["A099999999", "X", "Y", "EAZ", "ELOY", None, None, None],
    ])
    with database.write() as session:
        order = orders.resolve_order(session, CASE)
        report = reconcile(session, order, path, actor=Actor("tester", "cli"), now=NOW)
        ids = {d.a_number: d.id for d in session.scalars(select(Detainee))}
    assert report.found == [ids["012345671"], ids["012345672"]]
    assert report.listed_out == [ids["012345673"]]  # a book-out with a release reason
    assert report.missing == [ids["012345674"]]
    assert report.strangers == [12]  # by line, never by A-number
    assert report.notes == [
        "custody.xlsx: read sheet 'Detained' (its header is on row 7)",
        "custody.xlsx:11: a_number: withheld (FOIA redaction); the line cannot be matched"]
    assert people_by_a_number(database)["012345672"] == ("CLAYCIN", "LOCATED")


def test_a_bad_custody_list_is_refused_before_prefect_starts(
        ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text("Alien File Number,Detention Facility Code\nA-12,BSAHOLD\n", encoding="utf-8")
    code = ("import sys\nfrom workflow.cli import main\n"
            "try:\n"
            f"    main(['run', 'reconcile', {str(path)!r}], prog_name='bondtrack')\n"
            "except SystemExit as exc:\n"
            "    print('EXIT', exc.code, file=sys.stderr)\n"
            "print('PREFECT', 'prefect' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert "bad.csv:2: a_number: not an A-number" in proc.stderr
    # Refused before any flow could start: Prefect was never imported. (How long it takes,
    # next to `bondtrack status`, is bench's `refuse_custody` line, not a timed test.)
    assert "EXIT 1" in proc.stderr and "PREFECT False" in proc.stderr


@pytest.mark.parametrize(("deadline", "closes"), [
    # Sunday 2 Nov 2025, noon in Chicago, hours after DST ended: Friday's windows, still DST.
    (datetime(2025, 11, 2, 18, 0, tzinfo=UTC), {
        "BSAHOLD": "2025-10-31T15:00:00-05:00", "CLAYCIN": "2025-10-31T15:00:00-04:00",
        "EAZ": "2025-10-31T15:00:00-07:00", "HAMILKS": "2025-10-31T15:00:00-06:00"}),
    # A week later, all on standard time but Arizona, which never moved.
    (datetime(2025, 11, 9, 18, 0, tzinfo=UTC), {
        "BSAHOLD": "2025-11-07T15:00:00-06:00", "CLAYCIN": "2025-11-07T15:00:00-05:00",
        "EAZ": "2025-11-07T15:00:00-07:00", "HAMILKS": "2025-11-07T15:00:00-07:00"}),
])
def test_posting_windows_close_in_each_facilitys_zone_across_dst(  # type: ignore[no-untyped-def]
        ready, database: db.Database, deadline: datetime, closes: dict[str, str]) -> None:
    settings = config.load()
    with database.read() as session:
        order = orders.resolve_order(session, CASE)
        got = {}
        for code in closes:
            facility = session.scalar(select(Facility).where(Facility.code == code))
            window = posting.posting_window(order, facility, settings, deadline)
            got[code] = window[1].isoformat() if window else None
    assert got == closes


def test_facility_or_office_hours_override_posting(
        ready, database: db.Database) -> None:  # type: ignore[no-untyped-def]
    deadline = datetime(2025, 11, 9, 18, 0, tzinfo=UTC)
    ready("facility", "edit", "BSAHOLD", "--posting-hours", "08:00-12:00")
    ready("field-office", "edit", "Phoenix", "--posting-hours", "10:00-13:30")
    settings = config.load()
    with database.read() as session:
        order = orders.resolve_order(session, CASE)
        windows = {code: posting.posting_window(order, session.scalar(
            select(Facility).where(Facility.code == code)), settings, deadline)
            for code in ("BSAHOLD", "EAZ", "CLAYCIN")}
    assert {c: (w[0].strftime("%H:%M"), w[1].strftime("%H:%M")) for c, w in windows.items()
            if w} == {"BSAHOLD": ("08:00", "12:00"), "EAZ": ("10:00", "13:30"),
                      "CLAYCIN": ("09:00", "15:00")}


def test_demand_letters_go_to_the_field_offices_street_address(
        ready, database: db.Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,Language,Facility\n012345671,Uno,Ana,es,BSAHOLD\n"
                       "012345672,Dos,Beto,es,KRO\n012345673,Tres,Carla,es,CLAYCIN\n",
                       encoding="utf-8")
    ready("import", listing)
    with database.read() as session:
        order = orders.resolve_order(session, CASE)
        batch = sending.prepare_letters(session, order, config.load(), kind="demand", now=NOW)
    bodies = {letter.stem: letter.body for letter in batch.letters}
    assert set(bodies) == {"demand-chicago", "demand-miami"}
    assert "Chicago Field Office<br>" in bodies["demand-chicago"]
    assert "101 W Ida B Wells Drive, Suite 4000<br>" in bodies["demand-chicago"]
    assert "Chicago, IL 60605" in bodies["demand-chicago"]
    assert "2805 SW 145th Ave" in bodies["demand-miami"]
    by_office = json.loads(ready("status", "--by", "field-office", "--json").output)
    assert {(row["place"], row["office"]) for row in by_office} == {
        ("Chicago", "Chicago Field Office"), ("Miami", "Miami Field Office (Miramar Sub Office)")}
