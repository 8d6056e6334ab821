"""Pace and projection: will everyone be out by the deadline, and who will not?

The math is pure (plain numbers and datetimes, ``now`` passed in) so it can be
tested at any instant; the query helpers at the bottom read the event log in a
few set-based queries (no per-person round trips), so they stay quick at
100,000 people.

- **Pace**: people resolved (released, departed, found not in custody) per
  hour over a sliding window (``[sweep] pace_window_hours``), shortened to the
  life of the order when it is younger than the window.
- **Median time per stage**: from completed stays in the event log (entering
  a stage to leaving it); a stage nobody has left yet has no median.
- **Projection**: resolved now plus what the pace delivers in the time left,
  capped at everyone outstanding. The rest are *at risk*.
- **Per-person risk**: the hours a person still needs (the rest of a typical
  stay in their stage and typical stays in the stages after it) over the hours
  left. Time already overdue in a stage counts as that much more to come: the
  longer someone is stuck, the longer they are expected to stay stuck. The
  pace says how many will miss the deadline; the risk score says which ones.
- **Posting windows**: someone whose bond is not yet posted must have it
  posted in the last cash-bond window before the deadline at their facility
  (workflow/places/posting.py), so their hours left end when that window closes and
  their need stops at posting; a window already closed puts them at risk.
- **Stays**: while the order is stayed its clock is stopped (time left is what
  was left when the stay began) and nobody is at risk: no finding, no alert.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Float, and_, cast, extract, func, select
from sqlalchemy.sql.elements import ColumnElement

from workflow.core.config import Settings
from workflow.core.stages import OPEN, OUTSTANDING, RESOLVED, Stage
from workflow.orders import orders
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, detainees, events, facilities

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import CourtOrder, Facility

# The shortest window a pace is measured over, so the first release does not read as 60/h.
MIN_WINDOW_HOURS = 1.0
# Hours left are floored at a minute, so past the deadline scores still rank by need.
_MIN_HOURS_LEFT = 1 / 60
_RESOLVED = sorted(s.value for s in RESOLVED)
_OUTSTANDING = sorted(s.value for s in OUTSTANDING)
_BEFORE_POSTING = frozenset(s.value for s in OPEN[:OPEN.index(Stage.BOND_POSTED)])


@dataclass(frozen=True)
class Projection:
    seconds_left: int
    outstanding: int
    covered: int
    resolved: int
    pace_per_hour: float  # resolutions per hour over the sliding window
    window_hours: float
    projected_resolved: int  # resolved count expected by the deadline at this pace
    at_risk: int  # outstanding people not expected to make it
    slowest_stage: str | None
    slowest_median_hours: float | None
    median_hours_by_stage: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, stable keys; hours rounded to a tenth, pace to a hundredth."""
        data = asdict(self)
        data["pace_per_hour"] = round(self.pace_per_hour, 2)
        data["window_hours"] = round(self.window_hours, 1)
        if self.slowest_median_hours is not None:
            data["slowest_median_hours"] = round(self.slowest_median_hours, 1)
        data["median_hours_by_stage"] = {
            stage: round(hours, 1) for stage, hours in self.median_hours_by_stage.items()
        }
        return data


@dataclass(frozen=True)
class Risk:
    detainee_id: int
    stage: str
    facility: str | None  # facility code
    hours_in_stage: float
    median_hours: float | None
    score: float  # hours needed / hours left: higher = more at risk; above 1 = will not make it
    post_by: datetime | None = None  # bond not posted yet: when the last posting window closes


# ---------------------------------------------------------------- pure math


def hours_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def pace_window(now: datetime, window_hours: float, order_started: datetime) -> float:
    """Hours the pace is measured over: the configured window, or the order's life if shorter."""
    lived = hours_between(now, order_started)
    return max(MIN_WINDOW_HOURS, min(float(window_hours), lived))


def pace_per_hour(resolved_at: Iterable[datetime], now: datetime, window_hours: float) -> float:
    """Resolutions per hour among ``resolved_at`` that fall in the last ``window_hours``."""
    since = now - timedelta(hours=window_hours)
    return sum(1 for at in resolved_at if since < at <= now) / window_hours


