"""Deadline alerts and the digest: the rule at exact instants, then exactly once in the database."""

from __future__ import annotations

import json
import logging
import re
import shlex
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures_flows import (
    DEADLINE,
    TO_RELEASE,
    a_number,
    family_name,
    ids_by_index,
    order_in,
    seed_order,
    walk,
)
from tests.fixtures_notices import free_port, with_smtp
from tests.support import CASE, README
from workflow.core import clock, config, dates
from workflow.core.errors import ConfigError
from workflow.demo import alerts as demo_alerts
from workflow.notices import alerts, letters, thresholds
from workflow.notices.thresholds import Rules, Threshold
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Alert, Event, Notice
from workflow.views import reports

STAFF = ["attorney@legalaid.example", "paralegal@legalaid.example"]
RULES = Rules(hours_before=(72, 48, 24, 12, 6, 2, 1), overdue_every_hours=24, digest_hour=7)
SECOND = timedelta(seconds=1)
CHECKER = Actor(operator="tester", source="scheduler")


def names(thresholds: tuple[Threshold, ...] | list[Threshold]) -> list[str]:
    return [t.name for t in thresholds]


def passed_before(instant: datetime) -> set[str]:
    """What a scheduler that never slept would have recorded by ``instant``."""
    return set(names(thresholds.thresholds(DEADLINE, RULES, instant)))


# ---------------------------------------------------------------- the rule, pure


EVERY_THRESHOLD = [(f"T-{h}h", DEADLINE - timedelta(hours=h)) for h in RULES.hours_before] + [
    ("deadline", DEADLINE), ("overdue-1", DEADLINE + timedelta(hours=24)),
    ("overdue-2", DEADLINE + timedelta(hours=48)),
]


@pytest.mark.parametrize(("name", "due_at"), EVERY_THRESHOLD)
def test_each_threshold_fires_from_its_exact_second(name: str, due_at: datetime) -> None:
    recorded = passed_before(due_at - SECOND)
    assert thresholds.decide(DEADLINE, RULES, due_at - SECOND, recorded, 5).send is None
    for instant in (due_at, due_at + SECOND):
        decision = thresholds.decide(DEADLINE, RULES, instant, recorded, 5)
        assert decision.send == Threshold(name, due_at) and decision.skip == ()


def test_a_laptop_that_slept_sends_only_the_most_urgent() -> None:
    first = thresholds.decide(DEADLINE, RULES, DEADLINE - timedelta(hours=24), set(), 140)
    assert first.send is not None and first.send.name == "T-24h"
    assert names(first.skip) == ["T-72h", "T-48h"]
    recorded = {"T-72h", "T-48h", "T-24h"}
    woke = DEADLINE - timedelta(hours=1) + SECOND
    later = thresholds.decide(DEADLINE, RULES, woke, recorded, 140)
    assert later.send is not None and later.send.name == "T-1h"
    assert names(later.skip) == ["T-12h", "T-6h", "T-2h"]


def test_overdue_repeats_every_period_while_anyone_is_outstanding() -> None:
    recorded = passed_before(DEADLINE - SECOND)
    woke = DEADLINE + timedelta(days=3, seconds=1)
    three_days = thresholds.decide(DEADLINE, RULES, woke, recorded, 1)
    assert three_days.send == Threshold("overdue-3", DEADLINE + timedelta(days=3))
    assert names(three_days.skip) == ["deadline", "overdue-1", "overdue-2"]
    upcoming = thresholds.next_threshold(DEADLINE, RULES, DEADLINE + timedelta(days=3))
    assert upcoming == Threshold("overdue-4", DEADLINE + timedelta(days=4))


def test_nobody_outstanding_means_no_alert_at_all() -> None:
    for instant in (DEADLINE - timedelta(hours=24), DEADLINE + timedelta(days=2)):
        assert thresholds.decide(DEADLINE, RULES, instant, set(), 0) == thresholds.Decision(None)
    assert thresholds.decide_digest(DEADLINE, "America/Chicago", 7, set(), 0) is None


