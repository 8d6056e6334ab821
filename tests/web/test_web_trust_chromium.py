"""Trust on first contact in a real headless Chromium against a real `bondtrack web`: final
moves ask first (the browser will not send exclude, depart, not in custody or a release
without bond until the box is ticked, and depart needs its reason there as on the CLI; the
same rules hold on the server for a form sent without the browser's checks), and a member
whose role needs a second factor sets it up at sign-in from a QR code drawn on the server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_dashboard import Chromium
from tests.fixtures_web import PASSWORD, Server, Web, email, start_server
from tests.web_browser import Tab
from workflow.record.models import Detainee, Event


def _valid(tab: Tab, form: str) -> bool:
    return bool(tab.js(f"document.querySelector('#{form}').checkValidity()"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_final_moves_ask_for_confirmation_and_depart_needs_a_reason(
        web: Web, servers: list[Server], tmp_path: Path) -> None:
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url, person = servers[0].url, web.ids[2]
    chromium = Chromium()
    try:
        tab = Tab(chromium)
        tab.go(url + "/login")
        tab.fill({"#email": email("staff"), "#password": PASSWORD})
        tab.click("form.stack button")
        tab.go(f"{url}/people/{person}")
        for form in ("move-exclude", "move-depart", "move-not-in-custody"):
            assert tab.js(f"!!document.querySelector('#{form} input[name=confirm]')"), form
            assert not _valid(tab, form), form  # nothing ticked: the browser will not send it
        assert tab.js("!!document.querySelector('#move-search input[name=confirm]')") is False
        tab.js("document.querySelector('#depart-confirm').checked = true")
        assert not _valid(tab, "move-depart")  # ticked, but no reason: as on the CLI
        tab.fill({"#depart-reason": "removed"})
        assert _valid(tab, "move-depart")
        tab.click("#move-depart button")
        assert tab.url == f"{url}/people/{person}" and "DEPARTED" in tab.text
        tab.close()
        assert tab.errors == [], "no console errors"
    finally:
        chromium.close()
    with web.database.read() as session:
        assert session.get(Detainee, person).stage == "DEPARTED"
        departed = session.scalar(select(Event).where(Event.kind == "depart"))
        assert departed.payload["reason"] == "removed"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_second_factor_is_set_up_at_sign_in_from_a_qr_code(web: Web, servers: list[Server],
                                                             tmp_path: Path) -> None:
    import pyotp

    from workflow.core import clock
    from workflow.record import users
    from workflow.record.audit import Actor

    with web.database.write() as session:
        users.require_totp(session, "attorney", required=True, actor=Actor("t"),
                           now=clock.now())
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    try:
        tab = Tab(chromium, size=(1366, 900))
        tab.go(url + "/login")
        tab.fill({"#email": email("attorney"), "#password": PASSWORD})
        tab.click("form.stack button")
        assert tab.url == url + "/enrol" and "Set up your second factor" in tab.text
        # The QR code is drawn: the image loaded from its data: URI under the page's CSP.
        assert tab.js("document.querySelector('#enrol-qr').complete && "
                      "document.querySelector('#enrol-qr').naturalWidth > 100")
        secret = tab.js("document.querySelector('#enrol-secret').textContent")
        tab.go(url + "/people")  # nothing else until it is done
        assert tab.url == url + "/enrol"
        secret = tab.js("document.querySelector('#enrol-secret').textContent")  # a new one
        tab.fill({"#enrol-code": pyotp.TOTP(secret).now()})
        tab.click("#enrol-code ~ button")
        assert tab.url == url + "/queue"  # where attorneys start
        tab.go(url + "/people")
        assert tab.url == url + "/people"
        tab.close()
        assert tab.errors == [], "no console errors"
        assert [r for r in tab.requests if not r.startswith((url + "/", "data:"))] == []
    finally:
        chromium.close()


@pytest.mark.parametrize("move, fields", [
    ("exclude", {"reason": "security-threat"}), ("depart", {"reason": "removed"}),
    ("not-in-custody", {}), ("release", {"reason": "recognizance"})])
def test_a_final_move_sent_without_its_confirmation_changes_nothing(web: Web, move: str,
                                                                    fields: dict) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    if move == "release":
        browser.post(f"/people/{person}/locate", {"facility": "EAZ",
                                                  "version": browser.version(person)})
    refused = browser.post(f"/people/{person}/{move}", {**fields,
                                                         "version": browser.version(person)})
    assert refused.status_code == 400 and "tick the box to confirm" in refused.text
    stage = "LOCATED" if move == "release" else "INTAKE"
    with web.database.read() as session:
        assert session.get(Detainee, person).stage == stage
    done = browser.post(f"/people/{person}/{move}", {**fields, "confirm": "yes",
                                                      "version": browser.version(person)})
    assert done.status_code == 303, done.text[:2000]


def test_depart_without_a_reason_is_refused_in_the_browser_and_the_cli(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    browser, person = web.browser("staff"), web.ids[2]
    refused = browser.post(f"/people/{person}/depart", {"reason": " ", "confirm": "yes",
                                                        "version": browser.version(person)})
    assert refused.status_code == 400 and "depart needs a reason" in refused.text
    result = cli("depart", "A200000003", ok=False)
    assert result.exit_code == 2 and "--reason" in result.output
    with web.database.read() as session:
        assert session.get(Detainee, person).stage == "INTAKE"
