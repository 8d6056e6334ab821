"""The demo: a synthetic order walked through the real code, never touching real data."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures_demo import NOW, Demo
from tests.fixtures_web import Browser
from workflow import demo
from workflow.core import clock, config
from workflow.core.errors import BondtrackError
from workflow.core.stages import Stage
from workflow.orders import amendments
from workflow.record import db
from workflow.record.models import CourtOrder, Detainee, Event
from workflow.views import reports


def test_demo_builds_615_people_spread_over_every_stage(demo_615: Demo) -> None:
    status = demo_615.status
    assert status["total"] == 615
    # Built around the clock's now (the fixture's Tue 14 Jul 2026, 09:30 CDT): noon tomorrow.
    assert status["order"]["deadline"] == "2026-07-15T12:00:00-05:00"
    assert status["now"] == "2026-07-14T09:30:00-05:00"
    assert status["seconds_left"] == 26.5 * 3600
    for stage in (Stage.LOCATING, Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED,
                  Stage.RELEASED, Stage.EXCLUDED):
        assert status["by_stage"][stage.value] > 0, stage
    assert 0 < status["outstanding"] < status["covered"]
    assert not demo_615.user_bondtrack_home.exists(), "the user's own home is never touched"


@pytest.mark.parametrize(("now", "deadline", "order_date", "imported_at"), [
    # 09:00 CST on Thu 20 Nov 2025: noon CST on Fri 21 Nov, T-27h.
    (datetime(2025, 11, 20, 15, 0, tzinfo=UTC), datetime(2025, 11, 21, 18, 0, tzinfo=UTC),
     date(2025, 11, 12), datetime(2025, 11, 13, 15, 0, tzinfo=UTC)),
    # 21:00 CST on 20 Nov is already the 21st in UTC; tomorrow is still the court's 21st.
    (datetime(2025, 11, 21, 3, 0, tzinfo=UTC), datetime(2025, 11, 21, 18, 0, tzinfo=UTC),
     date(2025, 11, 12), datetime(2025, 11, 13, 15, 0, tzinfo=UTC)),
    # Sat 1 Nov 2025, 11:00 CDT: clocks fall back overnight, so noon on Sunday is CST (18:00Z).
    (datetime(2025, 11, 1, 16, 0, tzinfo=UTC), datetime(2025, 11, 2, 18, 0, tzinfo=UTC),
     date(2025, 10, 24), datetime(2025, 10, 25, 14, 0, tzinfo=UTC)),
    # Sat 7 Mar 2026, 10:00 CST: clocks spring forward overnight, so noon on Sunday is CDT.
    (datetime(2026, 3, 7, 16, 0, tzinfo=UTC), datetime(2026, 3, 8, 17, 0, tzinfo=UTC),
     date(2026, 2, 27), datetime(2026, 2, 28, 15, 0, tzinfo=UTC)),
])
def test_the_deadline_is_noon_tomorrow_in_the_courts_zone(
        now: datetime, deadline: datetime, order_date: date, imported_at: datetime) -> None:
    dates = demo.timeline(now)
    assert (dates.deadline, dates.order_date, dates.imported_at) == (deadline, order_date,
                                                                     imported_at)
    assert clock.local(dates.deadline, demo.TIME_ZONE).hour == 12


@pytest.fixture
def run_server(prefect_api: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demos below run their flows on the run's Prefect server, as [demo] prefect_api_url
    allows: a temporary server of their own would cost each build ten seconds. The 615-person
    demo (tests/fixtures_demo.py) runs its own, as a user's does."""
    monkeypatch.setenv("BONDTRACK_DEMO_PREFECT_API_URL", prefect_api)
    return prefect_api


def test_demo_is_built_around_the_clocks_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             run_server: str) -> None:
    now = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)  # Sat 7 Mar 2026, 10:00 CST, DST eve
    monkeypatch.setattr(clock, "_clock", clock.fixed(now))
    said: list[str] = []
    result = demo.run(people=40, seed=3, home=tmp_path / "demo", say=said.append)
    assert result.status["now"] == "2026-03-07T10:00:00-06:00"
    assert result.status["order"]["deadline"] == "2026-03-08T12:00:00-05:00"
    assert result.status["seconds_left"] == 25 * 3600
    database = db.connect(config.load({"BONDTRACK_HOME": str(result.home)}))
    with database.read() as session:
        order = session.scalars(select(CourtOrder)).one()
        assert order.order_date == date(2026, 2, 27)
        moves = session.scalars(select(Event.at).where(Event.to_stage.is_not(None))).all()
        terms = session.scalars(select(Event.at).where(Event.kind == amendments.AMENDED)).all()
        again = reports.status(session, order, now)
    database.dispose()
    # Every move lies between the import and now (the custody list is reconciled five
    # minutes on): the demo is live, not a year old.
    assert min(moves) == datetime(2026, 2, 28, 15, 0, tzinfo=UTC)  # imported
    assert max(moves) == now + timedelta(minutes=5)
    assert again == result.status
    assert terms == [now]  # the order's terms, at the demo's now
    # Its flows ran on the server [demo] named, not on a temporary one of their own.
    assert "$ bondtrack run reconcile" in "\n".join(said)
    assert not (result.home / "prefect" / "prefect.db").exists()


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> demo.DemoResult:
    """A 60-person demo (seed 11), built once for the tests below, its flows on the run's
    Prefect server."""
    home = tmp_path_factory.mktemp("small-demo") / "demo"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BONDTRACK_DEMO_PREFECT_API_URL", prefect_api)
        return demo.run(people=60, seed=11, home=home, say=lambda line: None)


