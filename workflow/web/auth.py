"""Signing in and out, the session, CSRF, roles and the security headers of every answer.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind TLS)
holding the user's id, a fresh random id per sign-in, the CSRF token and when it
was last used; the account is read again on every request, so a disabled user
or a changed role takes effect at once. Who may sign in is decided by
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
from workflow.web.base import access_log, actor, read, settings, write

blueprint = Blueprint("auth", __name__)
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.favicon", "static"})
# The SMS provider's webhooks (/sms/inbound, /sms/status): no session and no CSRF token;
# their signature is checked instead (workflow/web/sms.py).
WEBHOOKS = "/sms/"
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
    g.user = None
    if request.path.startswith(WEBHOOKS):
        return None
    now = clock.now().timestamp()
    uid, seen = session.get("uid"), session.get("seen")
    if uid is not None:
        if seen is None or now - float(seen) > _idle_seconds():
            session.clear()
            session["expired"] = True
        else:
            with read() as db_session:
                account = users.active_user(db_session, int(uid))
                g.user = account and SignedIn(account.id, account.email, account.role)
            if g.user is None:
                session.clear()
            else:
                session["seen"] = now
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        if not (sent and "csrf" in session and hmac.compare_digest(sent, session["csrf"])):
            abort(400, "the form has expired or did not come from this site: reload the page")
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("auth.login"))
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
        return redirect(url_for("pages.orders"))
    if request.method == "GET":
        expired = session.pop("expired", False)
        return render_template("login.html.j2", error=None, expired=expired)
    form = request.form
    with write() as db_session:
        outcome = users.sign_in(db_session, form.get("email", ""), form.get("password", ""),
                                form.get("code"), now=clock.now())
        account = outcome.user and SignedIn(outcome.user.id, outcome.user.email,
                                            outcome.user.role)
    if account is None:
        return render_template("login.html.j2", error=outcome.refusal, expired=False), 401
    # A new session at sign-in: nothing from before it (a planted cookie) carries over.
    session.clear()
    session.update(uid=account.id, sid=secrets.token_urlsafe(16),
                   csrf=secrets.token_urlsafe(32), seen=clock.now().timestamp())
    return redirect(url_for("pages.orders"), code=303)


@blueprint.route("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer, so browsers stop asking and log no error."""
    return Response(status=204)


@blueprint.route("/logout", methods=["POST"])
def logout() -> Any:
    from workflow.record import audit

    with write() as db_session:
        now = clock.now()
        audit.record(db_session, kind="signed-out", actor=actor(), at=now, now=now,
                     payload={"user_id": g.user.id})
    session.clear()
    return redirect(url_for("auth.login"), code=303)
