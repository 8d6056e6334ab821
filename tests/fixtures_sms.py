"""A stand-in for Twilio's Messages API on 127.0.0.1, built from its documented behaviour,
and SMS settings pointing at it.

What it checks: the path (``/2010-04-01/Accounts/{AccountSid}/Messages.json``), HTTP basic
auth with the account SID and auth token (401, error 20003, otherwise), a form body with
``To``, ``Body`` and ``From`` or ``MessagingServiceSid`` (400, error 21604/21603 without),
``To`` in E.164 (400, error 21211). It answers 201 with the message's JSON (``sid``,
``status: queued``, ``num_segments`` counted as GSM-7/UCS-2), or as a test asks for one
number: 400 with error 21610 (unsubscribed recipient), 429 with error 20429 (too many
requests), or a dropped connection after reading the request. It posts status callbacks,
signed with the auth token by the official library's ``RequestValidator`` for the whole
``StatusCallback`` URL (query string included), to a running ``bondtrack web``; 30003
(unreachable handset) arrives that way, as ``undelivered``. For a number a test names in
``first`` it posts callbacks before it answers the API request, as Twilio may: the sender
has not recorded the SID yet. It counts every request that reached it, so "never sent
twice" is judged on the provider's side.

What it does not check: the sending number's ownership, carrier filtering, message
length limits beyond 1,600 characters, Messaging Services' own pacing, or any real delivery.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.fixtures_web import Web
from workflow.core import config
from workflow.notices.sms import segments

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-" + "7" * 16
FROM = "+13125550199"
PUBLIC = "https://bondtrack.example.org"
_PATH = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json")


@dataclass
class Request:
    path: str
    fields: dict[str, str]
    at: float


@dataclass
class StandIn:
    """The stand-in's state: what it received and how it answers each number."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # To -> "21610", "429", "drop"
    # To -> the statuses (and error codes) to post before answering the API request.
    first: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    posted_first: list[int] = field(default_factory=list)  # what the server answered them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self) -> list[dict[str, str]]:
        with self.lock:
            return [r.fields for r in self.requests]

    def sent_to(self, number: str) -> int:
        """How many texts to ``number`` reached the provider."""
        return sum(fields["To"] == number for fields in self.sent())

    def callback_url(self, sid: str) -> str:
        """The StatusCallback URL the message ``sid`` was sent with."""
        with self.lock:
            return next(r.fields["StatusCallback"] for r in self.requests
                        if r.fields.get("_sid") == sid)

    def status(self, sid: str, status: str, error: str | None = None) -> httpx.Response:
        """Post a delivery callback for ``sid`` to the StatusCallback URL it was sent with,
        signed for that URL as Twilio signs it."""
        return post_callback(self.callback_url(sid), sid, status, error)


def post_callback(url: str, sid: str, status: str, error: str | None = None) -> httpx.Response:
    """A signed delivery callback for ``sid``, posted to ``url`` as Twilio posts it."""
    fields = callback_fields(sid, status, error)
    return httpx.post(url, data=fields, headers={"X-Twilio-Signature": sign(url, fields)})


def callback_fields(sid: str, status: str, error: str | None = None) -> dict[str, str]:
    """A status callback's form, as Twilio documents it."""
    fields = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
              "AccountSid": ACCOUNT, "From": FROM, "ApiVersion": "2010-04-01"}
    if error:
        fields["ErrorCode"] = error
    return fields


def inbound_fields(sid: str, sender: str, body: str) -> dict[str, str]:
    """An incoming message's form, as Twilio documents it."""
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": FROM,
            "Body": body, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}


