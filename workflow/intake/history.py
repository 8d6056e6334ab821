"""The class list's history: each person's stage and the dates that led there.

Teams come to bondtrack days into a release with a spreadsheet that already says
who was located where, whose bond was set and posted, and who is out. This
module turns those columns into the moves the stage table allows, with the
file's dates, marked as brought in from the file (source ``import``, file and
line), so the burndown, the pace and every ``report --as-of`` start from the
true history.

It works on rows the reader already read (``workflow.intake.tables``), in two steps:

- ``plan`` checks every row before anything is written: the dates (any of the
  import's formats; court time unless an offset is given; not in the future,
  not before the order, in the order the steps happen), the stage against the
  dates, the reasons the stage table requires, and what is already recorded.
  Every problem is ``FILE:LINE: column: message``.
- ``record`` writes the planned moves in bulk (one executemany per table).

The log is append-only: a move the file gives that is already recorded is
left alone (so the same file twice changes nothing), a later file records only
the moves that come after what is recorded, and a file that contradicts a
recorded event is an error naming the line and the event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, String, bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflow.core import clock, dates, stages
from workflow.core.errors import ConflictError
from workflow.core.identity import normalize_a_number, normalize_name
from workflow.core.money import parse_amount
from workflow.core.stages import Action, Stage
from workflow.intake import tables
from workflow.people.tracking import EXCLUSION_REASONS, PAYMENT_METHODS
from workflow.places.facilities import normalize_facility_code
from workflow.record import schema
from workflow.record.audit import Actor
from workflow.record.models import Bond, CourtOrder, Detainee, Event, Facility

# Canonical column → aliases; roster.COLUMNS takes these in, so the reader knows them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "stage": ("current_stage", "current stage", "etapa"),
    "located_at": ("located", "located on", "date located", "located date"),
    "bond_amount": ("bond", "amount", "bond amount ($)"),
    "obligor": ("obligor_name", "sponsor"),
    "bond_set_at": ("bond set", "bond set on", "bond_set_date", "bond date", "date bond set"),
    "receipt": ("i-305", "i305", "i-305 receipt", "i305 receipt", "receipt_number",
                "i-305 number"),
    "method": ("payment_method", "payment method", "paid by"),
    "posted_at": ("posted", "bond posted", "bond posted at", "posted on", "date posted"),
    "released_at": ("released", "released on", "release date", "date released"),
    "reason": ("release_reason", "release reason", "exclusion_reason", "exclusion reason"),
    "stage_at": ("stage date", "stage since", "since"),
}
# The usual spellings of each stage (compared lower case, "_" and "-" read as spaces).
STAGE_SPELLINGS: dict[Stage, tuple[str, ...]] = {
    Stage.INTAKE: ("intake", "new", "not started"),
    Stage.LOCATING: ("locating", "searching", "not located", "not found", "to locate"),
    Stage.LOCATED: ("located", "found", "localizado", "localizada"),
    Stage.BOND_SET: ("bond set", "bondset", "bond issued", "bond granted", "fianza fijada"),
    Stage.BOND_POSTED: ("bond posted", "posted", "bond paid", "paid", "fianza pagada"),
    Stage.RELEASED: ("released", "release", "out", "liberado", "liberada"),
    Stage.EXCLUDED: ("excluded", "exclusion", "ineligible", "not eligible", "excluido",
                     "excluida"),
    Stage.DEPARTED: ("departed", "removed", "deported", "left the country", "deportado",
                     "deportada"),
    Stage.NOT_IN_CUSTODY: ("not in custody", "nic", "not detained", "out of custody",
                           "no detenido", "no detenida"),
}
_SPELLINGS = {spelling: stage for stage, names in STAGE_SPELLINGS.items()
              for spelling in (*names, stage.value.lower().replace("_", " "))}
_DATE_COLUMNS = ("located_at", "bond_set_at", "posted_at", "released_at", "stage_at")
# Any of these says a bond was set, so a release came after its posting.
_BOND_COLUMNS = ("bond_amount", "obligor", "bond_set_at", "receipt", "method", "posted_at")
# The move each date column dates, and how a message names it.
_STEP_OF = {"located_at": Action.LOCATE, "bond_set_at": Action.BOND, "posted_at": Action.POST,
            "released_at": Action.RELEASE}
_WHAT = {"located_at": "the locating", "bond_set_at": "the bond", "posted_at": "its posting",
         "released_at": "a release", "stage_at": "the stage's date"}
_FINAL = {Stage.LOCATING: Action.SEARCH, Stage.EXCLUDED: Action.EXCLUDE,
          Stage.DEPARTED: Action.DEPART, Stage.NOT_IN_CUSTODY: Action.NOT_IN_CUSTODY}
# A stated time a little ahead of our clock is a skewed clock (as for the moves).
_CLOCK_SLACK = timedelta(minutes=5)
# A day (ISO or US) and, if given, a wall time (24-hour or with AM/PM); anything else, such
# as a time with an offset, is read as ISO 8601.
UNDATED_IMPORT = "no date in the file: the time of the import"


def undated_before(column: str) -> str:
    return f"no date in the file: dated as {column}, the next step it gives"


def has_history(columns: Iterable[str]) -> bool:
    """Whether a file's columns carry any history (a stage, a date, a bond)."""
    return any(column in COLUMNS for column in columns)


