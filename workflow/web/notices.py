"""The deadline alerts, and the outbox with its needs-review notices to settle."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from workflow.actions import alerts, letters
from workflow.core import clock
from workflow.core.errors import BondtrackError
from workflow.record.outbox import STATUSES
from workflow.web.base import actor, current_order, read, requires, settings, write

blueprint = Blueprint("notices", __name__)


@blueprint.route("/alerts")
@requires("reports")
def alert_list() -> str:
    with read() as session:
        order = current_order(session, request.args.get("order"))
        rows = alerts.alert_rows(session, order, clock.now(), settings())
        case, tz = order.case_number, order.time_zone
    return render_template("alerts.html.j2", alerts=rows, case=case, tz=tz)


def _outbox(status: str | None, error: str | None = None, code: int = 200) -> tuple[str, int]:
    with read() as session:
        order = current_order(session, request.values.get("order"))
        try:
            rows = letters.outbox_rows(session, order, status=status or None)
        except BondtrackError as exc:
            rows, error, code = [], str(exc), 400
        case, order_id, tz = order.case_number, order.id, order.time_zone
    return render_template("outbox.html.j2", notices=rows, case=case, order_id=order_id, tz=tz,
                           statuses=STATUSES, status=status or "", error=error), code


@blueprint.route("/outbox")
@requires("letters")
def outbox() -> tuple[str, int]:
    return _outbox(request.args.get("status"))


@blueprint.route("/outbox/<int:notice_id>/resolve", methods=["POST"])
@requires("letters")
def resolve(notice_id: int) -> Any:
    """Settle a needs-review notice: it arrived (delivered), or send it again (resend)."""
    verdict = request.form.get("verdict")
    if verdict not in ("delivered", "resend"):
        abort(400, "say delivered or resend")
    try:
        with write() as session:
            order = current_order(session, request.form.get("order"))
            status = letters.resolve_notice(session, order, notice_id,
                                            delivered=verdict == "delivered", actor=actor(),
                                            now=clock.now())
    except BondtrackError as exc:
        return _outbox("needs-review", str(exc), 400)
    flash(f"notice #{notice_id}: {status}")
    return redirect(url_for("notices.outbox", status="needs-review"), code=303)