def sign(url: str, fields: dict[str, str], token: str = TOKEN) -> str:
    """The X-Twilio-Signature of a POST of ``fields`` to ``url``."""
    return RequestValidator(token).compute_signature(url, fields)


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if len(raw) < length:
                # The sender died mid-request (a crash trial's kill in another thread): an
                # API request that never arrived whole sends nothing.
                self.close_connection = True
                return None
            fields = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            match = _PATH.fullmatch(self.path)
            if not match:
                return self._answer(404, {"code": 20404, "message": "not found"})
            expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
            authorization = self.headers.get("Authorization")
            if match.group(1) != ACCOUNT or authorization != f"Basic {expected}":
                return self._answer(401, {"code": 20003, "message": "Authenticate"})
            request = Request(self.path, fields, time.monotonic())
            with state.lock:
                state.requests.append(request)
            to = fields.get("To", "")
            if not fields.get("Body"):
                return self._answer(400, {"code": 21602, "message": "Message body is required."})
            if not (fields.get("From") or fields.get("MessagingServiceSid")):
                return self._answer(400, {"code": 21603,
                                          "message": "A 'From' phone number is required."})
            if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
                return self._answer(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
            answer = state.answers.get(to)
            if answer == "21610":
                return self._answer(400, {"code": 21610, "status": 400, "message":
                                          "Attempt to send to unsubscribed recipient"})
            if answer == "429":
                return self._answer(429, {"code": 20429, "status": 429,
                                          "message": "Too Many Requests"})
            if answer == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            sid = "SM" + secrets.token_hex(16)
            fields["_sid"] = sid
            for status, error in state.first.get(to, []):  # before the sender knows the SID
                answer = post_callback(fields["StatusCallback"], sid, status, error)
                with state.lock:
                    state.posted_first.append(answer.status_code)
            counted = segments.count(fields["Body"])
            return self._answer(201, {
                "sid": sid, "account_sid": ACCOUNT, "to": to, "from": fields.get("From"),
                "messaging_service_sid": fields.get("MessagingServiceSid"),
                "body": fields["Body"], "status": "queued", "direction": "outbound-api",
                "num_segments": str(counted.count), "error_code": None, "error_message": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"})

        def _answer(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def stand_in() -> Iterator[StandIn]:
    """A stand-in listening on a free loopback port while the block runs."""
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def twilio() -> Iterator[StandIn]:
    """The stand-in, listening on a free loopback port."""
    with stand_in() as state:
        yield state


@pytest.fixture
def texting(web: Web, sms_on: config.Settings) -> Web:
    """The workspace with SMS on, against the stand-in."""
    from workflow.web import create_app

    app = create_app(sms_on, web.database)
    app.testing = True
    return Web(app, web.database, sms_on, web.ids, web.case)


def sms_env(api: str, public: str = PUBLIC, pace: float = 0.0) -> dict[str, str]:
    """The environment that turns SMS on against ``api``."""
    return {"BONDTRACK_SMS_ACCOUNT_SID": ACCOUNT, "BONDTRACK_SMS_FROM_NUMBER": FROM,
            "BONDTRACK_SMS_PUBLIC_URL": public, "BONDTRACK_SMS_API_BASE_URL": api,
            "BONDTRACK_SMS_AUTH_TOKEN": TOKEN, "BONDTRACK_SMS_PACE_SECONDS": str(pace)}


@pytest.fixture
def sms_on(twilio: StandIn, settings: config.Settings,
           monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    """The test's settings with SMS on, pointed at the stand-in (no pacing)."""
    for name, value in sms_env(twilio.url).items():
        monkeypatch.setenv(name, value)
    return config.load()


def token_file(home: Path, mode: int) -> Path:
    path = home / "sms-auth-token"
    path.write_text(TOKEN + "\n")
    path.chmod(mode)
    return path


def last_text(database: Any) -> tuple[Any, Any, Any]:
    """The last text queued: its notice, its message and its number, as stored."""
    from sqlalchemy import select

    from workflow.record.models import Notice, SmsMessage, SmsNumber

    with database.write() as session:
        notice, message, number = session.execute(
            select(Notice, SmsMessage, SmsNumber)
            .join(SmsMessage, SmsMessage.notice_id == Notice.id)
            .join(SmsNumber, SmsNumber.id == SmsMessage.number_id)
            .order_by(Notice.id.desc()).limit(1)).one()
        return notice, message, number
