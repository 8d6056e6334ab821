"""ICE's Online Detainee Locator, asked by a program: the interface, its one HTTP client, the
[locator] settings, countries as the locator spells them, and the polite loop over people.

The public locator (``locator.ice.gov/odls/#/search``) is a single-page app over a small JSON
API. What this client assumes of it comes from advocates' tools that drive it, not from a
live session (the site was not reachable when this was built; docs/locator.md):

- ``GET  {base}/assets/i18n/en-lang.json``: the app's English strings, among them the
  country list (code → name as the locator shows it, e.g. ``MEXICO``);
- ``POST {base}/api/anumber`` (form ``a_number``: nine digits, ``country``: the code):
  ``{"success": true, "result": [{"current_detention_location": {"id", "name"}, ...}]}``,
  an empty ``result`` for "zero (0) matching records";
- ``POST {base}/api/dtf`` (form ``id``): the facility's page: ``name``, ``address``
  (``line1``..``line3``, ``city``, ``stateCode``, ``zipCode``), its ERO field office.

Nothing here logs, raises or returns an A-number: answers carry what the site said about the
facility and, for a failure, only its kind (``HTTP 429``, ``timed out``).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any, Literal, Protocol

import httpx
import pycountry

from workflow.core import clock as core_clock
from workflow.core.config import Settings
from workflow.core.errors import ConfigError, debugging, public
from workflow.core.identity import normalize_a_number

log = logging.getLogger(__name__)

AnswerKind = Literal["found", "not-found", "in-custody-no-facility", "released", "blocked",
                     "error"]
COUNTRY_LIST_PATH = "/assets/i18n/en-lang.json"
A_NUMBER_PATH = "/api/anumber"
FACILITY_PATH = "/api/dtf"
MIN_BLOCK_PAUSE_MINUTES = 30.0

# What a challenge or block page says (a WAF's, a CDN's, a captcha's), read in lower case.
_BLOCK_MARKERS = ("captcha", "verify you are human", "are you a robot", "unusual traffic",
                  "access denied", "request rejected", "the requested url was rejected",
                  "rate limit", "too many requests", "checking your browser")
# The app's own words for no match, and for its internal-error page.
_ZERO_MARKERS = ("zero (0) matching records", "0 search results")
_ERROR_MARKERS = ("an internal error has occurred", "internal error")


@dataclass(frozen=True)
class Answer:
    """What the locator said about one person: the facility as the site shows it when found;
    for ``blocked`` and ``error`` only why (never a person's data)."""

    kind: AnswerKind
    facility: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    field_office: str | None = None
    status: str | None = None  # the custody status as the site shows it, when it shows one
    detail: str = ""
    retryable: bool = True  # False: asking again cannot help (a bad A-number or country)
    retry_after_seconds: float | None = None  # a block's Retry-After, when the site sent one

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Locator(Protocol):
    """Anything that answers a look-up by A-number (nine digits) and country of birth."""

    def look_up(self, a_number: str, country: str) -> Answer: ...


# -- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """How politely people are looked up."""

    min_interval_seconds: float = 10.0
    max_attempts: int = 4
    block_pause_minutes: float = MIN_BLOCK_PAUSE_MINUTES

    def __post_init__(self) -> None:
        if self.min_interval_seconds < 0:
            raise ConfigError("[locator] min_interval_seconds must not be negative")
        if self.max_attempts < 1:
            raise ConfigError("[locator] max_attempts must be at least 1")
        if self.block_pause_minutes < MIN_BLOCK_PAUSE_MINUTES:
            raise ConfigError("[locator] block_pause_minutes must be at least 30")


@dataclass(frozen=True)
class LocatorSettings:
    """The automated client's part of [locator], checked (the desk's cadence is
    ``people.locating.Cadence``)."""

    auto: bool
    base_url: str
    user_agent_contact: str
    timeout_seconds: float
    pace: Pace

    @classmethod
    def from_settings(cls, settings: Settings) -> LocatorSettings:
        section = settings.section("locator")
        base_url = str(section["base_url"]).strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("[locator] base_url must be an http:// or https:// address")
        if section["timeout_seconds"] <= 0:
            raise ConfigError("[locator] timeout_seconds must be more than 0")
        pace = Pace(float(section["min_interval_seconds"]), int(section["max_attempts"]),
                    float(section["block_pause_minutes"]))
        return cls(bool(section["auto"]), base_url, str(section["user_agent_contact"]).strip(),
                   float(section["timeout_seconds"]), pace)

    @property
    def user_agent(self) -> str:
        return user_agent(self.user_agent_contact)


def user_agent(contact: str = "") -> str:
    """``bondtrack/<version> (+<contact>)``: the tool names itself and who answers for it."""
    try:
        version = metadata.version("bondtrack")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"bondtrack/{version}" + (f" (+{contact})" if contact else "")


# -- countries -------------------------------------------------------------------------------

# Where the locator's list is known (from its own pages and advocates' tools) to spell a
# country otherwise than ISO 3166's common or short name. The client also tries every
# ISO name of the country against the list the site serves.
_LOCATOR_SPELLING = {
    "BO": "BOLIVIA", "CD": "CONGO, DEMOCRATIC REPUBLIC OF THE", "CG": "CONGO",
    "CI": "IVORY COAST", "CV": "CAPE VERDE", "CZ": "CZECH REPUBLIC", "FM": "MICRONESIA",
    "GB": "UNITED KINGDOM", "IR": "IRAN", "KP": "KOREA, NORTH", "KR": "KOREA, SOUTH",
    "LA": "LAOS", "MD": "MOLDOVA", "MK": "MACEDONIA", "MM": "BURMA", "PS": "PALESTINE",
    "RU": "RUSSIA", "SY": "SYRIA", "SZ": "SWAZILAND", "TR": "TURKEY", "TW": "TAIWAN",
    "TZ": "TANZANIA", "VA": "HOLY SEE", "VE": "VENEZUELA", "VN": "VIETNAM",
}


def _ascii_upper(text: str) -> str:
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    return " ".join(bare.upper().split())


def _country(text: str) -> Any:
    """The ISO 3166 country ``text`` names: a code, a name (any ISO one, accents and case
    ignored) or a spelling the locator uses; ValueError when none or several fit."""
    wanted = _ascii_upper(text)
    if not wanted:
        raise ValueError("no country of birth")
    for code, spelling in _LOCATOR_SPELLING.items():
        if wanted == spelling:
            return pycountry.countries.get(alpha_2=code)
    try:
        return pycountry.countries.lookup(wanted)
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(wanted)
    except LookupError:
        found = []
    if len(found) != 1:
        raise ValueError("not a country ISO 3166 knows (or it fits several)") from None
    return found[0]


def country_spellings(text: str) -> list[str]:
    """Every way the locator may spell the country ``text`` names, the likeliest first."""
    country = _country(text)
    names = [_LOCATOR_SPELLING.get(country.alpha_2)]
    names += [getattr(country, key, None) for key in ("common_name", "name", "official_name")]
    spellings: list[str] = []
    for name in names:
        if name and (spelled := _ascii_upper(name)) not in spellings:
            spellings.append(spelled)
    return spellings


def locator_country(text: str) -> str:
    """The country of birth as the locator lists it (``México`` → ``MEXICO``, ``Viet Nam`` →
    ``VIETNAM``); ValueError naming the problem, not the value."""
    return country_spellings(text)[0]


# -- the HTTP client -----------------------------------------------------------------------------


class _Stop(Exception):
    """A request ended in an answer other than data (blocked, not found, an error)."""

    def __init__(self, answer: Answer):
        super().__init__(answer.kind)
        self.answer = answer


class OdlsClient:
    """The locator's JSON API over HTTP. One instance per run: it keeps one connection pool
    and the country list it read once."""

    def __init__(self, base_url: str, *, user_agent: str, timeout_seconds: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout_seconds, transport=transport, follow_redirects=True,
            headers={"User-Agent": user_agent, "Accept": "application/json, text/plain, */*",
                     "Referer": f"{self.base_url}/"})
        self._timeout = timeout_seconds
        self._countries: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, setup: LocatorSettings) -> OdlsClient:
        return cls(setup.base_url, user_agent=setup.user_agent,
                   timeout_seconds=setup.timeout_seconds)

    def __enter__(self) -> OdlsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def look_up(self, a_number: str, country: str) -> Answer:
        """Ask the locator where the person with this A-number and country of birth is held."""
        try:
            digits = normalize_a_number(a_number)
        except ValueError as exc:
            return Answer("error", detail=f"A-number: {exc}", retryable=False)
        try:
            spellings = country_spellings(country)
        except ValueError as exc:
            return Answer("error", detail=f"country of birth: {exc}", retryable=False)
        try:
            code = self._country_code(spellings)
            found = self._records(self._post(A_NUMBER_PATH, {"a_number": digits,
                                                             "country": code}))
            if not found:
                return Answer("not-found", detail="zero (0) matching records")
            return self._answer(found[0])
        except _Stop as stop:
            return stop.answer

    # Each step below raises _Stop with the answer when the site did not give data.

    def _country_code(self, spellings: list[str]) -> str:
        if self._countries is None:
            problem = "not a list of names"
            response = self._request("GET", COUNTRY_LIST_PATH)  # no answer, or a block: as is
            try:
                strings = self._json(response)
            except _Stop as stop:
                if stop.answer.kind == "blocked":
                    raise
                strings, problem = None, stop.answer.detail  # says nothing about the person
            if not isinstance(strings, dict):
                raise _Stop(Answer("error", detail=f"the locator's country list could not be"
                                                   f" read: {problem}"))
            self._countries = {}
            for code, name in strings.items():
                if isinstance(name, str):
                    self._countries.setdefault(_ascii_upper(name), str(code))
        for spelled in spellings:
            if spelled in self._countries:
                return self._countries[spelled]
        raise _Stop(Answer("error", detail="the locator lists no such country of birth",
                           retryable=False))

    def _answer(self, record: Mapping[str, Any]) -> Answer:
        status = _text(record.get("status") or record.get("custody_status"))
        place = record.get("current_detention_location")
        place = place if isinstance(place, Mapping) else {}
        name = _text(place.get("name"))
        if not (name or place.get("id")):
            released = status is not None and "released" in status.lower()
            return Answer("released" if released else "in-custody-no-facility", status=status)
        state = _text(record.get("state_code"))
        if place.get("id") in (None, ""):
            return Answer("found", facility=name, state=state, status=status)
        try:
            facilities = self._records(self._post(FACILITY_PATH, {"id": str(place["id"])}))
        except _Stop as stop:
            if stop.answer.kind == "blocked":
                raise
            facilities = []
        if not facilities:
            return Answer("found" if name else "in-custody-no-facility", facility=name,
                          state=state, status=status,
                          detail="the facility's page could not be read")
        return _facility_answer(facilities[0], name, state, status)

    def _post(self, path: str, form: dict[str, str]) -> Any:
        return self._json(self._request("POST", path, data=form))

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TimeoutException:
            raise _Stop(Answer("error", detail=f"timed out after {self._timeout:g} s")) from None
        except httpx.HTTPError as exc:
            raise _Stop(Answer("error", detail=f"could not reach the locator"
                                               f" ({type(exc).__name__})")) from None
        if response.status_code in (403, 429):
            raise _Stop(Answer("blocked", detail=f"HTTP {response.status_code}",
                               retry_after_seconds=_retry_after(response)))
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            payload = response.json()
        except ValueError:
            raise _Stop(_page_answer(response)) from None
        if response.status_code >= 400:
            raise _Stop(Answer("error", detail=f"HTTP {response.status_code}"))
        return payload

    @staticmethod
    def _records(payload: Any) -> list[Mapping[str, Any]]:
        if not isinstance(payload, Mapping):
            raise _Stop(Answer("error", detail="the locator's answer is not a record"))
        if payload.get("success") is False:
            raise _Stop(Answer("error", detail="the locator reported a failure"))
        result = payload.get("result")
        if result is None or result == {}:
            return []
        if isinstance(result, Mapping):
            result = [result]
        if not isinstance(result, list):
            raise _Stop(Answer("error", detail="the locator's answer is not a list of records"))
        return [record for record in result if isinstance(record, Mapping)]


