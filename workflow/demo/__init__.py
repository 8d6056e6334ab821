"""A synthetic order like the real one, walked through the real code to the eve of the deadline.

The demo lives in its own home (never the user's data) and is rebuilt on each
run: the class list is written as a CSV and imported, then every person is
moved with the same verbs staff use, at plausible times, up to the demo's
now: the clock's now, with the deadline tomorrow at noon court time, so the browser, the
CLI and the dashboard all show a live order on the eve of its deadline.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actions import orders as ordering
from workflow.actions import people as persons
from workflow.actions import places, uploads
from workflow.core import clock, config
from workflow.core.errors import BondtrackError
from workflow.core.files import ensure_private_dir, private_file
from workflow.demo.data import FACILITIES, FacilityInfo, pick_facility, synthetic_person
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Facility
from workflow.views import reports

CASE = "1:18-cv-03757"
TIME_ZONE = "America/Chicago"
# An instant tests build the demo at: 09:00 CST on Thu 20 Nov 2025, so the deadline is
# noon on Fri 21 Nov (T-27h), the order dated 12 Nov and the class list imported on 13 Nov.
NOW = datetime(2025, 11, 20, 15, 0, tzinfo=UTC)
MARKER = ".bondtrack-demo"
_MARKED = "built by `bondtrack demo`; rebuilt on every run\n"
ACTOR = Actor(operator="demo", source="demo")

Say = Callable[[str], None]
Step = Callable[[db.Database, config.Settings, int, datetime, Say], None]


@dataclass(frozen=True)
class Timeline:
    """The demo's dates around its now, as a real order's would lie."""

    now: datetime
    deadline_day: date  # the deadline is noon on this day, court time: tomorrow
    order_date: date  # nine days before the deadline
    imported_at: datetime  # 09:00 court time a week before the deadline's eve

    @property
    def deadline(self) -> datetime:
        return at_court_time(self.deadline_day, time(12, 0))


def at_court_time(day: date, wall: time) -> datetime:
    """``wall`` on ``day`` in the court's zone, as UTC: built on the court's own calendar,
    so noon stays noon across a change of daylight saving time."""
    return datetime.combine(day, wall, tzinfo=clock.zone(TIME_ZONE)).astimezone(UTC)


def timeline(now: datetime) -> Timeline:
    """The demo's dates for ``now``: the deadline tomorrow (court time) at noon."""
    deadline_day = clock.local(now, TIME_ZONE).date() + timedelta(days=1)
    return Timeline(now=now, deadline_day=deadline_day,
                    order_date=deadline_day - timedelta(days=9),
                    imported_at=at_court_time(deadline_day - timedelta(days=8), time(9, 0)))


@dataclass(frozen=True)
class DemoResult:
    home: Path
    status: dict[str, Any]


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """Beside the home in use (``BONDTRACK_HOME``, the configuration's, or the default data
    home): its name with ``-demo``; the home in use itself when it is a demo home."""
    home = config.load(os.environ if environ is None else environ).home
    return home if is_demo_home(home) else home.with_name(f"{home.name}-demo")


def is_demo_home(home: Path) -> bool:
    """Whether ``home`` is a folder the demo made: a real folder holding the demo's marker."""
    marker = home / MARKER
    return (home.is_dir() and not home.is_symlink() and marker.is_file()
            and not marker.is_symlink() and marker.read_text(errors="replace") == _MARKED)


def run(*, people: int = 615, seed: int = 2025, home: Path | None = None,
        say: Say = print, now: datetime | None = None) -> DemoResult:
    """Build the demo in ``home`` around ``now`` (the clock's) and return its status then."""
    now = now or clock.now()
    home = prepare_home(home or default_home())
    settings = config.load({**os.environ, "BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": "",
                            "BONDTRACK_OPERATOR": ACTOR.operator})
    database = db.connect(settings)
    try:
        db.upgrade(database)
        say(f"building a demo order of {people} synthetic people in {home}")
        order_id = build(database, home, people=people, seed=seed, now=now)
        for step in _steps():
            step(database, settings, order_id, now, say)
        with database.read() as session:
            status = reports.status(session, session.get_one(CourtOrder, order_id), now)
    finally:
        database.dispose()
    return DemoResult(home=home, status=status)


