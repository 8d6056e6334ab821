"""The class list: every bad line named and nothing written; a good list imported once."""

from __future__ import annotations

import csv
import re
import stat
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests.fixtures_foundation import (
    GOOD_ROWS,
    HEADER,
    NOW,
    STAFF,
    counts,
    events_of,
    import_list,
    person,
    write_csv,
)
from workflow.core import dates
from workflow.core.errors import ValidationError
from workflow.orders import orders
from workflow.people import tracking
from workflow.record import db
from workflow.record.models import Detainee, Facility

BAD_ROWS = [
    "A-012-345-678,Nu\u0301n\u0303ez,José,3/7/1985,Mexico,Spanish,BROADIL,"
    "Broadview Processing Center",
    "A-12-345,Ortiz,Rosa,1988-04-04,Mexico,es,BROADIL,",          # 3: too few digits
    "a098765432,,Ana María,1990-01-15,Guatemala,K'iche',BROADIL,",  # 4: no family name
    "098765433,Pérez,Luis,2/30/1990,Honduras,español,,",           # 5: impossible date
    "098765434,López,Carlos,2030-01-01,Mexico,Spanish,,",          # 6: future date
    "A 012 345 678,Núñez,Josefina,1992-02-02,Mexico,Spanish,,",    # 7: same A-number as line 2
    "098765435,Ramírez,Elena,1975-06-06,El Salvador,Spanish,,",    # 8: fine
    "A-ZZZ-345-678,Soto,Mario,1982-08-08,Mexico,Spanish,,",        # 9: letters
    "098765436,Cruz,Lucía,1999-09-09,Venezuela,Spanish,,",         # 10: fine
]
BAD_LINES = {2: "a_number", 3: "a_number", 4: "family_name", 5: "date_of_birth",
             6: "date_of_birth", 7: "a_number", 9: "a_number"}
FIXED_ROWS = [
    BAD_ROWS[0],
    "A-012-000-111,Ortiz,Rosa,1988-04-04,Mexico,es,BROADIL,",
    "a098765432,García,Ana María,1990-01-15,Guatemala,K'iche',BROADIL,",
    "098765433,Pérez,Luis,2/28/1990,Honduras,español,,",
    "098765434,López,Carlos,2000-01-01,Mexico,Spanish,,",
    "A 012 345 679,Núñez,Josefina,1992-02-02,Mexico,Spanish,,",
    BAD_ROWS[6],
    "A-098-765-437,Soto,Mario,1982-08-08,Mexico,Spanish,,",
    BAD_ROWS[8],
]
PROBLEM = re.compile(r"^(?P<file>[\w.-]+):(?P<line>\d+): (?P<column>[a-z_()]+): (?P<message>.+)$")


@pytest.fixture
def bad_list(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "class-list.csv", [HEADER, *BAD_ROWS], bom=True, newline="\r\n")


@pytest.fixture
def fixed_list(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "class-list.csv", [HEADER, *FIXED_ROWS], bom=True, newline="\r\n")


def refused(database: db.Database, path: Path, **options) -> list[str]:  # type: ignore[no-untyped-def]
    """Import ``path`` expecting a refusal that writes nothing; return the problems."""
    before = counts(database)
    with pytest.raises(ValidationError) as caught:
        import_list(database, path, **options)
    assert counts(database) == before
    assert "nothing was imported" in str(caught.value) or not caught.value.problems
    return caught.value.problems or [str(caught.value)]


def facility_codes(database: db.Database) -> set[str]:
    with database.read() as session:
        return set(session.scalars(select(Facility.code)))


def test_a_bad_class_list_names_every_bad_line_and_writes_nothing(
    with_order: db.Database, bad_list: Path
) -> None:
    problems = refused(with_order, bad_list)
    parsed = [PROBLEM.match(p) for p in problems]
    assert all(parsed), problems
    assert {(int(m["line"]), m["column"]) for m in parsed} == set(BAD_LINES.items())  # type: ignore[index]
    assert {m["file"] for m in parsed} == {"class-list.csv"}  # type: ignore[index]
    assert [int(m["line"]) for m in parsed] == sorted(int(m["line"]) for m in parsed)  # type: ignore[index]
    assert facility_codes(with_order) == set()


