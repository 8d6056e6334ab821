"""People coming in from the browser: a class list (or a history sheet: a class list with
stage and date columns) uploaded, previewed as `bondtrack import --dry-run` shows it, then
confirmed; and one person added by hand, read by the class list's own rules.

The upload is kept privately as the bulk pages keep theirs (``actions.uploads``: 0700/0600,
under a random token only this session knows). The session also keeps a digest of what the
preview said the file would do: the confirmation writes only if it still does exactly that
(otherwise the new preview is shown, nothing written).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from workflow.actions import people as persons
from workflow.actions import uploads
from workflow.core import clock, display
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.web.base import actor, current_order, database, read, requires, settings

blueprint = Blueprint("intake", __name__, url_prefix="/intake")
KEPT = 5  # previews a session may have waiting at once


def _order() -> tuple[str, int]:
    with read() as db_session:
        order = current_order(db_session, request.values.get("order"))
        return order.case_number, order.id


def _import_page(status: int = 200, **context: Any) -> tuple[str, int]:
    case, order_id = _order()
    context = {"result": None, "problems": [], "token": None, "error": None, **context}
    columns = uploads.class_list_columns()
    return render_template("import.html.j2", case=case, order_id=order_id, columns=columns,
                           **context), status


def _shown(result: Any) -> dict[str, Any]:
    """What the page says about an import: its counts, history and notes."""
    history = result.history
    return {**result.summary(), "notes": result.notes,
            "moves": sum(history["moves"].values()) if history else 0}


@blueprint.route("/import", methods=["GET"])
@requires("bulk")
def import_form() -> tuple[str, int]:
    return _import_page()


@blueprint.route("/import/preview", methods=["POST"])
@requires("bulk")
def import_preview() -> tuple[str, int]:
    """Keep the upload and show what importing it would do, writing nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(400, error="choose a file to upload")
    home = settings().home
    try:
        token = uploads.keep_upload(home, upload.filename, upload.read())
    except BondtrackError as exc:
        return _import_page(400, error=str(exc))
    case, _ = _order()
    try:
        result = uploads.import_class_list(database(), settings(), case,
                                           uploads.kept_upload(home, token), actor=actor(),
                                           now=clock.now(), dry_run=True)
    except ValidationError as exc:
        uploads.discard_upload(home, token)
        return _import_page(400, error=str(exc), problems=exc.problems)
    except BondtrackError as exc:
        uploads.discard_upload(home, token)
        return _import_page(400, error=str(exc))
    _remember(token, uploads.import_digest(result))
    return _import_page(result=_shown(result), token=token)


def _remember(token: str, digest: str) -> None:
    kept = dict(list(session.get("imports", {}).items())[-(KEPT - 1):])
    session["imports"] = {**kept, token: digest}


def _forget(token: str) -> None:
    session["imports"] = {t: d for t, d in session.get("imports", {}).items() if t != token}


@blueprint.route("/import/confirm", methods=["POST"])
@requires("bulk")
def import_confirm() -> Any:
    """Import a previewed file for real, all or nothing, if it still does what was shown."""
    token = request.form.get("token", "")
    expected = session.get("imports", {}).get(token)
    if not isinstance(expected, str):
        return _import_page(404, error="that preview is gone (confirmed, replaced or from"
                                       " another session): upload the file again")
    home = settings().home
    case, _ = _order()
    try:
        kept = uploads.kept_upload(home, token)
    except NotFoundError as exc:  # the file went (another tab confirmed it): say so once
        _forget(token)
        return _import_page(404, error=f"{exc}: upload the file again")
    try:
        result = uploads.confirm_class_list(database(), settings(), case, kept,
                                            actor=actor(), now=clock.now(), expected=expected)
    except uploads.StaleImport as stale:
        _remember(token, uploads.import_digest(stale.result))
        return _import_page(409, error=str(stale), result=_shown(stale.result), token=token)
    except ValidationError as exc:
        uploads.discard_upload(home, token)
        _forget(token)
        return _import_page(400, error=str(exc), problems=exc.problems)
    except BondtrackError as exc:
        return _import_page(409, error=str(exc), token=token)
    uploads.discard_upload(home, token)
    _forget(token)
    shown = _shown(result)
    line = (f"imported: {shown['created']} new, {shown['updated']} updated"
            f" ({display.plural(shown['field_changes'], 'field')}), {shown['unchanged']}"
            f" unchanged")
    if result.history is not None:
        line += f"; {display.plural(shown['moves'], 'move')} recorded from the file's history"
    flash(line)
    return redirect(url_for("intake.import_form", order=request.form.get("order") or None),
                    code=303)


def _person_page(status: int = 200, **context: Any) -> tuple[str, int]:
    with read() as db_session:
        order = current_order(db_session, request.values.get("order"))
        case, order_id = order.case_number, order.id
        places = persons.places(db_session)["facilities"]
    context = {"problems": [], "error": None, "form": {}, **context}
    return render_template("person_add.html.j2", case=case, order_id=order_id,
                           facilities=places, **context), status


@blueprint.route("/person", methods=["GET"])
@requires("bulk")
def person_form() -> tuple[str, int]:
    return _person_page()


@blueprint.route("/person", methods=["POST"])
@requires("bulk")
def add_person() -> Any:
    """Add one person, as one line of a class list would; refused with every problem."""
    fields = {name: request.form.get(name, "") for name in persons.person_form_fields()}
    case, _ = _order()
    try:
        added = persons.add_person(database(), case, fields, actor=actor(), now=clock.now())
    except ValidationError as exc:
        return _person_page(400, error=str(exc), problems=exc.problems, form=fields)
    except BondtrackError as exc:
        return _person_page(400, error=str(exc), form=fields)
    flash(f"added person #{added['id']} in Intake")
    return redirect(url_for("pages.person", detainee_id=added["id"]), code=303)