def prepare_home(home: Path) -> Path:
    """An empty private home; only a folder the demo made itself (its marker says so) is
    removed first, anything else there is refused and left as it is."""
    if home.exists() or home.is_symlink():
        if not is_demo_home(home):
            raise BondtrackError(
                f"{home} exists and is not a bondtrack demo home; choose another --home")
        shutil.rmtree(home)
    ensure_private_dir(home)
    (home / MARKER).write_text(_MARKED)
    return home


def build(database: db.Database, home: Path, *, people: int, seed: int, now: datetime) -> int:
    """Add the order and facilities, import a class list, and move everyone up to ``now``;
    the deadline is noon tomorrow, court time."""
    dates = timeline(now)
    rng = random.Random(seed)
    persons = [synthetic_person(rng, index) for index in range(people)]
    reported = {str(p["a_number"]): pick_facility(rng) for p in persons if rng.random() < 0.7}
    class_list = write_class_list(home / "class-list.csv", persons, reported)
    settings = database.settings
    _add_facilities(database, dates.imported_at)
    ordering.add_order(
        database, settings, case_number=CASE, court="N.D. Ill.", judge="Jeffrey I. Cummings",
        deadline=f"{dates.deadline_day} 12:00", time_zone=TIME_ZONE, order_date=dates.order_date,
        title="Castañon Nava v. DHS: release on bond of people arrested without warrants",
        actor=ACTOR, now=dates.imported_at,
    )
    uploads.import_class_list(database, settings, CASE, class_list,
                              actor=Actor("demo", "import"), now=dates.imported_at)
    with database.write() as session:
        order = ordering.resolve(session, CASE)
        facilities = {f.code: f for f in session.scalars(select(Facility))}
        detainees = session.scalars(
            select(Detainee).where(Detainee.order_id == order.id).order_by(Detainee.id)
        )
        for detainee in detainees:
            where = reported.get(detainee.a_number) or pick_facility(rng)
            _walk(_Mover(session, detainee, settings, now), rng, detainee, facilities, where,
                  dates)
        return order.id


def write_class_list(path: Path, persons: list[dict[str, Any]],
                     reported: Mapping[str, FacilityInfo]) -> Path:
    """The list as the government might send it: its own headers, US dates, CRLF."""
    private_file(path)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["A-Number", "Last Name", "First Name", "DOB", "Country of Birth",
                         "Language", "Facility Code", "Facility Name", "Phone", "Email"])
        for p in persons:
            facility = reported.get(p["a_number"])
            dob = p["date_of_birth"]
            writer.writerow([
                p["a_number"], p["family_name"], p["given_name"],
                f"{dob.month}/{dob.day}/{dob.year}", p["country_of_birth"], p["language"],
                facility.code if facility else "", facility.name if facility else "",
                p["phone"] or "", p["email"] or "",
            ])
    return path


def _add_facilities(database: db.Database, at: datetime) -> None:
    """The shipped directory, as `bondtrack init` loads it, with the demo's fictional phones."""
    places.sync_directory(database, actor=ACTOR, now=at)
    for info in FACILITIES:
        places.edit_facility(database, info.code, {"phone": info.phone}, actor=ACTOR, now=at)


@dataclass
class _Mover:
    """One person's moves through the one door, with the text fields staff would type."""

    session: Session
    detainee: Detainee
    settings: config.Settings
    now: datetime

    def __call__(self, move: str, at: datetime, facility: Facility | None = None,
                 **fields: str) -> None:
        persons.move_in(self.session, self.detainee, move, {"at": at.isoformat(), **fields},
                        actor=ACTOR, now=self.now, settings=self.settings, facility=facility)


