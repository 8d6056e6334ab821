"""A person's casework from their page: terms, sub-order, bond events and hearings.

Each form posts to ``/people/<internal id>/...`` with fields named like the CLI's
options; the view reads them as the CLI reads its options (dollars as staff write them,
times in court time) and goes through ``base.change_person`` (the stale-form check, one
transaction, the one-line refusal). Setting terms or a sub-order is an attorney's
call ("terms"); bond events and hearings are recorded by whoever makes moves.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy.orm import Session

from workflow.actions import bonds as bonding
from workflow.actions import casework
from workflow.actions.orders import parse_bond
from workflow.core import clock
from workflow.core.errors import ValidationError
from workflow.core.money import parse_amount
from workflow.record.models import Detainee
from workflow.web.base import actor, change_person, requires, settings

blueprint = Blueprint("case", __name__, url_prefix="/people/<int:detainee_id>")


def _text(name: str) -> str | None:
    """A form field as given, trimmed; blank is not given."""
    return (request.form.get(name) or "").strip() or None


def _dollars(name: str, parse: Any) -> Any:
    """A money field: ``parse``\'s value, or a one-line refusal that names the field."""
    text = _text(name)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise ValidationError(f"{name.replace('_', ' ')}: {exc}") from None


@blueprint.route("/terms", methods=["POST"])
@requires("terms")
def set_terms(detainee_id: int) -> Any:
    """`bondtrack terms A# --bond-amount --conditions --reset --note`."""

    def change(session: Session, detainee: Detainee) -> str:
        made = casework.change_terms(
            session, detainee, bond_cents=_dollars("bond_amount", parse_bond),
            conditions=_text("conditions"), reset=request.form.get("reset") == "yes",
            note=_text("note"), actor=actor(), now=clock.now(), settings=settings())
        return casework.terms_line(detainee, made)

    return change_person(detainee_id, "terms", change)


@blueprint.route("/assign", methods=["POST"])
@requires("terms")
def assign(detainee_id: int) -> Any:
    """`bondtrack assign A# --order CASE --docket --note`."""
    return change_person(detainee_id, "assign", lambda s, d: casework.assign_in(
        s, d, _text("order"), docket=_text("docket"), note=_text("note"), actor=actor(),
        now=clock.now(), settings=settings()))


@blueprint.route("/bonds/<event>", methods=["POST"])
@requires("moves")
def bond_event(detainee_id: int, event: str) -> Any:
    """`bondtrack bonds record A# EVENT ...`: the bond's next event, as its table allows."""
    # An event the table does not know asks for nothing; recording it is refused.
    asked = bonding.bond_event_fields(event) if event in bonding.EVENTS else ()

    def field(name: str) -> str | None:
        return _text(name) if name in asked else None

    def change(session: Session, detainee: Detainee) -> str:
        return bonding.record_event_in(
            session, detainee, event, actor=actor(), now=clock.now(), at=field("date"),
            due=field("due"),
            amount_cents=_dollars("amount", parse_amount) if "amount" in asked else None,
            reason=field("reason"), outcome=field("outcome"), name=field("name"),
            in_person=field("in_person") == "yes", note=field("note"))

    return change_person(detainee_id, f"bond-{event}", change)


@blueprint.route("/hearing", methods=["POST"])
@requires("moves")
def add_hearing(detainee_id: int) -> Any:
    """`bondtrack hearing add A# --at --court --kind --note`."""
    return change_person(detainee_id, "hearing", lambda s, d: bonding.add_hearing_in(
        s, d, at=_text("at"), court=_text("court") or "", kind=_text("kind") or "master",
        note=_text("note"), actor=actor(), now=clock.now()))


@blueprint.route("/hearings/<int:hearing_id>/move", methods=["POST"])
@requires("moves")
def move_hearing(detainee_id: int, hearing_id: int) -> Any:
    """`bondtrack hearing move ID --at`."""
    return change_person(detainee_id, f"hearing-{hearing_id}-move",
                         lambda s, d: bonding.move_hearing_in(
                             s, d, hearing_id, at=_text("at"), actor=actor(), now=clock.now()))


@blueprint.route("/hearings/<int:hearing_id>/done", methods=["POST"])
@requires("moves")
def hearing_done(detainee_id: int, hearing_id: int) -> Any:
    """`bondtrack hearing done ID`."""
    return change_person(detainee_id, f"hearing-{hearing_id}-done",
                         lambda s, d: bonding.close_hearing_in(s, d, hearing_id, actor=actor(),
                                                               now=clock.now()))
