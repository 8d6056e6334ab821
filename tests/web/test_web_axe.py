"""axe-core, from its npm package (`make test` installs it), run in the real headless Chromium
on every page of the workspace at 1366 px and at 390 px: no WCAG 2.1 AA violation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fixtures_dashboard import Chromium
from tests.fixtures_web import PASSWORD, Server, Web, email, start_server
from tests.support import ROOT
from tests.web_browser import Tab

AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / \
    "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pages(web: Web) -> list[str]:
    """Every page of the workspace an admin sees (the sign-in page first, signed out: each
    width has its own browser context)."""
    return ["/login", "/orders", "/orders/1", "/people", f"/people/{web.ids[0]}",
            f"/people/{web.ids[2]}", "/bulk/apply", "/bulk/reconcile", "/alerts",
            "/downloads/letters", "/outbox", "/users", "/caseloads"]


# The day's pages, as a volunteer attorney sees them (an admin may not see people).
DAY_PAGES = ["/queue", "/locator", "/caseloads", "/queue?owner=all"]


def violations(tab: Tab, script: str) -> list[str]:
    """What axe finds on the page in ``tab``: one line per rule and node."""
    tab.js(script)
    run = (f"axe.run(document, {{runOnly: {{type: 'tag', values: {json.dumps(WCAG_21_AA)}}}}})"
           ".then(r => JSON.stringify(r.violations.map(v => [v.id, v.help,"
           " v.nodes.map(n => n.target.join(' '))])))")
    answer = tab.call("Runtime.evaluate", {"expression": run, "awaitPromise": True,
                                           "returnByValue": True})
    assert "exceptionDetails" not in answer, answer
    return [f"{rule}: {help_text} at {target}"
            for rule, help_text, targets in json.loads(answer["result"]["value"])
            for target in targets]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_page_of_the_workspace_has_a_wcag_21_aa_violation(web: Web, servers: list[Server],
                                                              tmp_path: Path) -> None:
    assert AXE.exists(), "axe-core is missing: `make test` installs it (npm)"
    script = AXE.read_text(encoding="utf-8")
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    found: list[str] = []
    try:
        for role, shown in (("admin", pages(web)), ("attorney", DAY_PAGES)):
            for width in (1366, 390):
                tab = Tab(chromium, size=(width, 900))
                for page in shown:
                    tab.go(url + page)
                    if tab.url == url + "/login" and page != "/login":
                        tab.fill({"#email": email(role), "#password": PASSWORD})
                        tab.click("form.stack button")
                        tab.go(url + page)
                    if page == "/login" and tab.url != url + page:
                        continue  # this browser is signed in already
                    assert tab.url == url + page, (page, tab.url)
                    found += [f"{width} px {page}: {v}" for v in violations(tab, script)]
                    if role == "attorney":  # the day's pages fit a phone
                        wide = tab.js("document.documentElement.scrollWidth")
                        assert wide <= width, (page, width, wide)
                if role == "admin" and width == 390:  # the tabs share a cookie: sign out
                    tab.go(url + "/orders")
                    tab.click(".signout button")
                tab.close()
    finally:
        chromium.close()
    assert found == [], "\n".join(found)