def _page_answer(response: httpx.Response) -> Answer:
    """What a page (not JSON) says: a block, the app's no-match text, its error page."""
    text = response.text.lower()
    if any(marker in text for marker in _BLOCK_MARKERS):
        return Answer("blocked", detail=f"a challenge or block page (HTTP {response.status_code})")
    if any(marker in text for marker in _ZERO_MARKERS):
        return Answer("not-found", detail="zero (0) matching records")
    if not text.strip():
        return Answer("error", detail=f"an empty page (HTTP {response.status_code})")
    if any(marker in text for marker in _ERROR_MARKERS):
        return Answer("error", detail=f"the locator's internal error page"
                                      f" (HTTP {response.status_code})")
    return Answer("error", detail=f"an unexpected page (HTTP {response.status_code})")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the site asks us to wait (``Retry-After``: seconds, or a date read against the
    answer's own ``Date``, so neither clock's error counts); None when it does not say."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        seconds = (parsedate_to_datetime(value)
                   - parsedate_to_datetime(response.headers.get("Date", ""))).total_seconds()
    except (TypeError, ValueError):  # not a date, or one with a zone and one without
        return None
    return max(0.0, seconds)


def _facility_answer(record: Mapping[str, Any], name: str | None, state: str | None,
                     status: str | None) -> Answer:
    address = record.get("address")
    address = address if isinstance(address, Mapping) else {}
    street = ", ".join(line for key in ("line1", "line2", "line3")
                       if (line := _text(address.get(key))))
    office: Any = next((record[key] for key in ("ero_office", "eroOffice", "field_office",
                                                "fieldOffice", "ero") if record.get(key)), None)
    if isinstance(office, Mapping):
        office = office.get("name") or office.get("officeName")
    return Answer("found", facility=_text(record.get("name")) or name, address=street or None,
                  city=_text(address.get("city")),
                  state=_text(address.get("stateCode") or address.get("state")) or state,
                  zip=_text(address.get("zipCode") or address.get("zip")),
                  field_office=_text(office), status=status)


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


