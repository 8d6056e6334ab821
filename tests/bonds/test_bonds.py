"""The bond after posting: every event the table allows, every one it forbids, the appeal
deadline across DST, the ledger against a fixture, the apply file and the XLSX export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_bonds import (
    ANA,
    HOUR,
    JOSE,
    LUIS,
    NOW,
    options_for,
    post,
    record,
    walk_to,
    written,
)
from tests.fixtures_foundation import STAFF, write_csv
from tests.fixtures_order_changes import read_order
from tests.support import README
from workflow.bonds import bonds
from workflow.bonds.bonds import TRANSITIONS, Kind, State
from workflow.core import config
from workflow.core.errors import BondtrackError, TransitionError, ValidationError
from workflow.record import db
from workflow.record.models import Event

# ---------------------------------------------------------------- the state table


@pytest.mark.parametrize("transition", TRANSITIONS,
                         ids=[f"{t.source}-{t.kind}-{t.target}" for t in TRANSITIONS])
def test_every_event_the_table_allows_moves_the_bond(posted: db.Database,
                                                     transition: bonds.Transition) -> None:
    now = walk_to(posted, JOSE, transition.source) + HOUR
    before = written(posted)
    row = record(posted, JOSE, transition.kind.value, now=now,
                 **options_for(transition.kind, now, transition.outcome))
    assert row["state"] == transition.target.value
    assert written(posted) == (before[0] + 1, before[1] + 1)
    with posted.read() as session:
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
        session.expunge(event)
    assert event.kind == f"bond-{transition.kind.value}"
    assert event.payload["from"] == transition.source.value
    assert event.payload["to"] == transition.target.value
    assert "Núñez" not in json.dumps(event.payload)  # a designee's name stays out of the log


FORBIDDEN = [(state, kind) for state in State for kind in Kind
             if not bonds.allowed(kind, state)]


@pytest.mark.parametrize("state", list(State))
def test_every_event_the_table_forbids_is_one_line_and_changes_nothing(
        posted: db.Database, state: State) -> None:
    now = walk_to(posted, JOSE, state) + HOUR
    before = written(posted)
    forbidden = [kind for s, kind in FORBIDDEN if s == state]
    assert forbidden, "every state forbids something"
    for kind in forbidden:
        with pytest.raises(TransitionError) as caught:
            record(posted, JOSE, kind.value, now=now, **options_for(kind, now))
        message = str(caught.value)
        assert "\n" not in message
        assert f"is {state.value}: '{kind.value}' is not allowed; allowed:" in message
    assert written(posted) == before


def test_the_table_reads_as_the_issue_says() -> None:
    """An active bond can be demanded, breached or cancelled; a refund needs a cancellation."""
    assert {t.target for t in TRANSITIONS if t.source is State.ACTIVE} >= {
        State.DEMANDED, State.BREACHED, State.CANCELLED}
    refund_sources = {t.source for t in TRANSITIONS if t.kind is Kind.REFUNDED}
    assert refund_sources == {State.CANCELLED, State.REFUND_REQUESTED}
    assert bonds.describe_allowed(State.REFUNDED) == "none (this state is final)"
    assert bonds.describe_allowed(State.FORFEITED) == "none (this state is final)"


def test_the_readme_states_the_table_as_the_code_has_it() -> None:
    readme = README.read_text()
    rows = bonds.table_rows()
    for state, moves in rows:
        if moves != "none: final":
            assert f"| {state} | {moves} |" in readme
    finals = [state for state, moves in rows if moves == "none: final"]
    assert f"| {', '.join(finals)} | none: final |" in readme


@pytest.mark.parametrize("kind, message", [
    ("demand", "needs --due"), ("cancelled", "needs --reason"), ("refunded", "needs --amount"),
    ("designee", "needs --name"),
])
def test_an_event_missing_what_it_needs_is_refused(posted: db.Database, kind: str,
                                                    message: str) -> None:
    if kind == "refunded":
        walk_to(posted, JOSE, State.CANCELLED)
    before = written(posted)
    with pytest.raises(ValidationError, match=message):
        record(posted, JOSE, kind, now=NOW + 5 * HOUR)
    assert written(posted) == before


@pytest.mark.parametrize("kind, options, message", [
    ("cancelled", {"reason": "bored"}, "reason must be one of"),
    ("produced", {"amount": 100}, "takes no --amount"),
    ("demand", {"due": NOW - HOUR}, "must be after the demand's date"),
    ("nonsense", {}, "no bond event 'nonsense'"),
])
def test_a_bad_event_is_refused(posted: db.Database, kind: str, options: dict,
                                message: str) -> None:
    if kind == "produced":
        walk_to(posted, JOSE, State.DEMANDED)
    before = written(posted)
    with pytest.raises(BondtrackError, match=message):
        record(posted, JOSE, kind, now=NOW + 5 * HOUR, **options)
    assert written(posted) == before


def test_an_appeal_decision_needs_a_known_outcome(posted: db.Database) -> None:
    now = walk_to(posted, JOSE, State.APPEALED) + HOUR
    with pytest.raises(ValidationError, match="needs --outcome"):
        record(posted, JOSE, "appeal-decided", now=now)
    with pytest.raises(ValidationError, match="outcome must be one of: granted, denied"):
        record(posted, JOSE, "appeal-decided", now=now, outcome="maybe")


def test_events_come_in_time_order(posted: db.Database) -> None:
    now = walk_to(posted, JOSE, State.DEMANDED)
    with pytest.raises(ValidationError, match="before bond #1's last recorded event"):
        record(posted, JOSE, "produced", now=now + HOUR, at=now - HOUR)
    with pytest.raises(ValidationError, match="in the future"):
        record(posted, JOSE, "produced", now=now, at=now + 2 * HOUR)
    assert record(posted, JOSE, "produced", now=now + HOUR, at=now + HOUR)["state"] == "active"


def test_a_person_without_a_posted_bond_has_no_bond_events(posted: db.Database) -> None:
    with pytest.raises(ValidationError, match="has no posted bond"):
        record(posted, ANA, "demand", now=NOW, due=NOW + 3 * HOUR)


# ---------------------------------------------------------------- the appeal deadline


@pytest.mark.parametrize("served, by_mail, deadline", [
    # Served in CDT, due in CST: 33 calendar days, not 33 x 24 hours.
    (datetime(2025, 10, 20, 15, 0, tzinfo=UTC), True, datetime(2025, 11, 23, 5, 59, tzinfo=UTC)),
    (datetime(2025, 10, 20, 15, 0, tzinfo=UTC), False, datetime(2025, 11, 20, 5, 59, tzinfo=UTC)),
    # Served in CST, due in CDT (spring forward on 8 March 2026).
    (datetime(2026, 2, 20, 16, 0, tzinfo=UTC), True, datetime(2026, 3, 26, 4, 59, tzinfo=UTC)),
    # 23:30 in Chicago is already the next day in UTC: the day counted is the court's.
    (datetime(2025, 11, 1, 4, 30, tzinfo=UTC), False, datetime(2025, 12, 1, 5, 59, tzinfo=UTC)),
])
def test_the_appeal_deadline_counts_days_in_the_courts_zone(served: datetime, by_mail: bool,
                                                            deadline: datetime) -> None:
    assert bonds.appeal_deadline(served, "America/Chicago", by_mail) == deadline


def test_a_breach_records_and_shows_its_appeal_deadline(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path, frozen) -> None:
    _posted_through_cli(cli, tmp_path)
    frozen(datetime(2025, 11, 25, 18, 0, tzinfo=UTC))
    shown = cli("bonds", "record", "012345678", "breached", "--date", "2025-11-24").output
    assert "appeal (I-290B) due by Sat 27 Dec 2025, 23:59 CST (appeal-1)" in shown
    in_person = cli("bonds", "list", "--json").output
    assert json.loads(in_person)[0]["due"] == "2025-12-27T23:59:00-06:00"


def test_a_day_without_a_time_is_in_order_with_that_days_events(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path, frozen) -> None:
    _posted_through_cli(cli, tmp_path)  # posted at noon court time on 20 Nov
    frozen(datetime(2025, 11, 20, 20, 0, tzinfo=UTC))
    out = cli("bonds", "record", "012345678", "cancelled", "--date", "11/20/2025",
              "--reason", "case-closed").output
    assert "bond #1: cancelled recorded, now cancelled" in out
    assert json.loads(cli("bonds", "list", "--json").output)[0]["state"] == "cancelled"
    earlier = cli("bonds", "record", "012345678", "refund-requested", "--date", "11/19/2025",
                  ok=False)
    assert earlier.output.strip() == "Error: the date given is before bond #1's last recorded event"


def test_a_us_date_with_a_24_hour_time_is_read_by_bond_options(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path, frozen) -> None:
    _posted_through_cli(cli, tmp_path)
    frozen(datetime(2025, 11, 22, 18, 0, tzinfo=UTC))
    out = cli("bonds", "record", "012345678", "demand", "--due", "11/26/2025 14:00").output
    assert "surrender due Wed 26 Nov 2025, 14:00 CST" in out
    day_first = cli("bonds", "record", "012345678", "produced", "--date", "21/11/2025",
                    ok=False)
    assert day_first.exit_code == 1
    assert "reads day-first (the first number is above 12)" in day_first.output


# ---------------------------------------------------------------- the command line


def _posted_through_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = write_csv(tmp_path / "list.csv", [
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name",
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BROADIL,Broadview Processing Center"])
    cli("import", listing)
    cli("locate", "012345678", "--facility", "BROADIL")
    cli("bond", "012345678", "--obligor", "Rosa Núñez")
    cli("post", "012345678", "--receipt", "I305-0001")
    cli("release", "012345678")


def test_the_cli_records_and_refuses_in_one_line(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path, frozen) -> None:
    _posted_through_cli(cli, tmp_path)
    frozen(datetime(2025, 11, 22, 18, 0, tzinfo=UTC))
    out = cli("bonds", "record", "012345678", "demand", "--due", "2025-11-26 10:00").output
    assert out.strip() == ("bond #1: demand recorded, now demanded; surrender due"
                           " Wed 26 Nov 2025, 10:00 CST (demand-1)")
    refused = cli("bonds", "record", "012345678", "refunded", "--amount", "1500", ok=False)
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "Error: bond #1 is demanded: 'refunded' is not allowed; allowed: address-change,"
        " designee (needs name), produced, breached, cancelled (needs reason)")
    bad = cli("bonds", "record", "012345678", "produced", "--amount", "lots", ok=False)
    assert bad.exit_code == 2
    cli("bonds", "record", "012345678", "produced")
    cli("bonds", "record", "012345678", "cancelled", "--reason", "status-granted")
    cli("bonds", "record", "012345678", "refunded", "--amount", "$1,523.40")
    ledger = json.loads(cli("bonds", "--json").output)
    assert ledger["refunded"] == {"count": 1, "amount_cents": 150_000}
    assert ledger["interest_cents"] == 2_340
    assert cli("bonds", "--csv").output.splitlines()[:3] == [
        "state,bonds,amount_cents", "posted,1,150000", "active,0,0"]
    assert "interest received: $23.40" in cli("bonds").output
    shown = cli("show", "012345678").output
    assert "bond state: refunded" in shown


def test_bond_events_come_in_through_apply_files(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path, frozen) -> None:
    _posted_through_cli(cli, tmp_path)
    frozen(datetime(2025, 12, 20, 18, 0, tzinfo=UTC))
    sheet = write_csv(tmp_path / "fund.csv", [
        "A#,Action,Date,Due,Reason,Amount,Note",
        "012345678,address-change,2025-11-25,,,,I-333 filed",
        "012345678,demand,2025-11-26,2025-12-01 10:00,,,",
        "012345678,produced,2025-12-01,,,,",
        "012345678,cancelled,2025-12-10,,case-closed,,",
        "012345678,refunded,2025-12-19,,,1512.50,",
    ])
    assert "applied 5 moves" in cli("apply", sheet).output
    rows = json.loads(cli("bonds", "list", "--json").output)
    assert (rows[0]["state"], rows[0]["refunded_cents"]) == ("refunded", 151_250)
    # A file with an event out of order applies nothing, and says where.
    again = write_csv(tmp_path / "again.csv", [
        "A#,Action,Date,Due,Reason,Amount,Note",
        "012345678,address-change,2025-12-19,,,,",
        "012345678,demand,2025-12-19,2025-12-24 10:00,,,",
    ])
    refused = cli("apply", again, ok=False)
    assert refused.exit_code == 1
    assert "again.csv:3: action: bond #1 is refunded: 'demand' is not allowed" in refused.output
    assert len(json.loads(cli("show", "012345678", "--json").output)["bond_events"]) == 5


# ---------------------------------------------------------------- the ledger


@pytest.fixture
def fund(imported: db.Database) -> db.Database:
    """Three bonds: José's cancelled and refunded with interest, Ana's demanded ($3,000, the
    same obligor), Luis's ($5,000) cancelled with the refund requested and still waiting."""
    post(imported, JOSE)
    post(imported, ANA, amount_cents=300_000, obligor="Rosa Núñez")
    post(imported, LUIS, amount_cents=500_000, obligor="Carlos Pérez")
    record(imported, JOSE, "cancelled", now=NOW + HOUR, reason="case-closed")
    record(imported, JOSE, "refunded", now=NOW + 2 * HOUR, amount=152_345)
    record(imported, ANA, "demand", now=NOW + HOUR, due=NOW + 80 * HOUR)
    record(imported, LUIS, "cancelled", now=NOW + HOUR, reason="status-granted")
    record(imported, LUIS, "refund-requested", now=NOW + 3 * HOUR)
    return imported


