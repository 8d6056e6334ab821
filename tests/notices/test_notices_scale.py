"""The whole class at once: 615 client letters in one printable PDF, each in its language."""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_notices import NOW, SPANISH_DEADLINE, STAFF, english_in, folded, pdf_text
from tests.support import CASE
from workflow.demo.data import FACILITIES, synthetic_person
from workflow.intake.roster import import_class_list
from workflow.notices.sending import render_letters
from workflow.orders import orders
from workflow.people import tracking
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Facility

PEOPLE = 615


def write_class_list(path: Path, rng: random.Random) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["A#", "Last Name", "First Name", "Country of Birth", "Language"])
        for index in range(PEOPLE):
            p = synthetic_person(rng, index)
            writer.writerow([p["a_number"], p["family_name"], p["given_name"],
                             p["country_of_birth"], p["language"]])
    return path


def build_class(database: db.Database, tmp_path: Path) -> None:
    """The class imported, two thirds located, a third of those with a bond set."""
    rng = random.Random(7)
    with database.write() as session:
        for info in FACILITIES:
            session.add(Facility(code=info.code, name=info.name, address=info.address,
                                 city=info.city, state=info.state, field_office=info.field_office,
                                 time_zone=info.time_zone))
        session.flush()
        order = orders.resolve_order(session, CASE)
        import_class_list(session, order, write_class_list(tmp_path / "class.csv", rng),
                          actor=Actor("tester", "import"), now=NOW)
        facilities = list(session.scalars(select(Facility)))
        for person in session.scalars(select(Detainee).order_by(Detainee.id)):
            if rng.random() < 0.66:
                tracking.locate(session, person, rng.choice(facilities), actor=STAFF, now=NOW)
                if rng.random() < 0.33:
                    tracking.set_bond(session, person, amount_cents=150_000, actor=STAFF, now=NOW,
                                      obligor_name="Rosa Díaz")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the PDF is the point here, not the database
def test_615_client_letters_render_to_one_pdf_in_their_languages(
        database: db.Database, court_order: str, tmp_path: Path) -> None:
    build_class(database, tmp_path)
    start = time.perf_counter()
    batch = render_letters(database, database.settings, case=None, kind="client",
                           out=tmp_path / "out", now=NOW, actor=STAFF, one_file=True)
    seconds = time.perf_counter() - start
    print(f"\n{PEOPLE} client letters to one PDF in {seconds:.1f} s:"
          f" {PEOPLE / seconds:.1f} letters per second")
    languages = batch.summary()["languages"]
    assert len(batch.letters) == PEOPLE and languages["es"] >= 0.75 * PEOPLE
    text = pdf_text(batch.files[0])
    organization = database.settings.section("notices")["organization"]
    letters: list[str] = []  # a page that starts with the letterhead starts a letter
    for page in text.split("\f"):
        if page.lstrip().startswith(organization):
            letters.append(page)
        elif letters:
            letters[-1] += page
    assert len(letters) == PEOPLE
    spanish = [folded(page) for page in letters if "Línea de ayuda" in page]
    assert len(spanish) == languages["es"]
    for letter in spanish:
        assert SPANISH_DEADLINE in letter and english_in(letter) is None, english_in(letter)