def test_problems_say_what_is_wrong(with_order: db.Database, bad_list: Path) -> None:
    problems = "\n".join(refused(with_order, bad_list))
    assert "class-list.csv:3: a_number: not an A-number" in problems
    assert "class-list.csv:4: family_name: is required" in problems
    assert "class-list.csv:5: date_of_birth: not a date" in problems
    assert "class-list.csv:6: date_of_birth: is in the future" in problems
    assert "class-list.csv:2: a_number: the same A-number is on line(s) 7" in problems
    assert "class-list.csv:7: a_number: the same A-number is on line(s) 2" in problems


def test_problems_never_quote_names_or_a_numbers(with_order: db.Database, bad_list: Path) -> None:
    problems = "\n".join(refused(with_order, bad_list))
    for secret in ("Ortiz", "Núñez", "Pérez", "López", "012", "345", "098765", "ZZZ", "1990"):
        assert secret not in problems


def test_the_fixed_list_imports_every_row(with_order: db.Database, fixed_list: Path) -> None:
    result = import_list(with_order, fixed_list)
    assert (result.created, result.updated, result.unchanged) == (len(FIXED_ROWS), 0, 0)
    assert counts(with_order)[0] == len(FIXED_ROWS)
    first = person(with_order, "012345678")
    assert (first.family_name, first.given_name, first.stage) == ("Núñez", "José", "INTAKE")
    assert first.date_of_birth == date(1985, 3, 7)
    assert (first.language, first.country_of_birth) == ("es", "Mexico")
    assert first.facility is not None and first.facility.name == "Broadview Processing Center"
    assert person(with_order, "098765432").language == "quc"
    assert person(with_order, "98765433").date_of_birth == date(1990, 2, 28)


def test_each_new_person_gets_one_imported_event(with_order: db.Database, fixed_list: Path) -> None:
    import_list(with_order, fixed_list)
    events = events_of(with_order, "A-012-345-678")
    assert [(e.kind, e.to_stage, e.actor, e.source, e.at) for e in events] == [
        ("imported", "INTAKE", "tester", "import", NOW)
    ]


def test_importing_the_same_list_again_changes_nothing(with_order: db.Database,
                                                       fixed_list: Path) -> None:
    import_list(with_order, fixed_list)
    before = counts(with_order)
    version = person(with_order, "012345678").version
    result = import_list(with_order, fixed_list)
    assert (result.created, result.updated, result.unchanged) == (0, 0, len(FIXED_ROWS))
    assert counts(with_order) == before
    assert person(with_order, "012345678").version == version


def test_a_changed_field_is_updated_with_one_event_per_field(
    with_order: db.Database, fixed_list: Path, tmp_path: Path
) -> None:
    import_list(with_order, fixed_list)
    changed = [row.replace("El Salvador,Spanish", "Guatemala,Mam") for row in FIXED_ROWS]
    result = import_list(with_order, write_csv(tmp_path / "v2.csv", [HEADER, *changed]))
    assert (result.created, result.updated, result.field_changes) == (0, 1, 2)
    updates = [e for e in events_of(with_order, "098765435") if e.kind == "updated"]
    assert [e.payload for e in updates] == [
        {"field": "country_of_birth", "from": "El Salvador", "to": "Guatemala"},
        {"field": "language", "from": "es", "to": "mam"},
    ]
    assert all(e.actor == "tester" and e.source == "import" and e.at == NOW for e in updates)
    assert person(with_order, "098765435").language == "mam"


def test_a_changed_date_of_birth_is_recorded_as_iso(
    imported: db.Database, tmp_path: Path
) -> None:
    rows = [GOOD_ROWS[0].replace("3/7/1985", "1985-07-03"), *GOOD_ROWS[1:]]
    import_list(imported, write_csv(tmp_path / "v2.csv", [HEADER, *rows]))
    (update,) = [e for e in events_of(imported, "012345678") if e.kind == "updated"]
    assert update.payload == {"field": "date_of_birth", "from": "1985-03-07", "to": "1985-07-03"}


def test_the_lists_facility_fills_in_people_not_yet_located_only(
    imported: db.Database, tmp_path: Path
) -> None:
    with imported.write() as session:
        order = orders.resolve_order(session, None)
        located = orders.find_detainee(session, order, "012345678")
        tracking.locate(session, located, located.facility, actor=STAFF, now=NOW)  # type: ignore[arg-type]
    moved = [row.replace(",BROADIL,", ",KROME,Krome Service Processing Center").replace(
        ",Broadview Processing Center", "") for row in GOOD_ROWS[:2]]
    import_list(imported, write_csv(tmp_path / "v2.csv", [HEADER, *moved, GOOD_ROWS[2]]))
    assert person(imported, "012345678").facility.code == "BROADIL"  # type: ignore[union-attr]
    assert person(imported, "098765432").facility.code == "KROME"  # type: ignore[union-attr]
    (update,) = [e for e in events_of(imported, "098765432") if e.kind == "updated"]
    assert update.payload == {"field": "facility", "from": "BROADIL", "to": "KROME"}


