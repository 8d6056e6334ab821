"""The sweep's checks, as plain functions the Prefect flow merely calls in batches.

A sweep looks at every outstanding person and records what needs a human:

- ``stale``: in INTAKE, LOCATING or BOND_SET longer than ``[sweep]
  stale_hours_<stage>``;
- ``no-bond-set``: LOCATED longer than ``stale_hours_located`` with no bond;
- ``release-unconfirmed``: bond posted ``stale_hours_bond_posted`` ago and no
  release recorded;
- ``no-facility``: nowhere on record where they are held;
- ``at-risk``: among those the pace or a closed posting window says will
  miss the deadline (see workflow/orders/deadlines.py); nobody while the order is
  stayed;
- the terms findings of workflow/orders/terms.py (``bond-higher-than-ordered``,
  ``bond-not-ordered``, ``conditions-not-ordered``): anyone, released or
  not, whom ICE holds or released on terms the order does not allow.

Each finding is an Event (kind ``finding``, payload ``{"check", "stage",
"hours_in_stage"}``: no personal data). A finding stays *open* until the
person's stage changes (any move, which resets ``stage_since``); while it is
open the same check on the same person is not recorded again, so a sweep
that finds nothing new writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from workflow.core import crashpoints
from workflow.core.config import Settings
from workflow.core.errors import ConfigError
from workflow.core.identity import a_number_fields
from workflow.core.stages import OUTSTANDING, Stage
from workflow.orders import deadlines, terms
from workflow.orders.deadlines import Projection
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event, Facility

FINDING = "finding"
STALE = "stale"
NO_BOND_SET = "no-bond-set"
RELEASE_UNCONFIRMED = "release-unconfirmed"
NO_FACILITY = "no-facility"
AT_RISK = "at-risk"
TERMS_CHECKS = (terms.BOND_HIGHER, terms.BOND_NOT_ORDERED, terms.CONDITIONS_NOT_ORDERED)
CHECKS = (STALE, NO_BOND_SET, RELEASE_UNCONFIRMED, NO_FACILITY, AT_RISK, *TERMS_CHECKS)
# Too long in these stages has a name of its own; elsewhere it is just stale.
_OVERSTAY = {Stage.LOCATED.value: NO_BOND_SET, Stage.BOND_POSTED.value: RELEASE_UNCONFIRMED}
_OUTSTANDING = sorted(s.value for s in OUTSTANDING)
# Ids per IN (...) list: well under SQLite's limit on bound parameters.
_IN_CHUNK = 5000


@dataclass(frozen=True)
class Plan:
    """What every batch of one sweep shares, computed once: ids and numbers only."""

    order_id: int
    case_number: str
    detainee_ids: list[int]
    at_risk_ids: frozenset[int]
    limits: dict[str, float]
    projection: Projection
    last_event_id: int  # findings after this one are this sweep's


@dataclass
class BatchResult:
    checked: int = 0
    found: Counter[str] = field(default_factory=Counter)  # true now, open or new
    new: Counter[str] = field(default_factory=Counter)  # recorded by this sweep


@dataclass(frozen=True)
class SweepSummary:
    case_number: str
    checked: int
    batches: int
    found: dict[str, int]
    new: dict[str, int]
    projection: dict[str, Any]
    last_event_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_number": self.case_number,
            "checked": self.checked,
            "batches": self.batches,
            "checks": [{"check": c, "found": self.found[c], "new": self.new[c]} for c in CHECKS],
            "new_findings": sum(self.new.values()),
            "projection": self.projection,
        }


# ---------------------------------------------------------------- pure checks


def checks_for(stage: str, hours_in_stage: float, has_facility: bool, at_risk: bool,
               limits: Mapping[str, float]) -> list[str]:
    """The checks one outstanding person fails, in CHECKS order."""
    failed = []
    if hours_in_stage > limits[stage]:
        failed.append(_OVERSTAY.get(stage, STALE))
    if not has_facility:
        failed.append(NO_FACILITY)
    if at_risk:
        failed.append(AT_RISK)
    return sorted(failed, key=CHECKS.index)


def batches(ids: Sequence[int], size: int) -> list[list[int]]:
    """``ids`` in runs of ``size`` (the last one shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(ids[start:start + size]) for start in range(0, len(ids), size)]


