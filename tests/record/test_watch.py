"""The scheduler is watched: never run, running, silent (stale) and stopped, on both backends.

The heartbeat is written with the same functions the scheduler's jobs call, at
instants of the injected clock; `status`, `status --json`, the dashboard and
`scheduler --check` are read back as a user runs them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fixtures_flows import seed_order
from tests.support import CASE
from workflow.core import clock
from workflow.record import watch
from workflow.runners import scheduler

INTERVAL = 300.0  # the scheduler's alert check: every 5 minutes
ME = scheduler.Holder("here", 1, "a")


@pytest.fixture
def people(database, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    return seed_order(database, 3, tmp_path)


def beat(database, at) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        watch.record_run(session, holder=str(ME), job="alert check", now=at,
                         interval_seconds=INTERVAL)


def hold_lock(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        scheduler.acquire(session, ME, clock.system_clock(), timedelta(seconds=120))


def release_lock(database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        scheduler.release(session, ME)


def seen(cli) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads(cli("status", "--json").output)["scheduler"]


def test_never_run_with_alerts_to_come_says_so_and_check_fails(cli, people) -> None:  # type: ignore[no-untyped-def]
    block = seen(cli)
    assert block["last_seen"] is None and block["running"] is False
    assert block["warning"] == ("alerts are not being watched: no scheduler has ever run on this"
                                " database; start `bondtrack scheduler`")
    assert block["warning"] in cli("status").output
    check = cli("scheduler", "--check", ok=False)
    assert check.exit_code == 1 and "no scheduler has ever run" in check.output


def test_a_running_scheduler_is_watched(cli, database, frozen, people) -> None:  # type: ignore[no-untyped-def]
    hold_lock(database)
    beat(database, clock.now() - timedelta(seconds=2 * INTERVAL))  # exactly at the limit
    block = seen(cli)
    assert block["running"] is True and block["warning"] is None and block["watched"] is True
    assert block["last_seen"] == "2025-11-20T11:50:00-06:00"
    assert "not being watched" not in cli("status").output
    check = cli("scheduler", "--check")
    assert check.exit_code == 0
    assert ("scheduler running; last ran a job Thu 20 Nov 2025, 11:50 CST (10 min ago)"
            in check.output)


def test_a_silent_scheduler_is_stale_even_while_it_holds_the_lock(cli, database, frozen,  # type: ignore[no-untyped-def]
                                                                 people) -> None:
    hold_lock(database)
    beat(database, clock.now() - timedelta(seconds=2 * INTERVAL + 1))
    block = seen(cli)
    assert block["running"] is True and block["watched"] is False
    assert block["warning"] == ("alerts are not being watched: no scheduler has run since"
                                " Thu 20 Nov 2025, 11:49 CST (10 min ago);"
                                " start `bondtrack scheduler`")
    assert cli("scheduler", "--check", ok=False).exit_code == 1


def test_a_stopped_scheduler_is_fine_for_two_intervals_then_not(cli, database, frozen,  # type: ignore[no-untyped-def]
                                                                people) -> None:
    hold_lock(database)
    at = clock.now()
    beat(database, at)
    release_lock(database)
    block = seen(cli)
    assert block["running"] is False and block["warning"] is None
    assert "scheduler not running" in cli("scheduler", "--check").output
    frozen(at + timedelta(seconds=2 * INTERVAL + 60))
    block = seen(cli)
    assert block["running"] is False
    assert block["warning"].startswith("alerts are not being watched: no scheduler has run since"
                                       " Thu 20 Nov 2025, 12:00 CST (11 min ago)")
    assert cli("scheduler", "--check", ok=False).exit_code == 1


def test_nothing_to_watch_is_no_alarm(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    """An order with nobody outstanding and no open obligation has no alerts to come."""
    block = seen(cli)
    assert block["alerts_to_come"] is False and block["warning"] is None
    assert cli("scheduler", "--check").exit_code == 0


def test_a_stayed_order_has_no_alerts_to_come(cli, people) -> None:  # type: ignore[no-untyped-def]
    assert seen(cli)["warning"] is not None
    cli("order", "stay", "--docket", "ECF 58")
    assert seen(cli)["warning"] is None


def test_an_open_obligation_keeps_alerts_to_come(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    cli("order", "obligation", "add", "--kind", "status-report", "--due", "2025-11-25 12:00")
    assert seen(cli)["alerts_to_come"] is True
    assert cli("scheduler", "--check", "--order", CASE, ok=False).exit_code == 1


def test_the_dashboard_says_it_too(cli, database, frozen, people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "dashboard.html"
    cli("dashboard", "--out", page)
    assert "alerts are not being watched: no scheduler has ever run" in page.read_text()
    beat(database, clock.now())
    cli("dashboard", "--out", page)
    assert "not being watched" not in page.read_text()


def test_the_rule_is_a_plain_function(database, settings, frozen, people) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    beat(database, now - timedelta(minutes=30))
    with database.read() as session:
        found = watch.watch(session, settings, now)
    assert found.silent and found.unwatched and not found.running
    assert found.interval == timedelta(seconds=INTERVAL)
    assert found.warning("UTC") == ("alerts are not being watched: no scheduler has run since"
                                    " Thu 20 Nov 2025, 17:30 UTC (30 min ago);"
                                    " start `bondtrack scheduler`")