def test_thresholds_are_real_hours_across_the_november_dst_change() -> None:
    # Noon CST on Mon 3 Nov 2025; clocks fell back at 02:00 CDT on Sun 2 Nov.
    deadline = datetime(2025, 11, 3, 18, 0, tzinfo=UTC)
    by_name = {t.name: t.due_at for t in thresholds.thresholds(deadline, RULES, deadline)}
    chicago_zone = clock.zone("America/Chicago")
    local = {name: at.astimezone(chicago_zone) for name, at in by_name.items()}
    assert deadline - by_name["T-72h"] == timedelta(hours=72)
    # 72 real hours before, not three calendar days: 13:00 CDT on Friday.
    assert (local["T-72h"].hour, local["T-72h"].tzname()) == (13, "CDT")
    assert (local["T-24h"].hour, local["T-24h"].tzname()) == (12, "CST")
    assert by_name["T-48h"] - by_name["T-72h"] == timedelta(hours=24)


def test_two_thresholds_at_the_same_wall_time_each_fire_once_on_the_fall_back_night() -> None:
    # Deadline noon CST on 2 Nov 2025: T-12h is 01:00 CDT, T-11h is 01:00 CST an hour later.
    deadline = datetime(2025, 11, 2, 18, 0, tzinfo=UTC)
    rules = Rules(hours_before=(12, 11), overdue_every_hours=24, digest_hour=7)
    first, second = thresholds.thresholds(deadline, rules, deadline - timedelta(hours=11))
    chicago = clock.zone("America/Chicago")
    assert [f"{t.due_at.astimezone(chicago):%H:%M %Z}" for t in (first, second)] == [
        "01:00 CDT", "01:00 CST"]
    just_before = datetime(2025, 11, 2, 7, 0, tzinfo=UTC) - SECOND
    sent = thresholds.decide(deadline, rules, just_before, set(), 3).send
    assert sent is not None and sent.name == "T-12h"
    assert thresholds.decide(deadline, rules, just_before, {"T-12h"}, 3).send is None
    then = thresholds.decide(deadline, rules, just_before + SECOND, {"T-12h"}, 3)
    assert then.send is not None and then.send.name == "T-11h" and then.skip == ()


def test_the_digest_hour_is_court_time_on_both_sides_of_dst() -> None:
    zone = "America/Chicago"
    saturday = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)  # 07:00 CDT
    sunday = datetime(2025, 11, 2, 13, 0, tzinfo=UTC)  # 07:00 CST
    assert thresholds.digest_due(saturday, zone, 7) == Threshold("digest:2025-11-01", saturday)
    assert thresholds.digest_due(saturday - SECOND, zone, 7).name == "digest:2025-10-31"
    assert thresholds.digest_due(sunday - SECOND, zone, 7).name == "digest:2025-11-01"
    assert thresholds.digest_due(sunday, zone, 7) == Threshold("digest:2025-11-02", sunday)
    assert sunday - saturday == timedelta(hours=25)


