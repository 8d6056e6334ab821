"""The one Jinja2 policy, and the environment of the court report and the dashboard.

Every template bondtrack renders (reports here, letters and e-mails in
``letters``) runs in an immutable sandbox, autoescaped, with undefined names an
error: the data is names from a class list anyone could have typed, and a
template typo must fail loudly in a test, not print an empty cell in a court
filing.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workflow import resource
from workflow.core import clock, display

_STYLES = {
    "short": "%d %b %Y %H:%M",  # 21 Nov 2025 12:00
    "day": "%a %d %b %H:%M",  # Fri 21 Nov 12:00
}


def template_dir() -> Path:
    return resource("templates", "reports")


def sandbox(folder: Path) -> ImmutableSandboxedEnvironment:
    """A new environment over the templates in ``folder``, under the one policy."""
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def environment() -> ImmutableSandboxedEnvironment:
    env = sandbox(template_dir())
    env.filters["when"] = when
    env.filters["number"] = number
    env.filters["stage"] = display.stage
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` from templates/reports with ``context``."""
    return environment().get_template(name).render(**context)


def when(iso_text: str | None, style: str = "short", tz: str | None = None) -> str:
    """An ISO 8601 time as people read it; ``long`` with ``tz`` is ``display.moment``'s
    ``Fri 21 Nov 2025, 12:00 CST`` (``short`` and ``day`` fit a table that names its zone)."""
    if not iso_text:
        return ""
    if style == "long" and tz:
        return display.moment(iso_text, tz)
    value = datetime.fromisoformat(iso_text)
    if tz:
        value = clock.local(value, tz)
    return value.strftime(_STYLES[style])


def number(value: int | float | None) -> str:
    """1234 → ``1,234``; None → an empty cell."""
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
