"""Words people read, the same in the browser and in CLI tables: stages as words, times in
court time with their zone, durations, a history as sentences, plurals right."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures_foundation import write_csv
from tests.fixtures_web import Web

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


def test_the_people_list_counts_sorts_and_names_facilities(web: Web) -> None:
    browser = web.browser("staff")
    page = browser.get("/people").text
    assert "3 people; page 1 of 1" in page
    assert '<option value="EAZ">EAZ · Eloy' in page  # names beside codes
    by_name = browser.get("/people?sort=name").text
    order = [by_name.index(name) for name in ("Lindqvist", "Okafor", "Quispe")]
    assert order == sorted(order)
    by_facility = browser.get("/people?sort=facility").text
    assert by_facility.index("Lindqvist") < by_facility.index("Okafor")  # EAZ before KRO
    assert "1 person; page 1 of 1" in browser.get("/people?facility=EAZ").text
    assert browser.get("/people?sort=shoe-size").status_code == 400
    for sort in ("stage", "time_in_stage", "a_number"):
        assert browser.get(f"/people?sort={sort}").status_code == 200


def test_the_bulk_preview_names_each_person_and_the_page_offers_a_template(web: Web) -> None:
    import io

    browser = web.browser("staff")
    moves = b"a_number,action,facility,amount\nA200000003,locate,EAZ,\nA200000003,bond,,2500\n"
    preview = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(moves), "fund list.csv"),
                                                   "order": "1"},
                           content_type="multipart/form-data")
    assert preview.status_code == 200
    page = preview.text
    assert "2 moves in the file" in page
    assert "<td>A200-000-003</td>" in page and "<td>Lindqvist, Maja</td>" in page
    assert "<td>located at EAZ</td>" in page and "<td>bond set at $2,500</td>" in page
    bad = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(b"a_number,action\nx,fly\n"),
                                                        "fund list.csv"), "order": "1"},
                       content_type="multipart/form-data")
    assert bad.status_code == 400 and "fund list.csv:2" in bad.text
    form = browser.get("/bulk/apply").text
    assert "<code>a_number</code>" in form and "<code>obligor_name</code>" in form
    template = browser.get("/bulk/apply/template.csv")
    assert template.status_code == 200
    assert template.text.startswith("a_number,action,facility_code,")
    assert "book_in_date" in browser.get("/bulk/reconcile/template.csv").text