def test_a_digest_hour_the_spring_change_skips_still_comes_once() -> None:
    # 02:00 does not exist in Chicago on 8 Mar 2026: the digest comes at 03:00 CDT.
    due = thresholds.digest_due(datetime(2026, 3, 8, 12, 0, tzinfo=UTC), "America/Chicago", 2)
    assert due == Threshold("digest:2026-03-08", datetime(2026, 3, 8, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("BONDTRACK_ALERTS_THRESHOLDS_HOURS", "24,0", "thresholds_hours"),
    ("BONDTRACK_ALERTS_THRESHOLDS_HOURS", "24,24", "thresholds_hours"),
    ("BONDTRACK_ALERTS_OVERDUE_EVERY_HOURS", "0", "overdue_every_hours"),
    ("BONDTRACK_ALERTS_DIGEST_HOUR", "24", "digest_hour"),
])
def test_bad_alert_settings_are_refused(home: Path, variable: str, value: str,
                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Rules.from_settings(config.load({"BONDTRACK_HOME": str(home), variable: value}))


def test_the_thresholds_come_from_the_settings(home: Path) -> None:
    settings = config.load({"BONDTRACK_HOME": str(home),
                            "BONDTRACK_ALERTS_THRESHOLDS_HOURS": "1,36"})
    assert Rules.from_settings(settings).hours_before == (36, 1)


# ---------------------------------------------------------------- in the database


@pytest.fixture
def staffed(settings: config.Settings) -> config.Settings:
    return alerts.with_staff(settings, STAFF)


@pytest.fixture
def order_id(database: db.Database, tmp_path: Path) -> int:
    """Twelve people in INTAKE since 13 Nov; three of them already released."""
    order = seed_order(database, 12, tmp_path)
    for person in ids_by_index(database, order)[:3]:
        walk(database, person, [(verb, 10 + n) for n, verb in enumerate(TO_RELEASE)])
    return order


def check_at(database: db.Database, staffed: config.Settings, order_id: int,
             instant: datetime) -> alerts.Outcome:
    with database.write() as session:
        return alerts.check(session, order_in(session, order_id), instant, staffed, CHECKER)


def chicago(text: str) -> datetime:
    return dates.parse_instant(text, "America/Chicago")


def stored(database: db.Database) -> dict[str, tuple[str, datetime | None]]:
    with database.read() as session:
        return {a.threshold: (a.status, a.fired_at) for a in session.scalars(select(Alert))}


def notices_of(database: db.Database) -> list[tuple[str, str, str]]:
    with database.read() as session:
        return [(n.kind, n.recipient or "", n.idempotency_key)
                for n in session.scalars(select(Notice).order_by(Notice.id))]


def test_acceptance_t24h_once_with_the_earlier_ones_skipped_then_t1h(
        database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    noon = chicago("2025-11-20 12:00:00")
    outcome = check_at(database, staffed, order_id, noon)
    assert outcome.sent is not None and outcome.sent.name == "T-24h"
    assert names(outcome.skipped) == ["T-72h", "T-48h"] and outcome.outstanding == 9
    assert stored(database) == {"T-72h": ("skipped", None), "T-48h": ("skipped", None),
                                "T-24h": ("sent", noon)}
    assert sorted(r for k, r, _ in notices_of(database) if k == "alert") == sorted(STAFF)

    again = check_at(database, staffed, order_id, noon + timedelta(minutes=5))
    assert again.sent is None and again.skipped == ()
    assert len(stored(database)) == 3 and len(notices_of(database)) == 2

    before = check_at(database, staffed, order_id, chicago("2025-11-21 10:59:59"))
    assert before.sent is not None and before.sent.name == "T-2h"
    late = check_at(database, staffed, order_id, chicago("2025-11-21 11:00:01"))
    assert late.sent is not None and late.sent.name == "T-1h" and late.skipped == ()
    assert stored(database)["T-12h"] == ("skipped", None)
    assert stored(database)["T-1h"] == ("sent", chicago("2025-11-21 11:00:01"))
    assert len(notices_of(database)) == 6


def test_no_alert_once_nobody_is_outstanding_and_again_when_someone_is(
        database, staffed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    order = seed_order(database, 2, tmp_path)
    people = ids_by_index(database, order)
    for person in people:
        walk(database, person, [(verb, 10 + n) for n, verb in enumerate(TO_RELEASE)])
    assert check_at(database, staffed, order, DEADLINE - timedelta(hours=24)).sent is None
    assert stored(database) == {} and notices_of(database) == []
    walk(database, people[0], [("redetain", 160)])  # re-detained at T-23h
    back = check_at(database, staffed, order, DEADLINE - timedelta(hours=23))
    assert back.sent is not None and back.sent.name == "T-24h"
    assert names(back.skipped) == ["T-72h", "T-48h"]


def test_two_checks_at_once_fire_one_alert(database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def one_check() -> None:
        try:
            start.wait()
            check_at(database, staffed, order_id, DEADLINE - timedelta(hours=24))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [k for k, *_ in notices_of(database)] == ["alert", "alert"]
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 3
        assert session.scalar(select(func.count()).select_from(Event)
                              .where(Event.kind == "alert")) == 1


def test_the_alert_says_time_left_stages_risk_and_the_command(
        database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    with database.read() as session:
        order = order_in(session, order_id)
        counts = reports.stage_counts(session, order)
        context = alerts.alert_context(session, order, DEADLINE - timedelta(hours=24), staffed,
                                       Threshold("T-24h", DEADLINE - timedelta(hours=24)), counts)
    assert context["time_left"] == "1 d"
    assert context["order"]["deadline_local"] == "Fri 21 Nov 2025, 12:00 CST"
    assert context["counts"] == {"INTAKE": 9, "LOCATING": 0, "LOCATED": 0, "BOND_SET": 0,
                                 "BOND_POSTED": 0}
    assert context["outstanding"] == 9 and context["title"].startswith("24 hours to the deadline")
    assert len(context["at_risk"]) == min(10, context["projection"]["at_risk"])
    keys = {"id", "stage", "facility", "hours_in_stage"}
    assert all(set(row) == keys for row in context["at_risk"])
    assert context["command"] == f"bondtrack status --order {CASE}"


def test_the_staff_email_names_people_by_internal_id_only(database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    check_at(database, staffed, order_id, DEADLINE - timedelta(hours=24))
    with database.read() as session:
        paths = [Path(n.file_path) for n in session.scalars(select(Notice)) if n.file_path]
    assert len(paths) == 2
    message = message_from_bytes(paths[0].read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "24 hours to the deadline: 9 people still outstanding" in message["Subject"]
    assert f"bondtrack status --order {CASE}" in text
    assert re.search(r"#\d+", text)
    for index in range(12):
        assert family_name(index) not in text and a_number(index) not in text
    # Times as people read them: the court's zone named, durations in words, no ISO stamp.
    assert "Deadline: Fri 21 Nov 2025, 12:00 CST (America/Chicago). Time left: 1 d." in text
    assert message["Subject"].endswith(f"({CASE}, 1 d left)")
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|[+-]\d{2}:\d{2}\b|\d+d \d{2}h", text)


@pytest.mark.parametrize("language, said", [
    ("en", r"At the current pace \(\d+(\.\d+)? per hour\), (\d+) of 12 people covered will be"
           r" resolved by the deadline \(3 already are\); (\d+) of the 9 outstanding are at risk"),
    ("es", r"Al ritmo actual \(\d+(,\d+)? por hora\), (\d+) de 12 personas cubiertas quedarán"
           r" resueltas antes del plazo \(3 ya lo están\); (\d+) de las 9 pendientes están en"
           r" riesgo"),
])
def test_the_projection_counts_resolved_of_covered_and_risk_of_outstanding(
        database, staffed, order_id, language, said) -> None:  # type: ignore[no-untyped-def]
    """Projected resolved includes the three already out: it is "of 12 covered", never "of 9
    outstanding" (which read "364 of 234 outstanding" in a real order)."""
    now = DEADLINE - timedelta(hours=24)
    with database.read() as session:
        order = order_in(session, order_id)
        context = alerts.alert_context(session, order, now, staffed, Threshold("T-24h", now),
                                       reports.stage_counts(session, order))
    _, _, text = letters.render_staff_email("alert", context, staffed, language=language)
    found = re.search(said, " ".join(text.split()))
    assert found, text
    assert int(found.group(2)) == context["projection"]["projected_resolved"] >= 3
    assert int(found.group(3)) == context["projection"]["at_risk"] <= 9


def test_the_audit_event_and_the_log_carry_no_personal_data(
        database, staffed, order_id, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="workflow.notices.alerts")
    nobody_listens = with_smtp(staffed, free_port())  # the e-mails wait in the outbox
    alerts.run(database, nobody_listens, case=CASE, now=DEADLINE - timedelta(hours=24),
               actor=CHECKER, worker="test")
    with database.read() as session:
        payload, source, detainee = session.execute(
            select(Event.payload, Event.source, Event.detainee_id).where(Event.kind == "alert")
        ).one()
    assert payload["threshold"] == "T-24h" and payload["skipped"] == ["T-72h", "T-48h"]
    assert payload["outstanding"] == 9 and payload["recipients"] == 2
    assert source == "scheduler" and detainee is None
    logged = caplog.text + json.dumps(payload)
    assert f"{CASE}: sent T-24h to 2 staff (skipped T-72h, T-48h); 9 outstanding" in caplog.text
    for index in range(12):
        assert family_name(index) not in logged and a_number(index) not in logged
    assert "legalaid.example" not in logged


def test_the_digest_goes_once_a_day_with_yesterdays_moves(database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    people = ids_by_index(database, order_id)
    walk(database, people[5], [("search", 0), ("locate", 1)],
         start=chicago("2025-11-19 10:00"))  # two moves on the 19th, court time

    def digest_at(text: str) -> alerts.Outcome:
        with database.write() as session:
            return alerts.digest(session, order_in(session, order_id), chicago(text), staffed,
                                 CHECKER)

    assert digest_at("2025-11-19 08:00").sent == Threshold("digest:2025-11-19",
                                                           chicago("2025-11-19 07:00"))
    assert digest_at("2025-11-20 06:59:59").sent is None
    sent = digest_at("2025-11-20 07:00:00").sent
    assert sent == Threshold("digest:2025-11-20", chicago("2025-11-20 07:00"))
    assert digest_at("2025-11-20 23:59:59").sent is None
    with database.read() as session:
        order = order_in(session, order_id)
        moves = alerts.moves_on(session, order, chicago("2025-11-19 12:00").date())
        assert sent is not None
        context = alerts.digest_context(session, order, chicago("2025-11-20 07:00"), staffed,
                                        sent, reports.stage_counts(session, order))
    assert moves == {"locate": 1, "search": 1}
    assert context["moves_yesterday"] == moves
    assert context["counts"]["RELEASED"] == 3 and context["threshold"] is None
    assert [k for k, *_ in notices_of(database)] == ["digest"] * 4


def test_the_list_has_fired_skipped_and_pending_with_stable_keys(  # type: ignore[no-untyped-def]
        database, staffed, order_id) -> None:
    check_at(database, staffed, order_id, DEADLINE - timedelta(hours=24))
    with database.read() as session:
        rows = alerts.list_alerts(session, order_in(session, order_id),
                                  DEADLINE - timedelta(hours=24), staffed)
    keys = {"threshold", "due_at", "fired_at", "status", "delivery", "emails"}
    assert all(set(row) == keys for row in rows)
    by_name = {row["threshold"]: row for row in rows}
    assert by_name["T-72h"]["status"] == "skipped" and by_name["T-72h"]["fired_at"] is None
    assert by_name["T-72h"]["delivery"] is None
    assert by_name["T-24h"] == {"threshold": "T-24h", "due_at": "2025-11-20T12:00:00-06:00",
                                "fired_at": "2025-11-20T12:00:00-06:00", "status": "fired",
                                "delivery": "pending", "emails": {"pending": 2}}
    pending = [row["threshold"] for row in rows if row["status"] == "pending"]
    assert pending == ["T-12h", "T-6h", "digest:2025-11-21", "T-2h", "T-1h", "deadline"]


def test_an_alert_whose_emails_are_retrying_is_fired_not_sent(
        cli, court_order, staff_env, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The alert fired (its e-mails are queued); the mail server has none of them: the list
    says both, never "sent"."""
    cli("import", _class_list(tmp_path))
    monkeypatch.setenv("BONDTRACK_SMTP_PORT", str(free_port()))  # nobody listens: retry later
    cli("alerts", "check", "--now", "2025-11-20 12:00")
    rows = json.loads(cli("alerts", "list", "--json").output)
    t24 = next(r for r in rows if r["threshold"] == "T-24h")
    assert (t24["status"], t24["delivery"], t24["emails"]) == ("fired", "retrying", {"retrying": 2})
    table = cli("alerts", "list").output
    line = next(line for line in table.splitlines() if "T-24h" in line)
    assert "fired" in line and "retrying" in line and "sent" not in line


def test_the_demo_step_says_which_alerts_fired(database, settings, order_id) -> None:  # type: ignore[no-untyped-def]
    said: list[str] = []
    demo_alerts.step(database, settings, order_id, chicago("2025-11-20 09:00"), said.append)
    fired = [line.split(": sent ", 1)[1].split(" to ")[0] for line in said if ": sent " in line]
    assert fired == ["T-48h", "the digest for 2025-11-20", "T-24h", "T-1h", "deadline",
                     "overdue-1"]
    assert "no alert due; next T-24h" in said[2]
    assert {r for _, r, _ in notices_of(database)} == {demo_alerts.STAFF}


def test_a_long_missed_deadline_counts_the_skipped_thresholds(
        cli, court_order, staff_env, smtp_server, mailbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("import", _class_list(tmp_path))
    out = cli("alerts", "check", "--now", "2026-12-01 12:00").output
    line = next(line for line in out.splitlines() if f"{CASE}: sent" in line)
    assert re.search(r"\(skipped \d{3} earlier thresholds\)", line), line
    assert "T-72h" not in line and "overdue-2," not in line


# ---------------------------------------------------------------- the commands


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONDTRACK_NOTICES_STAFF_EMAILS", ",".join(STAFF))


def test_alerts_check_sends_by_smtp_once_and_list_shows_it(
        cli, court_order, staff_env, smtp_server, mailbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("import", _class_list(tmp_path))
    out = cli("alerts", "check", "--now", "2025-11-20 12:00").output
    assert f"{CASE}: sent T-24h to 2 staff (skipped T-72h, T-48h)" in out
    assert "staff e-mails: 2 sent" in out
    assert sorted(r for m in mailbox.messages for r in m.rcpt_tos) == sorted(STAFF)
    again = json.loads(cli("alerts", "check", "--now", "2025-11-20 12:05", "--json").output)
    assert again["orders"][0]["sent"] is None and again["orders"][0]["next"]["threshold"] == "T-12h"
    assert len(mailbox.messages) == 2
    rows = json.loads(cli("alerts", "list", "--json").output)
    assert {r["threshold"]: r["status"] for r in rows if r["status"] != "pending"} == {
        "T-72h": "skipped", "T-48h": "skipped", "T-24h": "fired"}
    t24 = next(r for r in rows if r["threshold"] == "T-24h")
    assert t24["emails"] == {"sent": 2} and t24["delivery"] == "sent"
    digest = cli("alerts", "digest", "--now", "2025-11-20 12:00").output
    assert f"{CASE}: sent the digest for 2025-11-20 to 2 staff" in digest
    assert len(mailbox.messages) == 4


def test_alerts_check_without_staff_is_one_clear_line(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    result = cli("alerts", "check", ok=False)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no staff to alert: list their addresses in [notices] staff_emails"
        " (or BONDTRACK_NOTICES_STAFF_EMAILS=a@x.org,b@x.org)"]


def test_now_needs_an_offset_when_the_orders_keep_different_time(  # type: ignore[no-untyped-def]
        cli, court_order, staff_env) -> None:
    cli("order", "add", "--case", "2:25-cv-00001", "--court", "C.D. Cal.", "--judge", "J. Doe",
        "--deadline", "2025-11-21 12:00", "--tz", "America/Los_Angeles")
    refused = cli("alerts", "check", "--now", "2025-11-20 12:00", ok=False)
    assert refused.exit_code == 1 and "give an offset" in refused.output
    out = cli("alerts", "check", "--now", "2025-11-20T12:00:00-06:00", "--order", CASE).output
    assert f"{CASE}: nobody is outstanding" in out


@pytest.fixture
def machine_in_tokyo(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_deadline_in_another_zone_than_the_machines(
        cli, staff_env, machine_in_tokyo, smtp_server, mailbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert time.strftime("%Z") == "JST"
    cli("order", "add", "--case", "2:25-cv-00001", "--court", "C.D. Cal.", "--judge", "J. Doe",
        "--deadline", "2025-11-21 12:00", "--tz", "America/Los_Angeles")
    cli("import", _class_list(tmp_path))
    early = cli("alerts", "check", "--now", "2025-11-20 11:59:59").output  # Los Angeles time
    assert "sent T-48h" in early
    out = cli("alerts", "check", "--now", "2025-11-20 12:00:00").output
    assert "sent T-24h to 2 staff" in out
    rows = json.loads(cli("alerts", "list", "--json").output)
    t24 = next(r for r in rows if r["threshold"] == "T-24h")
    assert t24["due_at"] == "2025-11-20T12:00:00-08:00" == t24["fired_at"]
    digest = next(r for r in rows if r["threshold"].startswith("digest:"))
    assert digest["due_at"].endswith("T07:00:00-08:00")


def _class_list(folder: Path) -> str:
    path = folder / "class-list.csv"
    path.write_text("A#,Last Name,First Name,Language\nA-012-345-678,Núñez,José,es\n",
                    encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- the README


def readme_commands() -> list[list[str]]:
    section = README.read_text().split("## Alerts and the scheduler", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines()
            if line.strip() and not line.startswith("export ")]


def test_the_readme_alert_commands_run(cli, court_order, staff_env, smtp_server,  # type: ignore[no-untyped-def]
                                       tmp_path) -> None:
    cli("import", _class_list(tmp_path))
    commands = readme_commands()
    alert_lines = [argv for argv in commands if argv[:2] == ["bondtrack", "alerts"]]
    assert len(alert_lines) >= 4
    for argv in alert_lines:
        cli(*argv[1:])
    # The scheduler lines are run as processes by tests/runners/test_scheduler.py.
    assert [argv for argv in commands if argv[1] == "scheduler"] == [
        ["bondtrack", "scheduler", "--once"], ["bondtrack", "scheduler"]]


# ---------------------------------------------------------------- the order moves


def test_a_stay_pauses_alerts_and_lifting_it_sends_the_most_urgent(
        database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    from workflow.orders import amendments

    check_at(database, staffed, order_id, chicago("2025-11-20 12:00"))  # T-24h
    with database.write() as session:
        amendments.stay(session, order_in(session, order_id), docket="ECF 123", actor=CHECKER,
                        now=chicago("2025-11-20 15:00"))
    stayed = check_at(database, staffed, order_id, chicago("2025-11-21 11:30"))
    assert stayed.sent is None and stayed.paused is not None
    assert alerts.describe(stayed) == (f"{CASE}: the order is stayed since Thu 20 Nov 2025,"
                                       " 15:00 CST: alerts are paused")
    assert set(stored(database)) == {"T-72h", "T-48h", "T-24h"}
    with database.write() as session:
        amendments.lift_stay(session, order_in(session, order_id), docket="ECF 130",
                             actor=CHECKER, now=chicago("2025-11-21 11:40"))
    lifted = check_at(database, staffed, order_id, chicago("2025-11-21 11:40"))
    assert lifted.sent is not None and lifted.sent.name == "T-1h"
    assert names(lifted.skipped) == ["T-12h", "T-6h", "T-2h"]


def test_an_amended_deadline_arms_its_thresholds_again(database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    from workflow.orders import amendments

    check_at(database, staffed, order_id, chicago("2025-11-20 12:00"))  # T-24h of the 21st
    with database.write() as session:
        order = order_in(session, order_id)
        amendments.stay(session, order, docket="ECF 123", actor=CHECKER,
                        now=chicago("2025-11-20 13:00"))
        amendments.lift_stay(session, order, docket="ECF 130", actor=CHECKER,
                             now=chicago("2025-11-20 14:00"), new_deadline="2025-11-25 12:00")
    quiet = check_at(database, staffed, order_id, chicago("2025-11-22 11:59:59"))
    assert quiet.sent is None and quiet.upcoming is not None
    assert quiet.upcoming.name == "T-72h"
    again = check_at(database, staffed, order_id, chicago("2025-11-24 12:00"))
    assert again.sent == Threshold("T-24h", chicago("2025-11-24 12:00"))
    assert names(again.skipped) == ["T-72h", "T-48h"]
    assert stored(database)["T-24h"] == ("sent", chicago("2025-11-24 12:00"))
    keys = [key for kind, _, key in notices_of(database) if kind == "alert"]
    assert len(keys) == 4 and len(set(keys)) == 4  # the new T-24h is a new e-mail
    with database.read() as session:
        rows = alerts.list_alerts(session, order_in(session, order_id),
                                  chicago("2025-11-24 12:00"), staffed)
    t24 = next(row for row in rows if row["threshold"] == "T-24h")
    assert t24["due_at"] == "2025-11-24T12:00:00-06:00" and t24["emails"] == {"pending": 2}


def test_no_deadline_alert_once_the_releases_are_marked_done(database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        order_in(session, order_id).releases_done_at = chicago("2025-11-20 10:00")
    done = check_at(database, staffed, order_id, chicago("2025-11-20 12:00"))
    assert done.sent is None and "marked done" in alerts.describe(done)
    assert stored(database) == {}


def test_another_obligation_gets_its_own_alerts_until_it_is_done(
        database, staffed, order_id) -> None:  # type: ignore[no-untyped-def]
    from workflow.orders import obligations

    with database.write() as session:
        due = obligations.add_obligation(session, order_in(session, order_id), kind="status-report",
                                         due="2025-11-21 09:00", owed_by="counsel", actor=CHECKER,
                                         now=chicago("2025-11-15 10:00"))
    prefix = f"{due.alert_prefix()}:"
    first = check_at(database, staffed, order_id, chicago("2025-11-20 09:00"))
    assert first.sent is not None and first.sent.name == "T-48h"
    assert names(first.obligations) == [f"{prefix}T-24h"]
    assert alerts.describe(first).endswith(f"; sent {prefix}T-24h to 2 staff")
    assert stored(database)[f"{prefix}T-72h"] == ("skipped", None)
    with database.read() as session:
        titles = [n.subject for n in session.scalars(select(Notice)) if n.subject]
    assert any("Status report owed by counsel: 24 hours to the deadline" in t for t in titles)
    with database.write() as session:
        obligations.complete_obligation(session, order_in(session, order_id), due.key,
                                        actor=CHECKER, now=chicago("2025-11-20 10:00"))
    later = check_at(database, staffed, order_id, chicago("2025-11-21 08:30"))
    assert later.obligations == () and later.sent is not None and later.sent.name == "T-6h"
