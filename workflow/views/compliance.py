"""The compliance report for the court: who is out, who is not and why, as of one moment.

Everyone's stage is rebuilt from the event log: as of ``as_of`` (their last
stage change at or before it), so a report "as of noon" made at 12:20 counts
what had happened by noon, releases recorded late included, and nothing after;
without ``as_of``, from every event, so it states exactly what `bondtrack
status` states.

The report is a caption, a summary table and four annexes (released,
outstanding, excluded, departed or not in custody) that list everyone on the
class list exactly once, in A-number order, so the government can check it
line by line. A report made live adds the projection and Annex E: the people
released or held on terms the order does not allow (a higher bond, a bond
where none was ordered, conditions it did not allow); a stayed order says so.
It renders as PDF (WeasyPrint, paginated, table headers repeated on every
page), HTML, CSV or XLSX with the same rows. Making one is audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.core import display, pdf, stages
from workflow.core.clock import iso
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import Sheet, Written, private_output, write_csv, write_json, write_xlsx
from workflow.core.identity import format_a_number
from workflow.core.stages import RESOLVED, Stage
from workflow.core.templating import render, when
from workflow.orders import amendments, deadlines, orders, terms
from workflow.record import audit, db
from workflow.record.audit import Actor
from workflow.record.models import CourtOrder, Detainee, Event, Facility
from workflow.views.reports import order_summary

FORMATS = ("pdf", "html", "csv", "xlsx", "json")

# Why an outstanding person is not out yet, in the words of the people working the case.
BLOCKERS = {
    Stage.INTAKE.value: "search not started",
    Stage.LOCATING.value: "not located yet",
    Stage.LOCATED.value: "located; bond not set",
    Stage.BOND_SET.value: "bond set; not posted",
    Stage.BOND_POSTED.value: "bond posted; awaiting release",
}
_MOVE_BLOCKERS = {"transfer": "transferred; locate at the new facility",
                  "redetain": "re-detained; locate again"}

RELEASED_COLUMNS = ("line", "id", "a_number", "family_name", "given_name", "released_at",
                    "facility", "facility_name", "how")
OUTSTANDING_COLUMNS = ("line", "id", "a_number", "family_name", "given_name", "stage", "facility",
                       "facility_name", "stage_since", "days_in_stage", "blocker", "at_risk",
                       "notes")
EXCLUDED_COLUMNS = ("line", "id", "a_number", "family_name", "given_name", "reason",
                    "decided_by", "decided_at", "note")
DEPARTED_COLUMNS = ("line", "id", "a_number", "family_name", "given_name", "outcome",
                    "recorded_at", "reason", "recorded_by", "facility")
TERMS_COLUMNS = ("line", "id", "a_number", "family_name", "given_name", "stage", "ordered",
                 "imposed", "findings")
# The annexes in the order the report prints them; everyone on the list is in exactly one.
ANNEXES = {"released": RELEASED_COLUMNS, "outstanding": OUTSTANDING_COLUMNS,
           "excluded": EXCLUDED_COLUMNS, "departed": DEPARTED_COLUMNS}


@dataclass
class StateAt:
    """A person's standing at the report's moment, rebuilt from their events."""

    stage: str
    since: datetime
    move: str  # the kind of the event that put them in this stage
    actor: str
    previous: str | None = None
    reason: str | None = None
    note: str | None = None
    facility: str | None = None  # code named by their events, if any


# ---------------------------------------------------------------- the data


def report_data(session: Session, order: CourtOrder, now: datetime, settings: Settings,
                as_of: datetime | None = None) -> dict[str, Any]:
    """Everything the report states, as plain data (ISO times in court time).

    Without ``as_of`` it is the record as it stands (every event, even one
    stamped a few minutes ahead of our clock), exactly what status shows.
    """
    live = as_of is None
    states = states_as_of(session, order, check_as_of(now, as_of))
    as_of = as_of or now
    people = _people(session, order)
    facilities = _facilities(session)
    projection, risky = _forecast(session, order, now, settings) if live else (None, set())
    # What ICE imposed is recorded as it stands, not as of a past moment: live reports only.
    findings = terms.findings(session, order, settings) if live else []
    tz = order.time_zone
    rows: dict[str, list[dict[str, Any]]] = {annex: [] for annex in ANNEXES}
    for person in people:
        state = states.get(person["id"])
        if state is None:
            continue  # not on the class list yet at that moment
        code = state.facility or person["facility"]
        base = {**_identity(person), "facility": code,
                "facility_name": facilities.get(code, (None, None))[0]}
        annex, details = _annex_row(state, person, as_of, tz, person["id"] in risky)
        rows[annex].append({**base, **details})
    for annex_rows in rows.values():
        for line, row in enumerate(annex_rows, start=1):
            row["line"] = line
    counts = stage_totals(states.values())
    identities = {person["id"]: _identity(person) for person in people}
    return {
        "order": order_summary(order),
        "as_of": iso(as_of, tz),
        "made_at": iso(now, tz),
        "live": live,
        "seconds_left": orders.effective_seconds_left(order, as_of),  # stopped while stayed
        "counts": counts,
        "summary": summary_rows(counts, rows["excluded"]),
        "projection": projection,
        "stay": amendments.stay_status(session, order, now),
        **rows,
        "terms": [_terms_row(line, finding, identities[finding["detainee_id"]])
                  for line, finding in enumerate(sorted(
                      findings, key=lambda f: identities[f["detainee_id"]]["a_number"]), start=1)],
    }


def _terms_row(line: int, finding: Mapping[str, Any],
               identity: Mapping[str, Any]) -> dict[str, Any]:
    def words(side: Mapping[str, Any]) -> str:
        return f"{side['bond']}; conditions: {', '.join(side['conditions']) or 'none'}"

    return {"line": line, **identity, "stage": finding["stage"],
            "ordered": words(finding["ordered"]), "imposed": words(finding["imposed"]),
            "findings": ", ".join(f.replace("-", " ") for f in finding["findings"])}


def check_as_of(now: datetime, as_of: datetime | None) -> datetime | None:
    """A past moment to report on, or None for the record as it stands; never the future."""
    if as_of is not None and as_of > now:
        raise BondtrackError("the as-of time is in the future: a report states what has happened")
    return as_of


def states_as_of(session: Session, order: CourtOrder,
                 as_of: datetime | None) -> dict[int, StateAt]:
    """Each person's stage as of ``as_of`` (None: every event), in one ordered query."""
    query = (
        select(Event.detainee_id, Event.kind, Event.from_stage, Event.to_stage, Event.at,
               Event.actor, Event.payload)
        .where(Event.order_id == order.id, Event.detainee_id.is_not(None),
               or_(Event.to_stage.is_not(None), Event.kind.in_(("note", "updated"))))
        .order_by(Event.detainee_id, Event.at, Event.id)
    )
    if as_of is not None:
        query = query.where(Event.at <= as_of)
    rows = session.execute(query)
    states: dict[int, StateAt] = {}
    for detainee_id, kind, from_stage, to_stage, at, actor, payload in rows:
        state = states.get(detainee_id)
        if to_stage is not None:
            state = _moved(state, kind, from_stage, to_stage, at, actor, payload or {})
            states[detainee_id] = state
        elif state is not None:
            _annotated(state, kind, payload or {})
    return states


