"""Delivery callbacks that come before the sending worker has recorded the provider's answer,
or after it died without recording it: the StatusCallback URL names the text by its outbox id
(``?m=``, signed with the whole URL), so no callback is lost, and a text left for review keeps
what the provider reported as evidence while it waits for a person. The crash trials kill a
real worker at these steps: tests/record/test_crashes.py."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.fixtures_sms import PUBLIC, StandIn, callback_fields, last_text, sign
from tests.fixtures_web import Web
from workflow.core import clock, crashpoints
from workflow.notices.sms import outbox
from workflow.record.models import CourtOrder, Detainee, Notice


def _queue_text(web: Web) -> int:
    """Consent recorded through the person's page, then a text to that number waiting in the
    outbox; its outbox id."""
    browser = web.browser("staff")
    person = web.ids[0]
    answer = browser.post(f"/people/{person}/sms/consent", {
        "role": "client", "phone": "(312) 555-0100", "how": "in-person",
        "version": browser.version(person)})
    assert answer.status_code == 303, answer.text
    with web.database.write() as session:
        notice = outbox.enqueue(
            session, order=session.scalars(select(CourtOrder)).one(),
            detainee=session.get_one(Detainee, person), role="client", kind="test", context={},
            key="early", now=clock.now(), settings=web.settings)
        assert notice is not None
        return notice.id


def _callback(web: Web, url: str, sid: str, status: str, error: str | None = None,
              signed_url: str | None = None) -> Any:
    """Twilio's callback to ``url`` (the text's StatusCallback), signed for the whole URL."""
    fields = callback_fields(sid, status, error)
    split = urlsplit(url)
    return web.app.test_client().post(
        f"{split.path}?{split.query}", data=fields,
        headers={"X-Twilio-Signature": sign(signed_url or url, fields)})


def _at_step(step: str, then: Any) -> None:
    """Run ``then()`` when the worker reaches ``step``."""
    crashpoints.install(lambda reached: then() if reached == step else None)


@pytest.mark.parametrize("reported", [
    (("sent", None), ("delivered", None)),
    (("sent", None), ("undelivered", "30003")),
])
def test_a_callback_that_comes_before_the_sid_is_recorded_is_not_lost(
        texting: Web, twilio: StandIn, reported: tuple[tuple[str, str | None], ...]) -> None:
    """Twilio reports the text's status while the worker has not yet recorded its answer: the
    callback finds the text by its outbox id, records the SID and the status; the worker's
    record then keeps that status, and a failure sends the text to review, not to sent."""
    notice_id = _queue_text(texting)
    answers = []

    def callbacks_first() -> None:
        [request] = twilio.sent()
        assert request["StatusCallback"].endswith(f"/sms/status?m={notice_id}")
        _, message, _ = last_text(texting.database)
        assert (message.provider_sid, message.delivery) == (None, None)  # not recorded yet
        answers.extend(_callback(texting, request["StatusCallback"], request["_sid"], status,
                                 error).status_code for status, error in reported)

    _at_step(crashpoints.SMS_ACCEPTED, callbacks_first)
    try:
        counts = outbox.deliver(texting.database, texting.settings, now=clock.now(), worker="w")
    finally:
        crashpoints.install(None)
    assert answers == [204, 204]
    notice, message, number = last_text(texting.database)
    assert message.provider_sid == twilio.sent()[0]["_sid"] and message.callbacks == 2
    if reported[-1][0] == "delivered":
        assert counts["sent"] == 1 and notice.status == "sent"
        assert message.delivery == "delivered"  # not the "queued" of the API's answer
        assert number.failures == 0
    else:
        assert counts["needs-review"] == 1 and notice.status == "needs-review"
        assert (message.delivery, message.error_code) == ("undelivered", 30003)
        assert "error 30003" in (notice.error or "") and number.failures == 1
    assert len(twilio.sent()) == 1


class _Killed(BaseException):
    """The worker dies (the crash trials kill a real one: tests/record/test_crashes.py)."""


def test_a_callback_for_a_text_whose_worker_died_before_the_record_records_it_for_review(
        texting: Web, twilio: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    """The worker dies between the provider's answer and the record: the text is left for a
    person to settle, and Twilio's "delivered" is recorded on it as evidence, with its SID.
    Callbacks that name another text, a SID it does not hold, or no text at all change
    nothing and tell the caller nothing."""
    caplog.set_level("DEBUG")
    notice_id = _queue_text(texting)

    def die() -> None:
        raise _Killed

    _at_step(crashpoints.SMS_ACCEPTED, die)
    started = time.monotonic()
    try:
        with pytest.raises(_Killed):
            outbox.deliver(texting.database, texting.settings, now=clock.now(), worker="dead")
    finally:
        crashpoints.install(None)
    # The dead run's clock moved on by the whole real seconds it took (its lease with it):
    # under load, a second or two.
    took = int(time.monotonic() - started)
    lease = texting.settings.section("sms")["lease_seconds"]
    later = clock.now() + timedelta(seconds=lease + took + 1)
    assert outbox.deliver(texting.database, texting.settings, now=later,
                          worker="next")["needs-review"] == 1
    [request] = twilio.sent()
    url, sid = request["StatusCallback"], request["_sid"]
    assert url == f"{PUBLIC}/sms/status?m={notice_id}"

    base = f"{PUBLIC}/sms/status"
    for answer in (
        _callback(texting, url, sid, "delivered", signed_url=base),  # signed without the query
        _callback(texting, f"{base}?m={notice_id + 1}", sid, "delivered",
                  signed_url=url),  # the signature of another URL
    ):
        assert answer.status_code == 403
    for ignored in (f"{base}?m={notice_id + 1}", f"{base}?m=x1", f"{base}?m=99999999999999999999",
                    f"{base}?m=", f"{base}?m=-{notice_id}"):
        answer = _callback(texting, ignored, sid, "delivered")
        assert answer.status_code == 204 and answer.data == b""
    assert _callback(texting, url, "", "delivered").status_code == 204
    assert last_text(texting.database)[1].callbacks == 0

    for status in ("sent", "delivered"):
        assert _callback(texting, url, sid, status).status_code == 204
    assert _callback(texting, url, "SM" + "f" * 32, "failed", "30003").status_code == 204
    notice, message, number = last_text(texting.database)
    assert (message.provider_sid, message.delivery, message.callbacks) == (sid, "delivered", 2)
    assert notice.status == "needs-review" and number.failures == 0  # a person decides
    outbox.deliver(texting.database, texting.settings, now=later + timedelta(hours=1),
                   worker="again")
    assert len(twilio.sent()) == 1  # never texted twice
    assert "5550100" not in caplog.text and request["Body"][:20] not in caplog.text


def test_a_text_sent_again_takes_the_new_sends_callbacks_only(
        texting: Web, twilio: StandIn) -> None:
    """A person settles a text in review with ``--resend``: its record starts afresh, the new
    send's callbacks are recorded (even before its SID), the old send's are not."""
    from workflow.record import outbox as records

    notice_id = _queue_text(texting)
    twilio.answers["+13125550100"] = "drop"  # the answer is lost: nobody knows
    outbox.deliver(texting.database, texting.settings, now=clock.now(), worker="w")
    old = twilio.sent()[0]
    assert "_sid" not in old  # (the stand-in dropped it before making a message)
    old_sid = "SM" + "a" * 32
    assert _callback(texting, old["StatusCallback"], old_sid, "delivered").status_code == 204
    assert last_text(texting.database)[1].provider_sid == old_sid
    with texting.database.write() as session:
        records.resolve(session, session.get_one(Notice, notice_id), delivered=False,
                        operator="t")
    del twilio.answers["+13125550100"]

    def sent_first() -> None:  # the new send's first callback, before its SID is recorded
        new = twilio.sent()[1]
        assert _callback(texting, new["StatusCallback"], new["_sid"], "sent").status_code == 204

    _at_step(crashpoints.SMS_ACCEPTED, sent_first)
    try:
        outbox.deliver(texting.database, texting.settings, now=clock.now(), worker="w2")
    finally:
        crashpoints.install(None)
    new = twilio.sent()[1]
    assert new["StatusCallback"] == old["StatusCallback"]  # the same text
    assert _callback(texting, new["StatusCallback"], new["_sid"], "delivered").status_code == 204
    assert _callback(texting, old["StatusCallback"], old_sid, "failed", "30003"
                     ).status_code == 204
    notice, message, number = last_text(texting.database)
    assert (notice.status, message.provider_sid, message.delivery, message.callbacks) == (
        "sent", new["_sid"], "delivered", 2)
    assert number.failures == 0