def test_the_ledger_sums_each_state(fund: db.Database) -> None:
    later = NOW + 100 * 24 * HOUR  # Luis's refund has waited 100 days
    data = read_order(fund, lambda s, o: bonds.ledger(s, o, later, config.load()))
    assert {key: data[key] for key in bonds.LEDGER_KEYS} == {
        "posted": {"count": 3, "amount_cents": 950_000},
        "active": {"count": 0, "amount_cents": 0},
        "demanded": {"count": 1, "amount_cents": 300_000},
        "breached": {"count": 0, "amount_cents": 0},
        "cancelled": {"count": 0, "amount_cents": 0},
        "refund_requested": {"count": 1, "amount_cents": 500_000},
        "refunded": {"count": 1, "amount_cents": 150_000},
    }
    assert data["interest_cents"] == 2_345
    assert [(p["bond"], p["days"]) for p in data["refunds_overdue"]] == [(3, 99)]
    assert data["by_obligor"] == [
        {"obligor": "Carlos Pérez", "bonds": 1, "posted_cents": 500_000, "held_cents": 500_000,
         "refunded_cents": 0},
        {"obligor": "Rosa Núñez", "bonds": 2, "posted_cents": 450_000, "held_cents": 300_000,
         "refunded_cents": 152_345},
    ]
    soon = read_order(fund, lambda s, o: bonds.ledger(s, o, NOW + 24 * HOUR, config.load()))
    assert soon["refunds_overdue"] == []


