"""Rendering letters and e-mails: one sandboxed Jinja2 environment and Babel (PDFs: ``pdf``).

Templates live in ``templates/notices/<language>/``; a language is a folder, so
adding one needs no code. Templates see plain dicts (never ORM objects), are
autoescaped, and run in an immutable sandbox with ``StrictUndefined``: a name
like ``{{ 7*7 }}`` or ``<script>`` prints literally and a template cannot reach
Python internals. Dates, times and money are formatted by Babel for the letter's
locale; times are shown in the zone the caller names (court or facility).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from babel import Locale, localedata
from babel.dates import format_date, format_time, get_day_names, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from workflow import resource
from workflow.core import clock, display, templating

LETTER_KINDS = ("client", "obligor", "demand", "hearing", "demand-notice", "refund-packet")
STAFF_KINDS = ("alert", "digest")
FALLBACK_LANGUAGE = "en"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one template environment (built once: compiling templates is the slow part)."""
    env = templating.sandbox(resource("templates"))
    env.filters.update(
        money=_money, long_date=_long_date, full_date=_full_date, clock_time=_clock_time,
        zone_name=_zone_name, weekdays=_weekdays, number=_number, country=_country,
        listing=_listing, span=display.span,
    )
    return env


def template_language(language: str | None, kind: str) -> str:
    """The language the ``kind`` template exists in: the person's, else English."""
    if language and (resource("templates", "notices", language, f"{kind}.html.j2")).is_file():
        return language
    return FALLBACK_LANGUAGE


def babel_locale(language: str, region: str) -> str:
    """``es`` + ``US`` → ``es_US`` (how Spanish is written in the US), if Babel knows it."""
    regional = f"{language}_{region}" if region else language
    for candidate in (regional, language):
        if localedata.exists(candidate):
            return candidate
    return FALLBACK_LANGUAGE


def render_body(kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, Markup]:
    """One letter or e-mail body: (its subject, its HTML fragment)."""
    template = environment().get_template(f"notices/{language}/{kind}.html.j2")
    module = template.make_module(dict(context))
    subject = getattr(module, "subject", "")
    # A subject is plain text: undo the escaping a {% set %} block applies.
    subject = subject.unescape() if isinstance(subject, Markup) else str(subject)
    return " ".join(subject.split()), Markup(str(module))


def document(bodies: Sequence[tuple[str, Markup]], title: str) -> str:
    """A whole HTML document of ``(language, body)`` letters, each starting a new page."""
    template = environment().get_template("notices/document.html.j2")
    letters = [{"language": language, "body": body} for language, body in bodies]
    return template.render(letters=letters, title=title,
                           language=bodies[0][0] if bodies else FALLBACK_LANGUAGE)


def render_staff_email(kind: str, context: dict[str, Any], settings: Any,
                       language: str = "en") -> tuple[str, str, str]:
    """(subject, html, text) of a staff ``alert`` or ``digest`` e-mail.

    Staff e-mails name people by internal id only; missing optional keys
    (threshold, projection, moves_yesterday, at_risk) render as absent.
    """
    if kind not in STAFF_KINDS:
        raise ValueError(f"not a staff e-mail kind: {kind}")
    language = template_language(language, f"staff_{kind}")
    notices = settings.section("notices")
    full = {
        "threshold": None, "projection": None, "moves_yesterday": None, "at_risk": [],
        "counts": {}, "outstanding": 0, "command": "bondtrack status",
        **context,
        "organization": notices["organization"],
        "locale": babel_locale(language, notices["region"]),
    }
    subject, body = render_body(f"staff_{kind}", language, full)
    page = document([(language, body)], title=subject)
    return subject, page, html_to_text(page)


def facts_digest(context: Mapping[str, Any]) -> str:
    """A stable fingerprint of what a letter says (not when it was made), for idempotency keys."""
    import hashlib

    facts = {key: value for key, value in context.items() if key != "today"}
    text = json.dumps(facts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _TextExtractor(HTMLParser):
    """Plain text of an HTML e-mail: paragraphs apart, rows and list items on their own lines."""

    _PARAGRAPHS = frozenset({"p", "div", "section", "h1", "h2", "h3", "h4", "table", "ul", "ol",
                             "header", "footer", "address"})
    _LINES = frozenset({"tr", "br"})
    _HIDDEN = frozenset({"head", "style", "title", "script"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag in self._LINES:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden -= 1
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html_text: str) -> str:
    """The text/plain part of an e-mail, derived from its HTML (one source of truth)."""
    parser = _TextExtractor()
    parser.feed(html_text)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# Filters. Each reads the letter's Babel locale from the template context.

@pass_context
def _money(ctx: Context, cents: int | None) -> str:
    if cents is None:
        return ""
    return format_currency(Decimal(cents) / 100, "USD", locale=ctx["locale"])


def _in_zone(value: date | datetime, tz: str | None) -> date | datetime:
    return clock.local(value, tz) if isinstance(value, datetime) and tz else value


@pass_context
def _long_date(ctx: Context, value: date | datetime, tz: str | None = None) -> str:
    return format_date(_in_zone(value, tz), "long", locale=ctx["locale"])


@pass_context
def _full_date(ctx: Context, value: date | datetime, tz: str | None = None) -> str:
    return format_date(_in_zone(value, tz), "full", locale=ctx["locale"])


@pass_context
def _clock_time(ctx: Context, value: datetime | str, tz: str | None = None) -> str:
    moment = time.fromisoformat(value) if isinstance(value, str) else (
        clock.local(value, tz) if tz else value)
    return format_time(moment, "short", locale=ctx["locale"])


@pass_context
def _zone_name(ctx: Context, tz: str, at: datetime | None = None) -> str:
    """``Central Standard Time`` at an instant; ``Central Time`` for a zone in general."""
    subject = clock.local(at, tz) if at is not None else clock.zone(tz)
    return get_timezone_name(subject, "long", locale=ctx["locale"])


@pass_context
def _weekdays(ctx: Context, codes: Sequence[str]) -> str:
    names = get_day_names("wide", locale=ctx["locale"])
    return format_list([names[_WEEKDAYS.index(code)] for code in codes], locale=ctx["locale"])


@pass_context
def _listing(ctx: Context, codes: Sequence[str], names: Mapping[str, str]) -> str:
    """Codes as the letter's words, listed the locale's way (``a, b y c``); an unknown code
    (free text staff typed) as written, dashes as spaces."""
    words = [names.get(code, code.replace("-", " ")) for code in codes]
    return format_list(words, locale=ctx["locale"]) if words else ""


@pass_context
def _number(ctx: Context, value: Any) -> str:
    """Counts and hours as the locale writes them; anything else as given."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_decimal(value, "#,##0.#", locale=ctx["locale"])
    return "" if value is None else str(value)


@functools.cache
def _territory_codes() -> dict[str, str]:
    """Country names as staff type them (English or Spanish, any case) → ISO codes."""
    codes: dict[str, str] = {}
    for language in ("es", "en"):
        for code, name in Locale.parse(language).territories.items():
            if code.isalpha():
                codes[name.casefold()] = code
    return codes


@pass_context
def _country(ctx: Context, name: str) -> str:
    """A country of birth in the letter's language (``Mexico`` → ``México``), if Babel knows it."""
    code = _territory_codes().get(name.strip().casefold())
    return Locale.parse(ctx["locale"]).territories[code] if code else name
