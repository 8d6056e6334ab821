"""Signing in and out, the session, CSRF, roles and the security headers of every answer.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind TLS)
holding a fresh random token per sign-in, the CSRF token and when it was last used.
The token names a session row kept on the server (``workflow.record.users.open_session``),
read again on every request with its account: signing out, a password change or
reset, a role change and disabling delete the row, so a copy of the cookie taken
before then gets the sign-in page. Who may sign in is decided by
``workflow.record.users.sign_in`` (lockout, second factor), not here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from workflow.core import clock
from workflow.record import users
from workflow.web.base import access_log, actor, landing, read, settings, write

blueprint = Blueprint("auth", __name__)
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.favicon", "static"})
# The SMS provider's webhooks (/sms/inbound, /sms/status): no session and no CSRF token;
# their signature is checked instead (workflow/web/sms.py).
WEBHOOKS = "/sms/"
# What a session still enrolling the second factor its role needs may reach.
ENROLMENT_ENDPOINTS = frozenset({"auth.enrol", "auth.logout", "auth.favicon", "static"})
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    role: str

    def can(self, capability: str) -> bool:
        return users.can(self.role, capability)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


# ---------------------------------------------------------------- every request


def install(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_error_handler(HTTPException, _http_error)


def _idle_seconds() -> float:
    return float(settings().section("web")["idle_minutes"]) * 60


def _before() -> BaseResponse | None:
    g.started = time.monotonic()
    g.user, g.enrolment = None, None
    if request.path.startswith(WEBHOOKS):
        return None
    now = clock.now().timestamp()
    token, seen = session.get("sid"), session.get("seen")
    if token is not None:
        if seen is None or now - float(seen) > _idle_seconds():
            with write() as db_session:
                users.end_session(db_session, token)
            session.clear()
            session["expired"] = True
        else:
            with read() as db_session:
                found = users.open_session(db_session, token)
            if found is None:
                session.clear()
            else:
                g.user = SignedIn(found.user_id, found.email, found.role)
                g.enrolment = found.enrolment
                session["seen"] = now
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("auth.login"))  # a stale cookie too, whatever it sends
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        if not (sent and "csrf" in session and hmac.compare_digest(sent, session["csrf"])):
            abort(400, "the form has expired or did not come from this site: reload the page")
        # No text anywhere may hold a NUL (PostgreSQL refuses it): one answer for every form.
        if any("\x00" in value for _, values in request.form.lists() for value in values):
            abort(400, "a field holds a NUL character: no text may")
    if g.enrolment is not None and request.endpoint not in ENROLMENT_ENDPOINTS:
        return redirect(url_for("auth.enrol"))
    return None


def _after(response: Response) -> Response:
    styles = ""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        # The dashboard carries its stylesheet inline: allow exactly that one by its hash.
        hashes = [base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
                  for css in _STYLE.findall(response.get_data(as_text=True))]
        styles = "".join(f" 'sha256-{h}'" for h in hashes)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'" + styles + "; img-src 'self'"
        " data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if settings().section("web")["behind_tls"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    # The path only: ids, never names or A-numbers (search is a POST, so no query holds them).
    access_log.info("%s %s %s %.0fms user#%s", request.method, request.path,
                    response.status_code, (time.monotonic() - g.get("started", time.monotonic()))
                    * 1000, g.user.id if g.get("user") else "-")
    return response


def _http_error(error: HTTPException) -> tuple[str, int]:
    return render_template("error.html.j2", code=error.code, title=error.name,
                           message=error.description if error.code in (400, 413) else None,
                           ), error.code or 500


# ---------------------------------------------------------------- the pages


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if g.user is not None and request.method == "GET":
        return redirect(landing(g.user.role))
    if request.method == "GET":
        expired = session.pop("expired", False)
        return render_template("login.html.j2", error=None, expired=expired)
    form = request.form
    with write() as db_session:
        now = clock.now()
        outcome = users.sign_in(db_session, form.get("email", ""), form.get("password", ""),
                                form.get("code"), now=now)
        if outcome.user is not None:
            users.end_session(db_session, session.get("sid"))
            token = users.start_session(db_session, outcome.user, now, enrolment=(
                _new_secret() if outcome.enrol else None))
    if outcome.user is None:
        return render_template("login.html.j2", error=outcome.refusal, expired=False), 401
    _begin(token)
    return redirect(url_for("auth.enrol") if outcome.enrol else landing(outcome.user.role),
                    code=303)


def _begin(token: str) -> None:
    """A new cookie: nothing from before it (a planted cookie) carries over."""
    session.clear()
    session.update(sid=token, csrf=secrets.token_urlsafe(32), seen=clock.now().timestamp())


def _new_secret() -> str:
    import pyotp

    return pyotp.random_base32()


@blueprint.route("/enrol", methods=["GET", "POST"])
def enrol() -> Any:
    """The second factor the role needs, set up at sign-in: a new secret each time the page is
    shown (as a QR code drawn here and as text, never in a URL), confirmed by one code."""
    if g.enrolment is None:
        return redirect(url_for("pages.orders"))
    error, status = None, 200
    if request.method == "POST":
        with write() as db_session:
            done = users.enrol_totp(db_session, g.user.id, g.enrolment, request.form.get(
                "code", ""), now=clock.now())
            if done is not None:
                users.set_enrolment(db_session, session["sid"], None)
        if done is not None:
            return redirect(landing(g.user.role), code=303)
        error, status = "that code is not right: scan the new code below and try again", 400
    secret = _new_secret()
    with write() as db_session:
        users.set_enrolment(db_session, session["sid"], secret)
    uri = users.totp_uri(g.user.email, secret)
    return render_template("enrol.html.j2", secret=secret, qr=_qr(uri), error=error), status


def _qr(text: str) -> str:
    """A QR code as an inline SVG data URI (the CSP allows images from data: only)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=4)


