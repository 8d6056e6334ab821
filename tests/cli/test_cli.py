"""The command line, through click's CliRunner: orders, import, status, list, show, every move."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fixtures_foundation import NOW, write_csv
from tests.support import CASE
from workflow.core import stages
from workflow.core.stages import Stage

JOSE = "012345678"
SECRETS = ("Núñez", "José", "García", "012345678", "012-345-678", "12345678", "098765432")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich folds tables to 80 columns when not on a terminal; tests read whole cells."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def people(cli, court_order: str, class_list: Path):  # type: ignore[no-untyped-def]
    """The order with three people in INTAKE, imported through the CLI."""
    cli("import", class_list)
    return cli


def show(cli, a_number: str = JOSE) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(cli("show", a_number, "--json").stdout)


def status(cli) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(cli("status", "--json").stdout)


def refused(cli, *args: str, code: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Run a command that must fail with ``code``; its one-line error, never a traceback."""
    result = cli(*args, ok=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    for secret in SECRETS:
        assert secret not in result.output
    return result.stderr


def test_order_add_shows_the_deadline_in_court_time(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("order", "add", "--case", CASE, "--court", "N.D. Ill.", "--judge", "J. Cummings",
                 "--deadline", "2025-11-21 12:00", "--tz", "America/Chicago")
    assert result.stdout == (
        f"added order {CASE}, deadline Fri 21 Nov 2025, 12:00 CST (America/Chicago)\n")


def test_order_add_without_tz_uses_the_configured_zone(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BONDTRACK_TIME_ZONE", "America/New_York")
    result = cli("order", "add", "--case", "X-1", "--court", "S.D.N.Y.", "--judge", "J",
                 "--deadline", "2025-11-21 12:00")
    assert "deadline Fri 21 Nov 2025, 12:00 EST (America/New_York)" in result.stdout


def test_order_show_gives_deadline_and_time_left(cli, court_order: str) -> None:  # type: ignore[no-untyped-def]
    out = cli("order", "show").stdout
    assert "deadline: Fri 21 Nov 2025, 12:00 CST" in out
    assert "  time left: 1 d\n" in out and "seconds" not in out
    assert "order date: 2025-11-12" in out


def test_order_show_and_list_say_overdue_by_not_a_negative_duration(
        cli, court_order: str, frozen) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    frozen(datetime(2026, 11, 30, 20, 43, tzinfo=UTC))  # 375 days after the deadline
    out = cli("order", "show").stdout
    assert "past the deadline by: 374 d 2 h\n" in out
    assert "-" not in out.split("deadline by:")[1][:20] and "time left" not in out
    listed = json.loads(cli("order", "list", "--json").stdout)
    assert listed[0]["time_left"] == "past the deadline by 374 d 2 h"
    assert listed[0]["seconds_left"] < 0


def test_order_show_json(cli, court_order: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("order", "show", "--json").stdout)
    expected = {
        "case_number": CASE, "court": "N.D. Ill.", "judge": "Jeffrey I. Cummings", "title": None,
        "deadline": "2025-11-21T12:00:00-06:00", "time_zone": "America/Chicago",
        "order_date": "2025-11-12", "seconds_left": 86400,
    }
    assert {key: data[key] for key in expected} == expected  # terms, stay, obligations follow


def test_order_list_counts_the_people_in_each_order(people) -> None:  # type: ignore[no-untyped-def]
    (row,) = json.loads(people("order", "list", "--json").stdout)
    assert (row["case_number"], row["deadline"], row["people"], row["seconds_left"]) == (
        CASE, "2025-11-21T12:00:00-06:00", 3, 86400)
    assert CASE in people("order", "list").stdout


def test_a_second_order_with_the_same_case_is_refused(cli, court_order: str) -> None:  # type: ignore[no-untyped-def]
    error = refused(cli, "order", "add", "--case", CASE, "--court", "x", "--judge", "y",
                    "--deadline", "2025-12-01 12:00")
    assert error == f"Error: order {CASE} already exists\n"


def test_a_deadline_in_a_dst_overlap_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    error = refused(cli, "order", "add", "--case", "X-1", "--court", "x", "--judge", "y",
                    "--deadline", "2025-11-02 01:30", "--tz", "America/Chicago")
    assert "DST change" in error and error.count("\n") == 1


def test_without_an_order_commands_say_how_to_add_one(cli) -> None:  # type: ignore[no-untyped-def]
    for command in (("status",), ("list",), ("order", "show"), ("show", JOSE)):
        assert refused(cli, *command) == (
            "Error: no court order yet: add one with"
            " `bondtrack order add --case ... --deadline ...`\n")


def test_with_several_orders_commands_ask_which(people) -> None:  # type: ignore[no-untyped-def]
    people("order", "add", "--case", "1:25-cv-00001", "--court", "N.D. Ill.", "--judge", "X",
           "--deadline", "2026-03-05 12:00")
    assert refused(people, "status") == (
        "Error: several orders in this database: name one with --order CASE\n")
    assert json.loads(people("status", "--order", CASE, "--json").stdout)["total"] == 3
    assert json.loads(people("status", "--order", "1:25-cv-00001", "--json").stdout)["total"] == 0


def test_an_unknown_order_is_named_in_the_error(people) -> None:  # type: ignore[no-untyped-def]
    assert refused(people, "status", "--order", "9:99-cv-1") == (
        "Error: no order 9:99-cv-1: see `bondtrack order list`\n")


def test_status_json_has_every_promised_key(people) -> None:  # type: ignore[no-untyped-def]
    data = status(people)
    assert data["order"]["case_number"] == CASE
    assert data["order"]["deadline"] == "2025-11-21T12:00:00-06:00"
    assert data["order"]["time_zone"] == "America/Chicago"
    assert data["now"] == "2025-11-20T12:00:00-06:00"
    assert data["seconds_left"] == 86400
    assert data["by_stage"] == {stage.value: 3 if stage is Stage.INTAKE else 0 for stage in Stage}
    assert list(data["by_stage"]) == [stage.value for stage in Stage]
    assert (data["total"], data["outstanding"], data["resolved"], data["excluded"]) == (3, 3, 0, 0)


def test_status_counts_follow_the_moves(people) -> None:  # type: ignore[no-untyped-def]
    people("locate", JOSE, "--facility", "BROADIL")
    people("release", JOSE, "--reason", "recognizance")
    people("exclude", "098765432", "--reason", "mandatory-detention")
    data = status(people)
    assert {k: v for k, v in data["by_stage"].items() if v} == {
        "INTAKE": 1, "RELEASED": 1, "EXCLUDED": 1}
    assert (data["total"], data["covered"], data["outstanding"], data["resolved"],
            data["excluded"]) == (3, 2, 1, 1, 1)


def test_status_for_people_shows_court_time_and_time_left(people) -> None:  # type: ignore[no-untyped-def]
    out = people("status").stdout
    assert "deadline Fri 21 Nov 2025, 12:00 CST (America/Chicago)" in out
    assert "time left 1 d\n" in out
    for stage in Stage:
        assert stages.word(stage) in out


def test_status_after_the_deadline_says_overdue(people, frozen) -> None:  # type: ignore[no-untyped-def]
    frozen(NOW + timedelta(days=1, hours=2, minutes=5))
    assert "past the deadline by 2 h 5 min" in people("status").stdout
    assert status(people)["seconds_left"] == -(2 * 3600 + 5 * 60)


def test_status_csv_lists_every_stage_and_the_totals(people) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(people("status", "--csv").stdout)))
    assert {row["stage"]: int(row["people"]) for row in rows} == {
        **{stage.value: 3 if stage is Stage.INTAKE else 0 for stage in Stage},
        "covered": 3, "resolved": 0, "outstanding": 3}


def test_list_shows_everyone_by_a_number(people) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(people("list", "--json").stdout)
    assert [row["a_number"] for row in rows] == ["012345678", "023456789", "098765432"]
    assert [row["a_number_display"] for row in rows] == [
        "A012-345-678", "A023-456-789", "A098-765-432"]
    assert rows[0]["family_name"] == "Núñez" and rows[0]["stage"] == "INTAKE"
    assert "Núñez" in people("list").stdout


def test_list_filters_by_stage_and_facility(people) -> None:  # type: ignore[no-untyped-def]
    people("locate", JOSE, "--facility", "BROADIL")
    people("locate", "23456789", "--facility", "KROME", "--facility-name", "Krome")
    located = json.loads(people("list", "--stage", "located", "--json").stdout)
    assert [row["facility"] for row in located] == ["BROADIL", "KROME"]
    at_broadview = json.loads(people("list", "--facility", "broadil", "--json").stdout)
    assert [(row["a_number_display"], row["stage"]) for row in at_broadview] == [
        ("A012-345-678", "LOCATED"), ("A098-765-432", "INTAKE")]
    both = json.loads(people("list", "--stage", "LOCATED", "--facility", "KROME", "--json").stdout)
    assert [row["a_number_display"] for row in both] == ["A023-456-789"]


def test_list_csv_has_a_header_and_a_row_per_person(people) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(people("list", "--csv", "--stage", "INTAKE").stdout)))
    assert list(rows[0]) == ["id", "a_number", "family_name", "given_name", "stage", "facility",
                             "hours_in_stage"]
    assert [(r["a_number"], r["given_name"]) for r in rows][0] == ("A012-345-678", "José")
    assert len(rows) == 3


