"""Text messages: numbers, consent, segments, the texts in each language, and the outbox's
SMS channel against a stand-in for Twilio's API (tests/sms_fixtures.py)."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.fixtures_sms import FROM, PUBLIC, TOKEN, StandIn, sms_env, token_file
from tests.fixtures_web import write_people
from workflow import resource
from workflow.bonds import hearings
from workflow.core import config
from workflow.core.errors import ValidationError
from workflow.notices import hearing_reminders
from workflow.notices.sms import consent, outbox, phones, segments, setup, texts
from workflow.orders import orders
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Facility, Notice, SmsConsent, SmsMessage, SmsNumber

ROSA, CHIDI = "A-200-000-001", "A-200-000-002"  # both held at Krome (Miami, America/New_York)
PHONE = "+13125550100"


@pytest.fixture
def people(cli, court_order: str, tmp_path: Path, database: db.Database) -> str:  # type: ignore[no-untyped-def]
    """Three people, two held at Krome (Miami's zone), one at Eloy (Arizona's)."""
    cli("import", write_people(tmp_path / "people.csv"))
    with database.write() as session:  # the test databases hold no facility directory
        for code, zone in (("KRO", "America/New_York"), ("EAZ", "America/Phoenix")):
            session.execute(update(Facility).where(Facility.code == code)
                            .values(time_zone=zone))
    return court_order


def _consent(cli, a_number: str = ROSA, phone: str = "(312) 555-0100") -> None:  # type: ignore[no-untyped-def]
    cli("sms", "consent", a_number, "--phone", phone, "--how", "in-person", "--by", "intake desk")


def _queue_hearing_reminders(database: db.Database, settings: config.Settings, case: str,
                             hearing_at: str, now: datetime) -> int:
    with database.write() as session:
        order = orders.resolve_order(session, case)
        person = orders.find_detainee(session, order, ROSA)
        hearings.add(session, person, at=hearings.parse_time(hearing_at, "miami-krome"),
                     court="miami-krome", actor=Actor("t"), now=now)
        return hearing_reminders.queue_reminders(session, order, now, settings)


def _texts(database: db.Database) -> list[tuple[Notice, SmsMessage]]:
    """The texts in the outbox (read in a transaction that commits, so they stay loaded)."""
    with database.write() as session:
        return [(n, m) for n, m in session.execute(
            select(Notice, SmsMessage).join(SmsMessage, SmsMessage.notice_id == Notice.id)
            .order_by(Notice.id)).all()]


# ---------------------------------------------------------------- numbers and consent


def test_numbers_are_kept_in_e164_and_a_number_that_cannot_take_texts_is_refused() -> None:
    assert phones.e164("(312) 555-0100") == PHONE
    assert phones.e164("+52 55 1234 5678") == "+525512345678"
    for text, reason in (("+44 20 7946 0958", "not a mobile number"),  # a London landline
                         ("+1 800 234 5678", "not a mobile number"),  # toll-free
                         ("555-01", "not a valid phone number"), ("call me", "not a phone")):
        with pytest.raises(ValidationError, match=reason):
            phones.e164(text)


def test_consent_records_who_when_and_how_and_a_landline_is_one_line(
        cli, people: str, database: db.Database) -> None:  # type: ignore[no-untyped-def]
    _consent(cli)
    refused = cli("sms", "consent", CHIDI, "--phone", "+44 20 7946 0958", "--how", "phone",
                  ok=False)
    assert refused.exit_code == 1
    assert refused.output == "Error: not a mobile number: it cannot take text messages\n"
    with database.read() as session:
        step = session.scalars(select(SmsConsent)).one()
        assert (step.number.number, step.role, step.how, step.action, step.recorded_by) == (
            PHONE, "client", "in-person", "given", "intake desk")
        assert session.get_one(Detainee, step.detainee_id).a_number == "200000001"


def test_sms_is_off_until_configured_and_nothing_pretends_to_send(
        cli, people: str, database: db.Database) -> None:  # type: ignore[no-untyped-def]
    consented = cli("sms", "consent", ROSA, "--phone", PHONE, "--how", "form")
    assert "text messages are off: set [sms] account_sid" in consented.output
    for command in (("sms", "test", ROSA), ("sms", "send")):
        refused = cli(*command, ok=False)
        assert refused.exit_code == 1
        assert refused.output.startswith("Error: text messages are off: set [sms] account_sid")
        assert len(refused.output.splitlines()) == 1
    assert _texts(database) == []
    assert "text messages are off" in cli("sms", "list").output


def test_the_auth_token_comes_from_the_environment_or_a_private_file(home: Path) -> None:
    home.mkdir(mode=0o700, parents=True)
    env = {**sms_env("http://127.0.0.1:9"), "BONDTRACK_HOME": str(home)}
    del env["BONDTRACK_SMS_AUTH_TOKEN"]
    settings = config.load(env)
    assert "no auth token (set BONDTRACK_SMS_AUTH_TOKEN" in (setup.off_reason(settings, env) or "")
    token_file(home, 0o644)
    reason = setup.off_reason(settings, env) or ""
    assert "must be readable by its owner only" in reason and TOKEN not in reason
    token_file(home, 0o600)
    loaded = setup.load(settings, env)
    assert loaded.auth_token == TOKEN and TOKEN not in repr(loaded)
    assert setup.load(settings, {"BONDTRACK_SMS_AUTH_TOKEN": "from-env"}).auth_token == "from-env"


# ---------------------------------------------------------------- segments and languages


@pytest.mark.parametrize(("body", "encoding", "units", "count"), [
    ("a" * 160, segments.GSM7, 160, 1), ("a" * 161, segments.GSM7, 161, 2),
    ("a" * 306, segments.GSM7, 306, 2), ("a" * 307, segments.GSM7, 307, 3),
    ("€" * 80, segments.GSM7, 160, 1), ("[" * 81, segments.GSM7, 162, 2),  # extension: 2 each
    ("ñé" * 80, segments.GSM7, 160, 1),  # in the GSM alphabet
    ("ó" * 70, segments.UCS2, 70, 1), ("ó" * 71, segments.UCS2, 71, 2),
    ("ó" * 134, segments.UCS2, 134, 2), ("ó" * 135, segments.UCS2, 135, 3),
    ("😀" * 35, segments.UCS2, 70, 1),  # a surrogate pair is two units
])
def test_segments_are_counted_as_the_provider_counts_them(body: str, encoding: str, units: int,
                                                         count: int) -> None:
    assert segments.count(body) == segments.Segments(encoding, units, count)


def test_every_language_has_every_text_and_a_gap_is_listed(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert texts.missing() == {"en": [], "es": []}
    folder = tmp_path / "sms"
    shutil.copytree(resource("templates", "sms", "en"), folder / "en")
    (folder / "fr").mkdir()
    (folder / "fr" / "test.txt.j2").write_text("{{ org }}: ceci est un test.")
    assert texts.missing(folder) == {"en": [], "fr": ["hearing-reminder", "demand", "release",
                                                        "stop"]}
    assert cli("sms", "check").output == "every language has every text: en, es\n"


def test_a_reminder_fits_one_segment_in_both_languages_and_previews_show_the_count(
        cli, settings: config.Settings) -> None:  # type: ignore[no-untyped-def]
    shown = texts.previews(settings)
    tomorrow = [t for t in shown if t.kind == "hearing-reminder" and "STOP" not in t.body]
    assert {(t.language, t.segments.count) for t in tomorrow} == {("en", 1), ("es", 1)}
    assert {t.kind for t in shown} == {"hearing-reminder", "demand", "release", "test"}
    rows = __import__("json").loads(cli("sms", "preview", "--json").output)
    assert len(rows) == len(shown) and all(r["segments"] >= 1 and r["encoding"] for r in rows)


def test_a_language_without_texts_is_sent_the_fallback(settings: config.Settings) -> None:
    assert texts.language_for("es", settings) == "es"
    assert texts.language_for("mam", settings) == "es"  # [sms] fallback_language
    assert texts.language_for(None, settings) == "es"


# ---------------------------------------------------------------- sending


def test_a_hearing_reminder_is_texted_once_to_the_consented_number(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        frozen) -> None:  # type: ignore[no-untyped-def]
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))  # 13:00 in Miami
    _consent(cli)
    assert _queue_hearing_reminders(database, sms_on, people, "2025-11-21 09:00", now) == 1
    assert cli("sms", "send").output == "sent 1, retrying 0, failed 0, needs-review 0, held 0\n"
    with database.write() as session:  # the alert check runs again: nothing new
        assert hearing_reminders.queue_reminders(
            session, orders.resolve_order(session, people), now, sms_on) == 0
    cli("sms", "send")
    [request] = twilio.sent()
    assert (request["To"], request["From"]) == (PHONE, FROM)
    assert request["Body"].startswith("Legal Aid Bond Project: Rosa, su audiencia en Miami Krome")
    assert request["Body"].endswith("Responda STOP para no recibir mensajes.")  # the first text
    [(notice, message)] = _texts(database)
    # The callback URL names the text by its outbox id, nothing personal.
    assert request["StatusCallback"] == f"{PUBLIC}/sms/status?m={notice.id}"
    assert (notice.status, notice.channel, notice.kind) == ("sent", "sms", "hearing-reminder")
    assert message.provider_sid == request["_sid"] and message.delivery == "queued"
    listed = __import__("json").loads(cli("sms", "list", "--json").output)
    assert [(r["to"], r["status"], r["segments"]) for r in listed] == [(PHONE, "sent", 2)]


def test_without_consent_a_reminder_goes_by_e_mail_or_letter(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        frozen) -> None:  # type: ignore[no-untyped-def]
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    assert _queue_hearing_reminders(database, sms_on, people, "2025-11-21 09:00", now) == 1
    with database.read() as session:
        assert session.scalars(select(Notice.channel)).all() == ["letter"]
    assert twilio.sent() == []


def test_quiet_hours_hold_a_text_until_morning_in_the_facility_zone_but_not_a_test_text(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        frozen) -> None:  # type: ignore[no-untyped-def]
    night = frozen(datetime(2025, 11, 21, 3, 30, tzinfo=UTC))  # 22:30 at Krome (EST)
    _consent(cli)
    _queue_hearing_reminders(database, sms_on, people, "2025-11-21 15:00", night)
    assert "held 1" in cli("sms", "send").output
    assert twilio.sent() == []
    [(notice, _)] = _texts(database)
    assert notice.status == "pending"
    assert notice.claimed_until == datetime(2025, 11, 21, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert cli("sms", "test", ROSA).output.startswith("test text #")  # not held: sent at once
    assert [r["Body"] for r in twilio.sent()] == [
        "Legal Aid Bond Project: este es un mensaje de prueba de su equipo legal. No hace falta"
        " responder."]  # the reminder, queued first, carries the stop line
    frozen(datetime(2025, 11, 21, 13, 0, tzinfo=UTC))
    assert "sent 1" in cli("sms", "send").output
    assert len(twilio.sent()) == 2


def test_an_opted_out_recipient_21610_opts_the_number_out(
        cli, people: str, sms_on: config.Settings, twilio: StandIn,
        database: db.Database) -> None:  # type: ignore[no-untyped-def]
    _consent(cli)
    twilio.answers[PHONE] = "21610"
    refused = cli("sms", "test", ROSA, ok=False)
    assert refused.exit_code == 1 and "failed" in refused.output
    with database.read() as session:
        number = session.scalars(select(SmsNumber)).one()
        assert number.status == consent.OPTED_OUT
        actions = [s["action"] for s in consent.history(session, 1)]
        assert actions == ["given", "opted-out"]
    [(notice, message)] = _texts(database)
    assert (notice.status, message.error_code) == ("failed", 21610)
    assert "error 21610" in (notice.error or "")
    again = cli("sms", "test", ROSA, ok=False)
    assert again.output == "Error: no consent to text the client: record it first\n"
    assert len(twilio.sent()) == 1


def test_a_busy_provider_429_is_retried_later_and_sends_once(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        frozen) -> None:  # type: ignore[no-untyped-def]
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    _consent(cli)
    _queue_hearing_reminders(database, sms_on, people, "2025-11-21 09:00", now)
    twilio.answers[PHONE] = "429"
    assert "retrying 1" in cli("sms", "send").output
    [(notice, _)] = _texts(database)
    assert (notice.status, notice.attempts) == ("pending", 1)
    assert notice.claimed_until == now + timedelta(seconds=60)
    del twilio.answers[PHONE]
    assert "sent 0" in cli("sms", "send").output  # not before its time
    frozen(now + timedelta(seconds=61))
    assert "sent 1" in cli("sms", "send").output
    assert len(twilio.sent()) == 2  # the refused request, then the one sent


def test_a_lost_answer_leaves_the_text_for_review_never_sent_again(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        frozen) -> None:  # type: ignore[no-untyped-def]
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    _consent(cli)
    _queue_hearing_reminders(database, sms_on, people, "2025-11-21 09:00", now)
    twilio.answers[PHONE] = "drop"
    assert "needs-review 1" in cli("sms", "send").output
    del twilio.answers[PHONE]
    frozen(now + timedelta(hours=2))
    cli("sms", "send")
    [(notice, _)] = _texts(database)
    assert notice.status == "needs-review" and "check whether it arrived" in (notice.error or "")
    assert len(twilio.sent()) == 1


def test_texts_are_paced_per_sending_number_and_go_in_the_order_queued(
        cli, people: str, twilio: StandIn, database: db.Database, settings: config.Settings,
        monkeypatch: pytest.MonkeyPatch, frozen) -> None:  # type: ignore[no-untyped-def]
    for name, value in sms_env(twilio.url, pace=0.25).items():
        monkeypatch.setenv(name, value)
    paced = config.load()
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    for n, a_number in enumerate((ROSA, CHIDI, "A-200-000-003")):
        _consent(cli, a_number, f"312-555-01{n + 10}")
    with database.write() as session:
        order = orders.resolve_order(session, people)
        for person in session.scalars(select(Detainee).order_by(Detainee.id.desc())):
            outbox.enqueue(session, order=order, detainee=person, role="client", kind="test",
                           context={}, key=f"t:{person.id}", now=now, settings=paced)
    counts = outbox.deliver(database, paced, now=now, worker="w")
    assert counts["sent"] == 3
    with twilio.lock:
        times = [r.at for r in twilio.requests]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.24
    assert [r["To"] for r in twilio.sent()] == ["+13125550112", "+13125550111", "+13125550110"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_615_reminders_queue_and_go_out_in_order(
        cli, court_order: str, sms_on: config.Settings, twilio: StandIn, database: db.Database,
        tmp_path: Path, frozen) -> None:  # type: ignore[no-untyped-def]
    now = frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    listing = tmp_path / "people.csv"
    listing.write_text("A#,Last Name,First Name,Language,Facility Code,Facility Name\n" + "".join(
        f"{n:09d},Family{n},Given{n},en,KRO,Krome North\n" for n in range(1, 616)))
    cli("import", listing)
    with database.write() as session:
        people = list(session.scalars(select(Detainee).order_by(Detainee.id)))
        for n, person in enumerate(people):
            consent.record(session, person, role="client", phone=f"+1312555{n:04d}",
                           how="form", actor=Actor("t"), now=now)
            hearings.add(session, person, at=now + timedelta(hours=20), court="miami-krome",
                         actor=Actor("t"), now=now)
    started = time.monotonic()
    with database.write() as session:
        queued = hearing_reminders.queue_reminders(
            session, orders.resolve_order(session, court_order), now, sms_on)
    queueing = time.monotonic() - started
    started = time.monotonic()
    counts = outbox.deliver(database, sms_on, now=now, worker="w")
    sending = time.monotonic() - started
    assert queued == 615 and counts["sent"] == 615
    assert [r["To"] for r in twilio.sent()] == [f"+1312555{n:04d}" for n in range(615)]
    print(f"615 texts: queued in {queueing:.2f}s, sent (no pacing) in {sending:.2f}s")


def test_the_readme_text_messages_section_runs_line_by_line(
        cli, sms_on: config.Settings, twilio: StandIn, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import json
    import re
    import shlex

    from tests.architecture.test_readme import README, walkthrough

    monkeypatch.chdir(tmp_path)
    (tmp_path / "class-list.csv").write_text(
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BSAHOLD,Broadview Service Staging\n",
        encoding="utf-8")
    for argv in walkthrough():
        cli(*argv[1:])
    section = README.read_text().split("## Text messages", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    said = [cli(*shlex.split(line)[1:]).output for line in block.splitlines() if line.strip()]
    assert len(said) == 6 and "GSM-7" in said[0] and "every language has every text" in said[1]
    assert said[3].startswith("test text #1: sent")
    [row] = json.loads(said[5])
    assert (row["to"], row["status"], row["kind"]) == (PHONE, "sent", "test")
    assert twilio.sent()[0]["To"] == PHONE


def test_the_demo_shows_texts_off_with_what_they_would_send_and_their_segments(
        database: db.Database, settings: config.Settings, court_order: str) -> None:
    from workflow.demo import texts as demo_texts

    said: list[str] = []
    demo_texts.step(database, settings, 1, datetime(2025, 11, 20, 15, tzinfo=UTC), said.append)
    assert said[0].startswith("text messages are off: set [sms] account_sid")
    assert len(said) == 1 + len(texts.previews(settings))
    # About the order's own deadline day (9:00 court time), not a fixed sample date.
    assert "  demand (en), " in said[1 + 1] and "tomorrow, Fri Nov 21, 9:00 AM" in said[2]
    assert "2026" not in "\n".join(said)
    assert "  hearing-reminder (es), 1 segment (GSM-7, " in "\n".join(said)
    assert all("segment" in line for line in said[1:])


def test_the_release_and_an_i340_demand_are_texted_once_each_and_again_the_day_before(
        cli, sms_on: config.Settings, twilio: StandIn, database: db.Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, frozen) -> None:  # type: ignore[no-untyped-def]
    from tests.architecture.test_readme import walkthrough
    from workflow.notices.sms import messages

    monkeypatch.chdir(tmp_path)
    (tmp_path / "class-list.csv").write_text(
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BSAHOLD,Broadview Service Staging\n",
        encoding="utf-8")
    for argv in walkthrough():  # José is released; his sister Ana posted the bond
        cli(*argv[1:])
    cli("sms", "consent", "012345678", "--phone", "312-555-0100", "--how", "in-person")
    cli("sms", "consent", "012345678", "--phone", "773-555-0101", "--how", "phone",
        "--role", "obligor")

    def owed(at: datetime) -> int:
        with database.write() as session:
            return messages.queue_bond_texts(session, orders.resolve_order(session, None),
                                             frozen(at), sms_on)

    assert owed(datetime(2025, 11, 20, 18, 0, tzinfo=UTC)) == 1  # the release, to Ana
    cli("bonds", "record", "012345678", "demand", "--due", "2025-11-24 10:00")
    assert owed(datetime(2025, 11, 20, 19, 0, tzinfo=UTC)) == 2  # the demand, to both
    assert owed(datetime(2025, 11, 21, 19, 0, tzinfo=UTC)) == 0
    assert owed(datetime(2025, 11, 23, 16, 0, tzinfo=UTC)) == 2  # the day before 10:00 CST
    assert owed(datetime(2025, 11, 23, 17, 0, tzinfo=UTC)) == 0
    cli("sms", "send")
    bodies = [(r["To"], r["Body"]) for r in twilio.sent()]
    assert bodies[0] == ("+17735550101", "Legal Aid Bond Project: Liberaron a José de Broadview"
                         " Service Staging el jue 20 nov, 12:00. Dudas: +1 312-555-0100"
                         " Responda STOP para no recibir mensajes.")
    assert [to for to, _ in bodies[1:]] == ["+13125550100", "+17735550101"] * 2
    assert ("se presente el lun 24 nov, 10:00 en 101 W Ida B Wells Drive, Suite 4000, Chicago"
            " (formulario I-340)") in bodies[1][1]  # the field office's address
    assert "se presente mañana, lun 24 nov, 10:00" in bodies[3][1]
    assert "STOP" in bodies[1][1] and "STOP" not in bodies[2][1]  # each number's first text


def test_the_alert_check_texts_due_reminders_and_logs_no_number_or_text(
        cli, people: str, sms_on: config.Settings, twilio: StandIn, frozen,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures_web import free_port

    caplog.set_level("DEBUG")
    monkeypatch.setenv("BONDTRACK_NOTICES_STAFF_EMAILS", "duty@example.org")
    monkeypatch.setenv("BONDTRACK_SMTP_PORT", str(free_port()))  # no mail server: e-mails wait
    frozen(datetime(2025, 11, 20, 18, 0, tzinfo=UTC))
    _consent(cli)
    cli("hearing", "add", ROSA, "--at", "2025-11-21 09:00", "--court", "miami-krome")
    said = __import__("json").loads(cli("alerts", "check", "--json").output)
    assert said["texts"]["sent"] == 1
    [request] = twilio.sent()
    assert request["To"] == PHONE
    logged = caplog.text + "\n".join(cli("alerts", "list").output.splitlines())
    for secret in ("5550100", "555-0100", "Rosa", request["Body"][:30], "audiencia"):
        assert secret not in logged
