"""The orders, an order's overview, the people, a person and their moves."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from workflow.actions import caseloads
from workflow.actions import people as persons
from workflow.core import clock
from workflow.core.errors import BondtrackError
from workflow.core.stages import Stage
from workflow.record import watch
from workflow.record.models import CourtOrder, Detainee
from workflow.views import dashboard, reports
from workflow.web.base import (
    actor,
    change_person,
    current_order,
    database,
    landing,
    person_page,
    read,
    requires,
    settings,
)

blueprint = Blueprint("pages", __name__)
_log = logging.getLogger(__name__)


@blueprint.route("/")
def home() -> BaseResponse:
    return redirect(landing(g.user.role))


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
    from workflow.actions import orders as ordering

    form = request.form
    try:
        added = ordering.add_order(
            database(), settings(), case_number=form.get("case_number", ""),
            court=form.get("court", ""), judge=form.get("judge", ""),
            deadline=form.get("deadline", ""),
            time_zone=form.get("time_zone") or settings().time_zone,
            title=form.get("title") or None, actor=actor(), now=clock.now())
        line = f"added order {added['case_number']}"
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
        counts = caseloads.overview_counts(session, order, settings(), clock.now())
        body = dashboard.render_dashboard(
            dashboard.dashboard_data(session, order, clock.now(), settings()),
            person_link=url_for("pages.person", detainee_id=0).removesuffix("0"))
    # The dashboard's own template autoescapes: its HTML is markup, not text.
    page = render_template("overview.html.j2", case=case, dashboard=Markup(body), counts=counts)
    response = Response(page, mimetype="text/html")
    response.headers["Refresh"] = "60"  # live without a script
    return response


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
            order = current_order(session, args.get("order"))
            now = clock.now()
            menus = persons.places(session)
            found, listing, error = None, None, None
            if request.method == "POST":
                try:
                    found = persons.search_people(session, order, request.form.get("q", ""),
                                                    now)
                except BondtrackError as exc:
                    error = str(exc)
            else:
                listing = persons.people_page(
                    session, order, now, stage=args.get("stage", ""),
                    facility=args.get("facility", ""),
                    field_office=args.get("field_office", ""), page=page_number,
                    sort=args.get("sort") or "a_number", owner=args.get("owner", ""),
                    me=g.user.id)
        except BondtrackError as exc:
            return render_template("error.html.j2", code=400, title="Cannot list people",
                                   message=str(exc)), 400
        summary = reports.order_summary(order)
        order_id = order.id
    return render_template("people.html.j2", order=summary, order_id=order_id, menus=menus,
                           listing=listing, found=found, error=error,
                           stages=[s.value for s in Stage])


@blueprint.route("/people/<int:detainee_id>")
@requires("people")
def person(detainee_id: int) -> tuple[str, int]:
    return person_page(detainee_id)


@blueprint.route("/people/<int:detainee_id>/<move>", methods=["POST"])
@requires("moves")
def move(detainee_id: int, move: str) -> Any:
    """One move from the person's page; refused if the person changed since it was shown."""
    if move not in persons.MOVE_FIELDS:
        abort(404)
    if move == persons.NOTE and not g.user.can("notes"):
        abort(403)

    def change(session: Session, detainee: Detainee) -> str:
        typed = {name: text.strip() for name, text in request.form.items()}
        if persons.is_final(move, detainee.stage) and typed.get("confirm") != "yes":
            raise BondtrackError(f"{move} ends the person's case: tick the box to confirm it")
        return persons.move_in(session, detainee, move, typed, actor=actor(), now=clock.now(),
                               settings=settings())

    return change_person(detainee_id, move, change)