def test_an_xlsx_class_list_imports_with_date_and_number_cells(
    with_order: db.Database, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["A-Number", "Last Name", "First Name", "Date of Birth", "Language", "Phone"])
    sheet.append([12345678, "Núñez", "José", datetime(1985, 3, 7), "Spanish", 3125550100])
    sheet.append(["A-098-765-432", "García", "Ana", date(1990, 1, 15), "K'iche'", None])
    sheet.append([None, None, None, None, None, None])
    sheet.append([98765433.0, "Pérez", "Luis", "12/31/1979", "unknown", None])
    path = tmp_path / "class-list.xlsx"
    workbook.save(path)
    result = import_list(with_order, path)
    assert result.created == 3
    first = person(with_order, "012345678")
    assert (first.date_of_birth, first.phone, first.language) == \
        (date(1985, 3, 7), "3125550100", "es")
    assert person(with_order, "098765432").date_of_birth == date(1990, 1, 15)
    assert person(with_order, "098765433").date_of_birth == date(1979, 12, 31)


def test_an_xlsx_problem_names_the_spreadsheet_row(with_order: db.Database, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["A#", "Last Name", "First Name", "DOB", "Language"])
    sheet.append([12345678, "Núñez", "José", datetime(1985, 3, 7), "es"])
    sheet.append([1234, "Pérez", "Luis", datetime(2030, 1, 1), "es"])
    path = tmp_path / "class-list.xlsx"
    workbook.save(path)
    assert refused(with_order, path) == [
        "class-list.xlsx:3: a_number: not an A-number (8 or 9 digits, optionally after 'A')",
        "class-list.xlsx:3: date_of_birth: is in the future",
    ]


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(
    with_order: db.Database, bad_list: Path, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    result = import_list(with_order, bad_list, rejects=rejects)
    good = len(BAD_ROWS) - len(BAD_LINES)
    assert (result.created, result.rejected) == (good, len(BAD_LINES))
    assert counts(with_order)[0] == good
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    with rejects.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(BAD_LINES)
    assert [row["reason"].split(":")[0] for row in rows] == list(BAD_LINES.values())
    assert rows[2]["family_name"] == "" and rows[2]["reason"] == "family_name: is required"
    assert rows[0]["family_name"] == "Nu\u0301n\u0303ez"  # the row as the list had it, to fix


def test_dry_run_validates_and_counts_but_writes_nothing(
    with_order: db.Database, class_list: Path
) -> None:
    before = counts(with_order)
    result = import_list(with_order, class_list, dry_run=True)
    assert (result.created, result.dry_run) == (len(GOOD_ROWS), True)
    assert counts(with_order) == before
    assert facility_codes(with_order) == set()


def test_dry_run_of_a_changed_list_counts_changes_and_keeps_the_old_values(
    imported: db.Database, tmp_path: Path
) -> None:
    before = counts(imported)
    changed = [GOOD_ROWS[0].replace("Mexico", "Guatemala"), *GOOD_ROWS[1:]]
    result = import_list(imported, write_csv(tmp_path / "v2.csv", [HEADER, *changed]), dry_run=True)
    assert (result.updated, result.field_changes) == (1, 1)
    assert counts(imported) == before
    assert person(imported, "012345678").country_of_birth == "Mexico"


@pytest.mark.parametrize(
    "header",
    ["A#,LAST NAME,First Name,DOB,Language", "a #,last_name,FIRST_NAME,Date of Birth,LANGUAGE",
     "Alien Number,Surname,Nombre,Birth Date,Idioma",
     "a_number,family_name,given_name,date_of_birth,primary_language"],
)
def test_headers_are_matched_case_insensitively_with_aliases(
    with_order: db.Database, tmp_path: Path, header: str
) -> None:
    path = write_csv(tmp_path / "list.csv", [header, "A-012-345-678,Núñez,José,3/7/1985,es"])
    assert import_list(with_order, path).created == 1
    assert person(with_order, "012345678").date_of_birth == date(1985, 3, 7)


def test_unknown_columns_are_ignored_and_reported(with_order: db.Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,First Name,Language,Shoe Size",
                                             "A-012-345-678,Núñez,José,es,42"])
    result = import_list(with_order, path)
    assert (result.created, result.ignored_columns) == (1, ["Shoe Size"])


