"""What data commands print: tables that never cut a word, whatever the width or the pipe."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import Cli

BONDTRACK = Path(sys.executable).parent / "bondtrack"


def piped(*args: str, columns: int = 80) -> str:
    """``COLUMNS=80 bondtrack ARGS | cat``: stdout is a pipe, not a terminal."""
    done = subprocess.run([str(BONDTRACK), *args], env={**os.environ, "COLUMNS": str(columns)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_piped_table_keeps_every_word_and_a_number_whole(
        cli: Cli, court_order: str, tmp_path: Path) -> None:
    cli("order", "obligation", "add", "--kind", "data-production", "--due", "2025-11-14 17:00",
        "--owed-by", "government", "--note", "class members' data, as ordered in ECF 195")
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,Language,Notes\n"
                       "A012345678,Núñez-Echeverría,José,es,call the family first\n",
                       encoding="utf-8")
    cli("import", listing)
    assert "data-production" in piped("order", "show")
    assert [line for line in piped("list").splitlines() if "012-345-678" in line]
    assert "Núñez-Echeverría" in piped("list", columns=40)


def test_a_record_prints_as_one_csv_row_and_json_as_it_was(
        cli: Cli, court_order: str, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,Language\nA012345678,Núñez,José,es\n",
                       encoding="utf-8")
    imported = json.loads(cli("import", listing, "--json").stdout)
    assert (imported["created"], imported["rejected"]) == (1, 0)
    [person] = list(csv.DictReader(io.StringIO(cli("show", "012345678", "--csv").stdout)))
    assert (person["a_number"], person["a_number_display"]) == ("A012-345-678", "A012-345-678")
    assert person["family_name"] == "Núñez" and person["facility"] == ""
    assert json.loads(person["events"])[0]["kind"] == "imported"  # a list: its JSON text
    [order] = list(csv.DictReader(io.StringIO(cli("order", "show", "--csv").stdout)))
    assert order["case_number"] == court_order and order["terms.bond"]
    shown = json.loads(cli("show", "012345678", "--json").stdout)
    assert shown["a_number"] == "012345678"

