"""Words people read, the same in the browser and in CLI tables: stages as words, times in
court time with their zone, durations, a history as sentences, plurals right."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.fixtures_foundation import write_csv
from tests.fixtures_web import Web, email
from workflow.record.models import User

OKAFOR = "A-200-000-002"
# An ISO timestamp as code writes it, an offset where a zone's name belongs, or microseconds:
# what no page, table or e-mail shows.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|[+-]\d{2}:\d{2}\b|:\d{2}\.\d{6}")


def _bond_amended(cli) -> None:  # type: ignore[no-untyped-def]
    cli("locate", OKAFOR, "--facility", "KRO")
    cli("bond", OKAFOR, "--amount", "1500", "--obligor", "Ada Okafor")
    cli("bond", OKAFOR, "--amount", "3000", "--obligor", "Ben Okafor")


def test_the_person_page_reads_as_sentences_in_court_time(web: Web, cli, frozen) -> None:  # type: ignore[no-untyped-def]
    _bond_amended(cli)
    frozen(datetime(2025, 11, 20, 21, 5, tzinfo=UTC))  # 3 h 5 min later
    page = web.browser("attorney").get(f"/people/{web.ids[1]}").text
    assert "<strong>Bond set</strong> since Thu 20 Nov 2025, 12:00 CST (3 h 5 min ago)" in page
    assert "stage since: Thu 20 Nov 2025, 12:00 CST (3 h 5 min ago)" in cli("show", OKAFOR).output
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


def _a_busy_day(cli, web: Web) -> None:  # type: ignore[no-untyped-def]
    """A posted bond, a hearing in July (daylight time), an obligation, an alert fired, and a
    locked account: every kind of time the tables show."""
    _bond_amended(cli)
    cli("post", OKAFOR, "--receipt", "I305-1", "--method", "cebonds")
    cli("hearing", "add", OKAFOR, "--at", "2026-07-14 09:00", "--court", "chicago")
    cli("order", "obligation", "add", "--kind", "status-report", "--due", "2025-11-21 12:00")
    cli("order", "stay", "--docket", "ECF 200", "--at", "2025-11-20 11:00")
    cli("order", "lift-stay", "--docket", "ECF 201", "--at", "2025-11-20 11:30")
    with web.database.write() as session:  # locked a quarter of an hour after 12:00 CST
        session.execute(update(User).where(User.email == email("staff"))
                        .values(locked_until=datetime(2025, 11, 20, 18, 15, 0, 123456, UTC)))


def test_every_cli_table_reads_times_in_court_time_with_the_zone_named(
        web: Web, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _a_busy_day(cli, web)
    monkeypatch.setenv("BONDTRACK_NOTICES_STAFF_EMAILS", "counsel@example.org")
    cli("alerts", "check")
    cli("notices", "send")
    said = {" ".join(argv): cli(*argv).output for argv in (
        ["status"], ["status", "--by", "facility"], ["list"], ["show", OKAFOR], ["order", "show"],
        ["order", "list"], ["order", "history"], ["order", "obligation", "list"],
        ["alerts", "list"], ["notices", "list"], ["sms", "list"], ["bonds"], ["bonds", "list"],
        ["hearing", "list"], ["user", "list"])}
    for command, output in said.items():
        assert not ISO_TIME.search(output), f"bondtrack {command}: {ISO_TIME.search(output)}"
    assert "deadline Fri 21 Nov 2025, 12:00 CST (America/Chicago)" in said["status"]
    assert "time left 1 d" in said["status"]
    assert "deadline: Fri 21 Nov 2025, 12:00 CST" in said["order show"]
    assert "Fri 21 Nov 2025, 12:00 CST" in said["order list"]
    assert "Thu 20 Nov 2025, 11:00 CST" in said["order history"]  # the stay
    assert "stayed 30 min" in said["order history"]
    assert "Thu 20 Nov 2025, 12:00 CST" in said[f"show {OKAFOR}"]
    # A July hearing is in daylight time, the November deadline in standard time.
    assert "Tue 14 Jul 2026, 09:00 CDT" in said["hearing list"]
    assert "Tue 14 Jul 2026, 09:00 CDT" in said[f"show {OKAFOR}"]
    assert "Tue 14 Jul 2026, 09:00 CDT" in said["bonds list"]
    assert "Thu 20 Nov 2025, 12:15 CST" in said["user list"]  # locked until, court time
    assert "0 min" in said["list"] and "time in stage" in said["list"]
    assert "oldest in stage" in said["status --by facility"]
    assert "Thu 20 Nov 2025, 12:00 CST" in said["alerts list"]
    assert "hours_in_stage" in cli("list", "--csv").output  # machines keep the number
    assert "2026-07-14T09:00:00-05:00" in cli("hearing", "list", "--json").output


def test_no_page_shows_an_iso_time_and_locked_until_is_in_court_time(
        web: Web, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _a_busy_day(cli, web)
    monkeypatch.setenv("BONDTRACK_NOTICES_STAFF_EMAILS", "counsel@example.org")
    cli("alerts", "check")
    admin = web.browser("admin")
    users = admin.get("/users").text
    assert "<td>Thu 20 Nov 2025, 12:15 CST</td>" in users
    pages = {"/users": users}
    attorney = web.browser("attorney")
    for path in ("/orders", "/alerts", "/people", f"/people/{web.ids[1]}", "/outbox",
                 "/orders/1", "/downloads/letters", "/bulk/apply", "/account"):
        answer = attorney.get(path)
        assert answer.status_code == 200, path
        pages[path] = answer.text
    for path, page in pages.items():
        assert not ISO_TIME.search(page), f"{path}: {ISO_TIME.search(page)}"
    assert "Tue 14 Jul 2026, 09:00 CDT" in pages[f"/people/{web.ids[1]}"]
    assert "Thu 20 Nov 2025, 12:00 CST" in pages["/orders/1"]


def test_the_dashboard_names_stages_in_words(web: Web, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _bond_amended(cli)
    page = (tmp_path / "d.html")
    cli("dashboard", "--out", page)
    html = page.read_text()
    assert "<td>Bond set</td>" in html and "<td>Not in custody</td>" in html
    assert "<td>BOND_SET</td>" not in html and "<td>NOT_IN_CUSTODY</td>" not in html
    assert not ISO_TIME.search(html)
