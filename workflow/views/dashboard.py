"""The dashboard: one static HTML page the team reads at 7 a.m. on deadline day.

Self-contained on purpose: inline CSS and SVG, no script, font or image from
the network, so it opens on an offline laptop and can be mailed or printed.
The charts are drawn here (plain geometry into SVG templates), labelled for
screen readers, and told apart by line style as well as colour so they
survive grey-scale printing. People appear by internal id only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from workflow.core import clock, display
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import private_output
from workflow.core.stages import OUTSTANDING, Stage
from workflow.core.templating import render, when
from workflow.orders import deadlines
from workflow.record import db, watch
from workflow.record.models import CourtOrder, Event
from workflow.views import reports

# The furthest behind, most at risk first: the pace says how many will miss the
# deadline (they are flagged); the list shows who, and who comes next.
AT_RISK_SHOWN = 25
_OUTSTANDING = sorted(stage.value for stage in OUTSTANDING)
# The path to release, as the funnel shows it (a release without bond passes every step).
PATH = (Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED, Stage.RELEASED)
FUNNEL_LABELS = {Stage.LOCATED: ("Located", "waiting for a bond"),
                 Stage.BOND_SET: ("Bond set", "waiting to be posted"),
                 Stage.BOND_POSTED: ("Bond posted", "waiting for release"),
                 Stage.RELEASED: ("Released", "")}
FUNNEL_BAR = 300  # pixels for everyone covered


@dataclass(frozen=True)
class Frame:
    """The drawing area of a chart in SVG pixels, and the data ranges it shows."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    start: datetime
    end: datetime
    peak: int

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return round(self.left + share * (self.width - self.left - self.right), 1)

    def y(self, people: float) -> float:
        share = people / self.peak if self.peak else 0.0
        return round(self.height - self.bottom - share * (self.height - self.top - self.bottom), 1)


# ---------------------------------------------------------------- the data


def dashboard_data(session: Session, order: CourtOrder, now: datetime,
                   settings: Settings) -> dict[str, Any]:
    """Everything the page shows, as of ``now``."""
    status = reports.status(session, order, now)
    forecast = deadlines.projection(session, order, now, settings)
    scored = deadlines.score_outstanding(session, order, now, settings,
                                         forecast.median_hours_by_stage)
    behind = deadlines.most_at_risk(scored, AT_RISK_SHOWN)
    series = outstanding_over_time(session, order)
    tz = order.time_zone
    return {
        "order": status["order"],
        "now": status["now"],
        "status": status,
        "countdown": countdown(status["seconds_left"]),
        "projection": forecast.as_dict(),
        "burndown": burndown(series, order, now, status["outstanding"], forecast.at_risk),
        "funnel": funnel(status),
        "facilities": reports.by_place(session, order, now, "facility"),
        "field_offices": reports.by_place(session, order, now, "field-office"),
        "behind": [
            {"id": r.detainee_id, "stage": r.stage, "facility": r.facility,
             "hours_in_stage": round(r.hours_in_stage, 1),
             "median_hours": None if r.median_hours is None else round(r.median_hours, 1),
             "score": round(r.score, 2), "at_risk": rank < forecast.at_risk}
            for rank, r in enumerate(behind)
        ],
        "watch": watch.watch(session, settings, now, [order]).as_dict(tz),
        "deadline_text": when(status["order"]["deadline"], "long", tz),
        "now_text": when(status["now"], "long", tz),
    }


def outstanding_over_time(session: Session, order: CourtOrder) -> list[tuple[datetime, int]]:
    """How many people were outstanding after each moment something changed, oldest first.

    One grouped query over the event log: each stage change adds one when it
    moves someone into an outstanding stage (an import puts people in INTAKE)
    and takes one away when it moves them out, so the running sum is the count.
    """
    into = case((Event.to_stage.in_(_OUTSTANDING), 1), else_=0)
    out_of = case((Event.from_stage.in_(_OUTSTANDING), 1), else_=0)
    rows = session.execute(
        select(Event.at, func.sum(into - out_of))
        .where(Event.order_id == order.id, Event.to_stage.is_not(None))
        .group_by(Event.at)
        .order_by(Event.at)
    )
    series, running = [], 0
    for at, change in rows:
        if change:
            running += int(change)
            series.append((at, running))
    return series


def countdown(seconds_left: int) -> dict[str, Any]:
    """Days, hours and minutes to the deadline (or past it), for the big numbers."""
    days, hours, minutes = clock.duration_parts(seconds_left)
    return {"overdue": seconds_left < 0, "days": days, "hours": hours, "minutes": minutes,
            "text": display.span(seconds_left)}


def funnel(status: dict[str, Any]) -> dict[str, Any]:
    """How many covered people reached each step of the path, and how many wait at it now."""
    by_stage = status["by_stage"]
    covered = status["covered"]
    not_located = by_stage[Stage.INTAKE.value] + by_stage[Stage.LOCATING.value]
    steps = [("Covered", "not located yet", covered, not_located)]
    for index, stage in enumerate(PATH):
        reached = sum(by_stage[later.value] for later in PATH[index:])
        waiting = 0 if stage == Stage.RELEASED else by_stage[stage.value]
        steps.append((*FUNNEL_LABELS[stage], reached, waiting))
    rows = []
    for index, (label, waiting_label, reached, waiting) in enumerate(steps):
        width = round(FUNNEL_BAR * reached / covered, 1) if covered else 0.0
        waiting_width = round(FUNNEL_BAR * waiting / covered, 1) if covered else 0.0
        rows.append({"label": label, "reached": reached, "waiting": waiting,
                     "waiting_label": waiting_label, "y": 12 + index * 46,
                     "percent": round(100 * reached / covered) if covered else 0,
                     "width": width, "waiting_width": waiting_width,
                     "waiting_x": round(width - waiting_width, 1)})
    other = by_stage[Stage.DEPARTED.value] + by_stage[Stage.NOT_IN_CUSTODY.value]
    return {"steps": rows, "other": other, "covered": covered, "bar": FUNNEL_BAR,
            "height": 12 + len(rows) * 46 + 8}


