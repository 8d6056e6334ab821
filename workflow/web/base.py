"""What every part of the web app shares: its state and the access log (no personal data)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

access_log = logging.getLogger("bondtrack.web.access")


def state(app: Flask) -> dict[str, Any]:
    """The settings and database ``create_app`` gave this app."""
    return app.extensions["bondtrack"]
