"""A replica of ICE's Online Detainee Locator on 127.0.0.1, built from how advocates' tools
drive the live site (the live site was not reachable; docs/locator.md), and settings that
point bondtrack at it.

What it serves, under ``/odls``: the app's shell (``/odls/``, whose ``#/search`` route is the
search form), its English strings with the country list (``/odls/assets/i18n/en-lang.json``:
code → the name the locator shows), ``POST /odls/api/anumber`` (form ``a_number``: nine
digits, ``country``: a code from that list) answering ``{"success": true, "result": [...]}``
with the person's ``current_detention_location`` (``id``, ``name``), and ``POST
/odls/api/dtf`` (form ``id``) answering the facility's page: name, address lines, city,
state, ZIP and its ERO field office.

How it answers each A-number is up to the test (``site.answer(a_number, *scripts)``, one
script per request in turn, the last one kept): ``found:<facility id>`` (``found-unnamed:<id>``:
the record names the facility only by its id), ``zero`` (an empty result, the locator's "zero
(0) matching records"), ``zero-page`` (the app's no-match text as a page), ``released``,
``no-facility``, ``challenge`` (a captcha page, HTTP 200), ``403``, ``429``,
``429:<Retry-After>``, ``internal`` (the locator's internal-error page, HTTP 500), ``timeout``
(no answer until the client gives up). An A-number it was not told about is not found.

What it does not reproduce: the app's HTML and scripts beyond a shell, searches by name,
cookies, or any rate limit of its own.
"""

from __future__ import annotations

import json
import re
import select
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

# Code → the name as the locator lists it (a few; the live list has about 250), among the
# app's other strings, as its i18n file has them.
COUNTRIES = {"MX": "MEXICO", "GT": "GUATEMALA", "SV": "EL SALVADOR", "HN": "HONDURAS",
             "VN": "VIETNAM", "KS": "KOREA, SOUTH", "BM": "BURMA", "VE": "VENEZUELA"}
STRINGS = {"SEARCH_TITLE": "Online Detainee Locator System", "COUNTRY_OF_BIRTH":
           "Country of Birth", "A_NUMBER": "Alien Registration Number", **COUNTRIES}

FACILITIES: dict[str, dict[str, Any]] = {
    "101": {"name": "BROADVIEW SERVICE STAGING", "address": {
        "line1": "1930 BEACH STREET", "line2": None, "line3": None, "city": "BROADVIEW",
        "stateCode": "IL", "zipCode": "60155"},
        "phone": {"areaCode": "708", "exchange": "343", "number": "0404"},
        "ero_office": {"name": "CHICAGO FIELD OFFICE", "phone": "(312) 347-2400"}},
    "202": {"name": "KROME NORTH SERVICE PROCESSING CENTER", "address": {
        "line1": "18201 SW 12TH STREET", "line2": "BUILDING 4", "city": "MIAMI",
        "stateCode": "FL", "zipCode": "33194"},
        "ero_office": {"name": "MIAMI FIELD OFFICE"}},
}

ZERO_TEXT = ("Your search has returned zero (0) matching records. Please re-check the search"
             " terms you entered to ensure they are correct and try your query again.")
CHALLENGE_PAGE = ("<html><head><title>Request verification</title></head><body><h1>Please"
                  " verify you are human</h1><div class='g-recaptcha'></div>"
                  "<p>Complete the CAPTCHA to continue.</p></body></html>")
INTERNAL_PAGE = ("<html><body><h2>Internal Error</h2><p>Our apologies. An internal error has"
                 " occurred. This error has been logged and we are working to fix it. Please"
                 " try your request again later.</p><a href='#/search'>GO TO LOCATOR HOME /"
                 " SEARCH &gt;</a></body></html>")
SHELL = ("<!doctype html><html><head><title>Online Detainee Locator System</title>"
         "<base href='/odls/'></head><body><app-root></app-root></body></html>")
_A_NUMBER = re.compile(r"[0-9]{9}")


@dataclass
class Request:
    method: str
    path: str
    form: dict[str, str]
    user_agent: str
    at: float


