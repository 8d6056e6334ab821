"""When the database cannot be reached: every page answers 503, and the log says so once.

An engine event marks the request whose connection failed (connecting, or a connection the
server dropped), whether the view let the error through or caught it as a BondtrackError; a
page that needs no database before its form is sent (the sign-in page) tries a connection
first, so it too says the database is away rather than failing at the password.
Such a request answers 503 with a page that says to try again shortly, never a traceback.
The log gets one line when the outage starts and one when a new connection succeeds again;
the engine's pool (``pool_pre_ping``) reconnects by itself, so nothing needs restarting.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, Response, g, has_request_context, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError

from workflow.core.errors import BondtrackError

_log = logging.getLogger("bondtrack.web")
RETRY_AFTER_SECONDS = 30


class _Outage:
    """Whether this process has seen the database unreachable since it last connected."""

    def __init__(self) -> None:
        self.down = False
        self._lock = threading.Lock()

    def failed(self, context: ExceptionContext) -> None:
        # No connection: connecting failed. A disconnect outside the pool's pre-ping: the
        # server went away under a query (a failed pre-ping is retried on a new connection).
        if context.connection is not None and not (context.is_disconnect
                                                   and not context.is_pre_ping):
            return
        if has_request_context():
            g.database_unreachable = True
        with self._lock:
            if self.down:
                return
            self.down = True
        _log.warning("the database cannot be reached (%s): pages answer 503 until it is back",
                     type(context.original_exception).__name__)

    def connected(self, *_: Any) -> None:
        with self._lock:
            if not self.down:
                return
            self.down = False
        _log.warning("the database can be reached again")


def install(app: Flask, engine: Engine) -> None:
    """Answer 503 for every request that found the database unreachable."""
    outage = _Outage()
    event.listen(engine, "handle_error", outage.failed)
    event.listen(engine, "connect", outage.connected)

    def unreachable(error: Exception) -> Any:
        if not g.get("database_unreachable"):
            raise error  # any other error is handled as before
        return _page()

    def probe() -> Response | None:
        # A signed-in request has read its account already; the sign-in page and other open
        # pages would render without the database and fail only when their form is sent.
        if g.get("user") is not None or request.endpoint == "static":
            return None
        try:
            with engine.connect():
                pass
        except DBAPIError:
            if g.get("database_unreachable"):
                return _page()
            raise
        return None

    def after(response: Response) -> Response:
        # A view that caught the error as a BondtrackError answers as if it were the outage.
        return _page() if g.get("database_unreachable") else response

    app.register_error_handler(BondtrackError, unreachable)
    app.register_error_handler(DBAPIError, unreachable)
    app.before_request(probe)
    app.after_request(after)


def _page() -> Response:
    response = Response(render_template("outage.html.j2"), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    g.database_unreachable = False  # the after-request hook keeps the handler's page as it is
    return response