def median_hours(stays: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The median hours spent in each open stage, from ``(stage, hours)`` completed stays."""
    by_stage: dict[str, list[float]] = defaultdict(list)
    for stage, hours in stays:
        by_stage[stage].append(hours)
    return {
        stage.value: statistics.median(by_stage[stage.value])
        for stage in OPEN
        if by_stage.get(stage.value)
    }


def slowest(medians: Mapping[str, float]) -> tuple[str | None, float | None]:
    """The open stage with the longest median stay (the bottleneck), if any is known."""
    if not medians:
        return None, None
    stage = max(medians, key=lambda s: medians[s])
    return stage, medians[stage]


def projected_resolved(resolved: int, outstanding: int, pace: float, seconds_left: int) -> int:
    """How many will be resolved by the deadline if the pace holds."""
    if seconds_left <= 0:
        return resolved
    more = math.floor(pace * seconds_left / 3600)
    return resolved + min(outstanding, more)


def typical_hours(medians: Mapping[str, float], fallback: Mapping[str, float]) -> dict[str, float]:
    """Hours a stay in each open stage usually takes: the median, else the configured limit."""
    return {stage.value: medians.get(stage.value, fallback[stage.value]) for stage in OPEN}


def hours_needed(stage: str, hours_in_stage: float, typical: Mapping[str, float]) -> float:
    """Hours still needed to release someone who has spent ``hours_in_stage`` in ``stage``.

    The rest of a typical stay in this stage (or, once past it, as long again as
    they are overdue), then a typical stay in each later stage up to release.
    """
    usual = typical[stage]
    rest_of_stage = abs(usual - hours_in_stage)
    later = [s.value for s in OPEN[OPEN.index(Stage(stage)) + 1:]]
    return rest_of_stage + sum(typical[s] for s in later)


def risk_score(need_hours: float, seconds_left: int) -> float:
    """Hours needed over hours left: above 1 means they will not make it at usual speed."""
    return need_hours / max(seconds_left / 3600, _MIN_HOURS_LEFT)


def most_at_risk(scored: Iterable[Risk], count: int) -> list[Risk]:
    """The ``count`` people furthest behind, most at risk first (ties: lower id first)."""
    ranked = sorted(scored, key=lambda r: (-r.score, r.detainee_id))
    return ranked[: max(count, 0)]


# ---------------------------------------------------------------- settings


def stale_limits(settings: Settings) -> dict[str, float]:
    """``[sweep] stale_hours_<stage>`` for each open stage: how long is too long."""
    section = settings.section("sweep")
    return {stage.value: float(section[f"stale_hours_{stage.value.lower()}"]) for stage in OPEN}


def window_setting(settings: Settings) -> float:
    return float(settings.section("sweep")["pace_window_hours"])


# ---------------------------------------------------------------- queries


def projection(reader: Reader, order: OrderRow, now: datetime,
               settings: Settings) -> Projection:
    """Where the order is heading, as of ``now``: pace, medians and the people at risk."""
    counts = orders.stage_counts(reader, order)
    covered = sum(n for stage, n in counts.items() if stage != Stage.EXCLUDED.value)
    resolved = sum(counts.get(s, 0) for s in _RESOLVED)
    outstanding = covered - resolved
    seconds_left = orders.effective_seconds_left(order, now)
    window = pace_window(now, window_setting(settings), order.created_at)
    since = now - timedelta(hours=window)
    pace = pace_per_hour(resolution_times(reader, order, since, now), now, window)
    medians = median_hours(stage_stays(reader, order, now))
    expected = projected_resolved(resolved, outstanding, pace, seconds_left)
    stage, hours = slowest(medians)
    return Projection(
        seconds_left=seconds_left,
        outstanding=outstanding,
        covered=covered,
        resolved=resolved,
        pace_per_hour=pace,
        window_hours=window,
        projected_resolved=expected,
        at_risk=0 if orders.is_stayed(order) else outstanding - (expected - resolved),
        slowest_stage=stage,
        slowest_median_hours=hours,
        median_hours_by_stage=medians,
    )


def at_risk(session: Session, order: CourtOrder, now: datetime, settings: Settings,
            limit: int | None = None, *, forecast: Projection | None = None) -> list[Risk]:
    """The people the pace says will miss the deadline, most at risk first.

    ``forecast`` saves recomputing the projection when the caller has it already.
    """
    if orders.is_stayed(order):
        return []
    forecast = forecast or projection(session, order, now, settings)
    scored = score_outstanding(session, order, now, settings, forecast.median_hours_by_stage)
    # The pace says how many; a posting window already closed adds anyone it left behind.
    missed = sum(1 for r in scored if r.post_by is not None and r.post_by <= now)
    count = max(forecast.at_risk, missed)
    return most_at_risk(scored, count if limit is None else min(limit, count))


def score_outstanding(session: Session, order: CourtOrder, now: datetime, settings: Settings,
                      medians: Mapping[str, float]) -> list[Risk]:
    """A risk score for every outstanding person (one query, ids and stages only).

    Before their bond is posted a person races the last posting window at their
    facility (one computation per facility, not per person); after, the deadline.
    """
    typical = typical_hours(medians, stale_limits(settings))
    seconds_left = orders.effective_seconds_left(order, now)
    people = detainees.c
    rows = flushed(session).execute(
        select(people.id, people.stage, people.stage_since, facilities.c.id, facilities.c.code)
        .select_from(detainees)
        .outerjoin(facilities, people.facility_id == facilities.c.id)
        .where(people.order_id == order.id, people.stage.in_(_OUTSTANDING))
    ).all()
    closes = posting_closes(session, order, settings, {row[3] for row in rows})
    risks = []
    for detainee_id, stage, since, facility_id, code in rows:
        in_stage = max(hours_between(now, since), 0.0)
        need = hours_needed(stage, in_stage, typical)
        post_by = closes.get(facility_id) if stage in _BEFORE_POSTING else None
        if post_by is None:
            score = risk_score(need, seconds_left)
        else:  # the release after posting is not in the race with the window
            score = risk_score(need - typical[Stage.BOND_POSTED.value],
                               int((post_by - now).total_seconds()))
        risks.append(Risk(detainee_id=detainee_id, stage=stage, facility=code,
                          hours_in_stage=in_stage, median_hours=medians.get(stage),
                          score=score, post_by=post_by))
    return risks


def posting_closes(session: Session, order: CourtOrder, settings: Settings,
                   facility_ids: Iterable[int | None]) -> dict[int | None, datetime]:
    """When the last posting window before the deadline closes, per facility (None: the
    court's zone, for people not yet located). A facility with no window is left out."""
    from workflow.places import posting
    from workflow.record.models import Facility

    wanted = set(facility_ids)
    found: dict[int | None, Facility] = {f.id: f for f in session.scalars(
        select(Facility).where(Facility.id.in_([i for i in wanted if i is not None])))}
    closes = {}
    for facility_id in wanted:
        window = posting.posting_window(order, found.get(facility_id), settings)
        if window is not None:
            closes[facility_id] = window[1]
    return closes


def resolution_times(reader: Reader, order: OrderRow, since: datetime,
                     now: datetime) -> list[datetime]:
    """When each resolution in ``(since, now]`` happened (moves into a resolved stage)."""
    event = events.c
    return list(flushed(reader).scalars(
        select(event.at).where(
            event.order_id == order.id,
            event.at > since,
            event.at <= now,
            event.to_stage.in_(_RESOLVED),
            event.from_stage.not_in(_RESOLVED),
        )
    ))


def stage_stays(reader: Reader, order: OrderRow, now: datetime) -> list[tuple[str, float]]:
    """Every completed stay in a stage as ``(stage, hours)``, computed in the database.

    Each stage change ends a stay in its ``from_stage`` that began at the
    person's previous stage change (a window function, not a query per person).
    """
    event = events.c
    moves = (
        select(
            event.from_stage.label("stage"),
            event.at.label("left_at"),
            func.lag(event.at).over(
                partition_by=event.detainee_id, order_by=(event.at, event.id)
            ).label("entered_at"),
        )
        .where(event.order_id == order.id, event.to_stage.is_not(None), event.at <= now)
        .subquery()
    )
    bind = reader if isinstance(reader, Connection) else reader.get_bind()
    hours = _hours_between_columns(moves.c.left_at, moves.c.entered_at, bind.dialect.name)
    rows = flushed(reader).execute(
        select(moves.c.stage, hours).where(
            and_(moves.c.stage.is_not(None), moves.c.entered_at.is_not(None))
        )
    )
    return [(stage, max(float(value), 0.0)) for stage, value in rows]


def _hours_between_columns(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    if dialect == "sqlite":
        # Times are stored as UTC text; julianday() reads them with their fractions.
        return cast((func.julianday(later) - func.julianday(earlier)) * 24.0, Float)
    return cast(extract("epoch", later - earlier) / 3600.0, Float)