def batch_size(settings: Settings) -> int:
    """``[sweep] batch_size``, refused when it could not split anyone into batches."""
    size = settings.section("sweep")["batch_size"]
    if size < 1:
        raise ConfigError("[sweep] batch_size must be at least 1")
    return size


def summarize(plan: Plan, results: Iterable[BatchResult],
              terms_result: BatchResult | None = None) -> SweepSummary:
    """The batches' counts added up, with the terms check's findings."""
    found: Counter[str] = Counter({c: 0 for c in CHECKS})
    new: Counter[str] = Counter({c: 0 for c in CHECKS})
    checked = runs = 0
    for result in results:
        runs += 1
        checked += result.checked
        found.update(result.found)
        new.update(result.new)
    if terms_result is not None:
        found.update(terms_result.found)
        new.update(terms_result.new)
    return SweepSummary(case_number=plan.case_number, checked=checked, batches=runs,
                        found=dict(found), new=dict(new), projection=plan.projection.as_dict(),
                        last_event_id=plan.last_event_id)


def markdown(summary: SweepSummary) -> str:
    """The Prefect artifact: counts only, never a person."""
    p = summary.projection
    lines = [
        f"# Sweep of {summary.case_number}",
        "",
        f"{summary.checked} outstanding people checked in {summary.batches} batches.",
        "",
        "| check | found | new |",
        "|---|---:|---:|",
        *(f"| {c} | {summary.found[c]} | {summary.new[c]} |" for c in CHECKS),
        "",
        f"Projection: {p['projected_resolved']} of {p['covered']} resolved by the deadline"
        f" at {p['pace_per_hour']} per hour; {p['at_risk']} at risk.",
    ]
    if p["slowest_stage"]:
        lines.append(f"Slowest stage: {p['slowest_stage']} (median {p['slowest_median_hours']} h).")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- with the database


def plan(session: Session, order: CourtOrder, now: datetime, settings: Settings) -> Plan:
    """Who to check and against what: outstanding ids, the at-risk ids, the limits."""
    forecast = deadlines.projection(session, order, now, settings)
    risks = deadlines.at_risk(session, order, now, settings, forecast=forecast)
    ids = list(session.scalars(
        select(Detainee.id)
        .where(Detainee.order_id == order.id, Detainee.stage.in_(_OUTSTANDING))
        .order_by(Detainee.id)
    ))
    last = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    return Plan(order_id=order.id, case_number=order.case_number, detainee_ids=ids,
                at_risk_ids=frozenset(r.detainee_id for r in risks),
                limits=deadlines.stale_limits(settings), projection=forecast, last_event_id=last)


def check_batch(session: Session, plan: Plan, ids: Sequence[int], now: datetime,
                actor: Actor) -> BatchResult:
    """Check these people and record each finding that is not already open (one transaction)."""
    people = session.execute(
        select(Detainee.id, Detainee.stage, Detainee.stage_since, Detainee.facility_id)
        .where(Detainee.id.in_(ids), Detainee.order_id == plan.order_id,
               Detainee.stage.in_(_OUTSTANDING))
        .with_for_update()  # PostgreSQL: a concurrent sweep waits, then sees these findings
    ).all()
    flagged = [
        (plan.order_id, detainee_id, check, stage, since)
        for detainee_id, stage, since, facility_id in people
        for check in checks_for(stage, max(deadlines.hours_between(now, since), 0.0),
                                facility_id is not None, detainee_id in plan.at_risk_ids,
                                plan.limits)
    ]
    result = _record(session, flagged, now, actor, BatchResult(checked=len(people)))
    crashpoints.reached(crashpoints.SWEEP_BATCH)
    return result


