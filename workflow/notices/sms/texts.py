"""What is texted, in each language: one template per kind in ``templates/sms/<language>/``.

A translator adds a language by adding its folder with one file per kind;
``missing()`` lists every kind a folder lacks (English is the reference), and a
language without a folder is texted in ``[sms] fallback_language``. The
templates are plain text (a phone shows no HTML), rendered in the sandbox with
undefined names an error, then folded onto one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workflow import resource
from workflow.core import clock
from workflow.core.config import Settings
from workflow.notices.sms import segments

REFERENCE = "en"
KINDS = ("hearing-reminder", "demand", "release", "test", "stop")
# Short times, as a phone shows them: "Mon Dec 14, 9:00 AM", "lun 14 dic, 9:00".
_TIME = {"en": "EEE MMM d, h:mm a", "es": "EEE d MMM, H:mm"}
_LOCALE = {"en": "en_US", "es": "es_US"}


@dataclass(frozen=True)
class Text:
    kind: str
    language: str
    body: str
    segments: segments.Segments


def languages(root: Path | None = None) -> list[str]:
    """The languages with a folder of texts (in ``root``, default templates/sms)."""
    folder = root or resource("templates", "sms")
    return sorted(path.name for path in folder.iterdir() if path.is_dir())


def missing(root: Path | None = None) -> dict[str, list[str]]:
    """Language → the kinds its folder has no template for (empty lists when complete)."""
    folder = root or resource("templates", "sms")
    return {language: [kind for kind in KINDS if not (folder / language / f"{kind}.txt.j2")
                       .is_file()] for language in languages(folder)}


def language_for(wanted: str | None, settings: Settings) -> str:
    """``wanted`` if it has texts, else the fallback language of [sms]."""
    if wanted in languages() and not missing()[wanted]:
        return wanted
    return settings.section("sms")["fallback_language"]


def render(kind: str, language: str, context: dict[str, Any], *, first: bool = False) -> Text:
    """The text of ``kind`` in ``language``; ``first`` adds how to stop texts (the first
    text to a number says it)."""
    body = _one_line(_environment(language).get_template(f"{kind}.txt.j2").render(**context))
    if first:
        body += " " + _one_line(_environment(language).get_template("stop.txt.j2").render())
    return Text(kind, language, body, segments.count(body))


def when(instant: datetime, zone: str, language: str) -> str:
    """``instant`` as the recipient reads it, in ``zone``."""
    local = clock.local(instant, zone)
    return format_datetime(local, _TIME.get(language, _TIME[REFERENCE]),
                           locale=_LOCALE.get(language, language))


def previews(settings: Settings, language: str | None = None, *,
             at: datetime | None = None) -> list[Text]:
    """Every text in every language (or one), as a sample person would get it, about ``at``
    (a fixed sample instant unless given); the hearing reminder also as a number's first
    text, which says how to stop."""
    notices = settings.section("notices")
    sender = {"org": notices["organization"], "hotline": notices["hotline"]}
    at = at or datetime(2026, 12, 14, 15, 0, tzinfo=clock.zone("UTC"))
    rows = []
    for code in [language] if language else languages():
        sample = {"given": "Ana", "when": when(at, "America/Chicago", code), "days": 1,
                  "court": "Chicago Immigration Court", "tomorrow": True,
                  "place": "Chicago Field Office", "facility": "Broadview Processing Center"}
        rows += [render(kind, code, {**sender, **sample}) for kind in KINDS if kind != "stop"]
        rows.append(render("hearing-reminder", code, {**sender, **sample, "days": 7},
                           first=True))
    return rows


def _one_line(text: str) -> str:
    return " ".join(text.split())


@cache
def _environment(language: str) -> ImmutableSandboxedEnvironment:
    # Plain text, so not autoescaped: an escaped "&amp;" would reach the phone as typed.
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(resource("templates", "sms") / language),
        autoescape=False, undefined=StrictUndefined)
