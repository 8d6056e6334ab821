"""Bulk work: an apply file or a custody list, uploaded, previewed, then confirmed.

An upload is kept in the private inbox (0700/0600) under a random token that the
session remembers, so only its uploader can confirm it; the preview and the
confirmation run the same functions as `bondtrack apply` and `bondtrack run reconcile`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from workflow.actions import uploads
from workflow.core import clock, display
from workflow.core.errors import BondtrackError, ValidationError
from workflow.web.base import actor, current_order, read, requires, settings, write

blueprint = Blueprint("bulk", __name__, url_prefix="/bulk")
KINDS = ("apply", "reconcile")


def _page(kind: str, status: int = 200, **context: Any) -> tuple[str, int]:
    with read() as db_session:
        order = current_order(db_session, request.values.get("order"))
        case, order_id = order.case_number, order.id
    context = {"preview": None, "problems": [], "report": None, "token": None, "error": None,
               "custody": None, "notes": [], "many_missing": None, **context}
    return render_template("bulk.html.j2", kind=kind, case=case, order_id=order_id,
                           columns=list(_columns(kind)), **context), status


def _columns(kind: str) -> Mapping[str, tuple[str, ...]]:
    return uploads.columns(kind)


@blueprint.route("/<kind>/template.csv", methods=["GET"])
@requires("bulk")
def template(kind: str) -> Response:
    """An empty file with the columns, to fill in a spreadsheet."""
    if kind not in KINDS:
        abort(404)
    return Response(",".join(_columns(kind)) + "\r\n", mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={kind}-template.csv"})


@blueprint.route("/<kind>", methods=["GET"])
@requires("bulk")
def form(kind: str) -> tuple[str, int]:
    if kind not in KINDS:
        abort(404)
    return _page(kind)


@blueprint.route("/<kind>/preview", methods=["POST"])
@requires("bulk")
def preview(kind: str) -> tuple[str, int]:
    """Keep the upload and show what it would do, changing nothing."""
    if kind not in KINDS:
        abort(404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(kind, 400, error="choose a file to upload")
    home = settings().home
    try:
        token = uploads.keep_upload(home, upload.filename, upload.read())
    except BondtrackError as exc:
        return _page(kind, 400, error=str(exc))
    path = uploads.kept_upload(home, token)
    try:
        with write() as db_session:
            order = current_order(db_session, request.form.get("order"))
            if kind == "apply":
                shown = uploads.preview_apply(db_session, order, path, actor=actor(),
                                                now=clock.now(), settings=settings())
                result: dict[str, Any] = {"preview": shown.changes, "problems": shown.problems}
            else:
                custody = uploads.preview_reconcile(db_session, order, path, actor=actor(),
                                                      now=clock.now())
                result = {"report": custody.counts, "custody": custody.changes,
                          "notes": custody.notes, "many_missing": custody.many_missing}
            db_session.rollback()
    except ValidationError as exc:
        result = {"problems": exc.problems or [str(exc)]}
    if result.get("problems"):
        uploads.discard_upload(home, token)
        return _page(kind, 400, **result)
    session.setdefault("uploads", [])
    session["uploads"] = [*session["uploads"][-4:], token]
    return _page(kind, token=token, **result)


@blueprint.route("/<kind>/confirm", methods=["POST"])
@requires("bulk")
def confirm(kind: str) -> Any:
    """Apply a previewed upload for real, all or nothing."""
    if kind not in KINDS:
        abort(404)
    token = request.form.get("token", "")
    if token not in session.get("uploads", []):
        abort(404)
    home = settings().home
    try:
        path = uploads.kept_upload(home, token)
        with write() as db_session:
            order = current_order(db_session, request.form.get("order"))
            if kind == "apply":
                applied = uploads.apply_file_in(db_session, order, path, actor=actor(),
                                                  now=clock.now(), settings=settings())
                message = f"applied {display.plural(applied, 'move')}"
            else:
                warning = uploads.missing_warning_in(db_session, order, path, now=clock.now())
                if warning and request.form.get("flag_missing") != "yes":
                    return _page(kind, 400, token=token, many_missing=warning,
                                 error=f"{warning}: tick the box to confirm")
                report = uploads.reconcile_in(db_session, order, path, actor=actor(),
                                              now=clock.now())
                counts = report.counts()
                message = (f"reconciled {counts['rows']} lines: {counts['found']} found,"
                           f" {counts['moved']} moved, {counts['missing']} missing")
    except ValidationError as exc:
        return _page(kind, 400, problems=exc.problems or [str(exc)])
    except BondtrackError as exc:
        return _page(kind, 409, error=str(exc))
    uploads.discard_upload(home, token)
    session["uploads"] = [t for t in session["uploads"] if t != token]
    flash(message)
    return redirect(url_for("bulk.form", kind=kind), code=303)