def test_an_unknown_facility_code_without_a_name_is_an_error(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [HEADER, "A-012-345-678,Núñez,José,,,es,NEWFAC,"])
    assert refused(with_order, path) == [
        "list.csv:2: facility_code: unknown facility: add facility_name to create it"
    ]


def test_an_unknown_facility_code_with_a_name_creates_the_facility(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        HEADER, "A-012-345-678,Núñez,José,,,es,newfac,New  Facility",
        "A-012-345-679,Núñez,Josefina,,,es,NEWFAC,",
    ])
    import_list(with_order, path)
    facility = person(with_order, "012345679").facility
    assert facility is not None and (facility.code, facility.name) == ("NEWFAC", "New Facility")
    assert facility_codes(with_order) == {"NEWFAC"}


def test_a_facility_named_only_on_a_rejected_row_is_still_created_for_the_good_rows(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        HEADER, "A-012-345-678,Núñez,José,2/30/1985,,es,NEWFAC,New Facility",
        "A-012-345-679,Núñez,Josefina,,,es,NEWFAC,",
    ])
    result = import_list(with_order, path, rejects=tmp_path / "rejects.csv")
    assert (result.created, result.rejected) == (1, 1)
    assert person(with_order, "012345679").facility.name == "New Facility"  # type: ignore[union-attr]


def test_a_duplicate_is_named_even_when_its_twin_has_other_problems(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", [
        HEADER, "A-012-345-678,Núñez,José,3/7/1985,,es,,", "012345678,Núñez,José,2/30/1985,,es,,",
    ])
    problems = refused(with_order, path)
    assert "list.csv:2: a_number: the same A-number is on line(s) 3" in problems
    assert "list.csv:3: a_number: the same A-number is on line(s) 2" in problems
    assert "list.csv:3: date_of_birth: " + dates.NOT_A_DATE in problems


def test_a_long_list_reports_problems_row_by_row_across_thousands_of_lines(
    with_order: db.Database, tmp_path: Path
) -> None:
    """Rows are read a thousand at a time: problems, twins and progress stay row by row."""
    rows = [f"{100_000_000 + n},Núñez,José,3/7/1985,Mexico,Spanish,," for n in range(2500)]
    rows[999] = "100000999,,José,2/30/1985,Mexico,Spanish,,"  # line 1001: two problems
    rows[1000] = "100000001,Núñez,José,3/7/1985,Mexico,,,"  # line 1002: a twin of line 3
    rows[2499] = "A-12,Núñez,José,3/7/2030,Mexico,Spanish,,"  # line 2501
    path = write_csv(tmp_path / "long.csv", [HEADER, *rows])
    told: list[tuple[int, int]] = []
    problems = refused(with_order, path, progress=lambda done, total: told.append((done, total)))
    assert problems == [
        "long.csv:3: a_number: the same A-number is on line(s) 1002",
        "long.csv:1001: family_name: is required",
        "long.csv:1001: date_of_birth: " + dates.NOT_A_DATE,
        "long.csv:1002: language: is required",
        "long.csv:1002: a_number: the same A-number is on line(s) 3",
        "long.csv:2501: a_number: not an A-number (8 or 9 digits, optionally after 'A')",
        "long.csv:2501: date_of_birth: is in the future",
    ]
    assert told == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_a_class_list_that_is_not_utf8_is_read_as_windows_1252_with_a_note(
        with_order: db.Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\nA-012-345-678,Núñez,José,,,es,,\n".encode("latin-1"))
    result = import_list(with_order, path)
    assert result.notes == ["latin1.csv: not UTF-8; read as Windows-1252"]
    with with_order.read() as session:
        assert session.scalars(select(Detainee.family_name)).all() == ["Núñez"]
    assert refused(with_order, path, encoding="utf-8") == [
        "latin1.csv:2: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
    ]


def test_a_class_list_in_no_known_encoding_is_refused(
        with_order: db.Database, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"  # 0x81 is undefined in Windows-1252, and not UTF-8 either
    path.write_bytes(f"{HEADER}\nA-012-345-678,N".encode() + b"\x81\xff" + b",Jose,,,es,,\n")
    assert refused(with_order, path) == ["odd.csv:2: neither UTF-8 nor Windows-1252 text"]


def test_a_class_list_with_nul_bytes_is_refused(with_order: db.Database, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(f"{HEADER}\nA-012-345-678,Nú\x00ñez,José,,,es,,\n".encode())
    assert refused(with_order, path) == ["nul.csv: binary data, not a CSV text file"]


def test_an_overlong_cell_is_refused(with_order: db.Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", ["A#,Last Name,First Name,Language,Notes",
                                             f"A-012-345-678,Núñez,José,es,{'x' * 2001}"])
    assert refused(with_order, path) == ["long.csv:2: notes: longer than 2000 characters"]


def test_a_name_longer_than_the_record_holds_is_refused(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "long.csv", ["A#,Last Name,First Name,Language",
                                             f"A-012-345-678,{'N' * 201},José,{'x' * 41}"])
    assert refused(with_order, path) == [
        "long.csv:2: family_name: longer than 200 characters",
        "long.csv:2: language: longer than 40 characters",
    ]


def test_a_missing_required_column_is_refused(with_order: db.Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,DOB,Language",
                                             "A-012-345-678,Núñez,3/7/1985,es"])
    assert refused(with_order, path) == ["list.csv:1: given_name: required column is missing"]


def test_a_column_given_twice_is_refused(with_order: db.Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,First Name,Language,A-Number",
                                             "A-012-345-678,Núñez,José,es,A-012-345-678"])
    assert refused(with_order, path) == ["list.csv:1: a_number: this column appears twice"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("empty.csv", b"", "empty.csv: the file is empty"),
     ("list.pdf", b"%PDF-1.4", "list.pdf: not a .csv or .xlsx file"),
     ("broken.xlsx", b"not a zip", "broken.xlsx: not a readable XLSX workbook"),
     ("quotes.csv", b'A#,Last Name,First Name,Language\n"A-012-345-678,"N"u,Jos,es\n',
      "quotes.csv:2: the CSV is malformed (check quotes)")],
)
def test_an_unreadable_file_is_one_clear_error(
    with_order: db.Database, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert refused(with_order, path) == [message]


def test_a_row_with_more_cells_than_columns_is_refused(with_order: db.Database,
                                                       tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,First Name,Language",
                                             "A-012-345-678,Núñez,José,es,extra"])
    assert refused(with_order, path) == ["list.csv:2: (row): more cells than there are columns"]


