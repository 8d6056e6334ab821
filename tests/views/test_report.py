"""The compliance report: the numbers status states, everyone outstanding once, audited."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.fixtures_demo import Demo
from tests.fixtures_report import (
    BETWEEN,
    HOSTILE_NAMES,
    ROUND_2,
    SUMMARY_LINES,
    Caseload,
    pdf_text,
    status_json,
    summary_numbers,
)
from tests.support import README
from workflow.core import clock, config
from workflow.core.stages import OUTSTANDING
from workflow.orders.orders import resolve_order
from workflow.record import db
from workflow.record.models import CourtOrder, Event
from workflow.views import compliance

OUTSTANDING_STAGES = tuple(stage.value for stage in OUTSTANDING)


def report_pdf(cli, tmp_path: Path, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.pdf"
    cli("report", "--out", out, *args)
    return pdf_text(out)


def test_report_pdf_states_the_numbers_of_status_json(cli, caseload: Caseload,
                                                      tmp_path: Path) -> None:
    text = report_pdf(cli, tmp_path)
    status = status_json(cli)
    stated = summary_numbers(text)
    assert set(stated) == set(SUMMARY_LINES), "every summary line is printed"
    assert stated == {label: count(status) for label, count in SUMMARY_LINES.items()}
    assert stated["Outstanding"] == 6 and stated["Released"] == 2


def test_report_lists_everyone_and_every_outstanding_person_exactly_once(
        cli, caseload: Caseload, tmp_path: Path) -> None:
    text = report_pdf(cli, tmp_path)
    outstanding = caseload.a_numbers(*OUTSTANDING_STAGES)
    assert len(outstanding) == 6
    annexes, annex_e = text.split("Annex E: Released or held on terms", 1)
    for a_number in caseload.a_numbers(*caseload.stages.values()):
        assert annexes.count(a_number) == 1, a_number
    # Person 2's bond carries conditions the order never allowed: a finding, listed again in E.
    annex_e = " ".join(annex_e.split())
    assert "A200-000-002" in annex_e and "conditions: =1+1 conditions not ordered" in annex_e
    annex_b = text.split("Annex B: Outstanding (6)", 1)[1].split("Annex C", 1)[0]
    assert [a for a in outstanding if a in annex_b] == outstanding


def test_report_caption_names_the_court_case_judge_and_deadline_in_court_time(
        cli, caseload: Caseload, tmp_path: Path) -> None:
    text = report_pdf(cli, tmp_path)
    for expected in ("N.D. ILL.", "1:18-cv-03757", "Jeffrey I. Cummings", "2025-11-12",
                     "Fri 21 Nov 2025, 12:00 CST", "As of", "Thu 20 Nov 2025, 15:00 CST",
                     "time left 21 h", "Page 1 of"):
        assert expected in text, expected


def test_report_explains_why_each_outstanding_person_is_not_out(
        cli, caseload: Caseload, database, settings, tmp_path: Path) -> None:
    with database.read() as session:
        data = compliance.report_data(session, resolve_order(session, caseload.case), ROUND_2,
                                      settings)
    why = {row["a_number"]: (row["stage"], row["blocker"]) for row in data["outstanding"]}
    assert why == {
        "A200-000-002": ("BOND_SET", "bond set; not posted"),
        "A200-000-004": ("INTAKE", "search not started"),
        "A200-000-005": ("LOCATING", "not located yet"),
        "A200-000-006": ("LOCATING", "transferred; locate at the new facility"),
        "A200-000-008": ("BOND_POSTED", "bond posted; awaiting release"),
        "A200-000-012": ("INTAKE", "search not started"),
    }
    notes = {row["a_number"]: row["notes"] for row in data["outstanding"]}
    assert notes["A200-000-004"] == "needs a K'iche' interpreter"
    assert [(r["a_number"], r["how"]) for r in data["released"]] == [
        ("A200-000-001", "on bond"), ("A200-000-007", "without bond: recognizance")]
    assert [(r["reason"], r["decided_by"], r["note"]) for r in data["excluded"]] == [
        ("mandatory-detention", "tester", "IJ order on file"), ("security-threat", "tester", None)]
    cli("report", "--out", tmp_path / "report.pdf")
    text = " ".join(pdf_text(tmp_path / "report.pdf", layout=False).split())
    for stated in ("bond posted; awaiting release", "transferred; locate at the new facility",
                   "needs a K'iche' interpreter", "without bond: recognizance", "IJ order on file"):
        assert stated in text, stated


def test_report_as_of_an_earlier_time_states_the_record_as_it_stood(cli, caseload: Caseload,
                                                                    tmp_path: Path) -> None:
    text = report_pdf(cli, tmp_path, "--as-of", BETWEEN)
    stated = summary_numbers(text)
    # Between the rounds: only the departure resolved; the release and exclusions came later.
    assert stated["Released"] == 0 and stated["Departed or removed"] == 1
    assert stated["Excluded from the order"] == 1 and stated["Outstanding"] == 10
    assert stated["Bond posted, awaiting release"] == 2
    assert "Thu 20 Nov 2025, 14:00 CST" in text
    assert "The projection is shown only in a report as of the time it is made." in text


def test_report_as_of_the_future_is_refused_in_one_line(cli, caseload: Caseload,
                                                       tmp_path: Path) -> None:
    result = cli("report", "--out", tmp_path / "r.pdf", "--as-of", "2025-11-22 12:00", ok=False)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: the as-of time is in the future: a report states what has happened")
    assert not (tmp_path / "r.pdf").exists()


def test_report_is_audited_private_and_leaves_no_partial_file(cli, caseload: Caseload,
                                                             database, tmp_path: Path) -> None:
    out = tmp_path / "court" / "report.pdf"
    printed = cli("report", "--out", out).output
    assert printed.strip() == f"wrote the compliance report (12 people) to {out}"
    assert (out.stat().st_mode & 0o777) == 0o600
    assert (out.parent.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.pdf"]
    with database.read() as session:
        event = session.scalars(select(Event).where(Event.kind == "report-generated")).one()
        who, source, payload = event.actor, event.source, event.payload
    assert who == "tester" and source == "cli"
    assert payload == {"format": "pdf", "as_of": "2025-11-20T15:00:00-06:00",
                             "file": "report.pdf", "covered": 10, "resolved": 4,
                             "outstanding": 6, "excluded": 2}


def test_report_csv_has_the_summary_and_the_annexes_with_inert_names(cli, caseload: Caseload,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    cli("report", "--out", out)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    parts = {part: [r for r in rows if r["part"] == part]
             for part in ("summary", "released", "outstanding", "excluded", "departed")}
    assert {r["label"]: int(r["people"]) for r in parts["summary"]}["Outstanding"] == 6
    assert [r["a_number"] for r in parts["outstanding"]] == caseload.a_numbers(*OUTSTANDING_STAGES)
    assert [r["a_number"] for r in parts["released"]] == caseload.a_numbers("RELEASED")
    assert [r["a_number"] for r in parts["excluded"]] == caseload.a_numbers("EXCLUDED")
    assert [r["a_number"] for r in parts["departed"]] == caseload.a_numbers("DEPARTED",
                                                                            "NOT_IN_CUSTODY")
    family = {r["a_number"]: r["family_name"] for r in rows if r["a_number"]}
    assert family["A200-000-001"] == "'" + HOSTILE_NAMES[0]
    assert family["A200-000-003"] == "'" + HOSTILE_NAMES[2]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for row in rows for cell in row.values())


def test_report_xlsx_reads_back_with_a_tab_per_annex(cli, caseload: Caseload,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    cli("report", "--out", out)
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Summary", "Released", "Outstanding", "Excluded", "Departed",
                                   "Terms findings"]
    terms = list(workbook["Terms findings"].iter_rows(values_only=True))
    assert [dict(zip(terms[0], r, strict=True))["a_number"] for r in terms[1:]] == ["A200-000-002"]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Case"] == "1:18-cv-03757" and summary["Outstanding"] == 6
    outstanding = list(workbook["Outstanding"].iter_rows(values_only=True))
    header = outstanding[0]
    assert [dict(zip(header, r, strict=True))["a_number"] for r in outstanding[1:]] == \
        caseload.a_numbers(*OUTSTANDING_STAGES)
    cells = [c for tab in workbook for row in tab.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells), "no cell is a formula"
    names = {c.value for c in cells if isinstance(c.value, str)}
    assert "'" + HOSTILE_NAMES[0] in names and HOSTILE_NAMES[0] not in names


def test_report_html_is_the_same_page_as_the_pdf(cli, caseload: Caseload, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    cli("report", "--out", out)
    page = out.read_text(encoding="utf-8")
    assert "Annex B: Outstanding (6)" in page and "<script" not in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page, "names are escaped HTML"


def test_report_format_comes_from_the_option_or_the_file_name(cli, caseload: Caseload,
                                                              tmp_path: Path) -> None:
    cli("report", "--format", "json", "--out", tmp_path / "report.txt")
    data = json.loads((tmp_path / "report.txt").read_text(encoding="utf-8"))
    assert data["counts"]["outstanding"] == 6
    refused = cli("report", "--out", tmp_path / "report.doc", ok=False)
    assert refused.exit_code == 1
    assert "cannot tell the format from 'report.doc'" in refused.output


def test_report_data_as_of_now_is_every_event(database, settings, caseload: Caseload) -> None:
    """A move stamped a few minutes ahead of our clock still counts in a report as of now."""
    with database.read() as session:
        order = resolve_order(session, caseload.case)
        now = ROUND_2
        live = compliance.report_data(session, order, now, settings)
        earlier = compliance.report_data(session, order, now, settings, as_of=now)
    assert live["live"] and not earlier["live"]
    assert live["counts"] == earlier["counts"]
    assert live["projection"]["outstanding"] == live["counts"]["outstanding"]


def test_status_by_facility_and_field_office(cli, caseload: Caseload) -> None:
    rows = json.loads(cli("status", "--by", "facility", "--json").output)
    by_place = {row["place"]: row for row in rows}
    # Bond set, bond posted, transferred there, and one the class list put there.
    assert by_place["KENOSWI"]["outstanding"] == 4
    assert by_place["KENOSWI"]["bond_set"] == by_place["KENOSWI"]["bond_posted"] == 1
    assert by_place["KENOSWI"]["name"] == "Kenosha County Detention Center"
    assert by_place[None]["outstanding"] == 2 and by_place[None]["intake"] == 1
    assert by_place["KENOSWI"]["oldest_in_stage_hours"] == 3.0  # in INTAKE since the import
    offices = cli("status", "--by", "field-office", "--csv").output.splitlines()
    assert offices[0] == ("place,office,outstanding,intake,locating,located,bond_set,"
                          "bond_posted,oldest_in_stage_hours")
    assert sum(int(line.split(",")[2]) for line in offices[1:]) == 6


@pytest.mark.slow
def test_the_demo_report_states_status_and_lists_everyone_outstanding_once(
        demo_615: Demo, home: Path) -> None:
    """The acceptance test: the demo's own PDF, read back, against `bondtrack status --json`."""
    result = demo_615
    env = {**os.environ, "BONDTRACK_HOME": str(result.home)}
    status = json.loads(subprocess.run(
        [str(Path(sys.executable).parent / "bondtrack"), "status", "--json"], env=env,
        capture_output=True, text=True, check=True, timeout=120).stdout)
    text = pdf_text(result.home / "compliance-report.pdf")
    assert summary_numbers(text) == {label: count(status) for label, count in SUMMARY_LINES.items()}
    database = db.connect(config.load({"BONDTRACK_HOME": str(result.home)}))
    with database.read() as session:
        order = session.scalars(select(CourtOrder)).one()
        data = compliance.report_data(session, order, clock.now(), database.settings)
    database.dispose()
    outstanding = [row["a_number"] for row in data["outstanding"]]
    assert len(outstanding) == status["outstanding"] > 0
    annexes, annex_e = text.split("Annex E: Released or held on terms the order does not allow", 1)
    for a_number in outstanding:
        assert annexes.count(a_number) == 1, "each outstanding person exactly once"
    assert annex_e.startswith(f" ({len(status['terms_findings'])})")
    pages = text.split("\f")
    annex_pages = [page for page in pages if "Released at" in page]
    assert len(annex_pages) > 3, "the released annex spans pages"
    for number, page in enumerate(pages[:-1], start=1):
        assert re.search(rf"Page {number} of {len(pages) - 1}\b", page), number
    assert all("A-number" in page for page in annex_pages), "the header repeats on every page"


def readme_commands() -> list[list[str]]:
    """The command lines shown in the README's reports section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Reports, exports and the dashboard", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_readme_commands_run_as_shown(cli, caseload: Caseload, frozen, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    frozen(datetime(2025, 11, 21, 19, 0, tzinfo=UTC))  # 13:00 CST: noon has passed
    lines = readme_commands()
    assert [argv[1] for argv in lines] == ["report", "report", "export", "export", "dashboard",
                                           "status", "status"]
    outputs = [cli(*argv[1:]).output for argv in lines]
    for name in ("report.pdf", "report-at-noon.xlsx", "bond-team.xlsx", "everyone.json",
                 "dashboard.html"):
        assert ((tmp_path / name).stat().st_mode & 0o777) == 0o600, name
    assert "exported 1 person to bond-team.xlsx" in outputs[2]
    assert "outstanding by facility" in outputs[5]
    assert outputs[6].startswith("place,office,outstanding")
