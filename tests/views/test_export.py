"""Exports: every field staff need offline, formula-safe in CSV and XLSX, private, audited."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import event as sa_event
from sqlalchemy import select

from tests.fixtures_report import (
    HOSTILE_CONDITIONS,
    HOSTILE_NAMES,
    HOSTILE_OBLIGOR,
    ROUND_2,
    Caseload,
)
from workflow.core.files import inert
from workflow.orders.orders import resolve_order
from workflow.record.models import Event
from workflow.views import export

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_hostile_names_export_as_inert_text_in_csv(cli, caseload: Caseload, tmp_path: Path) -> None:
    out = tmp_path / "people.csv"
    assert cli("export", "--out", out).output.strip() == f"exported 12 people to {out}"
    rows = read_csv(out)
    family = {row["a_number"]: row["family_name"] for row in rows}
    for number, name in enumerate(HOSTILE_NAMES, start=1):
        assert family[f"A200-000-00{number}"] == "'" + name
    bond = next(row for row in rows if row["a_number"] == "A200-000-002")
    assert bond["obligor_name"] == "'" + HOSTILE_OBLIGOR
    assert bond["bond_conditions"] == "'" + HOSTILE_CONDITIONS
    assert not [cell for row in rows for cell in row.values() if cell.startswith(FORMULA_START)]
    assert family["A200-000-005"] == "Núñez", "ordinary names are untouched"


def test_hostile_names_export_as_inert_text_in_xlsx(cli, caseload: Caseload,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "people.xlsx"
    cli("export", "--out", out)
    sheet = load_workbook(out)["People"]
    header = [cell.value for cell in sheet[1]]
    cells = {(row[0].value, header[i]): cell
             for row in sheet.iter_rows(min_row=2) for i, cell in enumerate(row)}
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    link = cells[(next(r[0].value for r in sheet.iter_rows(min_row=2)
                       if r[1].value == "A200-000-001"), "family_name")]
    assert link.value == "'" + HOSTILE_NAMES[0] and link.data_type == "s"
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [text for text in texts if text.startswith(FORMULA_START)]
    # XML reads a carriage return back as a line feed; the guard in front is what matters.
    assert "'" + HOSTILE_OBLIGOR in texts and "'" + HOSTILE_CONDITIONS.replace("\r", "\n") in texts
    last = get_column_letter(len(export.COLUMNS))
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"


def test_xlsx_carries_every_column_with_real_times_and_amounts(cli, caseload: Caseload,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "people.xlsx"
    cli("export", "--out", out)
    rows = list(load_workbook(out)["People"].iter_rows(values_only=True))
    assert list(rows[0]) == list(export.COLUMNS)
    posted = dict(zip(rows[0], next(r for r in rows if r[1] == "A200-000-008"), strict=True))
    assert posted["bond_amount_usd"] == 1500 and posted["stage"] == "BOND_POSTED"
    assert posted["receipt_number"] == "I305-0008" and posted["facility_code"] == "KENOSWI"
    assert posted["bond_posted_at"].isoformat() == "2025-11-20T13:00:00"  # court wall time
    assert posted["date_of_birth"] == "1990-01-15"
    assert posted["hours_in_stage"] == 2.0  # posted at 13:00, exported at 15:00


def test_json_export_keeps_names_exactly_and_says_what_was_asked(cli, caseload: Caseload,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "people.json"
    cli("export", "--format", "json", "--stage", "intake", "--stage", "BOND_SET", "--out", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["stages"] == ["INTAKE", "BOND_SET"]
    assert data["order"]["case_number"] == caseload.case
    assert [p["a_number_display"] for p in data["people"]] == caseload.a_numbers(
        "INTAKE", "BOND_SET")
    assert all(p["a_number"] == p["a_number_display"][1:].replace("-", "")
               for p in data["people"])  # canonical, what a program joins on
    family = {p["a_number_display"]: p["family_name"] for p in data["people"]}
    assert family["A200-000-002"] == HOSTILE_NAMES[1], "JSON is data, not a spreadsheet"
    assert data["people"][0]["stage_since"] == "2025-11-20T13:00:00-06:00"


def test_export_is_an_audit_event_with_operator_filter_and_count(cli, caseload: Caseload,
                                                                database, tmp_path: Path) -> None:
    cli("export", "--stage", "BOND_SET", "--stage", "bond_posted", "--out", tmp_path / "bond.csv")
    cli("export", "--out", tmp_path / "all.xlsx")
    with database.read() as session:
        events = [(e.actor, e.source, e.payload) for e in session.scalars(
            select(Event).where(Event.kind == "exported").order_by(Event.id))]
    assert events == [
        ("tester", "cli", {"format": "csv", "stages": ["BOND_SET", "BOND_POSTED"], "rows": 2,
                           "file": "bond.csv"}),
        ("tester", "cli", {"format": "xlsx", "stages": [], "rows": 12, "file": "all.xlsx"}),
    ]


def test_export_files_are_private_and_replace_an_old_file(cli, caseload: Caseload,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "people.csv"
    out.write_text("old, readable by all\n")
    out.chmod(0o644)
    cli("export", "--out", out)
    assert (out.stat().st_mode & 0o777) == 0o600
    assert len(read_csv(out)) == 12
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_refuses_unknown_stage_and_format_without_writing(cli, caseload: Caseload,
                                                                database, tmp_path: Path) -> None:
    bad_stage = cli("export", "--stage", "FREED", "--out", tmp_path / "x.csv", ok=False)
    assert bad_stage.exit_code == 1
    assert bad_stage.output.startswith("Error: unknown stage FREED: use one of INTAKE, LOCATING")
    bad_format = cli("export", "--out", tmp_path / "x.pdf", ok=False)
    assert bad_format.exit_code == 1 and "give --format (csv|xlsx|json)" in bad_format.output
    assert list(tmp_path.glob("x.*")) == []
    with database.read() as session:
        assert session.scalars(select(Event).where(Event.kind == "exported")).all() == []


def test_export_rows_come_from_one_query_however_many_people(database,
                                                             caseload: Caseload) -> None:
    """The plain function: one row per person, the active bond joined, no query per person."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa_event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.read() as session:
            order = resolve_order(session, caseload.case)
            before = len(statements)
            rows = export.export_rows(session, order, ROUND_2)
            queries = len(statements) - before
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", seen)
    assert len(rows) == 12 and queries == 1
    assert [row["bond_amount_usd"] for row in rows if row["stage"] == "BOND_SET"] == [1500.0]


def test_inert_guards_every_formula_start_and_nothing_else() -> None:
    for hostile in ("=1+1", "+1", "-2", "@SUM(A1)", "\tX", "\rX"):
        assert inert(hostile) == "'" + hostile
    for harmless in ("Núñez", "O'Brien", " =1", "", 1500, None):
        assert inert(harmless) == harmless
