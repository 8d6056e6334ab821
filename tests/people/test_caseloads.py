"""Running the day: caseloads, the next action for each person, the queue, and the locator
desk's look-ups, through the CLI on both backends at exact instants."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures_foundation import HEADER, events_of, person, write_csv
from tests.support import README, Cli, cheap_hashes
from workflow.record import db

JOSE, ANA, LUIS = "012345678", "098765432", "023456789"
ROWS = [
    "012345678,Núñez,José,3/7/1985,Mexico,Spanish,,",
    "098765432,García López,Ana María,1990-01-15,Guatemala,K'iche',,",
    "023456789,Pérez,Luis,12/31/1979,Honduras,español,,",
]
START = datetime(2025, 11, 20, 15, 0, tzinfo=UTC)  # 09:00 CST, Thursday, T-27h


@pytest.fixture
def day(cli: Cli, court_order: str, tmp_path: Path, frozen,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Three people in INTAKE, the directory loaded, two staff and a viewer, at START."""
    frozen(START - timedelta(hours=1))
    cheap_hashes(monkeypatch)
    cli("init")
    cli("import", write_csv(tmp_path / "list.csv", [HEADER, *ROWS]))
    for email, role in (("vol1@example.org", "staff"), ("vol2@example.org", "staff"),
                        ("atty@example.org", "attorney"), ("look@example.org", "viewer")):
        result = cli.runner.invoke(_main(), ["user", "add", email, "--role", role,
                                             "--password-stdin"],
                                   input="correct horse battery staple 42\n")
        assert result.exit_code == 0, result.output
    frozen(START)
    return cli


def _main():  # type: ignore[no-untyped-def]
    from workflow.cli import main

    return main


