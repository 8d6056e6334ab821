"""The SMS webhooks and the person's texts in the browser: signatures (behind a proxy too),
STOP and START, replies kept on the record, delivery per segment, failing numbers; and the
stand-in posting signed callbacks to a running `bondtrack web`, whose log names nobody."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.fixtures_sms import (
    PUBLIC,
    StandIn,
    callback_fields,
    inbound_fields,
    last_text,
    sign,
    sms_env,
)
from tests.fixtures_web import Server, Web, free_port, start_server
from workflow.core import clock, config
from workflow.notices.sms import consent, outbox
from workflow.record.audit import Actor
from workflow.record.models import Event, Notice, SmsNumber, SmsReply

PHONE = "+13125550100"
FORM = {"content_type": "application/x-www-form-urlencoded"}


def _consent_and_test(web: Web, phone: str = "(312) 555-0100") -> Any:
    browser = web.browser("staff")
    person = web.ids[0]
    answer = browser.post(f"/people/{person}/sms/consent", {
        "role": "client", "phone": phone, "how": "in-person", "version": browser.version(person)})
    assert answer.status_code == 303, answer.text
    return browser.post(f"/people/{person}/sms/test", {"role": "client"})


def _webhook(web: Web, name: str, fields: dict[str, str], signature: str | None = "sign",
             signed_url: str | None = None, **headers: str) -> Any:
    if signature == "sign":
        signature = sign(signed_url or f"{PUBLIC}/sms/{name}", fields)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return web.app.test_client().post(f"/sms/{name}", data=fields, headers=headers)


def test_a_test_text_goes_at_once_from_the_persons_page_which_shows_it(
        texting: Web, twilio: StandIn) -> None:
    sent = _consent_and_test(texting)
    assert sent.status_code == 303
    [request] = twilio.sent()
    assert request["To"] == PHONE and "Reply STOP" not in request["Body"]
    page = texting.browser("attorney").get(f"/people/{texting.ids[0]}").text
    assert "Text messages" in page and "given" in page and "in-person" in page
    assert "test (es)" in page and "1 GSM-7" in page and "sent" in page
    assert f'action="/people/{texting.ids[0]}/sms/test"' in page


def test_sms_off_the_page_says_so_and_offers_no_test_text(web: Web) -> None:
    page = web.browser("staff").get(f"/people/{web.ids[0]}").text
    assert "text messages are off: set [sms] account_sid" in page
    assert "Send a test text" not in page
    assert _webhook(web, "status", callback_fields("SM1", "sent")).status_code == 403


def test_delivery_callbacks_are_recorded_and_a_later_segment_does_not_hide_a_failure(
        texting: Web, twilio: StandIn) -> None:
    _consent_and_test(texting)
    sid = twilio.sent()[0]["_sid"]
    for status, error in (("sent", None), ("undelivered", "30003"), ("delivered", None)):
        answer = _webhook(texting, "status", callback_fields(sid, status, error))
        assert answer.status_code == 204 and "Set-Cookie" not in answer.headers
    notice, message, number = last_text(texting.database)
    assert (message.delivery, message.error_code, message.callbacks) == ("undelivered", 30003, 3)
    assert notice.status == "needs-review" and "error 30003" in (notice.error or "")
    assert (number.failures, number.status) == (1, consent.ACTIVE)
    outbox_page = texting.browser("attorney").get("/outbox?status=needs-review").text
    assert "<td>sms</td>" in outbox_page and PHONE in outbox_page


def test_a_number_that_fails_twice_is_failing_and_its_waiting_texts_need_review(
        texting: Web, twilio: StandIn) -> None:
    _consent_and_test(texting)
    texting.browser("staff").post(f"/people/{texting.ids[0]}/sms/test", {"role": "client"})
    first, second = (r["_sid"] for r in twilio.sent())
    with texting.database.write() as session:  # a reminder waits in the outbox
        notice = outbox.enqueue(
            session, order=_order(session), detainee=_person(session, texting.ids[0]),
            role="client", kind="test", context={}, key="waiting", now=clock.now(),
            settings=texting.settings)
        assert notice is not None
    _webhook(texting, "status", callback_fields(first, "failed", "30003"))
    _webhook(texting, "status", callback_fields(second, "undelivered", "30005"))
    with texting.database.write() as session:
        number = session.scalars(select(SmsNumber)).one()
        assert (number.status, number.failures) == (consent.FAILING, 2)
        statuses = session.scalars(select(Notice.status).order_by(Notice.id)).all()
    assert statuses == ["needs-review"] * 3
    counts = outbox.deliver(texting.database, texting.settings, now=clock.now(), worker="w")
    assert counts["sent"] == 0 and len(twilio.sent()) == 2


def _order(session: Any) -> Any:
    from workflow.record.models import CourtOrder

    return session.scalars(select(CourtOrder)).one()


def _person(session: Any, person_id: int) -> Any:
    from workflow.record.models import Detainee

    return session.get_one(Detainee, person_id)


def test_webhooks_refuse_a_missing_bad_or_replayed_signature_and_anything_but_a_signed_post(
        texting: Web, twilio: StandIn) -> None:
    _consent_and_test(texting)
    sid = twilio.sent()[0]["_sid"]
    fields = callback_fields(sid, "delivered")
    replayed = sign(f"{PUBLIC}/sms/status", callback_fields(sid, "sent"))
    for answer in (
        _webhook(texting, "status", fields, signature=None),  # missing
        _webhook(texting, "status", fields, signature=""),
        _webhook(texting, "status", fields, signature=sign(f"{PUBLIC}/sms/status", fields,
                                                           token="another-token")),
        _webhook(texting, "status", fields, signature=replayed),  # another body's signature
        _webhook(texting, "status", fields, signed_url=f"{PUBLIC}/sms/inbound"),  # another URL
        texting.app.test_client().post("/sms/status", json=fields, headers={
            "X-Twilio-Signature": sign(f"{PUBLIC}/sms/status", fields)}),  # not a form
    ):
        assert answer.status_code == 403
    assert texting.app.test_client().get("/sms/status").status_code == 405
    assert last_text(texting.database)[1].callbacks == 0
    assert _webhook(texting, "status", fields).status_code == 204  # no session, no CSRF token


def test_stop_and_start_change_consent_and_other_replies_are_kept_on_the_record(
        texting: Web, twilio: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    _consent_and_test(texting)
    reply = "Can my sister come with me to court?"
    for sid, body in (("SMa1", " stop "), ("SMa2", "START"), ("SMa3", reply), ("SMa3", reply),
                      ("SMa4", "Unsubscribe")):
        answer = _webhook(texting, "inbound", inbound_fields(sid, "+1 (312) 555-0100", body))
        assert answer.status_code == 200 and answer.mimetype == "text/xml"
    with texting.database.write() as session:
        assert session.scalars(select(SmsNumber.status)).one() == consent.OPTED_OUT
        steps = [s["action"] for s in consent.history(session, texting.ids[0])]
        [kept] = session.scalars(select(SmsReply)).all()
        assert (kept.body, kept.detainee_id) == (reply, texting.ids[0])
    assert steps == ["given", "opted-out", "opted-in", "opted-out"]
    page = texting.browser("staff").get(f"/people/{texting.ids[0]}").text
    assert "Can my sister come with me to court?" in page and "opted-out" in page
    refused = texting.browser("staff").post(f"/people/{texting.ids[0]}/sms/test",
                                            {"role": "client"})
    assert refused.status_code == 303 and len(twilio.sent()) == 1
    logged = caplog.text
    assert "sister" not in logged and "5550100" not in logged and "555-0100" not in logged


def test_behind_a_tls_proxy_the_signature_is_checked_against_the_public_url(
        web: Web, twilio: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.web import create_app

    for name, value in sms_env(twilio.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BONDTRACK_WEB_BEHIND_TLS", "true")
    app = create_app(config.load(), web.database)
    fields = inbound_fields("SMp1", PHONE, "hello")
    signature = sign(f"{PUBLIC}/sms/inbound", fields)
    answer = app.test_client().post(
        "/sms/inbound", data=fields, base_url="http://10.0.0.7:8001",
        headers={"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https",
                 "X-Forwarded-For": "54.0.0.1", "Host": "bondtrack.example.org"})
    assert answer.status_code == 200
    signed_for_the_inside = sign("http://10.0.0.7:8001/sms/inbound", fields)
    assert app.test_client().post("/sms/inbound", data=fields, base_url="http://10.0.0.7:8001",
                                  headers={"X-Twilio-Signature": signed_for_the_inside}
                                  ).status_code == 403


@pytest.mark.slow
def test_the_stand_in_posts_signed_callbacks_to_a_running_server_whose_log_names_nobody(
        texting: Web, twilio: StandIn, servers: list[Server], tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {**os.environ, **sms_env(twilio.url, public=public), "BONDTRACK_LOG_LEVEL": "DEBUG"}
    log = tmp_path / "web.log"
    servers.append(start_server(env, log, port))
    browser = httpx.Client(base_url=public, follow_redirects=False)
    login = browser.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    from tests.fixtures_web import PASSWORD, email

    assert browser.post("/login", data={"email": email("staff"), "password": PASSWORD,
                                        "csrf": csrf}).status_code == 303
    person = texting.ids[0]
    page = browser.get(f"/people/{person}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert browser.post(f"/people/{person}/sms/consent", data={
        "csrf": csrf, "version": version, "role": "client", "phone": "312-555-0100",
        "how": "phone"}).status_code == 303
    assert browser.post(f"/people/{person}/sms/test", data={"csrf": csrf, "role": "client"}
                        ).status_code == 303
    [request] = twilio.sent()
    assert request["StatusCallback"] == f"{public}/sms/status?m={last_text(texting.database)[0].id}"
    for status in ("sent", "delivered"):
        assert twilio.status(request["_sid"], status).status_code == 204
    answer = httpx.post(f"{public}/sms/inbound", data=inbound_fields("SMr1", PHONE, "gracias"),
                        headers={"X-Twilio-Signature": sign(
                            f"{public}/sms/inbound", inbound_fields("SMr1", PHONE, "gracias"))})
    assert answer.status_code == 200
    assert httpx.post(f"{public}/sms/status", data=callback_fields(request["_sid"], "failed")
                      ).status_code == 403
    _, message, _ = last_text(texting.database)
    assert (message.delivery, message.callbacks) == ("delivered", 2)
    # A worker sends a text, and the stand-in reports it delivered before it answers the
    # API request, as Twilio may: the server records it on the text the URL names.
    worker = config.load({**os.environ, **sms_env(twilio.url, public=public)})
    twilio.first[PHONE] = [("sent", None), ("delivered", None)]
    with texting.database.write() as session:
        early = outbox.enqueue(
            session, order=_order(session), detainee=_person(session, person), role="client",
            kind="test", context={}, key="early", now=clock.now(), settings=worker)
        assert early is not None
        early_id = early.id
    assert outbox.deliver(texting.database, worker, now=clock.now(), worker="w")["sent"] == 1
    assert twilio.posted_first == [204, 204]
    notice, message, _ = last_text(texting.database)
    assert (notice.id, notice.status) == (early_id, "sent")
    assert (message.provider_sid, message.delivery, message.callbacks) == (
        twilio.sent()[-1]["_sid"], "delivered", 2)
    browser.close()
    servers[-1].stop()
    logged = log.read_text()
    assert "POST /sms/status 204" in logged and "POST /sms/inbound 200" in logged
    assert "DEBUG" in logged or "INFO" in logged
    for secret in ("5550100", "555-0100", "gracias", "prueba", request["Body"][:20], "Rosa"):
        assert secret not in logged
    for sent in twilio.sent():  # the only URLs bondtrack asked for name no one
        assert "5550100" not in sent["StatusCallback"]
    with twilio.lock:
        assert {r.path for r in twilio.requests} == {
            f"/2010-04-01/Accounts/{sms_env('')['BONDTRACK_SMS_ACCOUNT_SID']}/Messages.json"}


def test_a_reply_and_a_failing_number_reach_the_owners_queue_until_dealt_with(
        texting: Web, twilio: StandIn) -> None:
    """Issue 27: the person's owner sees replies and failing numbers in their queue."""
    from tests.fixtures_web import email
    from workflow.actions import caseloads

    staff, person = email("staff"), texting.ids[0]
    caseloads.assign(texting.database, texting.settings, texting.case, [staff],
                     [_a_number(texting, person)], actor=Actor("tester"), now=clock.now())

    def mine() -> list[tuple[int, str]]:
        rows = caseloads.next_actions(texting.database, texting.settings, texting.case,
                                      owner=staff, limit=50, now=clock.now())
        return [(row["id"], row["action"]) for row in rows if row["action"] in (
            "read-reply", "check-number")]

    _consent_and_test(texting)
    assert mine() == []
    _webhook(texting, "inbound", inbound_fields("SMr1", PHONE, "Where do I go on Monday?"))
    assert mine() == [(person, "read-reply")]
    sent = [r["_sid"] for r in twilio.sent()]
    texting.browser("staff").post(f"/people/{person}/sms/test", {"role": "client"})
    for sid, code in zip([*sent, twilio.sent()[-1]["_sid"]], ("30003", "30005"), strict=False):
        _webhook(texting, "status", callback_fields(sid, "failed", code))
    assert sorted(mine()) == [(person, "check-number"), (person, "read-reply")]
    browser = texting.browser("staff")
    page = browser.get(f"/people/{person}").text
    assert "(unread)" in page and "Mark replies read" in page
    done = browser.post(f"/people/{person}/sms/read", {"version": browser.version(person)})
    assert done.status_code == 303
    assert mine() == [(person, "check-number")]
    with texting.database.write() as session:
        kinds = session.scalars(select(Event.kind).where(Event.detainee_id == person)).all()
    assert "sms-replies-read" in kinds
    others = caseloads.next_actions(texting.database, texting.settings, texting.case,
                                    owner="unowned", limit=50, now=clock.now())
    assert person not in {row["id"] for row in others}


def _a_number(web: Web, person_id: int) -> str:
    with web.database.write() as session:
        return _person(session, person_id).a_number
