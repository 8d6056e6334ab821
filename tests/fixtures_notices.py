"""Test data for letters and e-mails, built with the real verbs, and a real SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from babel.dates import get_day_names, get_month_names
from sqlalchemy import select

from tests.support import CASE
from workflow import resource
from workflow.core import config
from workflow.core.stages import Stage
from workflow.demo.data import FACILITIES as DEMO_FACILITIES
from workflow.intake.roster import import_class_list
from workflow.orders import orders
from workflow.people import tracking
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Facility

NOW = datetime(2025, 11, 20, 18, 0, tzinfo=UTC)  # where the `frozen` fixture stands
STAFF = Actor(operator="tester", source="cli")
HOSTILE_FAMILY = "<script>alert(1)</script>"
HOSTILE_GIVEN = "{{ 7*7 }}"
HOSTILE_OBLIGOR = "=cmd|' /C calc'!A0"

FACILITIES = (
    # code, name, city, state, field office, time zone
    ("BROADIL", "Broadview Processing Center", "Broadview", "IL", "Chicago", "America/Chicago"),
    ("BOONEKY", "Boone County Jail", "Burlington", "KY", "Chicago", "America/New_York"),
    ("NLAKEMI", "North Lake Processing Center", "Baldwin", "MI", "Detroit", "America/Detroit"),
    ("KROMEFL", "Krome North Service Processing Center", "Miami", "FL", "Miami",
     "America/New_York"),
    ("NOWHERE", "Unlisted County Jail", "Somewhere", "IL", None, None),
)

# a_number, family, given, country, language, facility, where they get to
PEOPLE = (
    ("012345678", "Núñez", "José", "Mexico", "Spanish", "BROADIL", "bond"),
    ("098765432", "García López", "Ana María", "Guatemala", "K'iche'", "KROMEFL", "locate"),
    ("023456789", "Pérez", "Luis", "Honduras", "español", "", "search"),
    ("034567890", HOSTILE_FAMILY, HOSTILE_GIVEN, "Canada", "English", "BOONEKY", "bond"),
    ("045678901", "Smith", "Mary", "Canada", "English", "BROADIL", "release"),
    ("056789012", "Ramírez", "Pedro", "El Salvador", "spa", "NLAKEMI", "post"),
    ("067890123", "Iñiguez", "Rosa", "Mexico", "es", "BROADIL", "exclude"),
    ("078901234", "Ávila", "Jorge", "Mexico", "es", "", "not-in-custody"),
    ("089012345", "Lopes", "João", "Brazil", "Portuguese", "NLAKEMI", "locate"),
    ("090123456", "Quiroga", "Elena", "Peru", "Spanish", "NOWHERE", "locate"),
)
OBLIGOR_EMAILS = {"012345678": "ana.nunez@example.org", "034567890": "evil@example.org"}

SPANISH_DEADLINE = ("viernes, 21 de noviembre de 2025, a las 12:00 p.m."
                    " (hora estándar central, hora del tribunal)")
ENGLISH_DEADLINE = "Friday, November 21, 2025, 12:00 PM (Central Standard Time, the court's time)"
_WORD = re.compile(r"[^\W\d_]{2,}(?:'[^\W\d_]+)?")
# Words both languages' letters rightly use: agencies, programs, and a few true cognates.
SHARED_WORDS = frozenset({"ATD", "CeBONDS", "ERO", "ICE", "USPS", "ice", "gov", "Director",
                          "Social", "federal", "particular", "obligor"})
# Names that stay as they are in any language: the organization, the payee ICE requires, the
# US terms the Spanish letter gives in brackets, and the data (facilities and their addresses).
PROPER_NAMES = ("Legal Aid Bond Project", "Immigration and Customs Enforcement", "money order",
                "cashier's check", *(f[1] for f in FACILITIES),
                *(part for f in DEMO_FACILITIES for part in (f.name, f.address)))


def template_words(language: str) -> set[str]:
    """Every word the client, obligor and demand templates of ``language`` write themselves:
    their text and their string literals (not dict keys or template paths), never the data."""
    words: set[str] = set()
    for path in resource("templates", "notices", language).glob("*.j2"):
        if "staff" in path.name:
            continue
        source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        literals = [text for tag in re.findall(r"\{[{%].*?[}%]\}", source, flags=re.S)
                    for text in re.findall(r'"([^"]*)"(?!\s*:)', tag) if "/" not in text]
        prose = re.sub(r"<[^>]+>", " ", re.sub(r"\{[{%].*?[}%]\}", " ", source, flags=re.S))
        words |= set(_WORD.findall(" ".join([prose, *literals])))
    return words


def _english_words() -> re.Pattern[str]:
    """What gives away English in a Spanish letter: any word of the English templates, English
    month and day names, and the English deadline's words (AM, PM, Standard Time)."""
    words = template_words("en") | set(_WORD.findall(ENGLISH_DEADLINE)) | {"AM"}
    words |= set(get_month_names("wide", locale="en").values())
    words |= set(get_day_names("wide", locale="en").values())
    words -= SHARED_WORDS
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True))
                      + r")\b")


ENGLISH_WORDS = _english_words()


def english_in(text: str) -> str | None:
    """The first English word in ``text`` outside proper names, if any."""
    for name in PROPER_NAMES:
        text = text.replace(name, "")
    match = ENGLISH_WORDS.search(text)
    return match.group(0) if match else None



@dataclass
class Letters:
    """The order under test: its people by A-number, and the database."""

    database: db.Database
    settings: config.Settings
    order_id: int
    ids: dict[str, int]

    def person_id(self, a_number: str) -> int:
        return self.ids[a_number]


