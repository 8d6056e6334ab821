"""The export, the court report and letters, downloaded; audited like `bondtrack
export|report|notices render`. Each is a POST form with the CSRF token, never a plain link
another site could make a signed-in browser follow."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, request, send_file

from workflow.core import clock, dates
from workflow.core.errors import BondtrackError
from workflow.core.files import ensure_private_dir
from workflow.web.base import actor, current_order, database, read, requires, settings

blueprint = Blueprint("downloads", __name__, url_prefix="/downloads")
EXPORT_FORMATS = ("csv", "xlsx", "json")
REPORT_FORMATS = ("pdf", "html", "csv")


def _send(make: Callable[[Path], object], name: str) -> Response:
    """Write the file in a private temporary folder, send it, and remove it."""
    folder = Path(tempfile.mkdtemp(dir=ensure_private_dir(settings().home / "web-downloads")))
    path = folder / name
    try:
        make(path)
        data = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name)


@blueprint.route("/export.<fmt>", methods=["POST"])
@requires("exports")
def export(fmt: str) -> Response:
    from workflow.views.export import export_people

    if fmt not in EXPORT_FORMATS:
        abort(404)
    with read() as session:
        order = current_order(session, request.form.get("order"))
        order_id = order.id
    return _send(lambda path: export_people(
        database(), order_id, fmt=fmt, path=path, actor=actor(), now=clock.now()),
        f"people.{fmt}")


@blueprint.route("/report.<fmt>", methods=["POST"])
@requires("reports")
def report(fmt: str) -> Any:
    """The court report in ``fmt`` (the orders page's one-click HTML), as of now or the form's
    as-of time."""
    if fmt not in REPORT_FORMATS:
        abort(404)
    return _report(fmt)


@blueprint.route("/report", methods=["GET"])
@requires("reports")
def report_form() -> tuple[str, int]:
    return _report_page(request.args.get("order"))


@blueprint.route("/report", methods=["POST"])
@requires("reports")
def report_chosen() -> Any:
    """The court report in the format and as of the time the form chose."""
    fmt = request.form.get("format", "")
    if fmt not in REPORT_FORMATS:
        return _report_page(request.form.get("order"), "choose PDF, HTML or CSV", 400)
    return _report(fmt)


def _report(fmt: str) -> Any:
    """Make and send the report, as `bondtrack report [--as-of]` does (audited); an as-of
    time that is not a time, or is in the future, is said on the report's page."""
    from workflow.views import compliance

    form = request.form
    now = clock.now()
    with read() as session:
        order = current_order(session, form.get("order"))
        order_id, tz = order.id, order.time_zone
    text = form.get("as_of", "").strip()
    try:
        moment = compliance.check_as_of(now, dates.parse_instant(text, tz)) if text else None
    except BondtrackError as exc:
        return _report_page(form.get("order"), f"as of: {exc}", 400, text)
    return _send(lambda path: compliance.generate_report(
        database(), order_id, fmt=fmt, path=path, actor=actor(), now=now,
        settings=settings(), as_of=moment), f"compliance-report.{fmt}")


def _report_page(order: str | None, error: str | None = None, status: int = 200,
                 as_of: str = "") -> tuple[str, int]:
    from flask import render_template

    with read() as session:
        chosen = current_order(session, order)
        order_id, case, tz = chosen.id, chosen.case_number, chosen.time_zone
    return render_template("report.html.j2", order_id=order_id, case=case, tz=tz, error=error,
                           as_of=as_of[:40], formats=REPORT_FORMATS), status


def _letters_page(order: str | None, error: str | None = None) -> str:
    from flask import render_template

    from workflow.actions.letters import letter_kinds
    from workflow.core.stages import Stage

    with read() as session:
        chosen = current_order(session, order)
        order_id, case = chosen.id, chosen.case_number
    return render_template("letters.html.j2", kinds=letter_kinds(), order_id=order_id, case=case,
                           stages=[s.value for s in Stage], error=error)


@blueprint.route("/letters", methods=["GET"])
@requires("letters")
def letters_form() -> str:
    return _letters_page(request.args.get("order"))


@blueprint.route("/letters", methods=["POST"])
@requires("letters")
def letters() -> Any:
    """One printable file: the letters chosen (a POST: a person's A-number stays out of URLs),
    or every queued letter to print; audited as `bondtrack notices render` is. A choice that
    makes no letter (an A-number not in the order, an unknown facility or stage, a released
    person's obligor letter) is said on the same page."""
    from workflow.actions import letters as lettering

    form = request.form
    fmt = form.get("format", "pdf")
    kind = form.get("kind", "")
    if fmt not in ("pdf", "html") or (kind not in lettering.letter_kinds() and kind != "queued"):
        return _letters_page(form.get("order"), "choose a kind of letter and a format"), 400
    with read() as session:
        case = current_order(session, form.get("order")).case_number

    def make(path: Path) -> None:
        batch = lettering.render(
            database(), settings(), case=case, kind=None if kind == "queued" else kind,
            out=path.parent / "letters", now=clock.now(), actor=actor(), fmt=fmt,
            one_file=True, stage=form.get("stage") or None,
            facility=form.get("facility") or None, a_number=form.get("a_number") or None)
        if not batch.files:
            raise BondtrackError(f"no {kind} letter to make for that choice" + (
                ": obligor letters go to people whose bond is set (BOND_SET unless a stage"
                " is chosen)" if kind == "obligor" else ""))
        Path(batch.files[0]).replace(path)

    try:
        return _send(make, f"letters-{kind}.{fmt}")
    except BondtrackError as exc:
        return _letters_page(form.get("order"), str(exc)), 400
