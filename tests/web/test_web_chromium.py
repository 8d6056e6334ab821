"""A person's day in a real headless Chromium against a real `bondtrack web`: sign in, find
a person, locate → bond → post → release (with what ICE imposed), a bond event and a
hearing, upload an apply file, preview, confirm. No console error, no request leaves
127.0.0.1, and no URL holds a name or an A-number."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures_dashboard import Chromium
from tests.fixtures_web import PASSWORD, PEOPLE, Server, Web, email, start_server
from tests.web_browser import Tab


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_sign_in_find_a_person_move_them_and_apply_a_file(web: Web, servers: list[Server],
                                                          tmp_path: Path) -> None:
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    try:
        tab = Tab(chromium)
        tab.go(url + "/people")
        assert tab.url == url + "/login"
        tab.fill({"#email": email("staff"), "#password": PASSWORD})
        tab.click("form.stack button")
        assert tab.url == url + "/queue"  # where a volunteer starts the day
        tab.go(url + "/orders/1")  # the dashboard, its inline style allowed by hash
        assert "Burndown" in tab.text
        tab.go(url + "/people")
        tab.fill({"#q": "a 200 000 003"})
        tab.click("form[role=search] button")
        assert "1 found" in tab.text
        tab.click("td a")
        assert tab.url == f"{url}/people/{web.ids[2]}" and "Lindqvist" in tab.text
        for move, fields in (("locate", {"#locate-facility": "EAZ"}),
                             ("bond", {"#bond-amount": "1500", "#bond-obligor": "Erik"}),
                             ("post", {"#post-receipt": "I305-1"}),
                             ("release", {"#release-imposed_bond": "2000",
                                          "#release-imposed_conditions": "atd"})):
            tab.fill(fields)
            tab.click(f"#move-{move} button")
            assert tab.url == f"{url}/people/{web.ids[2]}", move
        assert "Released" in tab.text and "Bond posted → Released" in tab.text
        assert "bond-higher-than-ordered" in tab.text
        # After release: the bond's next event and a hearing, from the same page.
        tab.fill({"#bond-designee-name": "Erik"})
        tab.click("#bond-designee button")
        assert "designee recorded, now active" in tab.text
        tab.fill({"#hearing-at": "2031-01-14 09:00"})
        tab.click("#hearing-add button")
        assert "Chicago Immigration Court" in tab.text and "Tue 14 Jan 2031, 09:00 CST" in tab.text
        moves = tmp_path / "moves.csv"
        moves.write_text("a_number,action,facility\nA200000001,locate,KRO\n"
                         "A200000002,search,\n", encoding="utf-8")
        tab.go(url + "/bulk/apply")
        tab.choose_file("#file", moves)
        tab.click("#preview")
        assert "Intake → Located" in tab.text and "Intake → Locating" in tab.text
        tab.click("#confirm")
        assert "applied 2 moves" in tab.text
        tab.close()
        offline_and_nameless(tab, url)
    finally:
        chromium.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_volunteer_starts_at_the_queue_and_works_three_people_at_the_desk(
        web: Web, servers: list[Server], tmp_path: Path) -> None:
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    try:
        tab = Tab(chromium)
        tab.go(url + "/")
        tab.fill({"#email": email("staff"), "#password": PASSWORD})
        tab.click("form.stack button")
        assert tab.url == url + "/queue" and "My queue" in tab.text
        tab.go(url + "/queue?owner=unowned")
        assert "Look them up in the locator" in tab.text and "Lindqvist" in tab.text
        tab.click("nav a[href='/locator']")
        # One found where the class list had them, one not found, one found somewhere else.
        for family, result, facility, said in (
                ("Quispe", "found", "KRO", "located at KRO"),
                ("Okafor", "not-found", "", "look again by"),
                ("Lindqvist", "found", "Krome North", "located at KRO")):
            assert tab.url == url + "/locator" and family in tab.text, (family, tab.text)
            assert "Look-ups so far" in tab.text
            tab.fill({"#desk-facility": facility, "#desk-source": "locator"})
            tab.click(f"#result-{result}")
            assert tab.url == url + "/locator" and said in tab.text, (family, tab.text)
        assert "Nobody is due for a look-up now" in tab.text
        assert "The next look-up falls due" in tab.text
        tab.go(url + f"/people/{web.ids[2]}")
        assert "Located" in tab.text and "KRO" in tab.text
        tab.close()
        offline_and_nameless(tab, url)
    finally:
        chromium.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_overview_sits_in_the_workspace_and_fits_a_phone(web: Web, servers: list[Server],
                                                             tmp_path: Path) -> None:
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    try:
        for width in (390, 1366):
            tab = Tab(chromium, size=(width, 844))
            tab.go(url + "/orders/1")
            if tab.url == url + "/login":  # the first tab signs in; the next shares its cookie
                tab.fill({"#email": email("attorney"), "#password": PASSWORD})
                tab.click("form.stack button")
                tab.go(url + "/orders/1")
            assert "Burndown" in tab.text and "Sign out" in tab.text and "People" in tab.text
            assert tab.js("document.documentElement.scrollWidth") <= width, width
            tab.click("#behind td a")  # the furthest behind are links to their pages
            assert tab.url.startswith(url + "/people/") and "History" in tab.text
            tab.close()
            assert tab.errors == [], "no console errors"
    finally:
        chromium.close()


def offline_and_nameless(tab, url: str) -> None:  # type: ignore[no-untyped-def]
    """No console error, no request off this server, and no A-number or name in any URL."""
    assert tab.errors == [], "no console errors"
    assert [r for r in tab.requests if not r.startswith(url + "/")] == []
    for a_number, family, _given, _, _ in PEOPLE:
        for r in tab.requests:
            assert a_number.replace("-", "")[1:] not in r and family[:5] not in r
