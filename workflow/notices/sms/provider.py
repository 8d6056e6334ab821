"""Twilio's Messages resource, over plain HTTP: create a message, and what each answer means.

``POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with basic
auth (the account SID and the auth token). A 201 is a message accepted (its SID,
status and segments); a 429 or a 5xx, or no connection, sent nothing and is
retried; another 4xx is refused with Twilio's error code (21610: the recipient
replied STOP). A request that may have reached Twilio but whose answer was lost
is neither: nobody knows whether the text went out.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from workflow.notices.sms.setup import SmsSetup

UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient"


@dataclass(frozen=True)
class Accepted:
    sid: str
    status: str
    segments: int  # 0 when a Messaging Service sends (Twilio counts later)


class Busy(Exception):
    """Nothing was sent; try again later."""


class Refused(Exception):
    """Twilio refused the message; ``code`` is its error code."""

    def __init__(self, code: int, http_status: int):
        super().__init__(f"the provider refused it: error {code} (HTTP {http_status})")
        self.code = code


class Unknown(Exception):
    """The request may have reached the provider; its answer was lost."""


def client(timeout: float) -> httpx.Client:
    """One connection pool for a run of texts."""
    return httpx.Client(timeout=timeout)


def send(http: httpx.Client, setup: SmsSetup, to: str, body: str, notice_id: int) -> Accepted:
    """Create one message to ``to``; its delivery is reported to the status webhook, with the
    outbox's ``notice_id`` in the URL."""
    sender = ({"From": setup.from_number} if setup.from_number
              else {"MessagingServiceSid": setup.messaging_service_sid})
    data = {"To": to, "Body": body, "StatusCallback": setup.status_callback(notice_id), **sender}
    try:
        answer = http.post(setup.messages_url, data=data,
                           auth=(setup.account_sid, setup.auth_token))
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Busy(f"the provider could not be reached ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise Unknown(f"the provider's answer was lost ({type(exc).__name__})") from None
    if answer.status_code == 429 or answer.status_code >= 500:
        raise Busy(f"the provider is busy (HTTP {answer.status_code})")
    payload = _json(answer)
    if answer.status_code in (200, 201) and payload.get("sid"):
        return Accepted(str(payload["sid"]), str(payload.get("status") or "queued"),
                        int(payload.get("num_segments") or 0))
    if 400 <= answer.status_code < 500:
        raise Refused(int(payload.get("code") or 0), answer.status_code)
    raise Unknown(f"the provider answered HTTP {answer.status_code} without a message")


def _json(answer: httpx.Response) -> dict:
    try:
        payload = answer.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