def write_class_list(path: Path) -> Path:
    lines = ["A#,Last Name,First Name,Country of Birth,Language"]
    for a_number, family, given, country, language, _, _ in PEOPLE:
        lines.append(",".join(f'"{v}"' for v in (a_number, family, given, country, language)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _walk(session: Any, person: Detainee, facility: Facility | None, goal: str) -> None:
    common = {"actor": STAFF, "now": NOW}
    if goal == "exclude":
        tracking.exclude(session, person, reason="mandatory-detention", **common)
        return
    if goal == "not-in-custody":
        tracking.not_in_custody(session, person, **common)
        return
    tracking.search(session, person, **common)
    if goal == "search":
        return
    tracking.locate(session, person, facility, **common)  # type: ignore[arg-type]
    if goal == "locate":
        return
    if goal == "release":
        tracking.release(session, person, reason="recognizance", **common)
        return
    obligor = HOSTILE_OBLIGOR if person.family_name == HOSTILE_FAMILY else "Ana Núñez"
    tracking.set_bond(session, person, amount_cents=300_000 if goal == "post" else 150_000,
                      obligor_name=obligor, obligor_relationship="sister",
                      obligor_email=OBLIGOR_EMAILS.get(person.a_number), **common)
    if goal == "post":
        tracking.post_bond(session, person, receipt="I305-0001", method="cebonds", **common)


@pytest.fixture
def letters_order(database: db.Database, court_order: str, tmp_path: Path) -> Letters:
    """Ten people in every kind of stage, language and facility, moved with the real verbs."""
    with database.write() as session:
        for code, name, city, state, office, tz in FACILITIES:
            session.add(Facility(code=code, name=name, address="1 Main St", city=city,
                                 state=state, field_office=office, time_zone=tz))
        session.flush()
        order = orders.resolve_order(session, CASE)
        import_class_list(session, order, write_class_list(tmp_path / "class.csv"),
                          actor=Actor("tester", "import"), now=NOW)
        facilities = {f.code: f for f in session.scalars(select(Facility))}
        people = {p.a_number: p for p in session.scalars(select(Detainee))}
        for a_number, *_, code, goal in PEOPLE:
            _walk(session, people[a_number], facilities.get(code), goal)
        ids = {a: p.id for a, p in people.items()}
        order_id = order.id
    return Letters(database, database.settings, order_id, ids)


def expected_outstanding_by_office(database: db.Database,
                                   column: Any = Detainee.id) -> dict[str, set[Any]]:
    """The truth a demand letter must match, straight from the tables: field office → the
    ``column`` (id, or a_number) of everyone outstanding held in its facilities."""
    outstanding = {stage.value for stage in Stage if stage.value not in
                   ("RELEASED", "DEPARTED", "NOT_IN_CUSTODY", "EXCLUDED")}
    found: dict[str, set[Any]] = {}
    with database.read() as session:
        rows = session.execute(
            select(column, Facility.field_office).join(Facility)
            .where(Detainee.stage.in_(outstanding), Facility.field_office.is_not(None))
        ).all()
    for value, office in rows:
        found.setdefault(office, set()).add(value)
    return found


def a_numbers_in(text: str) -> list[str]:
    """The A-numbers a letter prints (``A012-345-678``), as stored (``012345678``)."""
    return [match.replace("-", "")[1:] for match in re.findall(r"\bA\d{3}-\d{3}-\d{3}\b", text)]


def order_of(session: Any, order_id: int) -> CourtOrder:
    return session.get(CourtOrder, order_id)


def pdf_text(path: Path) -> str:
    """The text of a PDF as pdftotext reads it, whitespace folded."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         check=True, timeout=120).stdout.decode()
    return out


def folded(text: str) -> str:
    return " ".join(text.split())


# --- a real SMTP server ------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Mailbox:
    """What the server received, and how it should misbehave."""

    messages: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address → reply, once each
    refuse_always: dict[str, str] = field(default_factory=dict)
    hold_data: threading.Event | None = None  # set by the handler when DATA arrived
    hold_rcpt: threading.Event | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


class Handler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        box = self.mailbox
        if address in box.refuse_always:
            return box.refuse_always[address]
        if address in box.refuse_rcpt:
            return box.refuse_rcpt.pop(address)
        if box.hold_rcpt is not None:
            box.hold_rcpt.set()
            await self._wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        box = self.mailbox
        box.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if box.hold_data is not None and not box.hold_data.is_set():
            box.hold_data.set()
            await self._wait()
        return "250 Message accepted for delivery"

    async def _wait(self) -> None:
        while not self.mailbox.release.is_set():
            await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


class SmtpServer:
    """aiosmtpd on 127.0.0.1: started and stopped by the test (an outage is a stopped server)."""

    def __init__(self, mailbox: Mailbox, port: int, **options: Any):
        self.mailbox, self.port, self.options = mailbox, port, options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(Handler(self.mailbox), hostname="127.0.0.1", port=self.port,
                                     **self.options)
        self.controller.start()

    def stop(self) -> None:
        self.mailbox.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(mailbox: Mailbox, smtp_port: int,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A running server; BONDTRACK_SMTP_PORT points the CLI at it."""
    monkeypatch.setenv("BONDTRACK_SMTP_PORT", str(smtp_port))
    server = SmtpServer(mailbox, smtp_port)
    server.start()
    yield server
    server.stop()


def with_smtp(settings: config.Settings, port: int, **smtp: Any) -> config.Settings:
    """``settings`` with the [smtp] section pointed at ``port`` (and any other key changed)."""
    sections = dict(settings.sections)
    sections["smtp"] = MappingProxyType({**settings.section("smtp"), "port": port, **smtp})
    return dataclasses.replace(settings, sections=MappingProxyType(sections))
