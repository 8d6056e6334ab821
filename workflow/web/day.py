"""Running the day in the browser: the queue (where a volunteer starts), every owner's
caseload, the locator desk (one person at a time, one POST per look-up), and a person's
owner on their page. Each view parses the form, calls ``actions.caseloads`` and renders;
people are named in URLs by internal id only."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from workflow.actions import caseloads
from workflow.actions import people as persons
from workflow.core import clock
from workflow.core.errors import BondtrackError, ConflictError, NotFoundError
from workflow.core.stages import OPEN
from workflow.record.models import Detainee
from workflow.web.base import actor, change_person, current_order, database, read, requires, write
from workflow.web.base import settings as app_settings

blueprint = Blueprint("day", __name__)
_log = logging.getLogger(__name__)

PAGE = 50  # the queue's rows, and how many more each "more" adds
MOST = 1000
LOCATOR = "https://locator.ice.gov/odls/#/search"
RESULT_WORDS = {"found": "Found at this facility", "not-found": "Not found (0 results)",
                "in-custody-no-facility": "In custody, no facility given",
                "released": "Released"}
SOURCE_WORDS = {"locator": "ICE's online locator", "phone": "Phone", "email": "E-mail",
                "attorney": "Their attorney"}
OWNER_WORDS = {"me": "My queue", "all": "Everyone", "unowned": "Nobody's"}


def _limit(text: str | None) -> int:
    """The queue's length from its URL: a multiple of PAGE, at most MOST."""
    try:
        asked = int(text or PAGE)
    except ValueError:
        return PAGE
    return min(max(PAGE, asked - asked % PAGE), MOST)


@blueprint.route("/queue")
@requires("queue")
def queue() -> Any:
    """Each person's next action, most urgent first; the signed-in user's by default."""
    chosen = (request.args.get("owner") or "me").strip()
    limit = _limit(request.args.get("limit"))
    now = clock.now()
    error = None
    with read() as session:
        order = current_order(session, request.args.get("order"))
        choices = caseloads.owner_choices(session)
        try:
            rows = caseloads.next_actions_in(
                session, app_settings(), order, owner=g.user.email if chosen == "me" else chosen,
                limit=limit + 1, now=now)
        except BondtrackError as exc:
            rows, error = [], str(exc)
        case, zone, order_id = order.case_number, order.time_zone, order.id
    page = render_template("queue.html.j2", rows=rows[:limit], more=len(rows) > limit,
                           limit=limit, page=PAGE, owner=chosen, choices=choices,
                           owner_words=OWNER_WORDS, case=case, tz=zone, order_id=order_id,
                           error=error)
    return page, 400 if error else 200


@blueprint.route("/caseloads")
@requires("caseloads")
def caseload_list(error: str | None = None, status: int = 200) -> Any:
    """Every owner's outstanding people, actions due and overdue: counts, no names."""
    with read() as session:
        order = current_order(session, request.args.get("order"))
        rows = caseloads.caseloads_in(session, order, app_settings(), clock.now())
        page = {"rows": rows, "choices": caseloads.owner_choices(session),
                "menus": persons.places(session), "case": order.case_number,
                "order_id": order.id}
    form = {key: value for key, value in request.form.items() if key != "csrf"}
    return render_template("caseloads.html.j2", **page, stages=[s.value for s in OPEN],
                           error=error, form=form,
                           chosen=request.form.getlist("owners")), status


