"""Facility names as people type them: by their words or a close spelling, the same rule in
the CLI, the browser's moves and every spreadsheet reader (one lookup in facilities)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_foundation import write_csv
from workflow.core.errors import NotFoundError
from workflow.places import facilities
from workflow.record import db

JOSE = "A-012-345-678"


@pytest.fixture
def one_person(cli, court_order, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The shipped directory loaded and one person in INTAKE."""
    cli("init")
    cli("import", write_csv(tmp_path / "list.csv", [
        "A#,Last Name,First Name,DOB,Language", f"{JOSE},Núñez,José,3/4/1990,Spanish"]))
    return cli


@pytest.mark.parametrize("typed", ["kenosha county detention", "KENOSHA CNTY DETENTION CTR",
                                   "Kenosha County Detnetion Center"])
def test_a_name_by_its_words_or_a_close_spelling_resolves_and_says_which(  # type: ignore[no-untyped-def]
        one_person, typed: str) -> None:
    out = one_person("locate", JOSE, "--facility", typed).output
    assert out.strip().endswith("INTAKE → LOCATED at KENOSWI (Kenosha County Detention Center)")


def test_a_name_that_fits_several_lists_them_with_codes_up_to_ten(  # type: ignore[no-untyped-def]
        one_person) -> None:
    refused = one_person("locate", JOSE, "--facility", "county jail", ok=False)
    assert refused.exit_code == 1
    lines = refused.output.rstrip().splitlines()
    assert "Error: 'county jail' fits " in lines[-1]
    listed = [line for line in lines if line.startswith("  ") and "more" not in line]
    assert len(listed) == facilities.SHOWN_CANDIDATES
    assert all(line.split()[0].isupper() for line in listed)  # each with its code
    assert any(line.strip().startswith("... and ") for line in lines)
    two = one_person("locate", JOSE, "--facility", "kenosha", ok=False).output
    assert "'kenosha' fits 2 facilities" in two and "KENOSW2" in two and "KENOSWI" in two


def test_a_name_that_fits_none_suggests_the_closest(one_person) -> None:  # type: ignore[no-untyped-def]
    refused = one_person("locate", JOSE, "--facility", "Krome Nrth Sevice Processng", ok=False)
    assert refused.exit_code == 1
    assert "the closest is KRO, Krome North Service Processing Center" in refused.output
    # Kenton County Jail and Reno County Jail are as close: neither is taken for it.
    near_tie = one_person("locate", JOSE, "--facility", "Kenosa County Jail", ok=False)
    assert near_tie.exit_code == 1
    assert "Traceback" not in refused.output


def test_the_same_lookup_reads_a_custody_list_and_an_apply_file(  # type: ignore[no-untyped-def]
        one_person, database: db.Database, tmp_path: Path) -> None:
    apply_file = write_csv(tmp_path / "apply.csv", [
        "A-Number,Action,Facility", f"{JOSE},locate,kenosha county detention"])
    one_person("apply", apply_file)
    with database.read() as session:
        assert facilities.resolve(session, "krome north").code == "KRO"
        with pytest.raises(NotFoundError, match=r"the closest is KRO, Krome North"):
            facilities.resolve(session, "Krome Nrth Sevice Processng")
    shown = one_person("show", JOSE).output
    assert "KENOSWI" in shown