def _moved(state: StateAt | None, kind: str, from_stage: str | None, to_stage: str,
           at: datetime, actor: str, payload: Mapping[str, Any]) -> StateAt:
    facility = payload.get("facility") or (state.facility if state else None)
    note = payload.get("note") or (state.note if state else None)
    return StateAt(stage=to_stage, since=at, move=kind, actor=actor, previous=from_stage,
                   reason=payload.get("reason"), note=note, facility=facility)


def _annotated(state: StateAt, kind: str, payload: Mapping[str, Any]) -> None:
    if kind == "note" and payload.get("text"):
        state.note = payload["text"]
    elif kind == "updated" and payload.get("field") == "facility":
        state.facility = payload.get("to")


def stage_totals(states: Any) -> dict[str, Any]:
    """The same numbers, with the same keys, as `bondtrack status --json`."""
    return stages.totals(Counter(state.stage for state in states))


def summary_rows(counts: Mapping[str, Any], excluded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary table, top to bottom: what the court asks first comes first."""
    stage = counts["by_stage"]
    rows = [
        ("Covered by the order", counts["covered"], "total"),
        ("Released", stage["RELEASED"], "resolved"),
        ("Departed or removed", stage["DEPARTED"], "resolved"),
        ("Not in custody when the order was entered", stage["NOT_IN_CUSTODY"], "resolved"),
        ("Outstanding", counts["outstanding"], "total"),
        ("Bond posted, awaiting release", stage["BOND_POSTED"], "outstanding"),
        ("Bond set, not yet posted", stage["BOND_SET"], "outstanding"),
        ("Located, bond not yet set", stage["LOCATED"], "outstanding"),
        ("Not located", stage["INTAKE"] + stage["LOCATING"], "outstanding"),
        ("Excluded from the order", counts["excluded"], "total"),
    ]
    reasons = Counter(row["reason"] or "no reason recorded" for row in excluded)
    rows += [(f"Excluded: {reason.replace('-', ' ')}", n, "excluded")
             for reason, n in sorted(reasons.items())]
    rows.append(("Total on the class list", counts["total"], "total"))
    return [{"label": label, "people": people, "kind": kind} for label, people, kind in rows]


def _people(session: Session, order: CourtOrder) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Detainee.id, Detainee.a_number, Detainee.family_name, Detainee.given_name,
               Detainee.notes, Detainee.exclusion_reason, Facility.code)
        .outerjoin(Facility, Detainee.facility_id == Facility.id)
        .where(Detainee.order_id == order.id)
        .order_by(Detainee.a_number)
    )
    keys = ("id", "a_number", "family_name", "given_name", "notes", "exclusion_reason", "facility")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _facilities(session: Session) -> dict[str, tuple[str, str | None]]:
    return {code: (name, office) for code, name, office in
            session.execute(select(Facility.code, Facility.name, Facility.field_office))}


def _identity(person: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": person["id"], "a_number": format_a_number(person["a_number"]),
            "family_name": person["family_name"], "given_name": person["given_name"]}


def _how_released(state: StateAt) -> str:
    if state.previous == Stage.BOND_POSTED.value:
        return "on bond"
    return f"without bond: {state.reason}" if state.reason else "without bond"


def _annex_row(state: StateAt, person: Mapping[str, Any], as_of: datetime, tz: str,
               at_risk: bool) -> tuple[str, dict[str, Any]]:
    """Which annex lists the person, and what it says about them."""
    if state.stage == Stage.RELEASED.value:
        return "released", {"released_at": iso(state.since, tz), "how": _how_released(state)}
    if state.stage == Stage.EXCLUDED.value:
        return "excluded", {"reason": state.reason or person["exclusion_reason"],
                            "decided_by": state.actor, "decided_at": iso(state.since, tz),
                            "note": state.note}
    if state.stage in RESOLVED:
        return "departed", {"outcome": state.stage.replace("_", " ").lower(),
                            "recorded_at": iso(state.since, tz), "reason": state.reason,
                            "recorded_by": state.actor}
    return "outstanding", {
        "stage": state.stage,
        "stage_since": iso(state.since, tz),
        # A move stamped a little ahead of our clock has not taken a day yet.
        "days_in_stage": round(max((as_of - state.since).total_seconds(), 0) / 86400, 1),
        "blocker": _MOVE_BLOCKERS.get(state.move, BLOCKERS[state.stage]),
        "at_risk": "yes" if at_risk else "",
        "notes": state.note or person["notes"],
    }


def _forecast(session: Session, order: CourtOrder, now: datetime,
              settings: Settings) -> tuple[dict[str, Any], set[int]]:
    """The projection at the current pace, and the ids of the people it puts at risk."""
    forecast = deadlines.projection(session, order, now, settings)
    risks = deadlines.at_risk(session, order, now, settings, forecast=forecast)
    return forecast.as_dict(), {risk.detainee_id for risk in risks}


# ---------------------------------------------------------------- the files


def render_report(data: Mapping[str, Any], fmt: str, path: Path) -> None:
    """Write the report in ``fmt`` (pdf, html, csv, xlsx, json) to ``path``."""
    if fmt in ("pdf", "html"):
        page = render("compliance.html.j2", report=data, caption=caption(data))
        if fmt == "html":
            path.write_text(page, encoding="utf-8")
        else:
            pdf.write_pdf(page, path)
    elif fmt == "csv":
        write_csv(path, CSV_COLUMNS, flat_rows(data))
    elif fmt == "xlsx":
        write_xlsx(path, report_sheets(data))
    else:
        write_json(path, data)


def caption(data: Mapping[str, Any]) -> dict[str, str]:
    """The caption's lines, times spelled out in court time."""
    order = data["order"]
    left = data["seconds_left"]
    return {
        "deadline": when(order["deadline"], "long", order["time_zone"]),
        "as_of": when(data["as_of"], "long", order["time_zone"]),
        "made_at": when(data["made_at"], "long", order["time_zone"]),
        "order_date": order["order_date"] or "not recorded",
        "time_left": display.time_left(left),
    }


CSV_COLUMNS = ("part", "label", "people",
               *dict.fromkeys(column for columns in (*ANNEXES.values(), TERMS_COLUMNS)
                              for column in columns))


def flat_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary and every annex in one table, each row tagged with its ``part``."""
    rows = [{"part": "summary", **row} for row in data["summary"]]
    for part in (*ANNEXES, "terms"):
        rows += [{"part": part, **row} for row in data[part]]
    return rows


def report_sheets(data: Mapping[str, Any]) -> list[Sheet]:
    """The workbook: the caption and summary on the first tab, one tab per annex."""
    order = data["order"]
    heading = [
        {"label": "Court", "people": order["court"]},
        {"label": "Case", "people": order["case_number"]},
        {"label": "Judge", "people": order["judge"]},
        {"label": "Deadline", "people": order["deadline"]},
        {"label": "As of", "people": data["as_of"]},
        {"label": "", "people": None},
    ]
    return [
        Sheet("Summary", ("label", "people"), heading + list(data["summary"])),
        *(Sheet(annex.title(), columns, data[annex]) for annex, columns in ANNEXES.items()),
        Sheet("Terms findings", TERMS_COLUMNS, data["terms"]),
    ]


# ---------------------------------------------------------------- the command


def generate_report(database: db.Database, order_id: int, *, fmt: str, path: Path, actor: Actor,
                    now: datetime, settings: Settings, as_of: datetime | None = None) -> Written:
    """Make the report, write it (0600) to ``path`` and record it in the audit log."""
    with database.snapshot() as session:
        order = session.get(CourtOrder, order_id)
        if order is None:
            raise BondtrackError(f"no order #{order_id}")
        data = report_data(session, order, now, settings, as_of)
    with private_output(path) as partial:
        render_report(data, fmt, partial)
        with database.write() as session:
            event = audit.record(
                session, kind="report-generated", order_id=order_id, actor=actor, at=now, now=now,
                payload={"format": fmt, "as_of": data["as_of"], "file": path.name,
                         **{key: data["counts"][key] for key in ("covered", "resolved",
                                                                 "outstanding", "excluded")}},
            )
            session.flush()
            event_id = event.id
    return Written(path=path, rows=data["counts"]["total"], event_id=event_id)