@blueprint.route("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer, so browsers stop asking and log no error."""
    return Response(status=204)


@blueprint.route("/logout", methods=["POST"])
def logout() -> Any:
    from workflow.record import audit

    with write() as db_session:
        now = clock.now()
        users.end_session(db_session, session.get("sid"))
        audit.record(db_session, kind="signed-out", actor=actor(), at=now, now=now,
                     payload={"user_id": g.user.id})
    session.clear()
    return redirect(url_for("auth.login"), code=303)


@blueprint.route("/logout/everywhere", methods=["POST"])
def logout_everywhere() -> Any:
    """Sign out every session of this account, this one too (one click, on the account page)."""
    from workflow.record import audit

    with write() as db_session:
        now = clock.now()
        ended = users.end_sessions(db_session, g.user.id)
        audit.record(db_session, kind="signed-out-everywhere", actor=actor(), at=now, now=now,
                     payload={"user_id": g.user.id, "sessions": ended})
    session.clear()
    return redirect(url_for("auth.login"), code=303)


@blueprint.route("/account", methods=["GET"])
def account() -> str:
    return render_template("account.html.j2", error=None)


@blueprint.route("/account/password", methods=["POST"])
def change_password() -> Any:
    """Change one's own password: every session of the account ends, this browser gets a new
    one."""
    from flask import flash

    from workflow.core.errors import BondtrackError

    form = request.form
    if form.get("password", "") != form.get("again", ""):
        return render_template("account.html.j2", error="the new passwords differ"), 400
    try:
        with write() as db_session:
            now = clock.now()
            user = users.change_password(db_session, g.user.email, form.get("current", ""),
                                         form.get("password", ""), actor=actor(), now=now)
            token = users.start_session(db_session, user, now)
    except BondtrackError as exc:
        return render_template("account.html.j2", error=str(exc)), 400
    _begin(token)
    flash("your password is changed; every other session is signed out")
    return redirect(url_for("auth.account"), code=303)