def test_list_refuses_an_unknown_stage(people) -> None:  # type: ignore[no-untyped-def]
    assert "Invalid value for '--stage'" in refused(people, "list", "--stage", "LOST", code=2)


@pytest.mark.parametrize("spelling", ["A-012-345-678", "a012345678", "12345678", "A 012 345 678",
                                      "012345678"])
def test_any_a_number_spelling_finds_the_person(people, spelling: str) -> None:  # type: ignore[no-untyped-def]
    record = show(people, spelling)
    assert (record["a_number_display"], record["family_name"]) == ("A012-345-678", "Núñez")
    assert record["a_number"] == "012345678"  # what a program joins on


def test_show_has_the_record_and_history_oldest_first(people, frozen) -> None:  # type: ignore[no-untyped-def]
    frozen(NOW + timedelta(hours=1))
    people("locate", JOSE, "--facility", "BROADIL", "--at", "2025-11-20 12:30")
    frozen(NOW + timedelta(hours=2))
    people("note", JOSE, "sister on the phone")
    record = show(people)
    assert (record["stage"], record["facility"]["code"], record["date_of_birth"]) == (
        "LOCATED", "BROADIL", "1985-03-07")
    assert [(e["kind"], e["at"], e["actor"], e["source"]) for e in record["events"]] == [
        ("imported", "2025-11-20T12:00:00-06:00", "tester", "import"),
        ("locate", "2025-11-20T12:30:00-06:00", "tester", "cli"),
        ("note", "2025-11-20T14:00:00-06:00", "tester", "cli"),
    ]
    assert record["events"][1]["recorded_at"] == "2025-11-20T13:00:00-06:00"


