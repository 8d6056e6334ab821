"""The dashboard: burndown from the event log, and a page that renders offline in Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event

from tests.fixtures_dashboard import Chromium, local_only, png_facts
from tests.fixtures_report import ROUND_1, ROUND_2, T0, Caseload, write_class_list
from tests.support import ROOT
from workflow.orders.orders import resolve_order
from workflow.views import compliance, dashboard, reports

# Looks for the burndown drawn, the funnel, and anything that could run or fetch.
PROBE = """JSON.stringify({
  burndown: document.querySelectorAll('svg#burndown').length,
  actual: document.querySelector('#burndown-actual') ?
          document.querySelector('#burndown-actual').getTotalLength() : 0,
  ideal: !!document.querySelector('#burndown-ideal'),
  projection: !!document.querySelector('#burndown-projection'),
  width: document.querySelector('svg#burndown').getBoundingClientRect().width,
  funnel: document.querySelectorAll('svg#funnel rect.reached').length,
  scripts: document.scripts.length,
  label: document.querySelector('svg#burndown').getAttribute('aria-labelledby'),
  title: document.title
})"""


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    browser = Chromium()
    yield browser
    browser.close()


def dashboard_of(database, settings, case: str,  # type: ignore[no-untyped-def]
                 now: datetime) -> dict:
    with database.read() as session:
        return dashboard.dashboard_data(session, resolve_order(session, case), now, settings)


def test_burndown_counts_outstanding_people_from_the_event_log(cli, database, frozen,
                                                               caseload: Caseload) -> None:
    with database.read() as session:
        series = dashboard.outstanding_over_time(session, resolve_order(session, caseload.case))
    # 12 imported; a departure and an exclusion; two releases, not in custody, an exclusion.
    assert series == [(T0, 12), (ROUND_1, 10), (ROUND_2, 6)]
    frozen(ROUND_2 + timedelta(hours=1))
    cli("redetain", "200000001")  # released, held again: outstanding once more
    with database.read() as session:
        order = resolve_order(session, caseload.case)
        series = dashboard.outstanding_over_time(session, order)
        status = reports.status(session, order, ROUND_2 + timedelta(hours=1))
    assert series[-1] == (ROUND_2 + timedelta(hours=1), 7) and status["outstanding"] == 7


def test_burndown_draws_the_line_to_zero_at_the_deadline_and_the_projection(
        database, settings, caseload: Caseload) -> None:
    data = dashboard_of(database, settings, caseload.case, ROUND_2)
    chart = data["burndown"]
    # The frame worked out by hand: 1180 x 400 px, plotted from x 64 to 1156 and y 360 (0
    # people) up to 48 (12, the top tick); time from T0 to the deadline (T0 + 24 h) plus 3 %
    # and a minute, so x = 64 + 1092 * seconds / 89,052.
    deadline_x, now_x = 1123.5, 196.4  # T0 + 24 h, and ROUND_2 = T0 + 3 h
    assert chart["deadline_x"] == deadline_x and chart["now_x"] == now_x
    assert chart["ideal"] == {"x1": 64.0, "y1": 48.0, "x2": deadline_x, "y2": 360.0}
    at_risk = data["projection"]["at_risk"]
    assert chart["projection"] == {"x1": now_x, "y1": 204.0,  # 6 outstanding
                                   "x2": deadline_x, "y2": round(360 - 312 * at_risk / 12, 1)}
    assert chart["actual"].startswith("M64 48.0")
    assert [tick["label"] for tick in chart["x_ticks"]] == ["Fri 21 Nov"]
    assert chart["y_ticks"][0]["label"] == "0" and chart["y_ticks"][-1]["label"] == "12"


def test_funnel_and_places_add_up(database, settings, caseload: Caseload) -> None:
    data = dashboard_of(database, settings, caseload.case, ROUND_2)
    steps = {step["label"]: (step["reached"], step["waiting"]) for step in data["funnel"]["steps"]}
    assert steps == {"Covered": (10, 4), "Located": (4, 0), "Bond set": (4, 1),
                     "Bond posted": (3, 1), "Released": (2, 0)}
    assert data["funnel"]["other"] == 2
    assert sum(row["outstanding"] for row in data["facilities"]) == 6
    assert sum(row["outstanding"] for row in data["field_offices"]) == 6
    assert [row["id"] for row in data["behind"]] != [] and len(data["behind"]) == 6


def test_dashboard_renders_offline_in_headless_chromium(cli, caseload: Caseload, chromium,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "dashboard.html"
    assert cli("dashboard", "--out", out).output.strip() == f"wrote the dashboard to {out}"
    assert (out.stat().st_mode & 0o777) == 0o600
    visit = chromium.visit(out.as_uri(), PROBE)
    assert local_only(visit.requests) == [], "nothing is fetched from the network"
    assert visit.requests == [out.as_uri()]
    assert visit.errors == [], "no console errors"
    probe = json.loads(visit.probe)
    assert probe["burndown"] == 1 and probe["actual"] > 100 and probe["width"] > 1000
    assert probe["ideal"] and probe["projection"] and probe["funnel"] == 5
    assert probe["scripts"] == 0 and probe["label"] == "burndown-title burndown-desc"
    assert probe["title"] == "1:18-cv-03757: 6 outstanding, 21 h to the deadline"
    width, height, distinct_rows = png_facts(visit.screenshot)
    assert (width, height) == (1280, 1800) and distinct_rows > 400


def test_dashboard_html_is_self_contained(cli, caseload: Caseload, tmp_path: Path) -> None:
    out = tmp_path / "dashboard.html"
    cli("dashboard", "--out", out)
    page = out.read_text(encoding="utf-8")
    for forbidden in ("<script", "http://", "https://", "//", " src=", " href=", "url(",
                      "@import", "<link", "@font-face", "<iframe", "<img"):
        assert forbidden not in page.replace("<!doctype", ""), forbidden
    assert re.search(r"<svg id=\"burndown\"[^>]*role=\"img\"", page)
    assert "Burndown: people outstanding over time" in page
    assert "=HYPERLINK" not in page and "Núñez" not in page, "people appear by internal id only"


def test_the_browser_check_sees_requests_and_console_errors(chromium, tmp_path: Path) -> None:
    """The harness itself: a page that fetches from the network is caught, so checks can fail."""
    page = tmp_path / "leaky.html"
    page.write_text("<!doctype html><html><head><style>"
                    "body{background:url(http://127.0.0.1:9/b.png)}</style></head>"
                    '<body><img src="http://127.0.0.1:9/x.png" alt=""></body></html>')
    visit = chromium.visit(page.as_uri(), "document.images.length")
    assert sorted(local_only(visit.requests)) == ["http://127.0.0.1:9/b.png",
                                                  "http://127.0.0.1:9/x.png"]
    assert len(visit.errors) == 2 and visit.probe == 1
    assert png_facts(visit.screenshot)[2] < 10, "a blank page has almost no distinct rows"


def test_dashboard_past_the_deadline_says_overdue_and_projects_nothing(
        database, settings, caseload: Caseload) -> None:
    after = datetime(2025, 11, 21, 20, 30, tzinfo=UTC)  # 14:30 CST, 2.5 hours late
    data = dashboard_of(database, settings, caseload.case, after)
    assert data["countdown"] == {"overdue": True, "days": 0, "hours": 2, "minutes": 30,
                                 "text": "2 h 30 min"}
    assert data["burndown"]["projection"] is None
    page = dashboard.render_dashboard(data)
    assert "Past the deadline by" in page and 'id="burndown-projection"' not in page
    assert "6 outstanding, past the deadline by 2 h 30 min</title>" in page


def test_dashboard_of_an_order_with_nobody_yet(cli, court_order, database, settings,
                                               tmp_path: Path) -> None:
    out = tmp_path / "dashboard.html"
    cli("dashboard", "--out", out)
    page = out.read_text(encoding="utf-8")
    assert "No one is on the class list yet." in page
    assert 'id="burndown-actual"' not in page and "No one is outstanding." in page


def test_dashboard_and_report_queries_do_not_grow_with_people(cli, database, settings, frozen,
                                                             caseload: Caseload,
                                                             tmp_path: Path) -> None:
    """No query per person: the same number of statements for 12 people as for 52."""

    def statements_for_both() -> int:
        seen: list[str] = []

        def record(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
            seen.append(statement)

        sa_event.listen(database.engine, "before_cursor_execute", record)
        try:
            with database.read() as session:
                order = resolve_order(session, caseload.case)
                dashboard.dashboard_data(session, order, ROUND_2 + timedelta(hours=2), settings)
                compliance.report_data(session, order, ROUND_2 + timedelta(hours=2), settings)
        finally:
            sa_event.remove(database.engine, "before_cursor_execute", record)
        return len(seen)

    few = statements_for_both()
    more = tmp_path / "more.csv"
    lines = write_class_list(tmp_path / "base.csv").read_text(encoding="utf-8").splitlines()
    extra = [f"{300000000 + n},Persona,Número {n},1990-01-15,Spanish,BROADIL," for n in range(40)]
    more.write_text("\n".join([lines[0], *extra]) + "\n", encoding="utf-8")
    frozen(ROUND_2 + timedelta(hours=1))
    cli("import", more)
    for n in range(0, 40, 3):
        cli("locate", str(300000000 + n), "--facility", "KENOSWI")
    assert statements_for_both() == few


@pytest.mark.slow
def test_screenshot_script_writes_the_readme_png(home: Path, tmp_path: Path,
                                                 prefect_api: str) -> None:
    out = tmp_path / "dashboard.png"
    # Its demo's flows on the run's Prefect server: a temporary one costs ten seconds.
    env = {**os.environ, "BONDTRACK_DEMO_PREFECT_API_URL": prefect_api}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "dashboard-screenshot"),
                           "--people", "120", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith(f"wrote {out}")
    width, height, distinct_rows = png_facts(out.read_bytes())
    assert (width, height) == (1280, 1800) and distinct_rows > 400
    assert not home.exists(), "the script never touches the user's data"
