"""The bonds after release and the hearings ahead, for attorneys and admins: the ledger that
`bondtrack bonds` prints (counts and sums per state, money by obligor, refunds overdue) and
the hearings calendar of `bondtrack hearing list`, by day, each time in its court's zone."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from workflow.actions import bonds as bonding
from workflow.core import clock
from workflow.web.base import current_order, database, read, requires, settings

blueprint = Blueprint("bonds", __name__)


@blueprint.route("/bonds")
@requires("ledger")
def ledger() -> str:
    with read() as session:
        order = current_order(session, request.args.get("order"))
        case, order_id, tz = order.case_number, order.id, order.time_zone
    data = bonding.ledger(database(), settings(), case, now=clock.now())
    rows = [{"state": key, **data[key]} for key in bonding.LEDGER_KEYS]
    return render_template("ledger.html.j2", case=case, order_id=order_id, tz=tz, data=data,
                           rows=rows)


@blueprint.route("/hearings")
@requires("hearings")
def hearings() -> str:
    with read() as session:
        order = current_order(session, request.args.get("order"))
        case, order_id = order.case_number, order.id
    days = bonding.hearing_calendar(database(), case, now=clock.now())
    return render_template("hearings.html.j2", case=case, order_id=order_id, days=days)
