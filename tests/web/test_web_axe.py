"""axe-core, from its npm package (`make test` installs it), run in the real headless Chromium
on every page of the workspace at 1366 px and at 390 px, each as a role that may open it: no
WCAG 2.1 AA violation, and no page wider than the screen."""

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


def pages(web: Web) -> list[tuple[str, str]]:
    """Every page of the workspace, each as a role that may open it (the sign-in page first,
    signed out), so axe reads the page itself, not a refusal."""
    attorney = ["/orders", "/orders/1", "/people", f"/people/{web.ids[0]}",
                f"/people/{web.ids[2]}", "/bulk/apply", "/bulk/reconcile", "/intake/import",
                "/intake/person", "/alerts", "/downloads/letters", "/downloads/report",
                "/bonds", "/hearings", "/outbox", "/queue", "/queue?owner=all", "/locator",
                "/caseloads"]
    return [("", "/login"), *(("attorney", page) for page in attorney),
            ("admin", "/users"), ("admin", "/hearings"), ("admin", "/caseloads")]


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
                                                              tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert AXE.exists(), "axe-core is missing: `make test` installs it (npm)"
    # A posted bond and hearings, so the ledger and the calendar have rows to read.
    cli("locate", "A200000003", "--facility", "EAZ")
    cli("bond", "A200000003", "--amount", "4500", "--obligor", "Rosa Núñez")
    cli("post", "A200000003", "--receipt", "I305-0042")
    cli("hearing", "add", "A200000003", "--at", "2026-01-14 09:00", "--court", "eloy")
    cli("hearing", "add", "A200000001", "--at", "2026-01-14 10:00", "--court", "chicago")
    script = AXE.read_text(encoding="utf-8")
    servers.append(start_server(dict(os.environ), tmp_path / "web.log"))
    url = servers[0].url
    chromium = Chromium()
    found: list[str] = []
    try:
        for width in (1366, 390):
            tab = Tab(chromium, size=(width, 900))
            signed_in = ""
            for role, page in pages(web):
                if signed_in and role != signed_in:
                    tab.click("form.signout button")
                    signed_in = ""
                tab.go(url + page)
                if tab.url == url + "/login" and page != "/login":
                    tab.fill({"#email": email(role), "#password": PASSWORD})
                    tab.click("form.stack button")
                    signed_in = role
                    tab.go(url + page)
                assert tab.url == url + page, (page, tab.url)
                title = tab.js("document.title")
                assert not title.startswith(("Forbidden", "Not Found", "Bad Request")), (
                    role, page, title)
                wide = tab.js("document.documentElement.scrollWidth")
                if wide > width:  # a page wider than the screen scrolls sideways whole
                    found.append(f"{width} px {page} ({role or 'signed out'}): {wide} px wide")
                found += [f"{width} px {page} ({role or 'signed out'}): {v}"
                          for v in violations(tab, script)]
            tab.click("form.signout button")  # the next width starts at the sign-in page
            tab.close()
    finally:
        chromium.close()
    assert found == [], "\n".join(found)
