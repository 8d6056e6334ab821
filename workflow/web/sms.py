"""The SMS provider's webhooks, and the person's texts: consent and a test text.

``/sms/inbound`` and ``/sms/status`` are called by Twilio, not by a browser: no
session and no CSRF token, but the ``X-Twilio-Signature`` of every request is
checked with the official library's validator against the URL the provider
was given (``[sms] public_url``, the path, and the query string as it came:
a status callback's ``?m=`` names its text), so it holds behind a TLS proxy
whatever host and scheme reach this server. Anything unsigned, or signed for
another body or another URL, is refused with 403 before a field is read.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from twilio.request_validator import RequestValidator

from workflow.actions import texts
from workflow.core import clock
from workflow.core.errors import BondtrackError
from workflow.web.base import actor, change_person, database, requires, settings

blueprint = Blueprint("sms", __name__)
_log = logging.getLogger("bondtrack.web.sms")
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed(name: str) -> None:
    """403 unless the request carries the provider's signature of this URL and body."""
    secret = texts.webhook_secret(settings(), name)
    if secret is None:
        abort(403)
    token, url = secret
    if request.query_string:  # Twilio signs the whole URL it called
        url = f"{url}?{request.query_string.decode('latin-1')}"
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or request.mimetype != "application/x-www-form-urlencoded":
        abort(403)
    if not RequestValidator(token).validate(url, request.form, signature):
        abort(403)


@blueprint.route("/sms/inbound", methods=["POST"])
def inbound() -> Response:
    """A text received: STOP/START words change consent; other replies are kept."""
    _signed("inbound")
    try:
        done = texts.inbound(database(), request.form, now=clock.now())
    except BondtrackError as exc:
        abort(400, str(exc))
    _log.info("reply received: %s", done)  # what was done, never who or what was said
    return Response(_EMPTY_TWIML, mimetype="text/xml")


@blueprint.route("/sms/status", methods=["POST"])
def status() -> Response:
    """A delivery callback: recorded on the text it is about."""
    _signed("status")
    try:
        delivery = texts.delivery(database(), settings(), request.form, now=clock.now(),
                                  outbox_id=request.args.get("m"))
    except BondtrackError as exc:
        abort(400, str(exc))
    _log.info("delivery callback: %s", delivery or "not one of ours")
    return Response("", status=204)


@blueprint.route("/people/<int:detainee_id>/sms/consent", methods=["POST"])
@requires("moves")
def record_consent(detainee_id: int) -> Any:
    form = request.form

    def change(session: Any, detainee: Any) -> str:
        texts.record_consent_in(session, detainee, role=form.get("role", ""),
                                phone=form.get("phone", ""), how=form.get("how", ""),
                                actor=actor(), now=clock.now(), settings=settings())
        return f"consent to texts recorded for the {form.get('role')}"

    return change_person(detainee_id, "sms-consent", change)


@blueprint.route("/people/<int:detainee_id>/sms/read", methods=["POST"])
@requires("moves")
def replies_read(detainee_id: int) -> Any:
    """The person's replies are read: they leave their owner's queue."""

    def change(session: Any, detainee: Any) -> str:
        return texts.mark_replies_read_in(session, detainee, actor=actor(), now=clock.now())

    return change_person(detainee_id, "sms-read", change)


@blueprint.route("/people/<int:detainee_id>/sms/test", methods=["POST"])
@requires("moves")
def test_text(detainee_id: int) -> Any:
    """Send a test text at once to the consented number (quiet hours do not hold it)."""
    role = request.form.get("role", "client")
    try:
        sent = texts.send_test_text(database(), settings(), detainee_id=detainee_id, role=role,
                                    actor=actor(), now=clock.now())
    except BondtrackError as exc:
        flash(f"test text not sent: {exc}")
    else:
        flash(f"test text #{sent['notice']}: {sent['outcome']}")
    return redirect(url_for("pages.person", detainee_id=detainee_id, _anchor="texts"), code=303)

