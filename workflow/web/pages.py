"""The orders, an order's overview, the people, a person and their moves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from workflow import (
    bonds,
    casework,
    clock,
    dashboard,
    display,
    hearings,
    moves,
    reports,
    terms,
    watch,
    workspace,
)
from workflow.errors import BondtrackError, ConflictError, NotFoundError
from workflow.models import CourtOrder, Detainee
from workflow.orders import resolve_order
from workflow.stages import Stage
from workflow.tracking import EXCLUSION_REASONS, PAYMENT_METHODS
from workflow.web.auth import actor, read, requires, settings, write

blueprint = Blueprint("pages", __name__)
_log = logging.getLogger(__name__)


@blueprint.route("/")
def home() -> BaseResponse:
    return redirect(url_for("pages.orders"))


@blueprint.route("/orders")
@requires("orders")
def orders() -> str:
    now = clock.now()
    with read() as session:
        rows = reports.orders_overview(session, now)
        ids = dict(session.execute(select(CourtOrder.case_number, CourtOrder.id)).all())
        # The sentence `status` and the dashboard say when nobody is sending the alerts.
        unwatched = watch.watch(session, settings(), now).warning(settings().time_zone)
    rows = [{**row, "id": ids[row["case_number"]]} for row in rows]
    return render_template("orders.html.j2", orders=rows, unwatched=unwatched)


@blueprint.route("/orders", methods=["POST"])
@requires("manage-orders")
def add_order() -> Any:
    """Record a court order, as `bondtrack order add` does."""
    from workflow.orders import add_order as record_order

    form = request.form
    try:
        with write() as session:
            added = record_order(
                session, case_number=form.get("case_number", ""), court=form.get("court", ""),
                judge=form.get("judge", ""), deadline=form.get("deadline", ""),
                time_zone=form.get("time_zone") or settings().time_zone,
                title=form.get("title") or None, actor=actor(), now=clock.now())
            line = f"added order {added.case_number}"
    except BondtrackError as exc:
        return render_template("error.html.j2", code=400, title="The order was not added",
                               message=str(exc)), 400
    flash(line)
    return redirect(url_for("pages.orders"), code=303)


@blueprint.route("/orders/<int:order_id>")
@requires("dashboard")
def overview(order_id: int) -> Response:
    """The dashboard as `bondtrack dashboard` writes it, made fresh for every request."""
    with read() as session:
        order = session.get(CourtOrder, order_id)
        if order is None:
            abort(404)
        case = order.case_number
        body = dashboard.render_dashboard(
            dashboard.dashboard_data(session, order, clock.now(), settings()),
            person_link=url_for("pages.person", detainee_id=0).removesuffix("0"))
    # The dashboard's own template autoescapes: its HTML is markup, not text.
    page = render_template("overview.html.j2", case=case, dashboard=Markup(body))
    response = Response(page, mimetype="text/html")
    response.headers["Refresh"] = "60"  # live without a script
    return response


def _order(session: Any, order_id: str | None) -> CourtOrder:
    if order_id and order_id.isdigit():
        order = session.get(CourtOrder, int(order_id))
        if order is None:
            abort(404)
        return order
    try:
        return resolve_order(session, None)
    except BondtrackError as exc:  # none yet, or several and none chosen
        abort(400, f"{exc}: choose one on the orders page")


@blueprint.route("/people", methods=["GET", "POST"])
@requires("people")
def people() -> Any:
    """GET: a filtered page. POST: search by A-number or name, kept out of the URL."""
    args = request.args
    try:
        page_number = int(args.get("page", "1"))
    except ValueError:
        page_number = 1
    with read() as session:
        try:
            order = _order(session, args.get("order"))
            now = clock.now()
            menus = workspace.places(session)
            found, listing, error = None, None, None
            if request.method == "POST":
                try:
                    found = workspace.search_people(session, order, request.form.get("q", ""),
                                                    now)
                except BondtrackError as exc:
                    error = str(exc)
            else:
                listing = workspace.people_page(
                    session, order, now, stage=args.get("stage", ""),
                    facility=args.get("facility", ""),
                    field_office=args.get("field_office", ""), page=page_number,
                    sort=args.get("sort") or "a_number")
        except BondtrackError as exc:
            return render_template("error.html.j2", code=400, title="Cannot list people",
                                   message=str(exc)), 400
        summary = reports.order_summary(order)
        order_id = order.id
    return render_template("people.html.j2", order=summary, order_id=order_id, menus=menus,
                           listing=listing, found=found, error=error,
                           stages=[s.value for s in Stage])


def _person_page(detainee_id: int, error: str | None = None, status: int = 200,
                 form: dict[str, str] | None = None, failed: str | None = None
                 ) -> tuple[str, int]:
    """The person's page; after a refused change, its reason and the form ``failed`` as sent."""
    with read() as session:
        try:
            detainee = workspace.find_person(session, detainee_id)
        except NotFoundError:
            abort(404)
        record = reports.person_record(session, detainee)
        for event, sentence in zip(record["events"], display.history(record["events"]),
                                   strict=True):
            event["said"] = sentence
        page = {
            "record": record,
            "terms": terms.person_terms(detainee, settings()),
            "moves": workspace.allowed_moves(detainee),
            "bond_moves": casework.bond_moves(session, detainee),
            "hearings": casework.person_hearings(session, detainee),
            "sub_orders": casework.sub_orders(session, detainee),
            "order_id": detainee.order_id,
            "tz": detainee.court_order.time_zone,
        }
    return render_template("person.html.j2", **page, fields=moves.FIELDS,
                           methods=PAYMENT_METHODS, reasons=EXCLUSION_REASONS, error=error,
                           form=form or {}, failed=failed, courts=casework.court_choices(),
                           hearing_kinds=hearings.KINDS, cancel_reasons=bonds.CANCEL_REASONS,
                           outcomes=bonds.OUTCOMES), status