def check_terms(session: Session, plan: Plan, now: datetime, actor: Actor,
                settings: Settings) -> BatchResult:
    """Record each terms finding not already open (one query for the findings, one transaction)."""
    order = session.get_one(CourtOrder, plan.order_id)
    flags = terms.findings(session, order, settings)
    since: dict[int, datetime] = {}
    for chunk in batches([flag["detainee_id"] for flag in flags], _IN_CHUNK):
        since.update(session.execute(  # .all(): a Result has keys(), so update() would misread it
            select(Detainee.id, Detainee.stage_since).where(Detainee.id.in_(chunk))).all())
    flagged = []
    for flag in flags:
        person = flag["detainee_id"]
        flagged += [(plan.order_id, person, check, flag["stage"], since[person])
                    for check in flag["findings"]]
    return _record(session, flagged, now, actor, BatchResult(checked=0))


def open_findings(session: Session, ids: Sequence[int]) -> set[tuple[int, str]]:
    """(person, check) pairs recorded since each person's last change of stage."""
    found: set[tuple[int, str]] = set()
    for chunk in batches(ids, _IN_CHUNK):
        rows = session.execute(
            select(Event.detainee_id, Event.payload)
            .join(Detainee, Detainee.id == Event.detainee_id)
            .where(and_(Event.detainee_id.in_(chunk), Event.kind == FINDING,
                        Event.at >= Detainee.stage_since))
        )
        found.update((detainee_id, payload.get("check")) for detainee_id, payload in rows)
    return found


def record_findings(session: Session, flags: Sequence[tuple[Detainee, str]], now: datetime,
                    actor: Actor) -> int:
    """Record each (person, check) that is not already open, in bulk; how many were new."""
    flagged = [(d.order_id, d.id, check, d.stage, d.stage_since) for d, check in flags]
    return sum(_record(session, flagged, now, actor, BatchResult()).new.values())


def _record(session: Session, flagged: Sequence[tuple[int, int, str, str, datetime]],
            now: datetime, actor: Actor, result: BatchResult) -> BatchResult:
    """Count each (order, person, check, stage, stage since) as found, and record in one insert
    those not already open, counted as new."""
    already = open_findings(session, sorted({person for _, person, *_ in flagged}))
    rows = []
    for order_id, person, check, stage, since in flagged:
        result.found[check] += 1
        if (person, check) not in already:
            result.new[check] += 1
            rows.append(_finding_row(order_id, person, check, stage, since, now, actor))
    if rows:
        session.execute(insert(Event), rows)
    return result


def _finding_row(order_id: int, detainee_id: int, check: str, stage: str, since: datetime,
                 now: datetime, actor: Actor) -> dict[str, Any]:
    hours = max(deadlines.hours_between(now, since), 0.0)
    # Never dated before the stay it is about began, so it reads as open (even a --now in the past).
    at = max(now, since)
    return {
        "order_id": order_id,
        "detainee_id": detainee_id,
        "kind": FINDING,
        "from_stage": None,
        "to_stage": None,
        "payload": {"check": check, "stage": stage, "hours_in_stage": round(hours, 1)},
        "actor": actor.operator,
        "source": actor.source,
        "at": at,
        "recorded_at": now,
    }


def new_findings(session: Session, order: CourtOrder, after_event_id: int) -> list[dict[str, Any]]:
    """This sweep's findings for the person who ran it: one row per person, checks joined,
    longest in their stage first."""
    rows = session.execute(
        select(Event.detainee_id, Event.payload, Detainee.a_number, Detainee.stage, Facility.code)
        .join(Detainee, Detainee.id == Event.detainee_id)
        .outerjoin(Facility, Facility.id == Detainee.facility_id)
        .where(Event.order_id == order.id, Event.kind == FINDING, Event.id > after_event_id)
        .order_by(Event.detainee_id, Event.id)
    )
    people: dict[int, dict[str, Any]] = {}
    for detainee_id, payload, a_number, stage, code in rows:
        row = people.setdefault(detainee_id, {
            "id": detainee_id, **a_number_fields(a_number), "stage": stage,
            "facility": code, "hours_in_stage": payload.get("hours_in_stage"), "checks": [],
        })
        row["checks"].append(payload.get("check"))
    found = [{**row, "checks": ", ".join(row["checks"])} for row in people.values()]
    return sorted(found, key=lambda row: (-(row["hours_in_stage"] or 0), row["id"]))
