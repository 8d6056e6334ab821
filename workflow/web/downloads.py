"""The export and the court report, downloaded; audited like `bondtrack export|report`."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_file

from workflow import clock
from workflow.db import ensure_private_dir
from workflow.web import state
from workflow.web.auth import actor, read, requires, settings
from workflow.web.pages import _order

blueprint = Blueprint("downloads", __name__, url_prefix="/downloads")
EXPORT_FORMATS = ("csv", "xlsx", "json")
REPORT_FORMATS = ("pdf", "html", "csv")


def _send(make, name: str) -> Response:  # type: ignore[no-untyped-def]
    """Write the file in a private temporary folder, send it, and remove it."""
    folder = Path(tempfile.mkdtemp(dir=ensure_private_dir(settings().home / "web-downloads")))
    path = folder / name
    try:
        make(path)
        data = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=name)


@blueprint.route("/export.<fmt>")
@requires("exports")
def export(fmt: str) -> Response:
    from workflow.export import export_people

    if fmt not in EXPORT_FORMATS:
        abort(404)
    with read() as session:
        order = _order(session, request.args.get("order"))
        order_id = order.id
    return _send(lambda path: export_people(
        _database(), order_id, fmt=fmt, path=path, actor=actor(), now=clock.now()),
        f"people.{fmt}")


@blueprint.route("/report.<fmt>")
@requires("reports")
def report(fmt: str) -> Response:
    from workflow import compliance

    if fmt not in REPORT_FORMATS:
        abort(404)
    with read() as session:
        order = _order(session, request.args.get("order"))
        order_id = order.id
    return _send(lambda path: compliance.generate_report(
        _database(), order_id, fmt=fmt, path=path, actor=actor(), now=clock.now(),
        settings=settings()), f"compliance-report.{fmt}")


def _database():  # type: ignore[no-untyped-def]
    return state(current_app)["database"]
