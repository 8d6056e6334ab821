"""The class list with its history: stages and dates become the moves, with the file's dates.

Every test runs on SQLite and PostgreSQL (the ``cli`` fixture). The order was entered on
12 Nov 2025; the clock stands at noon on 20 Nov, court time (Chicago, CST).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import CASE, ROOT
from workflow.core import dates
from workflow.intake import history
from workflow.orders import orders
from workflow.record import db
from workflow.record.models import Bond, Detainee, Event
from workflow.views import dashboard

SAMPLE = ROOT / "docs" / "sample-history.csv"
NOW = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)
HEADER = ("A#,Last Name,First Name,Language,Facility,Facility Name,Stage,Located At,Bond Amount,"
          "Obligor,Bond Set At,I-305 Receipt,Method,Posted At,Released At,Reason,Stage Date,Notes")
# In the sample: A-number → the stage the file gives.
STAGES = {"200000001": "INTAKE", "200000002": "LOCATING", "200000003": "LOCATED",
          "200000004": "BOND_SET", "200000005": "BOND_POSTED", "200000006": "RELEASED",
          "200000007": "RELEASED", "200000008": "EXCLUDED", "200000009": "DEPARTED",
          "200000010": "NOT_IN_CUSTODY"}


def chicago(text: str) -> datetime:
    return dates.parse_instant(text, "America/Chicago")


def csv_file(folder: Path, *rows: str, name: str = "history.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def person_row(a: str, stage: str, *, located: str = "", amount: str = "", obligor: str = "",
               bond_set: str = "", receipt: str = "", method: str = "", posted: str = "",
               released: str = "", reason: str = "", stage_date: str = "",
               facility: str = "BROADIL") -> str:
    name = "Broadview Processing Center" if facility else ""
    return (f"{a},Family{a[-2:]},Given,Spanish,{facility},{name},{stage},{located},{amount},"
            f"{obligor},{bond_set},{receipt},{method},{posted},{released},{reason},"
            f"{stage_date},")


def stages_now(cli) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {row["a_number"].replace("A", "").replace("-", ""): row["stage"]
            for row in json.loads(cli("list", "--json").output)}


def rows_of(database: db.Database) -> tuple[int, int, int, list[tuple]]:
    """People, events, bonds, and every person's (id, stage, since, version)."""
    with database.read() as session:
        return (session.scalar(select(func.count()).select_from(Detainee)) or 0,
                session.scalar(select(func.count()).select_from(Event)) or 0,
                session.scalar(select(func.count()).select_from(Bond)) or 0,
                list(session.execute(select(Detainee.id, Detainee.stage, Detainee.stage_since,
                                            Detainee.version).order_by(Detainee.id))))


def events_of(database: db.Database, a_number: str) -> list[Event]:
    with database.read() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, None), a_number)
        events = list(session.scalars(select(Event).where(Event.detainee_id == detainee.id)
                                      .order_by(Event.at, Event.id)))
        session.expunge_all()  # plain objects for the test, not expired by the read's end
        return events


