"""Accounts, for admins: the same functions as `bondtrack user`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from workflow.core import clock
from workflow.core.errors import BondtrackError
from workflow.record import users
from workflow.web.base import actor, court_zone, read, requires, write

blueprint = Blueprint("admin", __name__, url_prefix="/users")


def _page(error: str | None = None, status: int = 200,
          enrol: str | None = None) -> tuple[str, int]:
    with read() as session:
        rows = users.list_users(session)
        policies = {role: users.totp_required(session, role) for role in users.ROLES}
        tz = court_zone(session, request.values.get("order"))
    return render_template("users.html.j2", users=rows, roles=users.ROLES, policies=policies,
                           error=error, enrol=enrol, tz=tz), status


@blueprint.route("", methods=["GET"])
@requires("users")
def index() -> tuple[str, int]:
    return _page()


def _change(action: Any) -> Any:
    try:
        with write() as session:
            message = action(session)
    except BondtrackError as exc:
        return _page(str(exc), 400)
    flash(message)
    return redirect(url_for("admin.index"), code=303)


@blueprint.route("", methods=["POST"])
@requires("users")
def add() -> Any:
    form = request.form

    def change(session: Any) -> str:
        user = users.add_user(session, form.get("email", ""), form.get("role", ""),
                              form.get("password", ""), actor=actor(), now=clock.now())
        return f"added user #{user.id}"

    return _change(change)


@blueprint.route("/role", methods=["POST"])
@requires("users")
def set_role() -> Any:
    form = request.form

    def change(session: Any) -> str:
        user = users.set_role(session, form.get("email", ""), form.get("role", ""),
                              actor=actor(), now=clock.now())
        return f"user #{user.id} is now {user.role}"

    return _change(change)


@blueprint.route("/disable", methods=["POST"])
@requires("users")
def disable() -> Any:
    def change(session: Any) -> str:
        user = users.disable_user(session, request.form.get("email", ""), actor=actor(),
                                  now=clock.now())
        return f"user #{user.id} is disabled"

    return _change(change)


@blueprint.route("/enable", methods=["POST"])
@requires("users")
def enable() -> Any:
    def change(session: Any) -> str:
        user = users.enable_user(session, request.form.get("email", ""), actor=actor(),
                                 now=clock.now())
        return f"user #{user.id} is enabled"

    return _change(change)


@blueprint.route("/password", methods=["POST"])
@requires("users")
def reset_password() -> Any:
    form = request.form

    def change(session: Any) -> str:
        user = users.reset_password(session, form.get("email", ""), form.get("password", ""),
                                    actor=actor(), now=clock.now())
        return f"user #{user.id} has a new password"

    return _change(change)


@blueprint.route("/totp-policy", methods=["POST"])
@requires("users")
def totp_policy() -> Any:
    form = request.form
    required = form.get("required") == "yes"

    def change(session: Any) -> str:
        users.require_totp(session, form.get("role", ""), required=required, actor=actor(),
                           now=clock.now())
        return f"second factor {'required' if required else 'not required'}"

    return _change(change)


@blueprint.route("/totp", methods=["POST"])
@requires("users")
def totp() -> Any:
    """Give an account a new second factor and show its enrolment link once (never in a
    cookie or a URL), or remove it."""
    form = request.form
    enabled = form.get("action") != "remove"
    try:
        with write() as session:
            secret = users.set_totp(session, form.get("email", ""), enabled=enabled,
                                    actor=actor(), now=clock.now())
            address = users.normalize_email(form.get("email", ""))
    except BondtrackError as exc:
        return _page(str(exc), 400)
    return _page(enrol=users.totp_uri(address, secret) if secret else None)
