"""The verbs: each allowed move changes the stage and writes exactly one event.

Moves that are not allowed change nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures_foundation import NOW, STAFF, _columns, counts, events_of, person, write_csv
from workflow.core import clock, money, stages
from workflow.core.errors import TransitionError, ValidationError
from workflow.core.stages import Stage
from workflow.intake import apply as applying
from workflow.orders import orders
from workflow.people import tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.audit import Actor

JOSE, ANA, LUIS = "012345678", "098765432", "023456789"
LATER = NOW + timedelta(hours=1)
KROME = ("KROME", "Krome Service Processing Center")
# How to bring someone from INTAKE to each stage: (verb, options) in order.
PATHS: dict[Stage, list[tuple[str, dict[str, Any]]]] = {
    Stage.INTAKE: [],
    Stage.LOCATING: [("search", {})],
    Stage.LOCATED: [("locate", {"facility": "BROADIL"})],
    Stage.BOND_SET: [("locate", {"facility": "BROADIL"}), ("set_bond", {"amount_cents": 150000})],
    Stage.BOND_POSTED: [("locate", {"facility": "BROADIL"}), ("set_bond", {"amount_cents": 150000}),
                        ("post_bond", {"receipt": "I305-1"})],
    Stage.RELEASED: [("locate", {"facility": "BROADIL"}), ("set_bond", {"amount_cents": 150000}),
                     ("post_bond", {"receipt": "I305-1"}), ("release", {})],
    Stage.EXCLUDED: [("exclude", {"reason": "security-threat"})],
    Stage.DEPARTED: [("depart", {})],
    Stage.NOT_IN_CUSTODY: [("not_in_custody", {})],
}


def act(database: db.Database, a_number: str, verb: str, *, now=NOW, facility=None,  # type: ignore[no-untyped-def]
        **options: Any):
    """Run ``tracking.<verb>`` on one person in its own transaction; the event as stored."""
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, None), a_number)
        if facility is not None:
            code, name = (facility, None) if isinstance(facility, str) else facility
            options["facility"] = facilities.by_code(session, code, name)
        if verb in ("locate", "transfer"):
            event = getattr(tracking, verb)(session, detainee, options.pop("facility"),
                                            actor=STAFF, now=now, **options)
        else:
            event = getattr(tracking, verb)(session, detainee, actor=STAFF, now=now, **options)
        session.flush()
        return _columns(event)


def walk(database: db.Database, a_number: str, stage: Stage) -> None:
    for verb, options in PATHS[stage]:
        act(database, a_number, verb, **options)


def snapshot(database: db.Database, a_number: str) -> tuple:
    """Everything a refused move must leave untouched."""
    someone = person(database, a_number)
    return (someone.stage, someone.version, someone.stage_since, someone.facility_id,
            [vars(b) for b in someone.bonds], counts(database))


@pytest.mark.parametrize(
    ("start", "verb", "options", "target"),
    [(Stage.INTAKE, "search", {}, Stage.LOCATING),
     (Stage.INTAKE, "locate", {"facility": "BROADIL"}, Stage.LOCATED),
     (Stage.LOCATING, "locate", {"facility": KROME}, Stage.LOCATED),
     (Stage.LOCATED, "transfer", {"facility": KROME}, Stage.LOCATING),
     (Stage.BOND_POSTED, "transfer", {"facility": KROME}, Stage.LOCATING),
     (Stage.LOCATED, "set_bond", {"amount_cents": 150000}, Stage.BOND_SET),
     (Stage.BOND_SET, "post_bond", {"receipt": "I305-9", "method": "cebonds"}, Stage.BOND_POSTED),
     (Stage.BOND_POSTED, "release", {}, Stage.RELEASED),
     (Stage.LOCATED, "release", {"reason": "recognizance"}, Stage.RELEASED),
     (Stage.LOCATING, "exclude", {"reason": "mandatory-detention"}, Stage.EXCLUDED),
     (Stage.BOND_SET, "depart", {}, Stage.DEPARTED),
     (Stage.INTAKE, "not_in_custody", {}, Stage.NOT_IN_CUSTODY),
     (Stage.RELEASED, "redetain", {"reason": "picked up again"}, Stage.LOCATING)],
)
def test_each_verb_moves_the_stage_and_writes_one_event(
    imported: db.Database, start: Stage, verb: str, options: dict, target: Stage
) -> None:
    walk(imported, JOSE, start)
    before = person(imported, JOSE)
    people, events = counts(imported)
    event = act(imported, JOSE, verb, now=LATER, **options)
    after = person(imported, JOSE)
    assert (after.stage, after.stage_since, after.version) == (target, LATER, before.version + 1)
    assert counts(imported) == (people, events + 1)
    assert (event.from_stage, event.to_stage, event.detainee_id) == (start, target, after.id)
    assert (event.actor, event.source, event.at, event.recorded_at) == \
        ("tester", "cli", LATER, LATER)
    assert events_of(imported, JOSE)[-1] == event


def test_a_stated_time_is_when_it_happened_and_now_when_it_was_recorded(
        imported: db.Database) -> None:
    happened = NOW + timedelta(minutes=20)
    event = act(imported, JOSE, "locate", facility="BROADIL", now=LATER, at=happened)
    assert (event.at, event.recorded_at) == (happened, LATER)
    assert person(imported, JOSE).stage_since == happened


def test_the_actor_and_source_are_whoever_made_the_change(imported: db.Database) -> None:
    with imported.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, None), JOSE)
        tracking.search(session, detainee, actor=Actor("maria", "flow"), now=LATER)
    last = events_of(imported, JOSE)[-1]
    assert (last.actor, last.source) == ("maria", "flow")


@pytest.mark.parametrize(
    ("stage", "verb", "options"),
    [(Stage.INTAKE, "post_bond", {}), (Stage.INTAKE, "release", {"reason": "x"}),
     (Stage.INTAKE, "transfer", {"facility": "BROADIL"}),
     (Stage.LOCATING, "set_bond", {"amount_cents": 1}),
     (Stage.LOCATED, "post_bond", {}), (Stage.BOND_SET, "release", {}),
     (Stage.BOND_POSTED, "set_bond", {"amount_cents": 1}),
     (Stage.RELEASED, "locate", {"facility": "BROADIL"}),
     (Stage.RELEASED, "exclude", {"reason": "other"}), (Stage.EXCLUDED, "search", {}),
     (Stage.DEPARTED, "redetain", {}), (Stage.NOT_IN_CUSTODY, "depart", {}),
     (Stage.LOCATED, "redetain", {})],
)
def test_a_forbidden_move_names_the_stage_and_the_allowed_moves_and_changes_nothing(
    imported: db.Database, stage: Stage, verb: str, options: dict
) -> None:
    walk(imported, JOSE, stage)
    before = snapshot(imported, JOSE)
    with pytest.raises(TransitionError) as caught:
        act(imported, JOSE, verb, now=LATER, **options)
    message = str(caught.value)
    assert f"is {stage.value}:" in message
    assert message.endswith(f"allowed: {stages.describe_allowed(stage)}")
    assert snapshot(imported, JOSE) == before


def test_a_refusal_names_the_person_by_id_only(imported: db.Database) -> None:
    with pytest.raises(TransitionError) as caught:
        act(imported, JOSE, "post_bond", now=LATER)
    assert str(caught.value).startswith(f"person #{person(imported, JOSE).id} is INTAKE")
    assert JOSE not in str(caught.value) and "Núñez" not in str(caught.value)


def test_release_without_bond_needs_a_reason(imported: db.Database) -> None:
    walk(imported, JOSE, Stage.LOCATED)
    before = snapshot(imported, JOSE)
    with pytest.raises(TransitionError, match="'release' from LOCATED needs reason"):
        act(imported, JOSE, "release", now=LATER)
    assert snapshot(imported, JOSE) == before
    event = act(imported, JOSE, "release", now=LATER, reason="recognizance (ATD)")
    assert event.payload == {"reason": "recognizance (ATD)"}
    assert person(imported, JOSE).stage == Stage.RELEASED


def test_setting_a_bond_records_its_terms(imported: db.Database) -> None:
    walk(imported, JOSE, Stage.LOCATED)
    act(imported, JOSE, "set_bond", now=LATER, amount_cents=150000, conditions="ATD",
        obligor_name="Ana Núñez", obligor_relationship="sister", obligor_phone="+1 312 555 0199")
    (bond,) = person(imported, JOSE).bonds
    assert (bond.amount_cents, bond.conditions, bond.obligor_name, bond.obligor_relationship,
            bond.obligor_phone, bond.set_at, bond.posted_at) == (
        150000, "ATD", "Ana Núñez", "sister", "+1 312 555 0199", LATER, None)


def test_amending_a_bond_keeps_one_active_bond(imported: db.Database) -> None:
    walk(imported, JOSE, Stage.BOND_SET)
    event = act(imported, JOSE, "set_bond", now=LATER, amount_cents=250000,
                obligor_name="Ana Núñez")
    someone = person(imported, JOSE)
    assert someone.stage == Stage.BOND_SET
    assert [(b.amount_cents, b.obligor_name, b.cancelled_at) for b in someone.bonds] == [
        (250000, "Ana Núñez", None)]
    assert (event.from_stage, event.to_stage) == ("BOND_SET", "BOND_SET")
    assert event.payload == {"amount_cents": 250000, "changed": ["amount_cents", "obligor_name"]}


def test_posting_records_receipt_method_and_time(imported: db.Database) -> None:
    walk(imported, JOSE, Stage.BOND_SET)
    event = act(imported, JOSE, "post_bond", now=LATER, receipt="I305-0001", method="money-order")
    (bond,) = person(imported, JOSE).bonds
    assert (bond.receipt_number, bond.payment_method, bond.posted_at) == \
        ("I305-0001", "money-order", LATER)
    assert event.payload == {"method": "money-order", "receipt": True}


def test_a_transfer_sends_the_person_to_be_located_at_the_new_facility(
        imported: db.Database) -> None:
    walk(imported, JOSE, Stage.BOND_SET)
    event = act(imported, JOSE, "transfer", now=LATER, facility=KROME)
    someone = person(imported, JOSE)
    assert (someone.stage, someone.facility.code) == (Stage.LOCATING, "KROME")  # type: ignore[union-attr]
    assert event.payload == {"facility": "KROME"}


def test_a_time_in_the_future_is_refused(imported: db.Database) -> None:
    before = snapshot(imported, JOSE)
    with pytest.raises(ValidationError, match="in the future"):
        act(imported, JOSE, "search", now=LATER, at=LATER + timedelta(minutes=10))
    assert snapshot(imported, JOSE) == before


def test_a_time_a_little_ahead_of_our_clock_is_taken_as_clock_skew(imported: db.Database) -> None:
    event = act(imported, JOSE, "search", now=LATER, at=LATER + timedelta(minutes=2))
    assert event.at == LATER + timedelta(minutes=2)


def test_a_time_before_the_last_change_is_refused(imported: db.Database) -> None:
    act(imported, JOSE, "search", now=LATER)
    before = snapshot(imported, JOSE)
    with pytest.raises(ValidationError) as refused:
        act(imported, JOSE, "locate", facility="BROADIL", now=LATER,
            at=LATER - timedelta(seconds=1))
    assert snapshot(imported, JOSE) == before
    said = str(refused.value)
    assert re.fullmatch(r"the time given, 2025-11-\d\d \d\d:\d\d CST, is before person #\d+'s"
                        r" last recorded change, 'search' at 2025-11-\d\d \d\d:\d\d CST: moves"
                        r" are recorded in the order they happened", said), said
    assert "import" not in said  # after the import: the file's history cannot help


def test_a_move_before_the_import_points_to_the_import_with_history(imported: db.Database) -> None:
    """The import is itself the first change; what happened before it belongs in the file."""
    with pytest.raises(ValidationError) as refused:
        act(imported, JOSE, "locate", facility="BROADIL", now=LATER, at=NOW - timedelta(days=3))
    said = str(refused.value)
    imported_at = clock.local(NOW, "America/Chicago")
    assert f"last recorded change, 'imported' at {imported_at:%Y-%m-%d %H:%M} CST" in said
    assert said.endswith("for moves made before the import, import the class list with its"
                         " stage and dates (README: 'Starting from your spreadsheet')")


def test_a_time_without_a_zone_is_refused(imported: db.Database) -> None:
    with pytest.raises(ValidationError, match="without a time zone"):
        act(imported, JOSE, "search", now=LATER, at=LATER.replace(tzinfo=None))


def test_a_note_is_history_and_not_a_move(imported: db.Database) -> None:
    before = person(imported, JOSE)
    event = act(imported, JOSE, "add_note", now=LATER, text="  family called the hotline ")
    after = person(imported, JOSE)
    assert (event.kind, event.payload, event.from_stage, event.to_stage) == (
        "note", {"text": "family called the hotline"}, None, None)
    assert (after.stage, after.stage_since, after.version) == (
        before.stage, before.stage_since, before.version + 1)


def test_an_empty_note_is_refused(imported: db.Database) -> None:
    before = snapshot(imported, JOSE)
    with pytest.raises(ValidationError, match="empty"):
        act(imported, JOSE, "add_note", now=LATER, text="   ")
    assert snapshot(imported, JOSE) == before


@pytest.mark.parametrize(
    ("stage", "verb", "options", "message"),
    [(Stage.INTAKE, "exclude", {"reason": "because"}, "exclusion reason must be one of"),
     (Stage.BOND_SET, "post_bond", {"method": "bitcoin"}, "payment method must be one of"),
     (Stage.LOCATED, "set_bond", {"amount_cents": -1}, "negative"),
     # Longer than the column: refused on both backends, though SQLite itself would store it.
     (Stage.LOCATED, "set_bond", {"amount_cents": 1, "obligor_name": "N" * 201},
      "obligor name is longer than 200 characters"),
     (Stage.LOCATED, "set_bond", {"amount_cents": 1, "conditions": "c" * 301},
      "conditions is longer than 300 characters"),
     (Stage.BOND_SET, "post_bond", {"receipt": "R" * 65},
      "receipt number is longer than 64 characters")],
)
def test_bad_details_are_refused_before_anything_changes(
    imported: db.Database, stage: Stage, verb: str, options: dict, message: str
) -> None:
    walk(imported, JOSE, stage)
    before = snapshot(imported, JOSE)
    with pytest.raises(ValidationError, match=message):
        act(imported, JOSE, verb, now=LATER, **options)
    assert snapshot(imported, JOSE) == before


def test_an_exclusion_records_its_reason_and_note(imported: db.Database) -> None:
    event = act(imported, JOSE, "exclude", now=LATER, reason="mandatory-detention",
                note="ICE cites 1226(c); attorney M. reviewed")
    assert person(imported, JOSE).exclusion_reason == "mandatory-detention"
    assert event.payload == {"reason": "mandatory-detention",
                             "note": "ICE cites 1226(c); attorney M. reviewed"}


@pytest.mark.parametrize(
    ("text", "cents"),
    [("1500", 150000), ("$1,500.00", 150000), (" $ 1500 ", 150000), ("1500.5", 150050),
     ("0", 0), ("12,345.67", 1234567), ("10000000", 1_000_000_000)],
)
def test_amounts_are_read_as_staff_write_them(text: str, cents: int) -> None:
    assert money.parse_amount(text) == cents


@pytest.mark.parametrize("text", ["-1", "abc", "1.001", "", "$", "NaN", "Infinity", "1e30",
                                  "-1e30", "10000000.01", "1,500.999"])
def test_anything_else_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError):
        money.parse_amount(text)


@given(st.text(alphabet="0123456789$,.-+eE_ NaInfity", max_size=40))
def test_reading_an_amount_gives_cents_or_a_value_error(text: str) -> None:
    try:
        cents = money.parse_amount(text)
    except ValueError:
        return
    assert isinstance(cents, int) and 0 <= cents <= 1_000_000_000


APPLY_HEADER = "a_number,action,facility_code,facility_name,amount,receipt,method,at,reason,note"
APPLY_NOW = NOW + timedelta(hours=3)  # 15:00 in Chicago


def apply(database: db.Database, path: Path) -> int:
    with database.write() as session:
        return applying.apply_file(session, orders.resolve_order(session, None), path,
                                   actor=Actor("tester", "apply"), now=APPLY_NOW,
                                   default_bond_cents=150000)


def test_a_good_moves_file_applies_every_row_in_order(imported: db.Database,
                                                      tmp_path: Path) -> None:
    path = write_csv(tmp_path / "moves.csv", [
        APPLY_HEADER,
        "A-012-345-678,locate,broadil,,,,,2025-11-20 12:30,,",
        "012345678,bond,,,\"$2,000\",,,2025-11-20 13:00,,",
        "12345678,post,,,,I305-77,cebonds,2025-11-20 13:30,,",
        "098765432,exclude,,,,,,,mandatory-detention,decided by ICE",
        "023456789,Locate,KROME,Krome Service Processing Center,,,,,,",
        "023456789,bond,,,,,,,,",
        "023456789,note,,,,,,,,family called",
    ])
    assert apply(imported, path) == 7
    jose = person(imported, JOSE)
    assert jose.stage == Stage.BOND_POSTED
    assert [(b.amount_cents, b.receipt_number, b.payment_method) for b in jose.bonds] == [
        (200000, "I305-77", "cebonds")]
    assert [(e.kind, e.source, e.at.isoformat()) for e in events_of(imported, JOSE)[1:]] == [
        ("locate", "apply", "2025-11-20T18:30:00+00:00"),
        ("bond", "apply", "2025-11-20T19:00:00+00:00"),
        ("post", "apply", "2025-11-20T19:30:00+00:00"),
    ]
    assert person(imported, ANA).stage == Stage.EXCLUDED
    luis = person(imported, LUIS)
    assert (luis.stage, luis.facility.code, luis.bonds[0].amount_cents) == (  # type: ignore[union-attr]
        Stage.BOND_SET, "KROME", 150000)
    assert [e.kind for e in events_of(imported, LUIS)] == ["imported", "locate", "bond", "note"]


def test_a_moves_file_with_one_bad_row_applies_nothing_and_names_every_bad_line(
    imported: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "moves.csv", [
        APPLY_HEADER,
        "A-012-345-678,locate,BROADIL,,,,,,,",     # 2: fine
        "098765432,post,,,,,,,,",                  # 3: INTAKE cannot post
        "111111111,search,,,,,,,,",                # 4: nobody with that A-number
        "012345678,bond,,,abc,,,,,",               # 5: not an amount
        "023456789,teleport,,,,,,,,",              # 6: no such action
        "023456789,locate,NOWHERE,,,,,,,",         # 7: unknown facility, no name
        "023456789,search,,,,,,tomorrow,,",        # 8: not a time
        "12-34,search,,,,,,,,",                    # 9: not an A-number
        "012345678,bond,,,,,,,,",                  # 10: fine after line 2
    ])
    before = counts(imported), [snapshot(imported, a) for a in (JOSE, ANA, LUIS)]
    with pytest.raises(ValidationError, match="7 problem"):
        apply(imported, path)
    assert (counts(imported), [snapshot(imported, a) for a in (JOSE, ANA, LUIS)]) == before


def test_every_bad_line_of_a_moves_file_is_named_with_its_column(
    imported: db.Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "moves.csv", [
        APPLY_HEADER,
        "A-012-345-678,locate,BROADIL,,,,,,,",
        "098765432,post,,,,,,,,",
        "111111111,search,,,,,,,,",
        "012345678,bond,,,abc,,,,,",
        "023456789,teleport,,,,,,,,",
        "023456789,locate,NOWHERE,,,,,,,",
        "023456789,search,,,,,,tomorrow,,",
    ])
    with pytest.raises(ValidationError) as caught:
        apply(imported, path)
    assert [p.split(": ")[0:2] for p in caught.value.problems] == [
        ["moves.csv:3", "action"], ["moves.csv:4", "a_number"], ["moves.csv:5", "amount"],
        ["moves.csv:6", "action"], ["moves.csv:7", "facility_code"], ["moves.csv:8", "at"],
    ]
    assert "is INTAKE: 'post' is not allowed" in caught.value.problems[0]
    assert "teleport" not in caught.value.problems[3]


def test_a_moves_file_without_an_action_column_is_refused(imported: db.Database,
                                                          tmp_path: Path) -> None:
    path = write_csv(tmp_path / "moves.csv", ["a_number,facility_code", "012345678,BROADIL"])
    with pytest.raises(ValidationError) as caught:
        apply(imported, path)
    assert caught.value.problems == ["moves.csv:1: action: required column is missing"]
