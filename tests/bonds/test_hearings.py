"""Hearings in the immigration court's own zone; reminders queued once, re-queued when the date
moves, stopped when done; demand and appeal deadlines alert staff once, across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_bonds import HOUR, JOSE, LUIS, NOW, post, record
from tests.fixtures_foundation import STAFF
from tests.fixtures_order_changes import on_order, on_person, read_order, settings_with
from workflow.bonds import hearings
from workflow.core.errors import ValidationError
from workflow.notices import alerts, hearing_reminders
from workflow.places import courts
from workflow.record import db, outbox
from workflow.record.audit import Actor
from workflow.record.models import Alert, Notice

DAY = timedelta(days=1)
STAFF_EMAILS = "attorney@legalaid.example,paralegal@legalaid.example"
CHECKER = Actor(operator="tester", source="scheduler")


def add(database: db.Database, a_number: str, at: str, court: str = "chicago",
        **options) -> int:  # type: ignore[no-untyped-def]
    return on_person(database, a_number, lambda s, d: hearings.add(
        s, d, at=hearings.parse_time(at, court), court=court, actor=STAFF, now=NOW,
        **options).id)


def reminders(database: db.Database) -> list[tuple[str, str, str | None]]:
    """(key without the hearing's time, channel, recipient) of every reminder queued."""
    with database.read() as session:
        rows = session.execute(select(Notice.idempotency_key, Notice.channel, Notice.recipient)
                               .where(Notice.kind == hearings.REMINDER).order_by(Notice.id))
        return [(key, channel, recipient) for key, channel, recipient in rows]


def queue(database: db.Database, now: datetime) -> int:
    return on_order(database,
                    lambda s, o: hearing_reminders.queue_reminders(s, o, now, settings_with()))


# ---------------------------------------------------------------- hearings


def test_a_hearing_is_in_its_immigration_courts_zone(posted: db.Database) -> None:
    add(posted, JOSE, "2026-01-14 09:00", "eloy", kind="individual")  # Arizona: MST all year
    add(posted, LUIS, "2026-01-13 08:30", "El Paso")  # Mountain time, in Texas
    rows = read_order(posted, lambda s, o: hearings.listing(s, o, NOW))
    assert [(r["at"], r["court"], r["kind"]) for r in rows] == [
        ("2026-01-13T08:30:00-07:00", "el-paso", "master"),
        ("2026-01-14T09:00:00-07:00", "eloy", "individual"),
    ]
    july = add(posted, JOSE, "2026-07-14 09:00", "eloy")
    with posted.read() as session:
        assert hearings.describe(session.get(hearings.Hearing, july))["at"].endswith("-07:00")


def test_courts_are_found_by_key_name_city_or_alias() -> None:
    assert courts.find("Kansas City").key == "kansas-city"
    assert courts.find("KROME").key == "miami-krome"
    assert courts.find("dilley").time_zone == "America/Chicago"
    assert courts.find("Otero Immigration Court").time_zone == "America/Denver"
    with pytest.raises(ValidationError, match="no immigration court 'Broadview'"):
        courts.find("Broadview")


def test_list_days_done_and_move(posted: db.Database) -> None:
    soon = add(posted, JOSE, "2025-11-25 09:00")
    add(posted, LUIS, "2026-02-02 09:00")
    within = read_order(posted, lambda s, o: hearings.listing(s, o, NOW, days=7))
    assert [r["id"] for r in within] == [soon]
    on_order(posted, lambda s, o: hearings.done(s, hearings.get(s, o, soon), actor=STAFF,
                                                now=NOW + HOUR))
    assert read_order(posted, lambda s, o: hearings.listing(s, o, NOW, days=7)) == []
    with pytest.raises(ValidationError, match="already done"):
        on_order(posted, lambda s, o: hearings.done(s, hearings.get(s, o, soon), actor=STAFF,
                                                    now=NOW + HOUR))
    with pytest.raises(ValidationError, match="in the past"):
        add(posted, JOSE, "2025-11-01 09:00")


def test_the_next_hearing_shows_on_the_persons_page_and_in_exports(  # type: ignore[no-untyped-def]
        cli, court_order, tmp_path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("A#,Last Name,First Name,DOB,Language\n"
                       "A-012-345-678,Núñez,José,3/4/1990,es\n", encoding="utf-8")
    cli("import", listing)
    out = cli("hearing", "add", "012345678", "--at", "2026-01-14 09:00", "--court", "detroit",
              "--kind", "individual").output
    assert out.strip() == ("hearing #1 for person #1: Detroit Immigration Court,"
                           " Wed 14 Jan 2026, 09:00 EST")
    assert "next hearing: Wed 14 Jan 2026, 09:00 EST Detroit Immigration Court (individual)" \
        in cli("show", "012345678").output
    cli("export", "--out", tmp_path / "people.json")
    person = json.loads((tmp_path / "people.json").read_text())["people"][0]
    assert (person["next_hearing_at"], person["next_hearing_court"]) == (
        "2026-01-14T09:00:00-05:00", "Detroit Immigration Court")
    moved = cli("hearing", "move", "1", "--at", "2026-02-03 13:00").output
    assert moved.strip() == "hearing #1 moved to Tue 3 Feb 2026, 13:00 EST"
    cli("hearing", "done", "1")
    assert "next hearing" not in cli("show", "012345678").output
    assert cli("hearing", "list", "--json").output.strip() == "[]"


# ---------------------------------------------------------------- reminders


def test_reminders_are_queued_once_in_the_clients_language_and_follow_a_move(
        imported: db.Database) -> None:
    post(imported, JOSE, email="rosa@family.example")  # José has no e-mail: his is a letter
    hearing_id = add(imported, JOSE, "2025-12-10 09:00")  # CST
    at = datetime(2025, 12, 10, 15, 0, tzinfo=UTC)
    assert queue(imported, at - 7 * DAY - timedelta(seconds=1)) == 0
    assert queue(imported, at - 7 * DAY) == 2
    assert queue(imported, at - 7 * DAY) == 0  # again, or after a restart: nothing new
    assert queue(imported, at - 2 * DAY) == 0
    assert queue(imported, at - DAY) == 2
    stamp = int(at.timestamp())
    assert reminders(imported) == [
        (f"hearing-reminder:hearing-{hearing_id}:{stamp}:7d:client", "letter", None),
        (f"hearing-reminder:hearing-{hearing_id}:{stamp}:7d:obligor", "email",
         "rosa@family.example"),
        (f"hearing-reminder:hearing-{hearing_id}:{stamp}:1d:client", "letter", None),
        (f"hearing-reminder:hearing-{hearing_id}:{stamp}:1d:obligor", "email",
         "rosa@family.example"),
    ]
    with imported.read() as session:
        languages = set(session.scalars(select(Notice.language).where(
            Notice.kind == hearings.REMINDER)))
    assert languages == {"es"}
    # One reminder went out; then the court moves the hearing a month on. What had not gone
    # out is taken back (file and all), and the reminders start again for the new date.
    with imported.write() as session:
        sent = session.scalar(select(Notice).where(Notice.idempotency_key.endswith(
            ":1d:obligor")))
        sent.status = "sent"
        unsent = [n.file_path for n in session.scalars(select(Notice).where(
            Notice.kind == hearings.REMINDER, Notice.status != "sent"))]
    on_order(imported, lambda s, o: hearings.move(s, hearings.get(s, o, hearing_id),
                                                  at=at + 30 * DAY, actor=STAFF, now=at - DAY))
    assert [key.rsplit(":", 2)[-2:] for key, _, _ in reminders(imported)] == [["1d", "obligor"]]
    with imported.write() as session:  # what every delivery does first
        outbox.remove_unqueued_files(session, settings_with())
    assert len(unsent) == 3 and not any(Path(path).exists() for path in unsent)
    assert queue(imported, at - DAY + HOUR) == 0
    assert queue(imported, at + 23 * DAY) == 2
    assert reminders(imported)[-1][0].endswith(f":{int((at + 30 * DAY).timestamp())}:7d:obligor")
    # Done: the unsent ones are taken back, and nothing more, not even the 1-day reminder.
    on_order(imported, lambda s, o: hearings.done(s, hearings.get(s, o, hearing_id),
                                                  actor=STAFF, now=at + 24 * DAY))
    assert queue(imported, at + 29 * DAY) == 0
    assert len(reminders(imported)) == 1


def test_a_late_hearing_gets_only_its_most_urgent_reminder(posted: db.Database) -> None:
    add(posted, JOSE, "2025-11-21 15:00")  # a day and three hours after NOW
    assert queue(posted, NOW) == 2
    assert [key.rsplit(":", 2)[-2] for key, _, _ in reminders(posted)] == ["7d", "7d"]
    assert queue(posted, NOW + 3 * HOUR) == 2
    assert [key.rsplit(":", 2)[-2] for key, _, _ in reminders(posted)][2:] == ["1d", "1d"]


def test_reminders_count_days_on_the_courts_wall_clock_across_dst(posted: db.Database) -> None:
    add(posted, JOSE, "2026-03-10 09:00")  # CDT; seven days before is 09:00 CST
    seven_before = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert queue(posted, seven_before - timedelta(seconds=1)) == 0
    assert queue(posted, seven_before) == 2


# ---------------------------------------------------------------- staff alerts


def check(database: db.Database, now: datetime) -> alerts.Outcome:
    settings = settings_with(notices_staff_emails=STAFF_EMAILS)
    with database.write() as session:
        order = session.scalar(select(alerts.CourtOrder))
        return alerts.check(session, order, now, settings, CHECKER)


def alert_rows(database: db.Database) -> list[tuple[str, str]]:
    with database.read() as session:
        return [(a.threshold, a.status) for a in session.scalars(
            select(Alert).where(Alert.threshold.like("demand-%")
                                | Alert.threshold.like("appeal-%")).order_by(Alert.id))]


def test_a_demand_alerts_staff_at_t_minus_24h_once_and_a_restart_repeats_nothing(
        settings, posted: db.Database) -> None:  # type: ignore[no-untyped-def]
    due = NOW + 80 * HOUR
    demand = record(posted, JOSE, "demand", now=NOW + HOUR, due=due)["id"]
    name = f"demand-{demand}"
    check(posted, due - 24 * HOUR - timedelta(seconds=1))
    assert [r for r in alert_rows(posted) if r[0] == f"{name}:T-24h"] == []
    sent = check(posted, due - 24 * HOUR)
    assert f"{name}:T-24h" in [t.name for t in sent.obligations]
    assert (f"{name}:T-24h", "sent") in alert_rows(posted)
    posted.dispose()  # a restart: a new process, a new connection, the same database
    again = db.connect(settings)
    try:
        assert [t.name for t in check(again, due - 24 * HOUR + HOUR).obligations] == []
        with again.read() as session:
            emails = session.scalars(select(Notice.idempotency_key).where(
                Notice.kind == "alert", Notice.idempotency_key.contains(f":{name}:T-24h:"))).all()
        assert len(emails) == 2  # one per staff member, once
        # Produced in time: the demand's alerts stop.
        record(again, JOSE, "produced", now=due - 20 * HOUR)
        assert [t.name for t in check(again, due - 11 * HOUR).obligations] == []
    finally:
        again.dispose()


def test_a_breach_alerts_before_its_appeal_deadline_until_the_appeal_is_filed(
        posted: db.Database) -> None:
    breach = record(posted, JOSE, "breached", now=NOW + HOUR)
    name = f"appeal-{breach['id']}"
    sent = check(posted, breach["due_at"] - 72 * HOUR)
    assert [t.name for t in sent.obligations] == [f"{name}:T-72h"]
    assert f"sent {name}:T-72h to 2 staff" in alerts.describe(sent)
    record(posted, JOSE, "appeal-filed", now=breach["due_at"] - 50 * HOUR)
    assert check(posted, breach["due_at"] - 48 * HOUR).obligations == ()