def test_a_quoted_cell_across_lines_keeps_the_line_numbers_right(
    with_order: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,First Name,Language,Notes",
                                             'A-012-345-678,Núñez,José,es,"two\nlines"',
                                             "1234,Pérez,Luis,es,"], newline="\r\n")
    assert [p.split(": ")[0] for p in refused(with_order, path)] == ["list.csv:4"]


def test_the_cli_refuses_a_bad_list_with_every_problem_on_stderr(
    cli, court_order: str, database: db.Database, bad_list: Path  # type: ignore[no-untyped-def]
) -> None:
    before = counts(database)
    result = cli("import", bad_list, ok=False)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == \
        f"Error: {len(BAD_LINES)} problem(s) in class-list.csv; nothing was imported"
    assert {int(PROBLEM.match(line)["line"]) for line in lines[:-1]} == set(BAD_LINES)  # type: ignore[index]
    assert "Traceback" not in result.output and result.stdout == ""
    assert counts(database) == before


def test_the_cli_imports_the_fixed_list_then_nothing_on_the_second_run(
    cli, court_order: str, database: db.Database, fixed_list: Path  # type: ignore[no-untyped-def]
) -> None:
    assert cli("import", fixed_list).stdout == (
        f"imported: {len(FIXED_ROWS)} new, 0 updated (0 fields), 0 unchanged, 0 rejected\n")
    before = counts(database)
    assert cli("import", fixed_list).stdout == (
        f"imported: 0 new, 0 updated (0 fields), {len(FIXED_ROWS)} unchanged, 0 rejected\n")
    assert counts(database) == before


def test_the_cli_dry_run_writes_nothing(
    cli, court_order: str, database: db.Database, class_list: Path  # type: ignore[no-untyped-def]
) -> None:
    before = counts(database)
    result = cli("import", class_list, "--dry-run")
    assert result.stdout.startswith(f"would import: {len(GOOD_ROWS)} new")
    assert counts(database) == before


def test_the_cli_skip_invalid_reports_the_rejects(
    cli, court_order: str, database: db.Database, bad_list: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    rejects = tmp_path / "rejects.csv"
    result = cli("import", bad_list, "--skip-invalid", rejects)
    assert f"{len(BAD_LINES)} rejected; rejects written to {rejects}" in result.stdout
    assert "class-list.csv:3: a_number: not an A-number" in result.stderr
    assert counts(database)[0] == len(BAD_ROWS) - len(BAD_LINES)
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
