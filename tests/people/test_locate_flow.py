"""The locate flow with the automated locator client on, against the replica of ICE's
locator on 127.0.0.1: found at a known facility locates, at an unknown one waits for a
person to confirm, an empty answer changes no stage, and nobody reaches Prefect or a log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import fixtures_locator
from tests.fixtures_foundation import HEADER, events_of, person, write_csv
from tests.support import Cli
from workflow.record import db

JOSE, ANA, LUIS = "012345678", "098765432", "023456789"
ROWS = [
    "012345678,Núñez,José,3/7/1985,México,Spanish,,",
    "098765432,García López,Ana María,1990-01-15,Guatemala,K'iche',,",
    "023456789,Pérez,Luis,12/31/1979,Honduras,español,,",
]


@pytest.fixture
def auto(cli: Cli, court_order: str, tmp_path: Path, frozen, locator_site,  # type: ignore[no-untyped-def]
         monkeypatch: pytest.MonkeyPatch, prefect_harness) -> fixtures_locator.Site:
    frozen(datetime(2025, 11, 20, 15, 0, tzinfo=UTC))
    cli("init")
    cli("import", write_csv(tmp_path / "list.csv", [HEADER, *ROWS]))
    monkeypatch.setenv("BONDTRACK_LOCATOR_AUTO", "true")
    monkeypatch.setenv("BONDTRACK_LOCATOR_MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setitem(fixtures_locator.FACILITIES, "303", {
        "name": "NOWHERE COUNTY JAIL", "address": {"line1": "1 MAIN ST", "city": "NOWHERE",
                                                   "stateCode": "KS", "zipCode": "66000"},
        "ero_office": {"name": "KANSAS CITY FIELD OFFICE"}})
    return locator_site  # type: ignore[no-any-return]


def test_the_flow_looks_people_up_and_records_what_it_may(
        auto: fixtures_locator.Site, cli: Cli, database: db.Database,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    auto.answer(JOSE, "found:101")
    auto.answer(ANA, "zero")
    auto.answer(LUIS, "found:303")
    said = json.loads(cli("run", "locate", "--json").stdout)[0]
    assert (said["due"], said["looked_up"], said["found"], said["to_confirm"],
            said["not_found"]) == (3, 3, 1, 1, 1)
    jose, ana, luis = (person(database, a) for a in (JOSE, ANA, LUIS))
    assert (jose.stage, jose.facility.code) == ("LOCATED", "BSAHOLD")
    assert (ana.stage, ana.empty_lookups) == ("INTAKE", 1)
    assert luis.stage == "INTAKE" and luis.locator_saw.startswith("NOWHERE COUNTY JAIL")
    looked = [e for e in events_of(database, JOSE) if e.kind == "lookup"]
    assert [(e.payload["result"], e.payload["how"], e.actor) for e in looked] == [
        ("found", "locator-auto", "locator-auto")]
    queue = {r["a_number"]: r for r in json.loads(cli("queue", "--json").output)}
    assert queue[LUIS]["action"] == "confirm-facility"
    assert "NOWHERE COUNTY JAIL" in queue[LUIS]["detail"]
    assert queue[ANA]["action"] == "look-up" and not queue[ANA]["overdue"]
    cli("locator", "record", LUIS, "--result", "found", "--facility", "KRO")
    assert person(database, LUIS).locator_saw is None
    asked = [request.form["a_number"] for request in auto.asked()]
    assert sorted(asked) == sorted((JOSE, ANA, LUIS))
    assert all(r.user_agent.startswith("bondtrack/") for r in auto.asked())
    for secret in (JOSE, ANA, LUIS, "Núñez", "NOWHERE"):
        assert secret not in caplog.text


def test_a_block_records_nothing_and_the_flow_says_so(
        auto: fixtures_locator.Site, cli: Cli, database: db.Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONDTRACK_LOCATOR_MAX_ATTEMPTS", "1")
    for a_number in (JOSE, ANA, LUIS):
        auto.answer(a_number, "challenge")
    out = cli("run", "locate").output
    assert "blocked 1" in out and "looked up by the automated locator client: 0" in out
    assert all(not [e for e in events_of(database, a) if e.kind == "lookup"]
               for a in (JOSE, ANA, LUIS))
    assert len(auto.asked()) == 1  # a block stops the run: nobody else is asked


def test_off_by_default_the_flow_only_counts(cli: Cli, court_order: str, tmp_path: Path,
                                             prefect_harness, locator_site) -> None:  # type: ignore[no-untyped-def]
    cli("import", write_csv(tmp_path / "list.csv", [HEADER, *ROWS]))
    out = cli("run", "locate").output
    assert "due for a look-up: 3 (0 to ask the field office)" in out
    assert "automated" not in out and locator_site.asked() == []