def queue(cli: Cli, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(cli("queue", "--json", *args).output)


def test_every_person_starts_with_a_look_up_due_now(day: Cli) -> None:
    rows = queue(day)
    assert [r["a_number"] for r in rows] == [JOSE, ANA, LUIS]  # one due time: in list order
    assert {r["action"] for r in rows} == {"look-up"}
    assert {r["due"] for r in rows} == {"2025-11-20T08:00:00-06:00"}  # imported at 08:00 CST
    assert all(r["overdue"] and r["owner"] is None for r in rows)


def test_assign_round_robin_spreads_evenly_and_is_audited(day: Cli, database: db.Database) -> None:
    out = day("caseload", "assign", "vol1@example.org", "--unowned",
              "--round-robin", "vol2@example.org").output
    assert "3 of 3 people assigned to vol1@example.org, vol2@example.org" in out
    owners = [person(database, a).owner_id for a in (JOSE, LUIS, ANA)]  # A-number order
    assert owners[0] == owners[2] != owners[1]
    assign = [e for e in events_of(database, JOSE) if e.kind == "assign"]
    assert assign[0].actor == "tester" and assign[0].payload["owner"] in (
        "vol1@example.org", "vol2@example.org")
    listing = json.loads(day("caseload", "list", "--json").output)
    by_owner = {row["owner"]: row for row in listing}
    assert by_owner["vol1@example.org"]["outstanding"] == 2
    assert by_owner["vol2@example.org"]["outstanding"] == 1
    assert by_owner["vol1@example.org"]["overdue"] == 2
    assert by_owner["atty@example.org"]["outstanding"] == 0
    assert "look@example.org" not in by_owner  # viewers own nobody
    mine = queue(day, "--owner", "vol2@example.org")
    assert [r["owner"] for r in mine] == ["vol2@example.org"]


@pytest.mark.parametrize(("args", "message"), [
    (("nobody@example.org", JOSE), "no account 'nobody@example.org'"),
    (("look@example.org", JOSE), "look@example.org is a viewer: only staff and attorneys"),
    (("vol1@example.org", "999999999"), "no person"),
    (("vol1@example.org",), "name the people"),
    (("vol1@example.org", JOSE, "--stage", "INTAKE"), "by A-number or by a filter, not both"),
])
def test_bad_assignments_are_one_line_and_write_nothing(day: Cli, database: db.Database,
                                                         args: tuple[str, ...],
                                                         message: str) -> None:
    result = day("caseload", "assign", *args, ok=False)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert person(database, JOSE).owner_id is None


def test_a_disabled_accounts_people_show_as_unowned(day: Cli) -> None:
    day("caseload", "assign", "vol1@example.org", JOSE)
    day("user", "disable", "vol1@example.org")
    assert JOSE in {r["a_number"] for r in queue(day, "--unowned")}
    refused = day("caseload", "assign", "vol1@example.org", ANA, ok=False)
    assert "vol1@example.org is disabled" in refused.output


def test_empty_look_ups_set_the_next_and_then_a_call_to_the_field_office(
        day: Cli, database: db.Database, frozen) -> None:  # type: ignore[no-untyped-def]
    out = day("locator", "record", JOSE, "--result", "not-found").output
    assert "look-up recorded (not-found)" in out and person(database, JOSE).stage == "INTAKE"
    row = next(r for r in queue(day) if r["a_number"] == JOSE)
    assert row["action"] == "look-up" and row["due"] == "2025-11-20T21:00:00-06:00"  # +12 h
    assert not row["overdue"]
    frozen(START + timedelta(hours=12))
    day("locator", "record", JOSE, "--result", "in-custody-no-facility", "--source", "phone")
    frozen(START + timedelta(hours=24))
    out = day("locator", "record", JOSE, "--result", "not-found").output
    assert "ask the field office" in out
    row = next(r for r in queue(day) if r["a_number"] == JOSE)
    assert row["action"] == "call-office" and row["overdue"]
    due = json.loads(day("locator", "due", "--json").output)
    assert next(r for r in due if r["a_number"] == JOSE)["call_office"]
    lookups = [e for e in events_of(database, JOSE) if e.kind == "lookup"]
    assert [(e.payload["result"], e.payload["how"]) for e in lookups] == [
        ("not-found", "locator"), ("in-custody-no-facility", "phone"), ("not-found", "locator")]


def test_found_locates_and_found_elsewhere_transfers_then_locates(
        day: Cli, database: db.Database, frozen) -> None:  # type: ignore[no-untyped-def]
    day("locator", "record", ANA, "--result", "found", "--facility", "BSAHOLD")
    assert person(database, ANA).stage == "LOCATED"
    frozen(START + timedelta(hours=2))
    out = day("locator", "record", ANA, "--result", "found", "--facility", "KRO").output
    assert "transferred and located at KRO" in out
    kinds = [e.kind for e in events_of(database, ANA)]
    assert kinds[-3:] == ["transfer", "locate", "lookup"]
    stored = person(database, ANA)
    assert stored.stage == "LOCATED" and stored.empty_lookups == 0
    row = next(r for r in queue(day) if r["a_number"] == ANA)
    assert row["action"] == "ask-bond"
    assert row["due"] == "2025-11-20T23:00:00-06:00"  # located 11:00 CST + 12 h


@pytest.mark.parametrize(("args", "message"), [
    (("--result", "maybe"), "Invalid value for '--result'"),
    (("--result", "found"), "needs the facility"),
    (("--result", "found", "--facility", "NOWHERE-AT-ALL"), "no facility"),
    (("--result", "not-found", "--facility", "BSAHOLD"), "goes with the result 'found' only"),
    (("--result", "not-found", "--at", "2030-01-01 10:00"), "in the future"),
])
def test_bad_look_ups_are_refused_with_nothing_written(day: Cli, database: db.Database,
                                                       args: tuple[str, ...],
                                                       message: str) -> None:
    before = events_of(database, LUIS)
    result = day("locator", "record", LUIS, *args, ok=False)
    assert result.exit_code != 0 and message in result.output
    assert events_of(database, LUIS) == before


def test_bond_set_is_due_when_the_posting_window_closes_and_misses_first(
        day: Cli, frozen) -> None:  # type: ignore[no-untyped-def]
    day("locate", JOSE, "--facility", "BSAHOLD")
    day("bond", JOSE, "--amount", "1500", "--obligor", "Marta Núñez")
    rows = queue(day)
    row = next(r for r in rows if r["a_number"] == JOSE)
    assert row["action"] == "post-bond"
    assert row["due"] == "2025-11-20T15:00:00-06:00"  # today's window closes 15:00 CST
    assert "$1,500" in row["detail"] and "Marta Núñez" in row["detail"]
    frozen(datetime(2025, 11, 21, 22, 0, tzinfo=UTC))  # past the deadline (noon CST)
    rows = queue(day)
    assert all(r["misses_deadline"] for r in rows)


def test_a_stay_pauses_the_court_deadline_not_the_look_up_cadence(day: Cli, frozen) -> None:  # type: ignore[no-untyped-def]
    day("order", "stay", "--docket", "ECF 99")
    frozen(datetime(2025, 11, 22, 18, 0, tzinfo=UTC))  # past the deadline, but stayed
    rows = queue(day)
    assert rows and not any(r["misses_deadline"] for r in rows)


def _readme_block() -> list[list[str]]:
    section = README.read_text().split("## Running the day", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_readme_section_running_the_day_runs_line_by_line(
        day: Cli, database: db.Database, prefect_harness) -> None:  # type: ignore[no-untyped-def]
    for email, role in (("staff@example.org", "staff"), ("attorney@example.org", "attorney")):
        added = day.runner.invoke(_main(), ["user", "add", email, "--role", role,
                                            "--password-stdin"],
                                  input="correct horse battery staple 42\n")
        assert added.exit_code == 0, added.output
    said = []
    for argv in _readme_block():
        assert argv[0] == "bondtrack"
        said.append(day(*argv[1:]).output)
    assert "3 of 3 people assigned to staff@example.org, attorney@example.org" in said[0]
    assert "staff@example.org" in said[1] and "attorney@example.org" in said[1]
    assert "José" in said[2] and "Ana María" in said[2] and "Luis" not in said[2]
    assert said[5].startswith(f"person #{person(database, ANA).id}: look-up recorded (found)")
    assert person(database, ANA).stage == "LOCATED"
    assert person(database, ANA).facility.code == "BSAHOLD"
    assert json.loads(said[6]) == []  # everyone has an owner
    assert "due for a look-up: 1 (0 to ask the field office)" in said[7]


def test_the_readme_table_is_the_next_action_table_as_built() -> None:
    from workflow.views.queue import TABLE

    section = README.read_text().split("## Running the day", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines()
            if line.startswith("| ") and " | " in line and "---" not in line]
    stages = [(cells[0].strip("| "), cells[1]) for cells in rows[1:] if len(cells) == 3]
    assert [stage for stage, _ in stages] == [stage for stage, _ in TABLE]
    for (_, words), (_, step) in zip(stages, TABLE, strict=True):
        assert words.startswith(step.words.split(":")[0].split(",")[0])


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite queues writers
def test_two_look_ups_of_one_person_at_once_are_both_kept_in_order(
        day: Cli, database: db.Database, settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The second volunteer's look-up lands while the first one's transaction is open: the
    first is refused as stale at commit, reads again and is kept after it."""
    import threading

    from workflow.actions import caseloads
    from workflow.people import locating
    from workflow.record.audit import Actor

    real = locating.record
    raced: list[str] = []

    def first_waits_for_a_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append("second")
            other = threading.Thread(target=caseloads.record_lookup, args=(
                database, settings, None, JOSE, "not-found"), kwargs={
                "source": "phone", "actor": Actor("vol2@example.org", "web"), "now": START})
            other.start()
            other.join(timeout=30)
            assert not other.is_alive()
        return real(*args, **kwargs)

    monkeypatch.setattr(locating, "record", first_waits_for_a_second)
    caseloads.record_lookup(database, settings, None, JOSE, "not-found", source="locator",
                            actor=Actor("vol1@example.org", "web"), now=START)
    looked = [e for e in events_of(database, JOSE) if e.kind == "lookup"]
    assert [(e.actor, e.payload["how"]) for e in looked] == [
        ("vol2@example.org", "phone"), ("vol1@example.org", "locator")]
    assert person(database, JOSE).empty_lookups == 2


def test_mine_is_the_operators_own_queue(day: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    day("caseload", "assign", "vol2@example.org", ANA)
    monkeypatch.setenv("BONDTRACK_OPERATOR", "vol2@example.org")
    assert [r["a_number"] for r in queue(day, "--mine")] == [ANA]
    assert {r["a_number"] for r in queue(day, "--unowned")} == {JOSE, LUIS}
    monkeypatch.setenv("BONDTRACK_OPERATOR", "someone-without-an-account")
    refused = day("queue", "--mine", ok=False)
    assert refused.exit_code == 1
    assert "the operator 'someone-without-an-account', and there is none" in refused.output
    both = day("queue", "--mine", "--unowned", ok=False)
    assert both.exit_code == 2 and "choose one of --mine, --owner and --unowned" in both.output


def test_those_the_sweep_finds_at_risk_come_first(day: Cli, database: db.Database) -> None:
    from workflow.orders import orders
    from workflow.people import sweep
    from workflow.record.audit import Actor

    with database.write() as session:
        luis = orders.find_detainee(session, orders.resolve_order(session, None), LUIS)
        sweep.record_findings(session, [(luis, sweep.AT_RISK)], START, Actor("sweep", "flow"))
    rows = queue(day)
    assert [r["a_number"] for r in rows] == [LUIS, JOSE, ANA]
    assert [r["misses_deadline"] for r in rows] == [True, False, False]
    assert rows[0]["findings"] == ["at-risk"] and rows[0]["urgent"]