# ---------------------------------------------------------------- one row, on its own


@dataclass
class Step:
    """One move the file gives: what, from which column, and when."""

    action: Action
    column: str  # the column that dates it ("stage" for the final move)
    given: datetime | None  # None: no date of its own
    day_only: bool = False
    at: datetime | None = None  # when it is recorded (resolved from ``given``)
    undated: str | None = None  # how an undated step got its time
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """One person's history as the file tells it, and the moves still to record."""

    line: int
    a_number: str
    stage: Stage | None
    steps: list[Step]
    facility_code: str | None
    moves: list[Move] = field(default_factory=list)
    entered: datetime | None = None  # for a new person: when they came under the order
    behind: bool = False  # nothing new, and the record has moved on past the file's stage


@dataclass(frozen=True)
class Move:
    action: Action
    source: Stage
    target: Stage
    at: datetime
    column: str
    payload: dict[str, Any]
    details: dict[str, Any]


def parse_stage(text: str) -> Stage:
    key = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    stage = _SPELLINGS.get(key)
    if stage is None:
        raise ValueError("not a stage (use Located, Bond Set, Bond Posted, Released, Excluded,"
                         " Departed or Not in custody)")
    return stage


@dataclass(frozen=True)
class Context:
    """What every row is checked against: the order's zone and date, and now."""

    time_zone: str
    order_date: date | None
    now: datetime
    default_bond_cents: int | None

    def day(self, instant: datetime) -> date:
        return _court_day(instant, self.time_zone)

    def court(self, instant: datetime) -> str:
        return f"{clock.local(instant, self.time_zone):%Y-%m-%d %H:%M %Z}"


@lru_cache(maxsize=65536)
def _court_day(instant: datetime, tz: str) -> date:
    return clock.local(instant, tz).date()


def read_row(row: tables.Row, context: Context, errors: list[tuple[str, str]]) -> Plan | None:
    """The row's history (None when it has none); problems are appended to ``errors``."""
    if not any(row.get(column) for column in COLUMNS):
        return None
    try:
        a_number = normalize_a_number(row.get("a_number"))
    except ValueError:
        return None  # the class list's own check reports it
    stage = row.parsed("stage", parse_stage, errors)
    when = {column: row.parsed(column, lambda t: dates.parse_when(t, context.time_zone), errors)
            for column in _DATE_COLUMNS}
    for column, value in when.items():
        if value is not None:
            _check_date(column, value, context, errors)
    details = _details(row, errors)
    if details["amount_cents"] is None:
        details["amount_cents"] = context.default_bond_cents
    code = None
    if row.get("facility_code"):
        try:
            code = normalize_facility_code(row.get("facility_code"))
        except ValueError:
            pass  # the class list's own check reports it
    if stage is None:
        if not row.get("stage"):
            given = next(c for c in COLUMNS if row.get(c))
            errors.append(("stage", f"is required when {given} is given"))
        return None
    steps = _steps(stage, row, when, details, errors)
    if errors:
        return None
    _order_and_time(steps, context, errors)
    if errors:
        return None
    return Plan(row.line, a_number, stage, steps, code)


