"""The request context every blueprint shares: the app's state, the database session (``read``,
``write``), the signed-in actor, the settings, the capability a view requires, the order a
request names, and changing a person from their page. Blueprints import this, never each
other. The access log holds no personal data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from workflow.actions import bonds as bonding
from workflow.actions import caseloads, casework
from workflow.actions import people as persons
from workflow.actions import texts as sms
from workflow.actions.orders import resolve
from workflow.core import clock, display
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError, ConflictError, NotFoundError
from workflow.record import users
from workflow.record.audit import Actor
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee
from workflow.views import reports

access_log = logging.getLogger("bondtrack.web.access")
_log = logging.getLogger("workflow.web.pages")


def state(app: Flask) -> dict[str, Any]:
    """The settings and database ``create_app`` gave this app."""
    return app.extensions["bondtrack"]


def database() -> Database:
    """This app's database, for the use cases that open their own transaction."""
    return state(current_app)["database"]


@contextmanager
def write() -> Iterator[Session]:
    with state(current_app)["database"].write() as db_session:
        yield db_session


@contextmanager
def read() -> Iterator[Session]:
    with state(current_app)["database"].read() as db_session:
        yield db_session


def actor() -> Actor:
    """Changes made in the browser are the signed-in user's, through the web."""
    return Actor(g.user.email, "web")


def settings() -> Settings:
    return state(current_app)["settings"]


def requires(capability: str) -> Callable:
    """Refuse the view (403) unless the signed-in user's role has ``capability``."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not g.user.can(capability):
                abort(403)
            return view(*args, **kwargs)

        checked.capability = capability  # type: ignore[attr-defined]
        return checked

    return decorate


def landing(role: str) -> str:
    """Where a signed-in user starts: the queue for those who work on people, else the
    orders."""
    return url_for("day.queue" if users.can(role, "queue") else "pages.orders")


def current_order(session: Session, order_id: str | None) -> CourtOrder:
    """The order a request names by internal id, or the only one."""
    if order_id and order_id.isdigit():
        # No id has 10 digits; a longer one would overflow the database's integer.
        order = session.get(CourtOrder, int(order_id)) if len(order_id) < 10 else None
        if order is None:
            abort(404)
        return order
    try:
        return resolve(session, None)
    except BondtrackError as exc:  # none yet, or several and none chosen
        abort(400, f"{exc}: choose one on the orders page")


def court_zone(session: Session, order_id: str | None) -> str:
    """The zone a viewer reads times in: the current order's (named by id, or the only one),
    else the configured court zone; never an error, for pages that are not about an order."""
    if order_id and order_id.isdigit() and len(order_id) < 10:
        order = session.get(CourtOrder, int(order_id))
        if order is not None:
            return order.time_zone
    try:
        return resolve(session, None).time_zone
    except BondtrackError:
        return settings().time_zone


def person_page(detainee_id: int, error: str | None = None, status: int = 200,
                 form: dict[str, str] | None = None, failed: str | None = None
                 ) -> tuple[str, int]:
    """The person's page; after a refused change, its reason and the form ``failed`` as sent."""
    with read() as session:
        try:
            detainee = persons.find_person(session, detainee_id)
        except NotFoundError:
            abort(404)
        record = reports.person_record(session, detainee)
        said = display.history(record["events"], detainee.court_order.time_zone)
        for event, sentence in zip(record["events"], said, strict=True):
            event["said"] = sentence
        page = {
            "record": record,
            "terms": persons.person_terms(detainee, settings()),
            "moves": persons.allowed_moves(detainee),
            "final_moves": [m for m in persons.allowed_moves(detainee)
                            if persons.is_final(m, detainee.stage)],
            "bond_moves": bonding.bond_moves(session, detainee),
            "hearings": bonding.person_hearings(session, detainee),
            "sub_orders": casework.sub_orders(session, detainee),
            "order_id": detainee.order_id,
            "tz": detainee.court_order.time_zone,
            "in_stage": display.ago((clock.now() - detainee.stage_since).total_seconds()),
            "sms": sms.person_texts(session, detainee),
            "sms_off": sms.off_reason(settings()),
            "owner": caseloads.owner_of(session, detainee),
            "owner_choices": (caseloads.owner_choices(session) if g.user.can("assign")
                              else []),
        }
    return render_template("person.html.j2", **page, fields=persons.MOVE_FIELDS,
                           methods=persons.PAYMENT_METHODS, reasons=persons.EXCLUSION_REASONS,
                           error=error, form=form or {}, failed=failed,
                           courts=bonding.court_choices(), hearing_kinds=bonding.HEARING_KINDS,
                           cancel_reasons=bonding.CANCEL_REASONS,
                           outcomes=bonding.OUTCOMES, consent_hows=sms.CONSENT_HOWS,
                           consent_roles=sms.CONSENT_ROLES), status


Change = Callable[[Session, Detainee], str]


def change_person(detainee_id: int, what: str, change: Change) -> Any:
    """Make ``change`` to the person in one transaction, unless the form is stale; back to
    their page with its one line, or the page again with the reason it was refused."""
    form = {key: value for key, value in request.form.items() if key != "csrf"}
    try:
        with write() as session:
            detainee = persons.find_person(session, detainee_id)
            persons.check_version(detainee, request.form.get("version"))
            line = change(session, detainee)
    except NotFoundError as exc:
        if f"no person #{detainee_id}" in str(exc):
            abort(404)
        return _refused(detainee_id, what, exc, 400, form)
    except ConflictError as exc:
        return _refused(detainee_id, what, exc, 409, form)
    except BondtrackError as exc:
        return _refused(detainee_id, what, exc, 400, form)
    _log.debug("%s by user#%d (%s)", line, g.user.id, what)
    flash(line)
    return redirect(url_for("pages.person", detainee_id=detainee_id), code=303)


def _refused(detainee_id: int, what: str, error: BondtrackError, status: int,
             form: dict[str, str]) -> tuple[str, int]:
    # Our messages name people by internal id only, so the reason may be logged.
    problems = getattr(error, "problems", None)
    reason = f"{error}: {'; '.join(problems)}" if problems else str(error)
    # The reason is for the page only: some quote what was typed (a court, a time).
    _log.debug("%s on person #%d refused (%d)", what, detainee_id, status)
    return person_page(detainee_id, reason, status, form, what)
