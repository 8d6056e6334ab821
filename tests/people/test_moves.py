"""One way to make a move: the CLI, the browser and an apply file all hand their text to
``moves.make``, so a move reads the same fields and fails the same way wherever it is made."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from sqlalchemy import select

from tests.fixtures_foundation import NOW, STAFF, person, write_csv
from workflow.cli import main
from workflow.core.errors import NotFoundError, ValidationError
from workflow.core.stages import Action
from workflow.intake import apply as applying
from workflow.orders import orders
from workflow.people import moves
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Event

JOSE = "012345678"
# Options a command takes that are not fields of the move, and fields no command offers.
_NOT_FIELDS = {"a_number", "case"}
_FILE_ONLY = {"facility_city", "facility_state"}


def test_every_stage_verb_and_the_note_is_a_move() -> None:
    assert set(moves.MOVES) == {action.value for action in Action} | {moves.NOTE}


@pytest.mark.parametrize("move", moves.MOVES)
def test_each_move_command_offers_the_fields_the_move_reads(move: str) -> None:
    command = main.get_command(click.Context(main), move)
    assert command is not None
    options = {"note" if p.name == "text" else p.name for p in command.params} - _NOT_FIELDS
    assert options == set(moves.FIELDS[move]) - _FILE_ONLY


def make(database: db.Database, move: str, **fields: str) -> Event:
    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, None), JOSE)
        return moves.make(session, detainee, move, fields, actor=STAFF, now=NOW,
                          default_bond_cents=150000)


def test_a_field_that_cannot_be_used_is_named(imported: db.Database) -> None:
    with pytest.raises(moves.FieldError) as unknown:
        make(imported, "locate", facility="NOWHERE")
    assert unknown.value.field == "facility"
    assert str(unknown.value) == "unknown facility NOWHERE: give its name to add it"
    with pytest.raises(moves.FieldError) as amount:
        make(imported, "bond", amount="a lot")
    assert (amount.value.field, str(amount.value)) == ("amount", "amount: not an amount of dollars")
    with pytest.raises(moves.FieldError) as at:
        make(imported, "search", at="soon")
    assert at.value.field == "at" and "not a date" in str(at.value)
    with pytest.raises(NotFoundError, match="no such move"):
        make(imported, "fly")
    assert person(imported, JOSE).stage == "INTAKE"


def test_fields_a_move_does_not_read_are_ignored_and_empty_ones_are_not_given(
    imported: db.Database,
) -> None:
    event = make(imported, "search", amount="not read", reason="  ")
    assert (event.to_stage, event.payload) == ("LOCATING", {})
    located = make(imported, "locate", facility="BROADIL")
    assert located.payload == {"facility": "BROADIL"}
    assert make(imported, "bond", amount="").to_stage == "BOND_SET"
    assert person(imported, JOSE).bonds[0].amount_cents == 150000  # empty: the default


def test_an_apply_file_records_the_terms_imposed_at_release_as_the_cli_does(
    imported: db.Database, tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "moves.csv", [
        "a_number,action,facility_code,reason,imposed_bond,imposed_conditions",
        f"{JOSE},locate,BROADIL,,,",
        f"{JOSE},release,,ATD,5000,ankle monitor",
    ])
    with imported.write() as session:
        applying.apply_file(session, orders.resolve_order(session, None), path,
                            actor=Actor("tester", "apply"), now=NOW, default_bond_cents=150000)
    with imported.read() as session:
        release = session.scalars(select(Event).where(Event.kind == "release")).one()
        assert release.payload["imposed"] == {"bond_cents": 500000, "conditions": "ankle-monitor"}


def test_an_apply_file_names_the_column_of_a_field_that_failed(
    imported: db.Database, tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "moves.csv", [
        "a_number,action,facility_code,imposed_bond,reason",
        f"{JOSE},locate,BROADIL,,",
        f"{JOSE},release,,lots,ATD",
    ])
    with imported.write() as session, pytest.raises(ValidationError) as caught:
        applying.apply_file(session, orders.resolve_order(session, None), path,
                            actor=Actor("tester", "apply"), now=NOW, default_bond_cents=150000)
    assert caught.value.problems == [
        "moves.csv:3: imposed_bond: not an amount of dollars"]