# -- the polite loop -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """A person to look up: ``handle`` is the caller's (opaque to the loop, never logged)."""

    handle: Hashable
    a_number: str
    country: str

    def __repr__(self) -> str:  # never an A-number in a log line or a traceback
        return f"Wanted(handle={self.handle!r})"


@dataclass
class RunReport:
    """What a run did, in counts only."""

    answers: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    blocks: int = 0
    paused_seconds: float = 0.0
    stopped: Literal["blocked", "time"] | None = None
    left: int = 0  # people not looked up because the run stopped

    @property
    def looked_up(self) -> int:
        return sum(self.answers.values())


def look_up_politely(locator: Locator, people: Iterable[Wanted],
                     record: Callable[[Wanted, Answer], None], *, pace: Pace,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], datetime] = core_clock.now,
                     stop_at: datetime | None = None) -> RunReport:
    """Look each person up, one at a time, and ``record`` each final answer.

    At least ``pace.min_interval_seconds`` between two requests; a failure (``error``) is
    asked again, at most ``pace.max_attempts`` times in all; a challenge or block pauses
    every look-up ``pace.block_pause_minutes`` (or the site's longer ``Retry-After``) and then
    asks again (it counts as an attempt).
    A person still blocked after the last attempt is recorded as ``blocked`` and the run
    stops: the people left are not asked (``RunReport.left``). Not found is recorded as it
    came: one empty answer proves nothing, and asking again at once would not be polite.
    The run also stops before a person, or a pause, would pass ``stop_at``. What ``record``
    raises ends the run (the answers recorded before it stay recorded).
    """
    report = RunReport()
    interval = timedelta(seconds=pace.min_interval_seconds)
    pause = timedelta(minutes=pace.block_pause_minutes)
    last_request: datetime | None = None
    queue = iter(people)

    def wait_until(instant: datetime) -> None:
        seconds = (instant - clock()).total_seconds()
        if seconds > 0:
            sleep(seconds)

    for person in queue:
        if stop_at is not None and max(clock(), (last_request or clock()) + interval) >= stop_at:
            report.stopped, report.left = "time", 1 + sum(1 for _ in queue)
            break
        attempts = 0
        while True:
            if last_request is not None:
                wait_until(last_request + interval)
            last_request = clock()
            answer = _ask(locator, person)
            attempts += 1
            report.requests += 1
            if answer.kind == "blocked":
                report.blocks += 1
                log.warning("the locator answered with a challenge or block (%s)", answer.detail)
                resume = clock() + max(pause, timedelta(seconds=answer.retry_after_seconds or 0))
                if attempts < pace.max_attempts and (stop_at is None or resume < stop_at):
                    log.warning("pausing look-ups for %g minutes",
                                (resume - clock()).total_seconds() / 60)
                    started = clock()
                    wait_until(resume)
                    report.paused_seconds += (clock() - started).total_seconds()
                    continue
                report.stopped = "blocked"
            elif answer.kind == "error" and answer.retryable and attempts < pace.max_attempts:
                log.info("the locator failed (%s); asking again", answer.detail)
                continue
            break
        report.answers[answer.kind] = report.answers.get(answer.kind, 0) + 1
        record(person, answer)
        if report.stopped:
            report.left = sum(1 for _ in queue)
            break
    log.info("locator run: %d looked up %s, %d requests, %d blocks%s", report.looked_up,
             dict(sorted(report.answers.items())), report.requests, report.blocks,
             f", stopped ({report.stopped}), {report.left} left" if report.stopped else "")
    return report


def _ask(locator: Locator, person: Wanted) -> Answer:
    """One request; whatever a client raises is an error answer that quotes no value."""
    try:
        return locator.look_up(person.a_number, person.country)
    except Exception as exc:  # a client's bug must not end the run or leak what it held
        if debugging():
            raise
        return Answer("error", detail=str(public(exc, "the locator client")))