def test_demo_history_is_real_events(small_demo: demo.DemoResult) -> None:
    people, imported, moves = count_people_and_moves(small_demo.home)
    assert people == imported == 60
    assert moves > 60


def count_people_and_moves(home: Path) -> tuple[int, int, int]:
    """(people, their "imported" events, the moves after their import) in a demo's home."""
    database = db.connect(config.load({"BONDTRACK_HOME": str(home)}))
    with database.read() as session:
        people = session.scalar(select(func.count()).select_from(Detainee))
        imported = session.scalar(select(func.count()).select_from(Event)
                                  .where(Event.kind == "imported"))
        moves = session.scalar(select(func.count()).select_from(Event)
                               .where(Event.to_stage.is_not(None), Event.kind != "imported"))
    database.dispose()
    return people or 0, imported or 0, moves or 0


def test_demo_is_the_same_for_the_same_seed(small_demo: demo.DemoResult, tmp_path: Path,
                                            run_server: str) -> None:
    second = demo.run(people=60, seed=11, home=tmp_path / "b", say=lambda line: None)
    assert small_demo.status["by_stage"] == second.status["by_stage"]
    assert count_people_and_moves(second.home) == count_people_and_moves(small_demo.home)


def test_demo_rebuilds_its_own_home_but_refuses_any_other(small_demo: demo.DemoResult,
                                                          tmp_path: Path, run_server: str) -> None:
    home = tmp_path / "demo"
    shutil.copytree(small_demo.home, home)  # a home a demo made, 60 people in it
    demo.run(people=5, seed=1, home=home, say=lambda line: None)
    assert count_people_and_moves(home)[:2] == (5, 5), "rebuilt from empty, not added to"
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "bondtrack.db").write_text("real data")
    with pytest.raises(BondtrackError, match="not a bondtrack demo home"):
        demo.run(people=5, seed=1, home=precious, say=lambda line: None)
    assert (precious / "bondtrack.db").read_text() == "real data"


def test_demo_command_prints_the_status_of_615_people(demo_615: Demo) -> None:
    out = demo_615.output
    assert "building a demo order of 615 synthetic people" in out
    # Built at the fixture's now, Tue 14 Jul 2026 09:30 CDT: the deadline is noon tomorrow.
    assert "status as of Tue 14 Jul 2026, 09:30 CDT (the demo's now)" in out
    assert "deadline Wed 15 Jul 2026, 12:00 CDT (America/Chicago)" in out
    assert "time left 1 d 2 h\n" in out
    counts = {
        cells[0]: int(cells[1])
        for line in out.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2
        and cells[1].isdigit()
    }
    # The status table names the stages in words, as people read them.
    words = ("Intake", "Locating", "Located", "Bond set", "Bond posted", "Released",
             "Excluded", "Departed", "Not in custody")
    assert sum(counts[word] for word in words) == 615
    assert counts["covered"] == 615 - counts["Excluded"]
    last = out.splitlines()[-1]  # how to reach the command that was just run
    if last != "the bondtrack command is on your PATH":
        command, activate = re.fullmatch(r"to run bondtrack: (\S+), or `source (\S+)` first",
                                         last).groups()
        assert Path(command).resolve() == (Path(sys.executable).parent / "bondtrack").resolve()
        assert Path(activate).is_file()


def test_the_browser_the_cli_and_the_dashboard_agree_on_the_demos_time(
        demo_615: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opened at its own now, the demo is on the eve of its deadline everywhere, never
    "Past the deadline by 380 d"."""
    from workflow.demo.accounts import ACCOUNTS, PASSWORD
    from workflow.web import create_app

    dashboard = (demo_615.home / "dashboard.html").read_text()
    assert re.search(r"<title>1:18-cv-03757: \d+ outstanding, 1 d 2 h to the deadline</title>",
                     dashboard)
    assert "Wed 15 Jul 2026, 12:00 CDT" in dashboard and "Past the deadline" not in dashboard
    home = tmp_path / "demo"
    shutil.copytree(demo_615.home, home)  # signing in writes a session: never the shared home
    monkeypatch.setattr(clock, "_clock", clock.fixed(NOW))
    settings = config.load({"BONDTRACK_HOME": str(home)})
    database = db.connect(settings)
    try:
        app = create_app(settings, database)
        app.testing = True
        browser = Browser(app.test_client())
        assert browser.sign_in(ACCOUNTS[0][0], PASSWORD).status_code == 303
        orders = browser.get("/orders").text
        overview = browser.get("/orders/1").text
    finally:
        database.dispose()
    assert "<td>Wed 15 Jul 2026, 12:00 CDT</td>" in orders and "<td>1 d 2 h</td>" in orders
    assert "past the deadline" not in orders.lower()
    assert "Time left to the deadline" in overview and "Past the deadline" not in overview
    assert "time left 1 d 2 h" in demo_615.output
