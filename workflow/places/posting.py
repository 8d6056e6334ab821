"""Posting windows: a cash bond is paid in office hours, in the facility's time zone.

An ERO office takes money orders and cashier's checks Mon–Fri about 09:00–15:00
local time (``[posting]``), so a bond not posted in the last window before the
deadline means a missed deadline, whatever the clock says: "bond for person
#412 must be posted by 15:00 EST Thursday 20 Nov". A facility's zone is its
own ``time_zone`` when given, else its state's (Arizona keeps MST all year),
else the court's. A facility's or its field office's own ``posting_hours`` replace
[posting]'s opening and closing times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.errors import ConfigError
from workflow.core.stages import Stage
from workflow.record.models import CourtOrder, Detainee, Facility, FieldOffice

# The zone most of each state keeps; a facility in a state's other zone (El Paso,
# the Florida panhandle) carries its own time_zone, which wins.
STATE_ZONES = {
    "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix",
    "AR": "America/Chicago", "CA": "America/Los_Angeles", "CO": "America/Denver",
    "CT": "America/New_York", "DE": "America/New_York", "DC": "America/New_York",
    "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis",
    "IA": "America/Chicago", "KS": "America/Chicago", "KY": "America/New_York",
    "LA": "America/Chicago", "ME": "America/New_York", "MD": "America/New_York",
    "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
    "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver",
    "NE": "America/Chicago", "NV": "America/Los_Angeles", "NH": "America/New_York",
    "NJ": "America/New_York", "NM": "America/Denver", "NY": "America/New_York",
    "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
    "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York",
    "RI": "America/New_York", "SC": "America/New_York", "SD": "America/Chicago",
    "TN": "America/Chicago", "TX": "America/Chicago", "UT": "America/Denver",
    "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
    "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver",
    "PR": "America/Puerto_Rico", "VI": "America/St_Thomas", "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan", "AS": "Pacific/Pago_Pago",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back to look for an open day (a long holiday closure is still found).
_LOOKBACK_DAYS = 21

Window = tuple[datetime, datetime]


def zone_for_state(state: str | None) -> str | None:
    """The IANA zone of a US state or territory code (``AZ`` → America/Phoenix)."""
    return STATE_ZONES.get(state.strip().upper()) if state else None


def facility_time_zone(facility: Facility | None, fallback: str) -> str:
    """The facility's own zone, else its state's, else ``fallback`` (the court's)."""
    if facility is None:
        return fallback
    return facility.time_zone or zone_for_state(facility.state) or fallback


def last_window_before(deadline: datetime, facility_tz: str,
                       settings: Settings | Mapping[str, Any],
                       local_hours: str | None = None) -> Window | None:
    """The last posting window that opens before ``deadline``: (opens, closes), aware, in the
    facility's zone; ``closes`` is cut at the deadline. None if no window in three weeks.
    ``local_hours`` ("09:00-12:00", a facility's or office's own) replace [posting]'s."""
    hours = _local(settings, local_hours)
    zone = clock.zone(facility_tz)
    day = deadline.astimezone(zone).date()
    for _ in range(_LOOKBACK_DAYS):
        if WEEKDAYS[day.weekday()] in hours["days"] and day.isoformat() not in hours["closed"]:
            opens = datetime.combine(day, hours["opens"], zone)
            if opens < deadline:
                closes = datetime.combine(day, hours["closes"], zone)
                return opens, min(closes, deadline.astimezone(zone))
        day -= timedelta(days=1)
    return None


def next_window(now: datetime, facility_tz: str, settings: Settings | Mapping[str, Any],
                local_hours: str | None = None) -> Window | None:
    """The posting window open now or next (one that has not closed by ``now``), aware, in
    the facility's zone. None if no window in three weeks."""
    hours = _local(settings, local_hours)
    zone = clock.zone(facility_tz)
    day = now.astimezone(zone).date()
    for _ in range(_LOOKBACK_DAYS):
        if WEEKDAYS[day.weekday()] in hours["days"] and day.isoformat() not in hours["closed"]:
            closes = datetime.combine(day, hours["closes"], zone)
            if closes > now:
                return datetime.combine(day, hours["opens"], zone), closes
        day += timedelta(days=1)
    return None


def _local(settings: Settings | Mapping[str, Any], local_hours: str | None) -> dict[str, Any]:
    hours = _hours(settings)
    if local_hours:
        from workflow.places.facilities import parse_hours

        hours["opens"], hours["closes"] = (time.fromisoformat(t) for t in parse_hours(local_hours))
    return hours


def _hours(settings: Settings | Mapping[str, Any]) -> dict[str, Any]:
    """``[posting]`` checked: days are weekday names, opens before closes, closed dates ISO."""
    section = settings.section("posting") if isinstance(settings, Settings) else settings
    days = [str(d).lower()[:3] for d in section["days"]]
    if not days or any(d not in WEEKDAYS for d in days):
        raise ConfigError(f"[posting] days must be weekday names ({', '.join(WEEKDAYS)})")
    try:
        opens, closes = time.fromisoformat(section["opens"]), time.fromisoformat(section["closes"])
        closed = {date.fromisoformat(d).isoformat() for d in section["closed_dates"]}
    except ValueError:
        raise ConfigError("[posting] opens/closes must be HH:MM, closed_dates YYYY-MM-DD") from None
    if opens >= closes:
        raise ConfigError("[posting] opens must be before closes")
    return {"days": set(days), "opens": opens, "closes": closes, "closed": closed}


def posted_by_sentence(detainee_id: int, closes: datetime) -> str:
    """``bond for person #412 must be posted by 15:00 EST Thursday 20 Nov`` (no personal data)."""
    return (f"bond for person #{detainee_id} must be posted by "
            f"{closes:%H:%M} {closes.tzname()} {closes:%A} {closes.day} {closes:%b}")


def posting_window(order: CourtOrder, facility: Facility | None, settings: Settings,
                   deadline: datetime | None = None) -> Window | None:
    """The last window before the order's deadline (or ``deadline``) at ``facility``."""
    return last_window_before(deadline or order.deadline,
                              facility_time_zone(facility, order.time_zone), settings,
                              local_posting_hours(facility))


def local_posting_hours(facility: Facility | None) -> str | None:
    """The facility's own cash-bond hours, else its field office's, else None ([posting])."""
    if facility is None:
        return None
    if facility.posting_hours:
        return facility.posting_hours
    session = object_session(facility)
    if session is None or not facility.field_office:
        return None
    return session.scalar(select(FieldOffice.posting_hours)
                          .where(FieldOffice.name == facility.field_office))


def unposted_bonds(session: Session, order: CourtOrder, settings: Settings,
                   now: datetime) -> list[dict[str, Any]]:
    """People whose bond is set but not posted, with the last window to post it, soonest first.

    ``missed`` is true once that window has closed: the bond can no longer be
    posted in time, whatever the deadline's clock still says.
    """
    people = session.scalars(
        select(Detainee).where(Detainee.order_id == order.id,
                               Detainee.stage == Stage.BOND_SET.value)
        .options(selectinload(Detainee.facility))
    )
    rows = []
    for person in people:
        window = posting_window(order, person.facility, settings)
        closes = window[1] if window else None
        rows.append((closes or order.deadline, person.id, {
            "detainee_id": person.id,
            "facility": person.facility.code if person.facility else None,
            "posting_opens": window[0].isoformat() if window else None,
            "posting_closes": closes.isoformat() if closes else None,
            "missed": closes is None or closes <= now,
            "sentence": posted_by_sentence(person.id, closes) if closes else
            f"bond for person #{person.id} has no posting window before the deadline",
        }))
    return [row for _, _, row in sorted(rows, key=lambda item: item[:2])]
