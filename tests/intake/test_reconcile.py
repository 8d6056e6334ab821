"""Custody lists: exactly the right changes for moves, new finds, missing people and strangers;
a malformed list changes nothing and names every bad line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures_flows import (
    DEADLINE,
    a_number,
    family_name,
    ids_by_index,
    order_in,
    seed_order,
    walk,
)
from workflow.core.errors import NotFoundError, ValidationError
from workflow.intake import reconcile
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Event, Facility

NOW = DEADLINE - timedelta(hours=24)
FLOW = Actor(operator="tester", source="flow")
HEADER = "A-Number,Facility Code,Facility Name,Book-In Date,Status"
STRANGER = "999888777"


@pytest.fixture
def people(database: db.Database, tmp_path: Path) -> tuple[int, list[int]]:
    """Eight people in every situation a custody list meets."""
    order_id = seed_order(database, 8, tmp_path)
    ids = ids_by_index(database, order_id)
    walk(database, ids[1], [("search", 1)])
    walk(database, ids[2], [("locate", 2)])
    walk(database, ids[3], [("locate", 2), ("set_bond", 3)])
    walk(database, ids[4], [("locate", 2)])
    walk(database, ids[5], [("locate", 2), ("release", 3)])
    walk(database, ids[6], [("exclude", 1)])
    return order_id, ids


def custody_list(tmp_path: Path, lines: list[str], name: str = "ice-list.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


GOOD = [
    f"{a_number(0)},BROADIL,,11/19/2025,In Custody",  # found
    f"A-{a_number(1)},OTAYCA,Otay Mesa Detention Center,,",  # found at a new facility
    f"{a_number(2)},BROADIL,Broadview Processing Center,,detained",  # confirmed
    f"{a_number(3)},DODGEWI,,2025-11-18,",  # moved
    # a_number(4) is not listed: missing
    f"{a_number(5)},KROME,,,in custody",  # released, yet held
    f"{a_number(6)},KROME,,,",  # excluded
    f"{a_number(7)},,,,Released",  # listed out
    f"{STRANGER},KROME,,,",  # not in the order
]


def run(database: db.Database, order_id: int, path: Path,
        dry_run: bool = False) -> reconcile.ReconcileReport:
    with database.write() as session:
        return reconcile.reconcile(session, order_in(session, order_id), path, actor=FLOW,
                                   now=NOW, dry_run=dry_run)


def state(database: db.Database, detainee_id: int) -> tuple[str, str | None]:
    with database.read() as session:
        person = session.get(Detainee, detainee_id)
        assert person is not None
        return person.stage, person.facility.code if person.facility else None


def counts(database: db.Database) -> list[int]:
    """(people, events, facilities): what a refused or dry run must leave as it was."""
    with database.read() as session:
        return [session.scalar(select(func.count()).select_from(t)) or 0
                for t in (Detainee, Event, Facility)]


def test_a_list_with_every_case(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, ids = people
    report = run(database, order_id, custody_list(tmp_path, GOOD))
    assert report.found == [ids[0], ids[1]]
    assert report.moved == [ids[3]]
    assert report.missing == [ids[4]]
    assert report.listed_out == [ids[7]]
    assert report.held_but_resolved == [ids[5]]
    assert (report.confirmed, report.excluded, report.rows) == (1, 1, 8)
    assert report.strangers == [9]
    assert report.facilities_added == ["OTAYCA"]
    assert report.new_flags == 3
    assert state(database, ids[0]) == ("LOCATED", "BROADIL")
    assert state(database, ids[1]) == ("LOCATED", "OTAYCA")
    assert state(database, ids[2]) == ("LOCATED", "BROADIL")
    assert state(database, ids[3]) == ("LOCATED", "DODGEWI")
    assert state(database, ids[4]) == ("LOCATED", "BROADIL")
    assert state(database, ids[5]) == ("RELEASED", "BROADIL")
    assert state(database, ids[7]) == ("INTAKE", None)


def test_moves_are_the_real_verbs_with_one_event_each(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, ids = people
    run(database, order_id, custody_list(tmp_path, GOOD))
    with database.read() as session:
        moved = session.execute(select(Event.kind, Event.from_stage, Event.to_stage)
                                .where(Event.detainee_id == ids[3], Event.at == NOW)
                                .order_by(Event.id)).all()
        flags = session.execute(select(Event.detainee_id, Event.payload)
                                .where(Event.kind == "finding")).all()
    assert moved == [("transfer", "BOND_SET", "LOCATING"), ("locate", "LOCATING", "LOCATED")]
    assert {(i, p["check"]) for i, p in flags} == {
        (ids[4], "not-on-custody-list"), (ids[7], "custody-list-says-out"),
        (ids[5], "custody-list-says-held")}


def test_the_report_is_stored_without_a_person_in_it(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, ids = people
    run(database, order_id, custody_list(tmp_path, GOOD))
    with database.read() as session:
        stored = session.scalars(select(Event.payload)
                                 .where(Event.kind == "custody-list-reconciled")).one()
    assert stored["found"] == [ids[0], ids[1]] and stored["strangers"] == [9]
    text = json.dumps(stored)
    assert STRANGER not in text and a_number(0) not in text and family_name(0) not in text


def test_the_same_list_twice_changes_nothing_more(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, ids = people
    path = custody_list(tmp_path, GOOD)
    run(database, order_id, path)
    before = counts(database)
    again = run(database, order_id, path)
    assert (again.found, again.moved, again.new_flags) == ([], [], 0)
    assert again.confirmed == 4 and again.missing == [ids[4]]
    assert counts(database)[1] == before[1] + 1  # only the stored report


def test_a_dry_run_reports_the_same_and_changes_nothing(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, _ = people
    path = custody_list(tmp_path, GOOD)
    before = counts(database)
    dry = run(database, order_id, path, dry_run=True)
    assert counts(database) == before
    real = run(database, order_id, path)
    assert {**dry.as_dict(), "dry_run": False} == real.as_dict()


def test_a_malformed_list_changes_nothing_and_names_every_bad_line(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, _ = people
    lines = [
        f"{a_number(0)},BROADIL,,,",  # line 2: good
        "A-12,BROADIL,,,",  # 3: not an A-number
        f"{a_number(1)},NOWHERE,,,",  # 4: unknown facility, no name
        f"{a_number(2)},BROADIL,,,maybe",  # 5: unknown status
        f"{a_number(3)},BROADIL,,12/31/2099,",  # 6: book-in in the future
        f"{a_number(4)},,,,in custody",  # 7: held but no facility
        f"{a_number(0)},KROME,,,",  # 8: twin of line 2
        ",BROADIL,,,",  # 9: no A-number
    ]
    before = counts(database)
    with pytest.raises(ValidationError) as caught:
        run(database, order_id, custody_list(tmp_path, lines))
    assert counts(database) == before
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "7", "8", "9"]
    assert "ice-list.csv:4: facility_code: unknown facility: add facility_name" in problems
    assert "ice-list.csv:8: a_number: the same A-number is on line(s) 2" in problems
    assert "8 problem(s) in ice-list.csv; nothing was changed" == str(caught.value)
    assert not any(a_number(0) in p or "NOWHERE" in p for p in problems)


def test_a_list_without_the_required_columns(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, _ = people
    path = tmp_path / "short.csv"
    path.write_text(f"a_number\n{a_number(0)}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        run(database, order_id, path)
    assert caught.value.problems == ["short.csv:1: facility_code: required column is missing",
                                     "short.csv:1: facility_name: required column is missing"]


def test_an_xlsx_list(database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    from openpyxl import Workbook

    order_id, ids = people
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["A#", "Facility", "Facility Name", "Book In", "Custody Status"])
    sheet.append([int(a_number(0)), "BROADIL", None, None, "In Custody"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    report = run(database, order_id, path)
    assert report.found == [ids[0]]
    assert ids[1] in report.missing


def test_people_names_who_the_report_is_about(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, ids = people
    report = run(database, order_id, custody_list(tmp_path, GOOD))
    with database.read() as session:
        rows = reconcile.people(session, report)
    assert [(r["outcome"], r["id"]) for r in rows] == [
        ("found", ids[0]), ("found", ids[1]), ("moved", ids[3]), ("missing", ids[4]),
        ("listed out", ids[7]), ("held but resolved", ids[5])]
    assert rows[2]["facility"] == "DODGEWI" and rows[0]["a_number_display"] == "A100-000-000"


def test_markdown_is_counts_only(
        database: db.Database, people: tuple[int, list[int]], tmp_path: Path) -> None:
    order_id, _ = people
    text = reconcile.markdown(run(database, order_id, custody_list(tmp_path, GOOD)))
    assert "| found | 2 |" in text and "| strangers | 1 |" in text
    assert STRANGER not in text and a_number(0) not in text


def test_the_inbox_keeps_lists_privately(tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = custody_list(tmp_path, GOOD)
    first, second = reconcile.keep(home, source), reconcile.keep(home, source)
    assert (first, second) == (1, 2)
    kept = reconcile.kept(home, 2)
    assert kept.name == "ice-list.csv" and kept.read_bytes() == source.read_bytes()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert kept.parent.stat().st_mode & 0o777 == 0o700
    assert (home / "custody-lists").stat().st_mode & 0o777 == 0o700
    reconcile.discard(home, 2)
    with pytest.raises(NotFoundError):
        reconcile.kept(home, 2)
    assert reconcile.keep(home, source) == 2
