"""The browser workspace: a Flask app over the same use cases the CLI calls.

``create_app(settings)`` builds one app with its own database engine; each area is a
blueprint (auth, pages, case, bulk, intake, bonds, notices, admin, downloads, sms, day)
whose views parse the form, call ``workflow.actions`` (or read ``workflow.views``) and render
a template from templates/web/. The request context they share is ``web/base.py``. No view
decides a rule: roles are ``workflow.record.users.can``, moves are ``actions.people.move_in``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from jinja2 import StrictUndefined

from workflow import resource
from workflow.core import config, display
from workflow.core.files import ensure_private_dir, private_file
from workflow.record import db


class WebApp(Flask):
    """Flask with every template autoescaped (ours end in .j2, which Flask would not escape)."""

    jinja_options = {**Flask.jinja_options, "undefined": StrictUndefined,
                     "trim_blocks": True, "lstrip_blocks": True}

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        return True


def create_app(settings: config.Settings | None = None,
               database: db.Database | None = None) -> WebApp:
    """The app for ``settings`` (default: as the CLI loads them)."""
    settings = settings or config.load()
    database = database or db.connect(settings)
    web = settings.section("web")
    templates = resource("templates", "web")
    app = WebApp(__name__, template_folder=str(templates),
                 static_folder=str(templates / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=web["secret_key"] or secret_key(settings.home),
        SESSION_COOKIE_NAME="bondtrack_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(web["behind_tls"]),
        MAX_CONTENT_LENGTH=int(web["max_upload_bytes"]),
        MAX_FORM_MEMORY_SIZE=int(web["max_upload_bytes"]),
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["bondtrack"] = {"settings": settings, "database": database}
    if web["behind_tls"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    from workflow.web import (
        admin,
        auth,
        bonds,
        bulk,
        case,
        day,
        downloads,
        intake,
        notices,
        outage,
        pages,
        sms,
    )

    auth.install(app)
    outage.install(app, database.engine)
    app.jinja_env.filters.update(when=display.moment, span=display.span, stage=display.stage,
                                 plural=display.plural, day=display.day,
                                 dollars=display.dollars)
    for blueprint in (auth.blueprint, pages.blueprint, case.blueprint, bulk.blueprint,
                      admin.blueprint, downloads.blueprint, notices.blueprint, sms.blueprint,
                      intake.blueprint, bonds.blueprint, day.blueprint):
        app.register_blueprint(blueprint)
    return app


def secret_key(home: Path) -> str:
    """The cookie-signing key kept in ``home/web-secret`` (0600), made once, atomically."""
    path = ensure_private_dir(home) / "web-secret"
    if not path.exists():
        partial = private_file(home / f".web-secret.{os.getpid()}.{secrets.token_hex(4)}")
        partial.write_text(secrets.token_hex(32))
        try:
            os.link(partial, path)  # fails if another process made it first: use theirs
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise config.ConfigError(f"{path} does not hold a signing key: delete it")
    return key