@dataclass
class Site:
    """The replica's state: what it was asked, and how it answers each A-number."""

    url: str = ""  # the locator's base URL, ``http://127.0.0.1:<port>/odls``
    strings_moved: bool = False  # the strings file gone: the app's shell instead, as SPA hosts do
    requests: list[Request] = field(default_factory=list)
    scripts: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, a_number: str, *scripts: str) -> None:
        """Answer the next requests for ``a_number`` with ``scripts``, one each, the last kept."""
        with self.lock:
            self.scripts[a_number] = list(scripts)

    def asked(self, path: str = "/odls/api/anumber") -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.scripts.clear()
            self.strings_moved = False

    def _next(self, a_number: str) -> str:
        with self.lock:
            queue = self.scripts.get(a_number)
            if not queue:
                return "zero"
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._note({})
            if self.path in ("/odls", "/odls/"):
                return self._send(200, SHELL, "text/html")
            if self.path == "/odls/assets/i18n/en-lang.json":
                if site.strings_moved:
                    return self._send(200, SHELL, "text/html")
                return self._json(200, STRINGS)
            return self._send(404, "<html><body>Not Found</body></html>", "text/html")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            self._note(form)
            if self.path == "/odls/api/anumber":
                return self._search(form)
            if self.path == "/odls/api/dtf":
                facility = FACILITIES.get(form.get("id", ""))
                return self._json(200, {"success": True, "result": [facility] if facility
                                        else []})
            return self._send(404, "<html><body>Not Found</body></html>", "text/html")

        def _search(self, form: dict[str, str]) -> None:
            a_number, country = form.get("a_number", ""), form.get("country", "")
            if not _A_NUMBER.fullmatch(a_number) or country not in COUNTRIES:
                return self._json(400, {"success": False, "message": "Invalid search"})
            script = site._next(a_number)
            person = {"a_number": a_number, "country_of_birth": COUNTRIES[country],
                      "status": "In ICE Custody"}
            if script.startswith(("found:", "found-unnamed:")):
                facility_id = script.split(":", 1)[1]
                known = FACILITIES.get(facility_id)  # an unknown id: its page is empty
                place = {"id": facility_id,
                         "name": known["name"] if known else f"FACILITY {facility_id}"}
                if script.startswith("found-unnamed:"):
                    place["name"] = ""
                return self._json(200, {"success": True, "result": [
                    {**person, "current_detention_location": place,
                     "state_code": known["address"]["stateCode"] if known else "TX"}]})
            if script == "released":
                return self._json(200, {"success": True, "result": [
                    {**person, "status": "Released", "current_detention_location": None}]})
            if script == "no-facility":
                return self._json(200, {"success": True, "result": [
                    {**person, "current_detention_location": {}}]})
            if script == "zero":
                return self._json(200, {"success": True, "result": []})
            if script == "zero-page":
                return self._send(200, f"<html><body><p>{ZERO_TEXT}</p></body></html>",
                                  "text/html")
            if script == "challenge":
                return self._send(200, CHALLENGE_PAGE, "text/html")
            if script in ("403", "429"):
                return self._send(int(script), "<html><body><h1>Access Denied</h1></body>"
                                  "</html>", "text/html")
            if script.startswith("429:"):  # 429 with a Retry-After (seconds, or a date)
                return self._send(429, "<html><body>Too Many Requests</body></html>",
                                  "text/html", {"Retry-After": script.split(":", 1)[1]})
            if script == "internal":
                return self._send(500, INTERNAL_PAGE, "text/html")
            if script == "timeout":  # no answer until the client hangs up (at most a minute)
                select.select([self.connection], [], [], 60)
                return None
            raise AssertionError(f"unknown script {script!r}")

        def _note(self, form: dict[str, str]) -> None:
            with site.lock:
                site.requests.append(Request(self.command, self.path, form,
                                             self.headers.get("User-Agent", ""),
                                             time.monotonic()))

        def _json(self, code: int, payload: Any) -> None:
            self._send(code, json.dumps(payload), "application/json")

        def _send(self, code: int, text: str, kind: str,
                  headers: dict[str, str] | None = None) -> None:
            data = text.encode()
            try:
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped waiting (a timeout test)

    return Handler


@pytest.fixture(scope="session")
def _locator_server() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}/odls"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def locator_site(_locator_server: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The replica, reset, with BONDTRACK_LOCATOR_BASE_URL pointing at it."""
    _locator_server.reset()
    monkeypatch.setenv("BONDTRACK_LOCATOR_BASE_URL", _locator_server.url)
    # Ample: a loaded machine answers in seconds. A test of timing out sets its own.
    monkeypatch.setenv("BONDTRACK_LOCATOR_TIMEOUT_SECONDS", "20")
    yield _locator_server
    _locator_server.reset()