# ---------------------------------------------------------------- the burndown


def burndown(series: Sequence[tuple[datetime, int]], order: CourtOrder, now: datetime,
             current: int, at_risk: int) -> dict[str, Any]:
    """The chart: outstanding over time, the straight line to zero, and the projection."""
    at_risk = max(at_risk, 0)
    start = series[0][0] if series else order.created_at
    end = max(order.deadline, now, series[-1][0] if series else now)
    end += (end - start) * 0.03 + timedelta(minutes=1)
    peak_at, peak = max(series, key=lambda point: point[1]) if series else (start, 0)
    ticks = value_ticks(peak)
    frame = Frame(width=1180, height=400, left=64, right=24, top=48, bottom=40, start=start,
                  end=end, peak=ticks[-1])
    projection = None
    if now < order.deadline:
        projection = {"x1": frame.x(now), "y1": frame.y(current),
                      "x2": frame.x(order.deadline), "y2": frame.y(at_risk)}
    return {
        "frame": frame,
        "actual": step_path(frame, series, now),
        "ideal": {"x1": frame.x(peak_at), "y1": frame.y(peak),
                  "x2": frame.x(order.deadline), "y2": frame.y(0)},
        "projection": projection,
        "deadline_x": frame.x(order.deadline),
        "now_x": frame.x(now),
        "x_ticks": day_ticks(frame, order.time_zone),
        "y_ticks": [{"y": frame.y(v), "label": f"{v:,}"} for v in ticks],
        "current": current,
        "peak": peak,
        "at_risk": at_risk,
        "summary": _describe(series, peak, current, at_risk, now < order.deadline),
    }


def step_path(frame: Frame, series: Sequence[tuple[datetime, int]], now: datetime) -> str:
    """An SVG path for the count as a staircase, at most one step per pixel column, to now."""
    if not series:
        return ""
    last_per_column: dict[float, int] = {}
    for at, value in series:
        last_per_column[round(frame.x(at))] = value
    columns = sorted(last_per_column.items())
    first_x, first_value = columns[0]
    parts = [f"M{first_x} {frame.y(first_value)}"]
    for x, value in columns[1:]:
        parts.append(f"H{x}V{frame.y(value)}")
    parts.append(f"H{max(frame.x(now), columns[-1][0])}")
    return "".join(parts)


def tick_step(peak: int, most: int = 7) -> int:
    """A round step (1, 2, 2.5 or 5 times a power of ten): at most ``most`` steps to ``peak``."""
    wanted = max(peak, 1) / most
    power = 10 ** math.floor(math.log10(wanted))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= wanted and float(factor * power).is_integer():
            return int(factor * power)
    return int(10 * power)


def value_ticks(peak: int) -> list[int]:
    """Round values from zero to just above ``peak``."""
    step = tick_step(peak)
    return list(range(0, math.ceil(max(peak, 1) / step) * step + 1, step))


def day_ticks(frame: Frame, tz: str) -> list[dict[str, Any]]:
    """A tick at each midnight in court time (every few days for a long order)."""
    zone = clock.zone(tz)
    day = frame.start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    days = max(1, (frame.end - frame.start).days)
    every = 1 if days <= 14 else math.ceil(days / 14)
    ticks = []
    while day <= frame.end:
        if day >= frame.start:
            ticks.append({"x": frame.x(day), "label": day.strftime("%a %d %b")})
        day = (day + timedelta(days=every, hours=3)).replace(hour=0)
    return ticks


def _describe(series: Sequence[tuple[datetime, int]], peak: int, current: int, at_risk: int,
              before_deadline: bool) -> str:
    """The chart in a sentence or two, for screen readers."""
    if not series:
        return "No one is on the class list yet."
    text = f"People outstanding: {peak:,} at the most, {current:,} now."
    if before_deadline:
        text += f" At the current pace {at_risk:,} will still be outstanding at the deadline."
    return text


# ---------------------------------------------------------------- the page


def render_dashboard(data: dict[str, Any], person_link: str | None = None) -> str:
    """The page as one self-contained HTML string; with ``person_link`` (the workspace's
    ``/people/``), the part of a page the workspace wraps, its people linked."""
    return render("dashboard.html.j2", d=data, embedded=person_link is not None,
                  person_link=person_link)


def write_dashboard(database: db.Database, order_id: int, *, path: Path, now: datetime,
                    settings: Settings) -> Path:
    """Write the dashboard for the order to ``path`` (0600) and return the path."""
    with database.snapshot() as session:
        order = session.get(CourtOrder, order_id)
        if order is None:
            raise BondtrackError(f"no order #{order_id}")
        page = render_dashboard(dashboard_data(session, order, now, settings))
    with private_output(path) as partial:
        partial.write_text(page, encoding="utf-8")
    return path