def test_show_for_people_prints_history_with_actor_and_court_time(people, frozen) -> None:  # type: ignore[no-untyped-def]
    frozen(NOW + timedelta(hours=1))
    people("locate", JOSE, "--facility", "BROADIL")
    out = people("show", JOSE).stdout
    assert "family name: Núñez" in out and "stage: Located" in out
    assert "facility: BROADIL Broadview Processing Center" in out
    history = out[out.index("history"):]
    assert history.index("imported") < history.index("locate")
    assert "Thu 20 Nov 2025, 12:00 CST" in history and "Thu 20 Nov 2025, 13:00 CST" in history
    assert "tester" in history and "Intake → Located" in history


def test_every_move_command_works_and_lands_in_the_history(people, frozen) -> None:  # type: ignore[no-untyped-def]
    steps = [
        ("search", JOSE),
        ("locate", JOSE, "--facility", "BROADIL"),
        ("transfer", JOSE, "--facility", "KROME", "--facility-name",
         "Krome Service Processing Center"),
        ("locate", JOSE, "--facility", "KROME"),
        ("bond", JOSE, "--amount", "$2,500", "--obligor", "Ana Núñez", "--relationship", "sister",
         "--obligor-phone", "+1 312 555 0199", "--conditions", "ATD"),
        ("post", JOSE, "--receipt", "I305-0001", "--method", "cashier-check"),
        ("release", JOSE),
        ("redetain", JOSE, "--reason", "picked up at check-in"),
        ("exclude", "098765432", "--reason", "security-threat", "--note", "ICE position"),
        ("depart", "23456789", "--reason", "removed"),
    ]
    for minutes, step in enumerate(steps, start=1):
        frozen(NOW + timedelta(minutes=minutes))
        assert people(*step).stdout.startswith("person #")
    assert people("note", JOSE, "call the sister").stdout.endswith(": note recorded\n")
    record = show(people)
    assert [(e["kind"], e["from_stage"], e["to_stage"]) for e in record["events"]] == [
        ("imported", None, "INTAKE"), ("search", "INTAKE", "LOCATING"),
        ("locate", "LOCATING", "LOCATED"), ("transfer", "LOCATED", "LOCATING"),
        ("locate", "LOCATING", "LOCATED"), ("bond", "LOCATED", "BOND_SET"),
        ("post", "BOND_SET", "BOND_POSTED"), ("release", "BOND_POSTED", "RELEASED"),
        ("redetain", "RELEASED", "LOCATING"), ("note", None, None),
    ]
    assert all(e["actor"] == "tester" for e in record["events"])
    (bond,) = record["bonds"]
    assert (bond["amount_cents"], bond["obligor_name"], bond["receipt_number"],
            bond["payment_method"]) == (250000, "Ana Núñez", "I305-0001", "cashier-check")
    assert show(people, "098765432")["exclusion_reason"] == "security-threat"
    assert show(people, "23456789")["stage"] == "DEPARTED"


def test_not_in_custody_from_the_cli(people) -> None:  # type: ignore[no-untyped-def]
    assert people("not-in-custody", JOSE).stdout.endswith("INTAKE → NOT_IN_CUSTODY\n")


