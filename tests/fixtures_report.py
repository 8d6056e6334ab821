"""A small caseload in every stage, built with the real commands, for the report tests.

Twelve people, four of them with names a spreadsheet would run as formulas,
moved by `bondtrack` itself in two rounds an hour or two apart, so a report
can be asked for as of a moment between them.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# What a hostile class list can carry: each begins with a character a spreadsheet executes.
HOSTILE_NAMES = ('=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)")
# Tabs and carriage returns cannot be in a name, but a bond's obligor and conditions take any text.
HOSTILE_OBLIGOR = "\t=cmd|' /C calc'!A0"
HOSTILE_CONDITIONS = "\r=1+1"
T0 = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)  # noon in Chicago: the list is imported
ROUND_1 = T0 + timedelta(hours=1)  # 13:00 CST
ROUND_2 = T0 + timedelta(hours=3)  # 15:00 CST
BETWEEN = "2025-11-20 14:00"  # court time, between the rounds

PEOPLE = [  # a_number, family, given, facility code, facility name
    ("200000001", HOSTILE_NAMES[0], "Ana", "", ""),
    ("200000002", HOSTILE_NAMES[1], "Luis", "", ""),
    ("200000003", HOSTILE_NAMES[2], "Rosa", "", ""),
    ("200000004", HOSTILE_NAMES[3], "Jorge", "", ""),
    ("200000005", "Núñez", "José", "", ""),
    ("200000006", "García López", "Ana María", "BROADIL", "Broadview Processing Center"),
    ("200000007", "Pérez", "Luis", "", ""),
    ("200000008", "Smith", "John", "", ""),
    ("200000009", "Doe", "Jane", "", ""),
    ("200000010", "Roe", "Rick", "", ""),
    ("200000011", "Ivanova", "Olga", "", ""),
    ("200000012", "Chen", "Wei", "KENOSWI", "Kenosha County Detention Center"),
]

ROUND_1_MOVES = [
    ["locate", "200000001", "--facility", "BROADIL"],
    ["bond", "200000001", "--obligor", "Marta Díaz"],
    ["post", "200000001", "--receipt", "I305-0001", "--method", "cebonds"],
    ["locate", "200000002", "--facility", "KENOSWI"],
    ["bond", "200000002", "--obligor", HOSTILE_OBLIGOR, "--conditions", HOSTILE_CONDITIONS],
    ["exclude", "200000003", "--reason", "mandatory-detention", "--note", "IJ order on file"],
    ["note", "200000004", "needs a K'iche' interpreter"],
    ["search", "200000005"],
    ["locate", "200000006", "--facility", "BROADIL"],
    ["locate", "200000007", "--facility", "BROADIL"],
    ["locate", "200000008", "--facility", "KENOSWI"],
    ["bond", "200000008"],
    ["post", "200000008", "--receipt", "I305-0008"],
    ["depart", "200000009", "--reason", "removed"],
]
ROUND_2_MOVES = [
    ["release", "200000001"],
    ["transfer", "200000006", "--facility", "KENOSWI"],
    ["release", "200000007", "--reason", "recognizance"],
    ["not-in-custody", "200000010"],
    ["exclude", "200000011", "--reason", "security-threat"],
]
# Where each person stands after both rounds.
FINAL_STAGES = {
    "200000001": "RELEASED", "200000002": "BOND_SET", "200000003": "EXCLUDED",
    "200000004": "INTAKE", "200000005": "LOCATING", "200000006": "LOCATING",
    "200000007": "RELEASED", "200000008": "BOND_POSTED", "200000009": "DEPARTED",
    "200000010": "NOT_IN_CUSTODY", "200000011": "EXCLUDED", "200000012": "INTAKE",
}


@dataclass(frozen=True)
class Caseload:
    case: str
    stages: dict[str, str]

    def a_numbers(self, *stages: str) -> list[str]:
        """The A-numbers, printed as reports print them, of the people in ``stages``."""
        return [f"A{a[:3]}-{a[3:6]}-{a[6:]}" for a, stage in sorted(self.stages.items())
                if stage in stages]


def write_class_list(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["A#", "Last Name", "First Name", "DOB", "Language", "Facility Code",
                         "Facility Name"])
        for a_number, family, given, code, name in PEOPLE:
            writer.writerow([a_number, family, given, "1990-01-15", "Spanish", code, name])
    return path


# The caseload as the commands left it, per backend: the first test in a process builds it
# through some twenty commands and keeps a copy; the others get that copy (a SQLite backup,
# a PostgreSQL database copied from it), about a tenth of the time.
_kept: dict[str, str] = {}


@pytest.fixture
def caseload(cli, court_order, frozen, tmp_path: Path, settings, database,  # type: ignore[no-untyped-def]
             backend: str, request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Caseload:
    """The twelve people, moved in two rounds; the clock is left at the second round."""
    frozen(T0)
    url = settings.database_url
    if backend in _kept:
        database.dispose()
        _copy(_kept[backend], url, request)
        frozen(ROUND_2)
    else:
        cli("import", write_class_list(tmp_path / "class-list.csv"))
        for instant, moves in ((ROUND_1, ROUND_1_MOVES), (ROUND_2, ROUND_2_MOVES)):
            frozen(instant)
            for move in moves:
                cli(*move)
        database.dispose()
        kept = (f"sqlite:///{tmp_path_factory.mktemp('caseload') / 'bondtrack.db'}"
                if settings.is_sqlite else f"{url.rsplit('/', 1)[0]}/kept_caseload")
        _copy(url, kept, request)
        _kept[backend] = kept
    return Caseload(case=court_order, stages=dict(FINAL_STAGES))


def _copy(source: str, target: str, request: pytest.FixtureRequest) -> None:
    """A whole copy of a SQLite file (by SQLite's backup, so a WAL is read too), or of a
    PostgreSQL database (made again from the source as a template)."""
    if source.startswith("sqlite:///"):
        src = sqlite3.connect(source.removeprefix("sqlite:///"))
        dst = sqlite3.connect(target.removeprefix("sqlite:///"))
        src.backup(dst)
        src.close()
        dst.close()
        return
    from tests.support import copy_pg_database

    copy_pg_database(request.getfixturevalue("pg"), source, target)


def pdf_text(path: Path, layout: bool = True) -> str:
    """The PDF's text as pdftotext reads it (pages separated by form feeds).

    ``layout`` keeps table rows on one line; without it a wrapped cell reads whole.
    """
    flags = ["-layout"] if layout else []
    done = subprocess.run(["pdftotext", *flags, str(path), "-"], capture_output=True,
                          check=True, timeout=120)
    return done.stdout.decode("utf-8")


def status_json(cli) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads(cli("status", "--json").output)


# The report's summary lines and the status --json numbers they must state.
SUMMARY_LINES = {
    "Covered by the order": lambda s: s["covered"],
    "Released": lambda s: s["by_stage"]["RELEASED"],
    "Departed or removed": lambda s: s["by_stage"]["DEPARTED"],
    "Not in custody when the order was entered": lambda s: s["by_stage"]["NOT_IN_CUSTODY"],
    "Outstanding": lambda s: s["outstanding"],
    "Bond posted, awaiting release": lambda s: s["by_stage"]["BOND_POSTED"],
    "Bond set, not yet posted": lambda s: s["by_stage"]["BOND_SET"],
    "Located, bond not yet set": lambda s: s["by_stage"]["LOCATED"],
    "Not located": lambda s: s["by_stage"]["INTAKE"] + s["by_stage"]["LOCATING"],
    "Excluded from the order": lambda s: s["excluded"],
    "Total on the class list": lambda s: s["total"],
}


def summary_numbers(text: str) -> dict[str, int]:
    """The summary table's numbers as printed on the report's first page."""
    first_page = text.split("\f", 1)[0]
    found = {}
    for line in first_page.splitlines():
        label, _, number = line.strip().rpartition(" ")
        label = label.strip()
        if label in SUMMARY_LINES and number.replace(",", "").isdigit():
            found[label] = int(number.replace(",", ""))
    return found