def test_bonds_list_shows_the_next_deadline_and_filters(fund: db.Database) -> None:
    rows = read_order(fund, lambda s, o: bonds.bond_rows(s, o, NOW))
    assert [(r["bond"], r["state"], r["next_deadline"], r["due"]) for r in rows] == [
        (1, "refunded", None, None),
        (2, "demanded", "demand-3", "2025-11-23T20:00:00-06:00"),
        (3, "refund_requested", None, None),
    ]
    only = read_order(fund, lambda s, o: bonds.bond_rows(s, o, NOW, "demanded"))
    assert [r["bond"] for r in only] == [2]
    with pytest.raises(ValidationError, match="no bond status 'lost'"):
        read_order(fund, lambda s, o: bonds.bond_rows(s, o, NOW, "lost"))


def test_the_ledger_workbook_is_private_and_audited(fund: db.Database, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "fund" / "ledger.xlsx"
    order_id = read_order(fund, lambda s, o: o.id)
    written_ = bonds.export_ledger(fund, order_id, path=out, actor=STAFF, now=NOW + 5 * HOUR,
                                   settings=config.load())
    assert written_.rows == 3 and out.stat().st_mode & 0o777 == 0o600
    book = load_workbook(out)
    assert book.sheetnames == ["Ledger", "Bonds", "Obligors"]
    ledger = {row[0]: row[1:] for row in book["Ledger"].iter_rows(min_row=2, values_only=True)}
    assert ledger["posted"] == (3, 9500) and ledger["interest received"] == (None, 23.45)
    with fund.read() as session:
        event = session.get(Event, written_.event_id)
        session.expunge(event)
    assert (event.kind, event.payload["what"], event.actor) == ("exported", "bond-ledger",
                                                                "tester")


def test_bond_events_bump_the_persons_version(posted: db.Database) -> None:
    def version(session, order):  # type: ignore[no-untyped-def]
        from workflow.orders import orders
        return orders.find_detainee(session, order, JOSE).version
    before = read_order(posted, version)
    record(posted, JOSE, "address-change", now=NOW + HOUR)
    assert read_order(posted, version) == before + 1