@blueprint.route("/people/<int:detainee_id>")
@requires("people")
def person(detainee_id: int) -> tuple[str, int]:
    return _person_page(detainee_id)


Change = Callable[[Session, Detainee], str]


def change_person(detainee_id: int, what: str, change: Change) -> Any:
    """Make ``change`` to the person in one transaction, unless the form is stale; back to
    their page with its one line, or the page again with the reason it was refused."""
    form = {key: value for key, value in request.form.items() if key != "csrf"}
    try:
        with write() as session:
            detainee = workspace.find_person(session, detainee_id)
            workspace.check_version(detainee, request.form.get("version"))
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


@blueprint.route("/people/<int:detainee_id>/<move>", methods=["POST"])
@requires("moves")
def move(detainee_id: int, move: str) -> Any:
    """One move from the person's page; refused if the person changed since it was shown."""
    if move not in moves.FIELDS:
        abort(404)
    if move == moves.NOTE and not g.user.can("notes"):
        abort(403)

    def change(session: Session, detainee: Detainee) -> str:
        typed = {name: text.strip() for name, text in request.form.items()}
        event = moves.make(session, detainee, move, typed, actor=actor(), now=clock.now(),
                           default_bond_cents=terms.default_bond_cents(settings()))
        return moves.describe(detainee, event)

    return change_person(detainee_id, move, change)


def _refused(detainee_id: int, what: str, error: BondtrackError, status: int,
             form: dict[str, str]) -> tuple[str, int]:
    # Our messages name people by internal id only, so the reason may be logged.
    problems = getattr(error, "problems", None)
    reason = f"{error}: {'; '.join(problems)}" if problems else str(error)
    # The reason is for the page only: some quote what was typed (a court, a time).
    _log.debug("%s on person #%d refused (%d)", what, detainee_id, status)
    return _person_page(detainee_id, reason, status, form, what)