# How far each person has got by the eve of the deadline (shares of 100).
_FATES = {
    "intake": 2, "excluded": 3, "not-in-custody": 3, "departed": 2, "locating": 9, "located": 7,
    "bond-set": 15, "bond-posted": 6, "released-no-bond": 5, "released": 48,
}


def _walk(move: _Mover, rng: random.Random, detainee: Detainee,
          facilities: Mapping[str, Facility], where: FacilityInfo, dates: Timeline) -> None:
    """Move one person toward their fate at plausible times; every step happens before now."""
    now = dates.now
    fate = rng.choices(list(_FATES), weights=list(_FATES.values()))[0]
    steps = iter(_schedule(rng, dates.imported_at, now))
    t = next(steps)
    if fate == "intake":
        return
    if fate == "excluded":
        move("exclude", t, reason=rng.choice(["mandatory-detention", "security-threat"]),
             note="decided by counsel")
        return
    if fate == "not-in-custody":
        move("not-in-custody", t, reason="released before the order")
        return
    move("search", t)
    if fate == "locating":
        return
    t = next(steps)
    if fate == "departed":
        move("depart", t, reason="removed")
        return
    move("locate", t, facilities[where.code])
    other = pick_facility(rng)
    if rng.random() < 0.06 and other.code != where.code:
        move("transfer", next(steps), facilities[other.code])
        move("locate", next(steps), facilities[other.code])
    if fate == "located":
        return
    t = next(steps)
    if fate == "released-no-bond":
        move("release", t, reason="released on recognizance")
        return
    amount = rng.choices([150_000, 300_000, 500_000], weights=[88, 8, 4])[0]
    move("bond", t, amount=f"{amount / 100:.2f}",
         obligor=f"{rng.choice(['Ana', 'Luis', 'Rosa', 'Carlos', 'Elena', 'Jorge'])} "
                 f"{detainee.family_name.split()[0]}",
         relationship=rng.choice(["spouse", "sibling", "parent", "cousin", "sponsor"]),
         obligor_phone=f"+1 773-555-{rng.randrange(10000):04d}")
    if fate == "bond-set":
        return
    # Cash bonds are taken in office hours at the ERO office, in the facility's zone.
    posted = min(_posting_window(next(steps), where.time_zone), now)
    move("post", posted, receipt=f"I305-{detainee.id:06d}",
         method=rng.choice(["cebonds", "cebonds", "money-order", "cashier-check"]))
    if fate == "released":
        move("release", max(next(steps), posted))


def _schedule(rng: random.Random, imported_at: datetime, now: datetime) -> list[datetime]:
    """Seven increasing step times between the import and ``now``."""
    span = (now - imported_at).total_seconds()
    return sorted(imported_at + timedelta(seconds=rng.uniform(0.02, 0.98) * span) for _ in range(7))


def _posting_window(at: datetime, tz: str) -> datetime:
    """The first instant at or after ``at`` when an ERO office takes cash bonds (Mon–Fri 9–15)."""
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(tz))
    for _ in range(8):
        if local.weekday() < 5 and 9 <= local.hour < 15:
            return local.astimezone(UTC)
        if local.weekday() < 5 and local.hour < 9:
            local = local.replace(hour=9, minute=0)
        else:
            local = (local + timedelta(days=1)).replace(hour=9, minute=0)
    return local.astimezone(UTC)


def _steps() -> tuple[Step, ...]:
    """Each feature's demo step, in the order the demo tells the story (imported on use:
    the flows step starts Prefect, the reports step loads WeasyPrint)."""
    from workflow.demo import accounts, alerts, bonds, court, day, flows, letters, terms, texts

    return (flows.step,  # a sweep and a custody list, through Prefect
            letters.step,  # demand letters and a sample of client letters, as PDFs
            alerts.step,  # the deadline alerts, checked across the timeline
            texts.step,  # text messages: off, and what they would send
            terms.step,  # the order's terms and its four obligations
            court.step,  # the report for the court and the dashboard
            bonds.step,  # weeks later: the bonds' second life, and the ledger
            accounts.step,  # accounts for the browser workspace
            day.step)  # the day's work: owners, look-ups, the queue