def _check_date(column: str, value: tuple[datetime, bool], context: Context,
                errors: list[tuple[str, str]]) -> None:
    instant, day_only = value
    if (context.day(instant) > context.day(context.now) if day_only
            else instant > context.now + _CLOCK_SLACK):
        errors.append((column, "is in the future"))
    elif context.order_date and context.day(instant) < context.order_date:
        errors.append((column, f"is before the order ({context.order_date.isoformat()})"))


def _details(row: tables.Row, errors: list[tuple[str, str]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    found["amount_cents"] = row.parsed("bond_amount", parse_amount, errors)
    found["obligor_name"] = row.parsed("obligor", normalize_name, errors)
    found["receipt"] = row.get("receipt") or None
    if row.get("method"):
        method = row.get("method").lower().replace(" ", "-").replace("_", "-")
        method = {"cashiers-check": "cashier-check", "cashier's-check": "cashier-check",
                  "money-order": "money-order"}.get(method, method)
        if method not in PAYMENT_METHODS:
            errors.append(("method", f"must be one of: {', '.join(PAYMENT_METHODS)}"))
        found["method"] = method
    found["reason"] = row.get("reason") or None
    found["exclusion"] = None
    if found["reason"]:
        reason = "-".join(found["reason"].lower().replace("_", " ").split())
        found["exclusion"] = reason if reason in EXCLUSION_REASONS else None
    bonds = schema.bonds
    for name, width in (("obligor_name", cast(String, bonds.c.obligor_name.type).length),
                        ("receipt", cast(String, bonds.c.receipt_number.type).length)):
        if width is not None and isinstance(found.get(name), str) and len(found[name]) > width:
            column = "obligor" if name == "obligor_name" else name
            errors.append((column, f"longer than {width} characters"))
    return found


def _steps(stage: Stage, row: tables.Row, dates: dict[str, Any], details: dict[str, Any],
           errors: list[tuple[str, str]]) -> list[Step]:
    """The moves that lead to ``stage``, in order; a date past the stage is a problem."""
    bonded = any(row.get(column) for column in _BOND_COLUMNS)
    path: list[str] = []
    if stage in (Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED, Stage.RELEASED) or (
            stage in _FINAL and stage is not Stage.LOCATING and (row.get("located_at") or bonded)):
        path.append("located_at")
    if stage in (Stage.BOND_SET, Stage.BOND_POSTED) or (
            stage is not Stage.LOCATED and "located_at" in path and bonded):
        path.append("bond_set_at")
    if stage is Stage.BOND_POSTED or ("bond_set_at" in path and stage is not Stage.BOND_SET
                                      and (stage is Stage.RELEASED or row.get("posted_at")
                                           or row.get("receipt") or row.get("method"))):
        path.append("posted_at")
    if stage is Stage.RELEASED:
        path.append("released_at")
    for column in _DATE_COLUMNS[:-1]:
        if row.get(column) and column not in path:
            errors.append((column, f"the stage is {stage.value}, which this date does not"
                                   " lead to: the stage and the dates disagree"))
    if row.get("stage_at") and stage not in _FINAL:
        errors.append(("stage_at", f"only dates a stage with no date column of its own"
                                   f" (not {stage.value})"))
    if stage is Stage.EXCLUDED and details["exclusion"] is None:
        errors.append(("reason", "an exclusion needs a reason: one of "
                                 + ", ".join(EXCLUSION_REASONS)))
    steps = [Step(_STEP_OF[column], column, *(dates[column] or (None, False))) for column in path]
    if stage in _FINAL:
        steps.append(Step(_FINAL[stage], "stage_at", *(dates["stage_at"] or (None, False))))
    for step in steps:
        step.details = details
    return steps


def _order_and_time(steps: list[Step], context: Context, errors: list[tuple[str, str]]) -> None:
    """Refuse dates out of order; give each step its time (undated: the next dated step's,
    else the import's, and say so)."""
    previous: Step | None = None
    for step in steps:
        if step.given is None:
            continue
        if previous is not None and previous.at is not None:
            if (context.day(step.given) < context.day(previous.at) if step.day_only
                    or previous.day_only else step.given < previous.at):
                errors.append((step.column, f"before {previous.column}: {_WHAT[step.column]}"
                                            f" cannot come before {_WHAT[previous.column]}"))
                return
            # A day alone, on the day of the step before: just after it, not at midnight.
            same_day = step.day_only and context.day(step.given) == context.day(previous.at)
            step.at = max(step.given, previous.at) if same_day else step.given
        else:
            step.at = step.given
        previous = step
    later: Step | None = None
    for step in reversed(steps):
        if step.at is None:
            if later is not None:
                step.at, step.undated = later.at, undated_before(later.column)
            else:
                step.at, step.undated = context.now, UNDATED_IMPORT
        else:
            later = step
    last = None
    for step in steps:  # an undated last step at "now" may not precede a skewed-clock date
        if last is not None and step.at is not None and last > step.at:
            step.at = last
        last = step.at


# ---------------------------------------------------------------- against the record


@dataclass
class Recorded:
    """A person as the database has them: stage, since when, and their last move per kind."""

    id: int | None
    stage: Stage
    since: datetime
    facility_id: int | None
    last: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    bond_id: int | None = None


def recorded_people(session: Session, order: CourtOrder,
                    a_numbers: Iterable[str]) -> dict[str, Recorded]:
    """The people of ``order`` among ``a_numbers``, each with their recorded moves."""
    wanted = set(a_numbers)
    people = {a: Recorded(i, Stage(stage), since, facility)
              for i, a, stage, since, facility in session.execute(
                  select(Detainee.id, Detainee.a_number, Detainee.stage, Detainee.stage_since,
                         Detainee.facility_id).where(Detainee.order_id == order.id))
              if a in wanted}
    if not people:
        return people
    by_id = {person.id: person for person in people.values()}
    moves = session.execute(
        select(Event.detainee_id, Event.id, Event.kind, Event.at)
        .where(Event.order_id == order.id, Event.to_stage.is_not(None))
        .order_by(Event.at, Event.id))
    for detainee_id, event_id, kind, at in moves:
        if detainee_id in by_id:
            by_id[detainee_id].last[kind] = (event_id, at)
    bonds = session.execute(
        select(Bond.detainee_id, Bond.id).join(Detainee, Bond.detainee_id == Detainee.id)
        .where(Detainee.order_id == order.id, Bond.cancelled_at.is_(None)).order_by(Bond.id))
    for detainee_id, bond_id in bonds:
        if detainee_id in by_id:
            by_id[detainee_id].bond_id = bond_id
    return people


def plan_moves(plan: Plan, recorded: Recorded, context: Context,
               errors: list[tuple[str, str]]) -> None:
    """Fill ``plan.moves``: the file's steps not recorded yet, checked by the stage table and
    against the record; a step that contradicts a recorded event is a problem naming it."""
    stage, since = recorded.stage, recorded.since
    for step in plan.steps:
        assert step.at is not None
        seen = recorded.last.get(step.action.value)
        if seen is not None and (step.given is None or _same(step, seen[1], context)):
            continue  # already recorded: the log keeps it, the file agrees
        transition = stages.find(step.action, stage)
        if transition is not None and step.at >= since:
            details = dict(step.details)
            if step.action is Action.LOCATE:
                if not plan.facility_code and recorded.facility_id is None:
                    errors.append(("facility_code", "is required: the person was located"
                                                    f" ({step.column})"))
                    return
                details["facility"] = plan.facility_code
            if "reason" in transition.requires and not step.details.get("reason"):
                errors.append(("reason", "a release without a posted bond needs a reason"
                                         " (recognizance, ATD, ...)"))
                return
            plan.moves.append(Move(step.action, stage, transition.target, step.at, step.column,
                                   _payload(step, plan), details))
            stage, since = transition.target, step.at
            continue
        errors.append((step.column, _refusal(step, stage, since, seen, recorded, context)))
        return


def _same(step: Step, recorded_at: datetime, context: Context) -> bool:
    if step.day_only and step.given is not None:
        return context.day(recorded_at) == context.day(step.given)
    return recorded_at == step.given


def _refusal(step: Step, stage: Stage, since: datetime, seen: tuple[int, datetime] | None,
             recorded: Recorded, context: Context) -> str:
    when = context.court(step.at) if step.given is not None and step.at is not None else "no date"
    if seen is not None:
        return (f"says {when}, but '{step.action.value}' is recorded at {context.court(seen[1])}"
                f" (event #{seen[0]}): history is never rewritten")
    if step.at is not None and step.at < since and recorded.last:
        kind, (event_id, at) = max(recorded.last.items(), key=lambda item: item[1][1])
        return (f"{when} is before the recorded '{kind}' at {context.court(at)} (event"
                f" #{event_id}): history is never rewritten")
    return (f"'{step.action.value}' cannot follow {stage.value}; allowed from there:"
            f" {stages.describe_allowed(stage)}")


def _payload(step: Step, plan: Plan) -> dict[str, Any]:
    """What the event says, as the verb's would, plus where it came from."""
    details = step.details
    payload: dict[str, Any] = {}
    if step.action is Action.LOCATE:
        payload["facility"] = plan.facility_code
    elif step.action is Action.BOND:
        payload["amount_cents"] = details["amount_cents"]
        payload["changed"] = sorted(
            name for name in ("amount_cents", "obligor_name") if details.get(name) is not None)
    elif step.action is Action.POST:
        payload.update(method=details.get("method"), receipt=bool(details.get("receipt")))
    elif step.action is Action.EXCLUDE:
        payload["reason"] = details["exclusion"]
    elif step.action in (Action.RELEASE, Action.DEPART, Action.NOT_IN_CUSTODY):
        if details.get("reason"):
            payload["reason"] = details["reason"]
    payload["imported_from"] = {"line": plan.line}
    if step.undated:
        payload["undated"] = step.undated
    return payload


# ---------------------------------------------------------------- the whole file


@dataclass
class Summary:
    """What a history import records: moves per stage, how many had no date, and how many
    people the file is behind (their record has moved on since)."""

    moves: Counter[str] = field(default_factory=Counter)
    undated: int = 0
    behind: int = 0

    def as_dict(self) -> dict[str, Any]:
        ordered = {stage.value: self.moves[stage.value] for stage in Stage
                   if self.moves[stage.value]}
        return {"moves": ordered, "undated": self.undated, "behind": self.behind}


def plan(session: Session, order: CourtOrder, table: tables.Table, *, now: datetime,
         default_bond_cents: int | None) -> dict[str, Plan]:
    """Every row's history, checked; problems go into ``table``. Keyed by A-number."""
    if not table.records or not has_history(table.present):
        return {}
    context = Context(order.time_zone, order.order_date, now, default_bond_cents)
    plans: dict[str, Plan] = {}
    for row in table.good_rows():
        errors: list[tuple[str, str]] = []
        found = read_row(row, context, errors)
        for column, message in errors:
            table.problem(row.line, column, message)
        if found is not None:
            plans[found.a_number] = found
    recorded = recorded_people(session, order, plans)
    start = _order_start(order)
    for a_number, person in plans.items():
        errors = []
        existing = recorded.get(a_number)
        if existing is None:
            first = min((s.at for s in person.steps if s.at is not None), default=now)
            person.entered = start if start is not None and start <= first else first
            existing = Recorded(None, Stage.INTAKE, person.entered, None)
        plan_moves(person, existing, context, errors)
        person.behind = not person.moves and existing.stage is not person.stage
        for column, message in errors:
            table.problem(person.line, column, message)
    table.sort_problems()
    return plans


def _order_start(order: CourtOrder) -> datetime | None:
    """The start of the order's date in court time: people whose history the file gives were
    covered from then, so the burndown starts with everyone."""
    if order.order_date is None:
        return None
    start = datetime.combine(order.order_date, time(0), tzinfo=clock.zone(order.time_zone))
    return dates.parse_instant(f"{start:%Y-%m-%d %H:%M}", order.time_zone)


def record(session: Session, order: CourtOrder, plans: Iterable[Plan], *, file: str,
           actor: Actor, now: datetime) -> Summary:
    """Write the planned moves: events, bonds and the people's new stage, in bulk."""
    summary = Summary()
    plans = list(plans)
    summary.behind = sum(p.behind for p in plans)
    plans = [p for p in plans if p.moves]
    session.flush()
    if not plans:
        return summary
    people = {a: (i, v, f) for i, a, v, f in session.execute(
        select(Detainee.id, Detainee.a_number, Detainee.version, Detainee.facility_id)
        .where(Detainee.order_id == order.id))}
    codes = {code: i for code, i in session.execute(select(Facility.code, Facility.id))}
    bonds = _active_bonds(session, order)
    events, new_bonds, posts, updates = [], [], [], []
    for person in plans:
        detainee_id, version, facility_id = people[person.a_number]
        exclusion = None
        bond: dict[str, Any] | None = None
        for move in person.moves:
            events.append({
                "order_id": order.id, "detainee_id": detainee_id, "kind": move.action.value,
                "from_stage": move.source.value, "to_stage": move.target.value,
                "payload": {**move.payload, "imported_from": {"file": file, "line": person.line}},
                "actor": actor.operator, "source": actor.source, "at": move.at,
                "recorded_at": now})
            summary.moves[move.target.value] += 1
            summary.undated += "undated" in move.payload
            if move.action is Action.LOCATE and person.facility_code:
                # A facility named, not coded, was resolved by the class list's own reading.
                facility_id = codes.get(person.facility_code, facility_id)
            elif move.action is Action.BOND:
                bond = {"detainee_id": detainee_id, "amount_cents": move.details["amount_cents"],
                        "obligor_name": move.details["obligor_name"], "set_at": move.at,
                        "posted_at": None, "receipt_number": None, "payment_method": None}
                new_bonds.append(bond)
            elif move.action is Action.POST:
                posted = {"posted_at": move.at, "receipt_number": move.details["receipt"],
                          "payment_method": move.details.get("method")}
                if bond is not None:
                    bond.update(posted)
                else:
                    posts.append({"b_id": bonds[detainee_id], **posted})
            elif move.action is Action.EXCLUDE:
                exclusion = move.details["exclusion"]
        last = person.moves[-1]
        updates.append({"b_id": detainee_id, "b_version": version, "stage": last.target.value,
                        "stage_since": last.at, "facility_id": facility_id,
                        "exclusion_reason": exclusion, "version": version + 1,
                        "updated_at": now})
    _write(session, events, new_bonds, posts, updates)
    return summary


def _active_bonds(session: Session, order: CourtOrder) -> dict[int, int]:
    rows = session.execute(
        select(Bond.detainee_id, Bond.id).join(Detainee, Bond.detainee_id == Detainee.id)
        .where(Detainee.order_id == order.id, Bond.cancelled_at.is_(None)).order_by(Bond.id))
    return {detainee_id: bond_id for detainee_id, bond_id in rows}


def _write(session: Session, events: list[dict], new_bonds: list[dict], posts: list[dict],
           updates: list[dict]) -> None:
    """One executemany per table, on the tables (not the classes): the ORM's bulk path costs
    more than the database here, as for the class list itself."""
    people = schema.detainees
    changed = cast(CursorResult[Any], session.execute(
        update(people)
        .where(people.c.id == bindparam("b_id"), people.c.version == bindparam("b_version"))
        .values(stage=bindparam("stage"), stage_since=bindparam("stage_since"),
                facility_id=bindparam("facility_id"),
                exclusion_reason=bindparam("exclusion_reason"),
                version=bindparam("version"), updated_at=bindparam("updated_at")),
        updates))
    dialect = session.get_bind().dialect
    if dialect.supports_sane_multi_rowcount and changed.rowcount != len(updates):
        raise ConflictError(
            "the record was changed by someone else while you worked on it: re-run the command")
    session.execute(insert(schema.events), events)
    if new_bonds:
        session.execute(insert(schema.bonds), new_bonds)
    if posts:
        bonds = schema.bonds
        session.execute(
            update(bonds).where(bonds.c.id == bindparam("b_id"))
            .values(posted_at=bindparam("posted_at"), receipt_number=bindparam("receipt_number"),
                    payment_method=bindparam("payment_method")), posts)
    session.expire_all()  # the people and bonds changed under the ORM's objects


def entered_times(plans: dict[str, Plan]) -> dict[str, datetime]:
    """When each new person came under the order, for their ``imported`` event."""
    return {a: p.entered for a, p in plans.items() if p.entered is not None}