@blueprint.route("/caseloads/assign", methods=["POST"])
@requires("caseloads")
def assign_by_filter() -> Any:
    """Give the people a filter chooses to one account, or spread them over several."""
    form = request.form
    owners = [o for o in form.getlist("owners") if o.strip()]
    filters = {name: (form.get(name) or "").strip()
               for name in ("stage", "facility", "field_office")}
    unowned = form.get("unowned") == "yes"
    if not owners:
        return caseload_list("choose who gets them: one account, or several to take turns", 400)
    if not any(filters.values()) and not unowned:
        return caseload_list("choose the people: a stage, a facility, a field office or"
                             " nobody's", 400)
    with read() as session:
        case = current_order(session, request.args.get("order")).case_number
    try:
        made = caseloads.assign(database(), app_settings(), case, owners, **filters,
                                unowned=unowned, actor=actor(), now=clock.now())
    except BondtrackError as exc:
        return caseload_list(str(exc), 400)
    flash(f"{made['changed']} of {made['people']} people given to"
          f" {', '.join(made['owners'])}" + (" in turn" if len(made["owners"]) > 1 else ""))
    return redirect(url_for("day.caseload_list"), code=303)


@blueprint.route("/people/<int:detainee_id>/owner", methods=["POST"])
@requires("assign")
def assign_person(detainee_id: int) -> Any:
    """Give the person to an account (empty: to nobody)."""
    owner = (request.form.get("owner") or "").strip() or None

    def change(session: Session, detainee: Detainee) -> str:
        return caseloads.assign_in(session, detainee, owner, actor=actor(), now=clock.now())

    return change_person(detainee_id, "owner", change)


@blueprint.route("/people/<int:detainee_id>/take", methods=["POST"])
@requires("take")
def take_person(detainee_id: int) -> Any:
    """A volunteer takes an unowned person for themselves."""
    return change_person(detainee_id, "take", lambda session, detainee: caseloads.take_in(
        session, detainee, actor=actor(), now=clock.now()))


# ---------------------------------------------------------------- the locator desk

@blueprint.route("/locator")
@requires("queue")
def desk() -> Any:
    """The next person due for a look-up, held for this volunteer a few minutes."""
    now = clock.now()
    with write() as session:  # the hold is a write
        order = current_order(session, request.args.get("order"))
        person = caseloads.desk_next(session, app_settings(), order, g.user.email, now)
        waiting = (caseloads.desk_waiting(session, order, g.user.email, now)
                   if person is None else None)
        zone = order.time_zone
    return _desk_page(person, waiting, zone)


def _desk_page(person: dict[str, Any] | None, waiting: dict[str, Any] | None, zone: str,
               error: str | None = None, status: int = 200,
               form: dict[str, str] | None = None) -> tuple[str, int]:
    return render_template("locator.html.j2", person=person, waiting=waiting, tz=zone,
                           error=error, form=form or {}, results=RESULT_WORDS,
                           sources=SOURCE_WORDS, locator=LOCATOR), status


@blueprint.route("/locator/<int:detainee_id>", methods=["POST"])
@requires("queue")
def record_lookup(detainee_id: int) -> Any:
    """One look-up from the desk; then the desk again, with the next person."""
    form = request.form
    result = form.get("result", "")
    try:
        line = caseloads.desk_record(
            database(), app_settings(), detainee_id, result, version=form.get("version"),
            seen_event=form.get("seen"), facility=(form.get("facility") or "").strip() or None,
            source=form.get("source") or "locator", note=form.get("note"), actor=actor(),
            now=clock.now())
    except NotFoundError as exc:
        if f"no person #{detainee_id}" in str(exc):
            abort(404)
        return _desk_refused(detainee_id, str(exc), 400)
    except ConflictError as exc:
        return _desk_refused(detainee_id, str(exc), 409)
    except BondtrackError as exc:
        return _desk_refused(detainee_id, str(exc), 400)
    _log.debug("look-up by user#%d recorded", g.user.id)
    flash(line)
    return redirect(url_for("day.desk"), code=303)


def _desk_refused(detainee_id: int, reason: str, status: int) -> tuple[str, int]:
    """The same person again, with why the look-up was not recorded and the form as sent."""
    form = {key: value for key, value in request.form.items()
            if key in ("facility", "source", "note", "result")}
    with read() as session:
        person = caseloads.desk_person(session, app_settings(), detainee_id)
        zone = persons.find_person(session, detainee_id).court_order.time_zone
    return _desk_page(person, None, zone, reason, status, form)

