"""The order overview in the browser says when nobody is watching the alerts, on SQLite and
PostgreSQL: the sentence `bondtrack status` and the dashboard say, from the same heartbeat."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures_web import Web
from workflow.core import clock
from workflow.record import watch

NEVER = "alerts are not being watched: no scheduler has ever run on this database"
SINCE = "alerts are not being watched: no scheduler has run since"


def _beat(web: Web, at) -> None:  # type: ignore[no-untyped-def]
    with web.database.write() as session:
        watch.record_run(session, holder="test", job="alert check", now=at,
                         interval_seconds=300.0)


def test_the_overview_warns_while_no_scheduler_runs_and_not_once_one_does(web: Web,
                                                                          frozen) -> None:  # type: ignore[no-untyped-def]
    viewer = web.browser("viewer")  # counts only: the warning is for everyone
    for url in ("/orders/1", "/orders"):
        page = viewer.get(url)
        assert page.status_code == 200 and NEVER in page.text, url
    _beat(web, clock.now())
    for url in ("/orders/1", "/orders"):
        assert "not being watched" not in viewer.get(url).text, url
    frozen(clock.now() + timedelta(minutes=11))  # more than two 5-minute intervals of silence
    stale = viewer.get("/orders/1").text
    assert SINCE + " Thu 20 Nov 2025, 12:00 CST (11 min ago)" in stale
    assert SINCE in viewer.get("/orders").text


def test_an_order_with_no_alerts_to_come_needs_no_scheduler(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    cli("order", "stay", "--docket", "ECF 58")
    page = web.browser("attorney").get("/orders/1").text
    assert "not being watched" not in page
