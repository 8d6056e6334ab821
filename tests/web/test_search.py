"""Search in the browser: accents and case ignored on SQLite and PostgreSQL alike, part of an
A-number, and a person by internal id; the key is kept on write and backfilled by its
revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from tests.fixtures_foundation import write_csv
from tests.fixtures_web import Web
from workflow.record import db
from workflow.record.models import Detainee

ACCENTED = ["A#,Last Name,First Name,DOB,Language",
            "A-312-345-001,García Núñez,María José,1990-01-15,Spanish",
            "A-312-345-002,GARCIA,Mario,1991-02-16,Spanish",
            "A-312-399-003,Ørsted,Zoë,1992-03-17,English"]


def ids_by_a_number(database: db.Database) -> dict[str, int]:
    with database.read() as session:
        return dict(session.execute(select(Detainee.a_number, Detainee.id)).all())


def found(web: Web, query: str) -> set[int]:
    page = web.browser("staff").post("/people", {"q": query})
    assert page.status_code == 200, query
    everyone = ids_by_a_number(web.database).values()
    return {i for i in everyone if f'href="/people/{i}"' in page.text}


def test_names_are_found_with_accents_and_case_ignored(  # type: ignore[no-untyped-def]
        web: Web, cli, tmp_path: Path) -> None:
    cli("import", write_csv(tmp_path / "accented.csv", ACCENTED))
    ids = ids_by_a_number(web.database)
    garcias = {ids["312345001"], ids["312345002"]}
    assert found(web, "garcia") == garcias
    assert found(web, "GARCÍA") == garcias
    assert found(web, "maria") == {ids["312345001"]}
    assert found(web, "garcia nunez maria") == {ids["312345001"]}
    assert found(web, "zoe orsted") == set()  # Ø is a letter of its own, not O with a mark
    assert found(web, "zoe") == {ids["312399003"]}


def test_part_of_an_a_number_and_an_internal_id_find_a_person(  # type: ignore[no-untyped-def]
        web: Web, cli, tmp_path: Path) -> None:
    cli("import", write_csv(tmp_path / "accented.csv", ACCENTED))
    ids = ids_by_a_number(web.database)
    assert found(web, "345 002") == {ids["312345002"]}
    assert found(web, "312-3") == {ids["312345001"], ids["312345002"], ids["312399003"]}
    assert found(web, f"#{ids['312399003']}") == {ids["312399003"]}
    assert found(web, "#999999") == set()
    short = web.browser("staff").post("/people", {"q": "30"})
    assert short.status_code in (200, 400)
    assert "at least 3 digits" in short.text


def test_the_revision_backfills_the_search_key(  # type: ignore[no-untyped-def]
        web: Web, cli, tmp_path: Path) -> None:
    cli("import", write_csv(tmp_path / "accented.csv", ACCENTED))
    db.downgrade(web.database, "0007")
    db.upgrade(web.database)
    with web.database.read() as session:
        keys = dict(session.execute(select(Detainee.a_number, Detainee.search_key)).all())
    assert keys["312345001"] == "garcia nunez maria jose"
    assert keys["312399003"] == "ørsted zoe"
    with web.database.write() as session:  # a person written by the ORM gets a key too
        session.execute(update(Detainee).values(search_key=None))
    assert found(web, "garcia") == set()