def as_of(cli, tmp_path: Path, instant: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out = tmp_path / f"as-of-{instant.replace(' ', '-').replace(':', '')}.json"
    cli("report", "--as-of", instant, "--format", "json", "--out", out)
    return json.loads(out.read_text())["counts"]["by_stage"]


# ---------------------------------------------------------------- a first import


def test_every_stage_with_its_dates_lands_in_its_stage(cli, court_order, database) -> None:  # type: ignore[no-untyped-def]
    out = cli("import", SAMPLE).output
    assert "imported: 10 new" in out
    assert ("recorded from the file's history: LOCATING 1, LOCATED 5, BOND_SET 3, BOND_POSTED 2,"
            " RELEASED 2, EXCLUDED 1, DEPARTED 1, NOT_IN_CUSTODY 1 (16 moves; 2 with no date of"
            " their own)") in out
    assert stages_now(cli) == STAGES
    released = events_of(database, "200000006")
    assert [(e.kind, e.from_stage, e.to_stage, e.at) for e in released] == [
        ("imported", None, "INTAKE", chicago("2025-11-12 00:00")),
        ("locate", "INTAKE", "LOCATED", chicago("2025-11-13 00:00")),
        ("bond", "LOCATED", "BOND_SET", chicago("2025-11-14 00:00")),
        ("post", "BOND_SET", "BOND_POSTED", chicago("2025-11-15 11:00")),
        ("release", "BOND_POSTED", "RELEASED", chicago("2025-11-16 15:00")),
    ]
    assert all(e.source == "import" and e.recorded_at == NOW for e in released)
    assert released[3].payload == {"method": "money-order", "receipt": True,
                                   "imported_from": {"file": "sample-history.csv", "line": 7}}
    with database.read() as session:
        bond = session.scalars(select(Bond).join(Detainee).where(
            Detainee.a_number == "200000006")).one()
        excluded = session.scalars(select(Detainee).where(
            Detainee.a_number == "200000008")).one()
        session.expunge_all()
    assert (bond.amount_cents, bond.obligor_name, bond.receipt_number, bond.payment_method,
            bond.set_at, bond.posted_at) == (150000, "María Vargas", "I305-0006", "money-order",
                                             chicago("2025-11-14 00:00"),
                                             chicago("2025-11-15 11:00"))
    assert excluded.exclusion_reason == "mandatory-detention"
    without_bond = events_of(database, "200000007")[-1]
    assert (without_bond.from_stage, without_bond.payload["reason"]) == ("LOCATED", "recognizance")


def test_a_move_with_no_date_of_its_own_gets_the_import_time_and_says_so(
        cli, court_order, database) -> None:  # type: ignore[no-untyped-def]
    cli("import", SAMPLE)
    not_in_custody = events_of(database, "200000010")[-1]
    assert not_in_custody.at == NOW
    assert not_in_custody.payload["undated"] == "no date in the file: the time of the import"
    locating = events_of(database, "200000002")[-1]
    assert (locating.kind, locating.at, locating.payload["undated"]) == (
        "search", NOW, "no date in the file: the time of the import")
    assert "undated" not in events_of(database, "200000006")[-1].payload
    shown = cli("show", "200000010").output
    assert "the time of the import" in " ".join(shown.split()).replace("│ ", "").replace(" │", "")


def test_an_undated_step_before_a_dated_one_takes_that_date(
        cli, court_order, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Located, no date; bond set on the 15th: located by then at the latest."""
    cli("import", csv_file(tmp_path, person_row("300000001", "Bond Set", bond_set="2025-11-15")))
    locate, bond = events_of(database, "300000001")[1:]
    assert locate.at == bond.at == chicago("2025-11-15 00:00")
    assert locate.payload["undated"] == history.undated_before("bond_set_at")
    assert "undated" not in bond.payload


def test_report_as_of_counts_everyone_as_the_dates_say(cli, court_order, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("import", SAMPLE)
    assert as_of(cli, tmp_path, "2025-11-12 12:00") == {
        "INTAKE": 10, "LOCATING": 0, "LOCATED": 0, "BOND_SET": 0, "BOND_POSTED": 0,
        "RELEASED": 0, "EXCLUDED": 0, "DEPARTED": 0, "NOT_IN_CUSTODY": 0}
    assert as_of(cli, tmp_path, "2025-11-15 12:00") == {
        "INTAKE": 4, "LOCATING": 0, "LOCATED": 2, "BOND_SET": 2, "BOND_POSTED": 1,
        "RELEASED": 0, "EXCLUDED": 1, "DEPARTED": 0, "NOT_IN_CUSTODY": 0}
    assert as_of(cli, tmp_path, "2025-11-17 12:00") == {
        "INTAKE": 3, "LOCATING": 0, "LOCATED": 2, "BOND_SET": 1, "BOND_POSTED": 1,
        "RELEASED": 1, "EXCLUDED": 1, "DEPARTED": 1, "NOT_IN_CUSTODY": 0}
    assert as_of(cli, tmp_path, "2025-11-20 12:00") == {
        "INTAKE": 1, "LOCATING": 1, "LOCATED": 1, "BOND_SET": 1, "BOND_POSTED": 1,
        "RELEASED": 2, "EXCLUDED": 1, "DEPARTED": 1, "NOT_IN_CUSTODY": 1}


def test_the_burndown_starts_from_the_true_history(cli, court_order, database) -> None:  # type: ignore[no-untyped-def]
    """Everyone outstanding from the order's date, then one fewer at each true resolution."""
    cli("import", SAMPLE)
    with database.read() as session:
        series = dashboard.outstanding_over_time(session, orders.resolve_order(session, CASE))
    assert series == [
        (chicago("2025-11-12 00:00"), 10),
        (chicago("2025-11-15 00:00"), 9),   # excluded
        (chicago("2025-11-16 15:00"), 8),   # released on bond
        (chicago("2025-11-17 00:00"), 7),   # departed
        (chicago("2025-11-18 00:00"), 6),   # released without bond
        (NOW, 5),                           # not in custody (no date: the import)
    ]


def test_dry_run_shows_what_would_be_recorded_per_stage_and_writes_nothing(
        cli, court_order, database) -> None:  # type: ignore[no-untyped-def]
    before = rows_of(database)
    out = cli("import", SAMPLE, "--dry-run").output
    assert "would import: 10 new" in out
    assert ("would record from the file's history: LOCATING 1, LOCATED 5, BOND_SET 3,"
            " BOND_POSTED 2, RELEASED 2, EXCLUDED 1, DEPARTED 1, NOT_IN_CUSTODY 1") in out
    assert rows_of(database) == before


# ---------------------------------------------------------------- bad lines


BAD_LINES = [
    (person_row("300000001", "Released", located="2025-11-13", bond_set="2025-11-14",
                posted="2025-11-16", released="2025-11-15"),
     "released_at: before posted_at: a release cannot come before its posting"),
    (person_row("300000001", "Located", located="2025-11-13", posted="2025-11-16"),
     "posted_at: the stage is LOCATED, which this date does not lead to: the stage and the"
     " dates disagree"),
    (person_row("300000001", "Released", located="2025-11-13", released="2025-11-15"),
     "reason: a release without a posted bond needs a reason (recognizance, ATD, ...)"),
    (person_row("300000001", "Located", located="2025-11-21"), "located_at: is in the future"),
    (person_row("300000001", "Located", located="2025-11-20 12:10"),
     "located_at: is in the future"),
    (person_row("300000001", "Located", located="2025-11-11"),
     "located_at: is before the order (2025-11-12)"),
    (person_row("300000001", "Bond Posted", located="2025-11-14", bond_set="2025-11-13"),
     "bond_set_at: before located_at: the bond cannot come before the locating"),
    (person_row("300000001", "Excluded"),
     "reason: an exclusion needs a reason: one of mandatory-detention, security-threat, other"),
    (person_row("300000001", "Out on bail maybe"),
     "stage: not a stage (use Located, Bond Set, Bond Posted, Released, Excluded, Departed or"
     " Not in custody)"),
    (person_row("300000001", "Located", located="the 14th"),
     "located_at: " + dates.NOT_A_DATE),
    (person_row("300000001", "Located", located="2025-11-14", facility=""),
     "facility_code: is required: the person was located (located_at)"),
    (person_row("300000001", "", located="2025-11-14"),
     "stage: is required when located_at is given"),
    (person_row("300000001", "Bond Posted", located="2025-11-14", method="bitcoin"),
     "method: must be one of: cebonds, money-order, cashier-check, surety, other"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_a_bad_line_is_refused_and_nothing_is_written(
        cli, court_order, database, tmp_path, line: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    good = person_row("300000002", "Located", located="2025-11-14")
    path = csv_file(tmp_path, good, line)
    before = rows_of(database)
    result = cli("import", path, ok=False)
    assert result.exit_code == 1
    assert f"history.csv:3: {problem}\n" in result.output
    assert "Error: 1 problem(s) in history.csv; nothing was imported" in result.output
    assert "Traceback" not in result.output and "Family01" not in result.output
    assert rows_of(database) == before


def test_every_problem_of_a_file_is_reported_at_once(cli, court_order, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = csv_file(tmp_path, *(line for line, _ in BAD_LINES[:4]))
    result = cli("import", path, ok=False)
    for number, (_, problem) in enumerate(BAD_LINES[:4], start=2):
        assert f"history.csv:{number}: {problem}" in result.output


# ---------------------------------------------------------------- again, and later


def test_importing_the_same_file_again_changes_nothing(cli, court_order, database) -> None:  # type: ignore[no-untyped-def]
    cli("import", SAMPLE)
    before = rows_of(database)
    out = cli("import", SAMPLE, "--dry-run").output + cli("import", SAMPLE).output
    assert "imported: 0 new, 0 updated (0 fields), 10 unchanged" in out
    assert "recorded from the file's history: nothing new (0 moves)" in out
    assert rows_of(database) == before


def test_a_later_file_moves_people_on_with_its_dates(cli, court_order, database, tmp_path,
                                                    frozen) -> None:  # type: ignore[no-untyped-def]
    cli("import", SAMPLE)
    first = [e.id for e in events_of(database, "200000004")]
    frozen(chicago("2025-11-21 09:00"))  # the next morning
    later = csv_file(tmp_path, *[
        person_row("200000003", "Bond Set", located="11/14/2025", amount="2500",
                   bond_set="2025-11-19 16:30"),
        person_row("200000004", "Bond Posted", located="2025-11-14", bond_set="2025-11-15 10:00",
                   receipt="I305-0004", method="cashier's check", posted="2025-11-19 09:15"),
        person_row("200000002", "Located", located="2025-11-21 08:00"),
    ], name="thursday.csv")
    out = cli("import", later).output
    assert "recorded from the file's history: LOCATED 1, BOND_SET 1, BOND_POSTED 1 (3 moves)" in out
    assert {a: s for a, s in stages_now(cli).items() if a in ("200000002", "200000003",
                                                               "200000004")} == {
        "200000002": "LOCATED", "200000003": "BOND_SET", "200000004": "BOND_POSTED"}
    moved = [e for e in events_of(database, "200000004") if e.to_stage]  # not the name updates
    assert [e.id for e in moved[:-1]] == first  # history is kept, not rewritten
    assert (moved[-1].kind, moved[-1].at, moved[-1].payload["imported_from"]) == (
        "post", chicago("2025-11-19 09:15"), {"file": "thursday.csv", "line": 3})
    with database.read() as session:
        bond = session.scalars(select(Bond).join(Detainee).where(
            Detainee.a_number == "200000004")).one()
        session.expunge_all()
    assert (bond.posted_at, bond.receipt_number, bond.payment_method) == (
        chicago("2025-11-19 09:15"), "I305-0004", "cashier-check")
    located = [e for e in events_of(database, "200000002") if e.to_stage][-1]
    assert (located.kind, located.from_stage, located.at) == (
        "locate", "LOCATING", chicago("2025-11-21 08:00"))


def test_a_file_that_contradicts_a_recorded_event_names_the_line_and_the_event(
        cli, court_order, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("import", SAMPLE)
    release = events_of(database, "200000006")[-1]
    before = rows_of(database)
    contradicting = csv_file(tmp_path, *[
        person_row("200000006", "Released", located="2025-11-13", bond_set="2025-11-14",
                   posted="2025-11-15 11:00", released="2025-11-17"),
    ], name="friday.csv")
    result = cli("import", contradicting, ok=False)
    assert (f"friday.csv:2: released_at: says 2025-11-17 00:00 CST, but 'release' is recorded"
            f" at 2025-11-16 15:00 CST (event #{release.id}): history is never rewritten"
            ) in result.output
    assert rows_of(database) == before


def test_a_later_file_cannot_date_a_move_before_what_is_recorded(
        cli, court_order, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Posted on the 17th (recorded); a later file says released on the 16th."""
    cli("import", SAMPLE)
    post = events_of(database, "200000005")[-1]
    before = rows_of(database)
    path = csv_file(tmp_path, person_row("200000005", "Released", posted="2025-11-17 09:30",
                                         released="2025-11-16 10:00", located="2025-11-13",
                                         bond_set="2025-11-14"))
    result = cli("import", path, ok=False)
    assert "history.csv:2: released_at: before posted_at" in result.output
    path = csv_file(tmp_path, person_row("200000005", "Released", located="2025-11-13",
                                         bond_set="2025-11-14", released="2025-11-16 10:00"))
    result = cli("import", path, ok=False)
    assert (f"history.csv:2: released_at: 2025-11-16 10:00 CST is before the recorded 'post'"
            f" at 2025-11-17 09:30 CST (event #{post.id}): history is never rewritten"
            ) in result.output
    assert rows_of(database) == before


def test_a_person_from_a_plain_list_moves_on_from_a_later_history_file(
        cli, court_order, database, tmp_path, frozen) -> None:  # type: ignore[no-untyped-def]
    """Imported from a plain class list at noon; the afternoon's file says located at 14:30.
    A date before that import would come before a recorded event: refused, naming it."""
    plain = tmp_path / "plain.csv"
    plain.write_text("A#,Last Name,First Name,Language\nA-300-000-009,Núñez,José,es\n",
                     encoding="utf-8")
    cli("import", plain)
    imported = events_of(database, "300000009")[0]
    frozen(chicago("2025-11-20 15:00"))
    early = csv_file(tmp_path, person_row("300000009", "Located", located="2025-11-19 11:30"))
    refused = cli("import", early, ok=False).output
    assert (f"history.csv:2: located_at: 2025-11-19 11:30 CST is before the recorded 'imported'"
            f" at 2025-11-20 12:00 CST (event #{imported.id}): history is never rewritten"
            ) in refused
    path = csv_file(tmp_path, person_row("300000009", "Located", located="2025-11-20 14:30"))
    cli("import", path)
    assert stages_now(cli)["300000009"] == "LOCATED"
    located = [e for e in events_of(database, "300000009") if e.to_stage][-1]
    assert (located.kind, located.at) == ("locate", chicago("2025-11-20 14:30"))


def test_excel_us_date_times_and_two_digit_years_are_imported(  # type: ignore[no-untyped-def]
        cli, court_order, database, tmp_path, frozen) -> None:
    frozen(chicago("2025-11-20 15:00"))
    path = csv_file(tmp_path, person_row("300000011", "Bond Set", located="11/13/2025 14:00",
                                         bond_set="11/14/25"))
    cli("import", path)
    moves = [(e.kind, e.at) for e in events_of(database, "300000011") if e.to_stage][1:]
    assert moves == [("locate", chicago("2025-11-13 14:00")),
                     ("bond", chicago("2025-11-14 00:00"))]


# ---------------------------------------------------------------- reading dates and stages


@pytest.mark.parametrize(("text", "expected", "day_only"), [
    ("2025-11-14", "2025-11-14 00:00", True),
    ("11/14/2025", "2025-11-14 00:00", True),
    ("2025-11-14 09:05", "2025-11-14 09:05", False),
    ("2025-11-14T09:05:30", "2025-11-14 09:05:30", False),
    ("11/14/2025 2:15 PM", "2025-11-14 14:15", False),
    ("11/14/2025 12:00 am", "2025-11-14 00:00", False),
    ("2025-11-14 3:00 p.m.", "2025-11-14 15:00", False),
])
def test_dates_in_any_of_the_import_formats_are_court_time(text: str, expected: str,
                                                          day_only: bool) -> None:
    assert dates.parse_when(text, "America/Chicago") == (chicago(expected), day_only)


def test_an_offset_is_taken_as_given_and_a_dst_gap_is_refused() -> None:
    assert dates.parse_when("2025-11-14T09:05:00-05:00", "America/Chicago") == (
        datetime(2025, 11, 14, 14, 5, tzinfo=UTC), False)
    with pytest.raises(ValueError, match="skipped or repeated by a DST change"):
        dates.parse_when("2025-11-02 01:30", "America/Chicago")


@pytest.mark.parametrize(("text", "stage"), [
    ("Bond Posted", "BOND_POSTED"), ("bond_set", "BOND_SET"), ("NOT IN CUSTODY", "NOT_IN_CUSTODY"),
    ("not-in-custody", "NOT_IN_CUSTODY"), ("Removed", "DEPARTED"), ("liberado", "RELEASED"),
    ("  located ", "LOCATED"), ("Excluded", "EXCLUDED"), ("Intake", "INTAKE"),
])
def test_the_usual_spellings_of_each_stage(text: str, stage: str) -> None:
    assert history.parse_stage(text).value == stage


def test_an_xlsx_with_real_date_cells_imports_its_history(cli, court_order, database,
                                                          tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Excel keeps dates as dates: a day alone, or a day and time, both read as court time."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["A-Number", "Last Name", "First Name", "Language", "Facility Code",
                  "Facility Name", "Current Stage", "Date Located", "Bond Set", "Bond Posted",
                  "Release Date", "I-305 Receipt", "Payment Method"])
    sheet.append(["A-300-000-020", "Núñez", "José", "es", "BROADIL", "Broadview", "Released",
                  datetime(2025, 11, 13), datetime(2025, 11, 14, 9, 30),
                  datetime(2025, 11, 15, 10, 0), datetime(2025, 11, 16, 17, 45), "I305-20",
                  "CeBONDS"])
    path = tmp_path / "history.xlsx"
    book.save(path)
    cli("import", path)
    moves = [(e.kind, e.at) for e in events_of(database, "300000020")]
    assert moves == [("imported", chicago("2025-11-12 00:00")),
                     ("locate", chicago("2025-11-13 00:00")),
                     ("bond", chicago("2025-11-14 09:30")), ("post", chicago("2025-11-15 10:00")),
                     ("release", chicago("2025-11-16 17:45"))]


def test_skip_invalid_imports_the_good_rows_and_rejects_the_bad_history(
        cli, court_order, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = csv_file(tmp_path, person_row("300000030", "Located", located="2025-11-14"),
                    person_row("300000031", "Released", located="2025-11-14",
                               released="2025-11-15"))
    rejects = tmp_path / "rejects.csv"
    out = cli("import", path, "--skip-invalid", rejects).output
    assert "1 new" in out and "1 rejected" in out
    assert "recorded from the file's history: LOCATED 1 (1 move)" in out
    assert stages_now(cli) == {"300000030": "LOCATED"}
    assert "a release without a posted bond needs a reason" in rejects.read_text()
