"""Words people read, the same in the browser and in CLI tables: stages as words, times in
court time with their zone, durations, a history as sentences, plurals right."""

from __future__ import annotations

import re
from pathlib import Path

from tests.foundation_fixtures import write_csv
from tests.web_fixtures import Web

OKAFOR = "A-200-000-002"
# An ISO timestamp as code writes it: what no page or table shows.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _bond_amended(cli) -> None:  # type: ignore[no-untyped-def]
    cli("locate", OKAFOR, "--facility", "KRO")
    cli("bond", OKAFOR, "--amount", "1500", "--obligor", "Ada Okafor")
    cli("bond", OKAFOR, "--amount", "3000", "--obligor", "Ben Okafor")


def test_the_person_page_reads_as_sentences_in_court_time(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    _bond_amended(cli)
    page = web.browser("attorney").get(f"/people/{web.ids[1]}").text
    assert "<strong>Bond set</strong> since Thu 20 Nov 2025, 12:00 CST" in page
    assert "bond amount changed from $1,500 to $3,000; obligor changed" in page
    assert "bond set at $1,500; obligor recorded" in page
    assert "Located → Bond set" in page
    assert "changed: [" not in page and "amount_cents" not in page
    assert not ISO_TIME.search(page)


def test_the_people_list_shows_stage_words_and_time_in_stage(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    _bond_amended(cli)
    page = web.browser("staff").get("/people").text
    assert "<td>Bond set</td>" in page and "<td>Intake</td>" in page
    assert "BOND_SET</td>" not in page
    assert "Time in stage" in page and "<td>0 min</td>" in page
    assert '<option value="BOND_SET">Bond set</option>' in page


def test_cli_tables_show_stage_words_and_history_sentences(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    _bond_amended(cli)
    listed = cli("list").output
    assert "Bond set" in listed and "BOND_SET" not in listed
    shown = cli("show", OKAFOR).output
    assert "bond amount changed from $1,500 to $3,000" in shown
    assert "Located → Bond set" in shown and "amount_cents" not in shown
    assert "BOND_SET" in cli("list", "--csv").output  # machines keep the codes


def test_applying_one_move_says_so_in_the_singular(web: Web, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "moves.csv", ["A-Number,Action", f"{OKAFOR},search"])
    assert cli("apply", path).output.strip() == "applied 1 move from moves.csv"


def test_the_orders_and_alerts_pages_show_court_time_and_time_left(web: Web) -> None:
    browser = web.browser("attorney")
    orders = browser.get("/orders").text
    assert "Fri 21 Nov 2025, 12:00 CST" in orders
    assert "<td>1 d</td>" in orders  # the fixture stands at T-24h
    alerts = browser.get("/alerts").text
    assert "CST" in alerts and not ISO_TIME.search(alerts)
