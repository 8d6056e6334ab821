"""`make demo`'s letters step: a demand letter per field office and a sample of client letters."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_notices import a_numbers_in, expected_outstanding_by_office, pdf_text
from workflow import demo
from workflow.demo import letters as demo_letters
from workflow.record import db
from workflow.record.models import Detainee


def test_the_demo_renders_demand_letters_and_a_sample_and_says_where(database: db.Database,
                                                                     tmp_path: Path) -> None:
    order_id = demo.build(database, tmp_path, people=120, seed=5, now=demo.NOW)
    said: list[str] = []
    demo_letters.step(database, database.settings, order_id, demo.NOW, said.append)
    out = database.settings.home / "letters"
    expected = expected_outstanding_by_office(database, Detainee.a_number)
    demands = sorted(out.glob("demand-*.pdf"))
    assert len(demands) == len(expected) > 1
    assert said[0] == f"{len(expected)} field-office demand letters in {out}/demand-*.pdf"
    for office, a_numbers in expected.items():
        path = out / f"demand-{office.lower().replace(' ', '-')}.pdf"
        assert sorted(a_numbers_in(pdf_text(path))) == sorted(a_numbers), office
    sample = out / "client-letters.pdf"
    assert said[1] == (f"25 client letters (a sample, each in its reader's language) in {sample}")
    organization = database.settings.section("notices")["organization"]
    starts = [page for page in pdf_text(sample).split("\f")
              if page.lstrip().startswith(organization)]
    assert len(starts) == 25 and any("Línea de ayuda" in page for page in starts)
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in out.iterdir())
