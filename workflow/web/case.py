"""A person's casework from their page: terms, sub-order, bond events and hearings.

Each form posts to ``/people/<internal id>/...`` with fields named like the CLI's
options, and goes through ``base.change_person`` (the stale-form check, one
transaction, the one-line refusal). Setting terms or a sub-order is an attorney's
call ("terms"); bond events and hearings are recorded by whoever makes moves.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy.orm import Session

from workflow.actions import bonds as bonding
from workflow.actions import casework
from workflow.core import clock
from workflow.record.models import Detainee
from workflow.web.base import actor, change_person, requires, settings

blueprint = Blueprint("case", __name__, url_prefix="/people/<int:detainee_id>")


@blueprint.route("/terms", methods=["POST"])
@requires("terms")
def set_terms(detainee_id: int) -> Any:
    """`bondtrack terms A# --bond-amount --conditions --reset --note`."""
    return change_person(detainee_id, "terms", lambda s, d: casework.terms_from_form(
        s, d, request.form, actor=actor(), now=clock.now(), settings=settings()))


@blueprint.route("/assign", methods=["POST"])
@requires("terms")
def assign(detainee_id: int) -> Any:
    """`bondtrack assign A# --order CASE --docket --note`."""
    return change_person(detainee_id, "assign", lambda s, d: casework.assign_from_form(
        s, d, request.form, actor=actor(), now=clock.now(), settings=settings()))


@blueprint.route("/bonds/<event>", methods=["POST"])
@requires("moves")
def bond_event(detainee_id: int, event: str) -> Any:
    """`bondtrack bonds record A# EVENT ...`: the bond's next event, as its table allows."""

    def change(session: Session, detainee: Detainee) -> str:
        return bonding.bond_event_from_form(session, detainee, event, request.form,
                                             actor=actor(), now=clock.now())

    return change_person(detainee_id, f"bond-{event}", change)


@blueprint.route("/hearing", methods=["POST"])
@requires("moves")
def add_hearing(detainee_id: int) -> Any:
    """`bondtrack hearing add A# --at --court --kind --note`."""
    return change_person(detainee_id, "hearing", lambda s, d: bonding.add_hearing_from_form(
        s, d, request.form, actor=actor(), now=clock.now()))


@blueprint.route("/hearings/<int:hearing_id>/move", methods=["POST"])
@requires("moves")
def move_hearing(detainee_id: int, hearing_id: int) -> Any:
    """`bondtrack hearing move ID --at`."""
    return change_person(detainee_id, f"hearing-{hearing_id}-move",
                         lambda s, d: bonding.move_hearing_from_form(
                             s, d, hearing_id, request.form, actor=actor(), now=clock.now()))


@blueprint.route("/hearings/<int:hearing_id>/done", methods=["POST"])
@requires("moves")
def hearing_done(detainee_id: int, hearing_id: int) -> Any:
    """`bondtrack hearing done ID`."""
    return change_person(detainee_id, f"hearing-{hearing_id}-done",
                         lambda s, d: bonding.hearing_done(s, d, hearing_id, actor=actor(),
                                                            now=clock.now()))