def test_a_move_prints_the_stage_change_by_person_id(people) -> None:  # type: ignore[no-untyped-def]
    record_id = show(people)["id"]
    assert people("search", "A-012-345-678").stdout == f"person #{record_id}: INTAKE → LOCATING\n"


def test_bond_without_amount_uses_the_configured_amount(people) -> None:  # type: ignore[no-untyped-def]
    people("locate", JOSE, "--facility", "BROADIL")
    people("bond", JOSE)
    assert show(people)["bonds"][0]["amount_cents"] == 150000


def test_a_move_at_a_stated_court_time(people, frozen) -> None:  # type: ignore[no-untyped-def]
    frozen(NOW + timedelta(hours=3))
    people("search", JOSE, "--at", "2025-11-20 13:15")
    assert show(people)["events"][-1]["at"] == "2025-11-20T13:15:00-06:00"


def test_a_forbidden_move_is_one_line_naming_stage_and_allowed_moves(people) -> None:  # type: ignore[no-untyped-def]
    record_id = show(people)["id"]
    assert refused(people, "post", JOSE) == (
        f"Error: person #{record_id} is INTAKE: 'post' is not allowed; allowed: search,"
        " locate (needs facility), exclude (needs reason), depart, not-in-custody\n")
    assert show(people)["stage"] == "INTAKE" and len(show(people)["events"]) == 1


def test_release_from_located_without_a_reason_is_refused(people) -> None:  # type: ignore[no-untyped-def]
    people("locate", JOSE, "--facility", "BROADIL")
    assert refused(people, "release", JOSE) == "Error: 'release' from LOCATED needs reason\n"
    people("release", JOSE, "--reason", "recognizance")
    assert show(people)["stage"] == "RELEASED"


@pytest.mark.parametrize(
    "args",
    [("locate", JOSE), ("exclude", JOSE, "--reason", "dunno"), ("no-such-command",),
     ("bond", JOSE, "--amount", "abc"), ("post", JOSE, "--method", "bitcoin"), ("note", JOSE),
     ("order", "add", "--case", "X")],
)
def test_usage_errors_exit_2(people, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    refused(people, *args, code=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("show", "A-999-999-999"), f"no person with that A-number in order {CASE}"),
     (("show", "A-12-34"), "A-number: not an A-number"),
     (("locate", JOSE, "--facility", "NOWHERE"), "unknown facility NOWHERE: give its name"),
     (("post", JOSE), "'post' is not allowed"),
     (("search", JOSE, "--at", "2025-11-21 12:00"), "the time given is in the future"),
     (("search", JOSE, "--at", "2025-11-20 11:00"), "before person #"),
     (("search", JOSE, "--at", "soon"), "not a date"),
     (("note", JOSE, "  "), "the note is empty")],
)
def test_user_errors_are_one_line_exit_1_without_names_or_a_numbers(
    people, args: tuple[str, ...], message: str  # type: ignore[no-untyped-def]
) -> None:
    error = refused(people, *args)
    assert error.startswith("Error: ") and message in error and error.count("\n") == 1


def test_apply_from_the_cli(people, tmp_path: Path, frozen) -> None:  # type: ignore[no-untyped-def]
    frozen(NOW + timedelta(hours=1))
    path = write_csv(tmp_path / "moves.csv", ["A#,action,facility,amount",
                                              "A-012-345-678,locate,BROADIL,",
                                              "012345678,bond,,1500"])
    assert people("apply", path).stdout == "applied 2 moves from moves.csv\n"
    assert [e["source"] for e in show(people)["events"]] == ["import", "apply", "apply"]


def test_apply_of_a_bad_file_lists_the_problems_and_applies_nothing(people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "moves.csv", ["a_number,action,facility_code",
                                              "A-012-345-678,locate,BROADIL", "012345678,post,"])
    error = refused(people, "apply", path)
    assert error.splitlines() == [
        f"moves.csv:3: action: person #{show(people)['id']} is LOCATED: 'post' is not allowed;"
        " allowed: transfer (needs facility), bond, release (needs reason), exclude (needs reason),"
        " depart, not-in-custody",
        "Error: 1 problem(s) in moves.csv; nothing was applied",
    ]
    assert show(people)["stage"] == "INTAKE"


def test_a_new_facility_name_longer_than_the_record_holds_is_refused(people) -> None:  # type: ignore[no-untyped-def]
    error = refused(people, "locate", JOSE, "--facility", "NEWFAC", "--facility-name", "F" * 201)
    assert error == "Error: facility name is longer than 200 characters\n"


def test_an_order_title_longer_than_the_record_holds_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    error = refused(cli, "order", "add", "--case", "X-1", "--court", "x", "--judge", "y",
                    "--deadline", "2025-12-01 12:00", "--title", "T" * 301)
    assert error == "Error: title is longer than 300 characters\n"
