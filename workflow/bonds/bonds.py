"""The bond after posting: what happens to it until the last dollar is back.

At posting ICE issues the bond (Form I-352) and its receipt (I-305). Then the
obligor reports moves (I-333) and may name who gets the refund (I-312); ICE
may demand that the person be produced (I-340), declare the bond breached
(I-323, appealable on I-290B within 30 days, 33 when the notice is mailed),
or cancel it when the case ends (I-391), after which the obligor asks ICE's
Debt Management Center for the money back and it is refunded with interest.

Each of those is a ``BondEvent``; ``TRANSITIONS`` below is the one table
saying which event may follow which, read by the commands, the apply files,
the tests and the docs. A bond's state is the state its last event left it
in (``active`` when it has none). An event the table forbids is a one-line
error and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from workflow.core import clock
from workflow.core.clock import iso
from workflow.core.config import Settings
from workflow.core.errors import NotFoundError, TransitionError, ValidationError
from workflow.core.files import Sheet, Written, private_output, write_xlsx
from workflow.core.identity import a_number_fields
from workflow.core.money import dollars
from workflow.record import audit, db, schema
from workflow.record.audit import Actor
from workflow.record.models import Bond, BondEvent, CourtOrder, Detainee


class State(StrEnum):
    ACTIVE = "active"
    DEMANDED = "demanded"  # an I-340 is open: produce the person by its due time
    BREACHED = "breached"  # I-323 received; the appeal deadline runs
    APPEALED = "appealed"  # I-290B filed, not yet decided
    FORFEITED = "forfeited"  # the appeal was denied: the money is lost
    CANCELLED = "cancelled"  # I-391: the money is owed back
    REFUND_REQUESTED = "refund_requested"  # the packet went to the Debt Management Center
    REFUNDED = "refunded"


class Kind(StrEnum):
    ADDRESS_CHANGE = "address-change"
    DESIGNEE = "designee"
    DEMAND = "demand"
    PRODUCED = "produced"
    BREACHED = "breached"
    APPEAL_FILED = "appeal-filed"
    APPEAL_DECIDED = "appeal-decided"
    CANCELLED = "cancelled"
    REFUND_REQUESTED = "refund-requested"
    REFUNDED = "refunded"


# The form each event is about, for people and letters.
FORMS = {
    Kind.ADDRESS_CHANGE: "I-333", Kind.DESIGNEE: "I-312", Kind.DEMAND: "I-340",
    Kind.PRODUCED: "I-340", Kind.BREACHED: "I-323", Kind.APPEAL_FILED: "I-290B",
    Kind.APPEAL_DECIDED: "I-290B", Kind.CANCELLED: "I-391", Kind.REFUND_REQUESTED: "I-391",
    Kind.REFUNDED: "",
}
CANCEL_REASONS = ("case-closed", "status-granted", "departed", "removed", "other")
OUTCOMES = ("granted", "denied")  # of an appeal: the breach is set aside, or it stands
APPEAL_DAYS, MAIL_DAYS = 30, 3
# The options an event may take besides --date and --note; the rest are refused.
OPTIONS = ("due", "amount", "reason", "outcome", "name", "by_mail")
_OPTIONAL = {Kind.BREACHED: {"by_mail"}}  # taken besides what the table requires


@dataclass(frozen=True)
class Transition:
    kind: Kind
    source: State
    target: State
    requires: tuple[str, ...] = ()
    outcome: str | None = None  # for appeal-decided: which outcome leads to ``target``


def _rows(kind: Kind, sources: list[State], target: State | None,
          requires: tuple[str, ...] = (), outcome: str | None = None) -> list[Transition]:
    """``target`` None: the event leaves the bond where it is (a change of address)."""
    return [Transition(kind, source, target or source, requires, outcome) for source in sources]


_LIVE = [State.ACTIVE, State.DEMANDED, State.BREACHED, State.APPEALED]
# The whole machine. An (event, state) pair that is not here is forbidden.
TRANSITIONS: tuple[Transition, ...] = tuple(
    _rows(Kind.ADDRESS_CHANGE, [*_LIVE, State.CANCELLED, State.REFUND_REQUESTED], None)
    + _rows(Kind.DESIGNEE, [*_LIVE, State.CANCELLED], None, ("name",))
    + _rows(Kind.DEMAND, [State.ACTIVE], State.DEMANDED, ("due",))
    + _rows(Kind.PRODUCED, [State.DEMANDED], State.ACTIVE)
    + _rows(Kind.BREACHED, [State.ACTIVE, State.DEMANDED], State.BREACHED)
    + _rows(Kind.APPEAL_FILED, [State.BREACHED], State.APPEALED)
    + _rows(Kind.APPEAL_DECIDED, [State.APPEALED], State.ACTIVE, ("outcome",), "granted")
    + _rows(Kind.APPEAL_DECIDED, [State.APPEALED], State.FORFEITED, ("outcome",), "denied")
    + _rows(Kind.CANCELLED, [State.ACTIVE, State.DEMANDED], State.CANCELLED, ("reason",))
    + _rows(Kind.REFUND_REQUESTED, [State.CANCELLED], State.REFUND_REQUESTED)
    + _rows(Kind.REFUNDED, [State.CANCELLED, State.REFUND_REQUESTED], State.REFUNDED, ("amount",))
)
EVENTS = tuple(kind.value for kind in Kind)

# The ledger's buckets: a breach under appeal or lost is still a breached bond.
LEDGER_KEYS = ("posted", "active", "demanded", "breached", "cancelled", "refund_requested",
               "refunded")
_BUCKET = {State.ACTIVE: "active", State.DEMANDED: "demanded", State.BREACHED: "breached",
           State.APPEALED: "breached", State.FORFEITED: "breached",
           State.CANCELLED: "cancelled", State.REFUND_REQUESTED: "refund_requested",
           State.REFUNDED: "refunded"}
_CLOCK_SLACK = timedelta(minutes=5)


def allowed(kind: Kind, source: State) -> list[Transition]:
    """The rows for ``kind`` from ``source`` (two for appeal-decided, one per outcome)."""
    return [t for t in TRANSITIONS if t.kind == kind and t.source == source]


def options_for(kind: Kind) -> tuple[str, ...]:
    """The options an event of ``kind`` takes besides its date and note: what the table
    requires for it, then what it may take (a breach: ``by_mail``)."""
    required = dict.fromkeys(need for t in TRANSITIONS if t.kind == kind for need in t.requires)
    return (*required, *sorted(_OPTIONAL.get(kind, set()) - set(required)))


def describe_allowed(source: State) -> str:
    """The events the table allows from ``source``, e.g. ``demand (needs due), breached``."""
    seen: dict[str, None] = {}
    for t in TRANSITIONS:
        if t.source == source:
            seen[t.kind.value + (f" (needs {', '.join(t.requires)})" if t.requires else "")] = None
    return ", ".join(seen) if seen else "none (this state is final)"


def table_rows() -> list[tuple[str, str]]:
    """(state, the events allowed from it and where they lead), for the docs."""
    rows = []
    for state in State:
        moves: list[str] = []
        for t in TRANSITIONS:
            if t.source is not state:
                continue
            lead = "" if t.target is state else f" → {t.target.value}"
            step = f"{t.outcome}{lead}" if t.outcome else f"{t.kind.value}{lead}"
            if t.outcome and moves and moves[-1].startswith(t.kind.value):
                moves[-1] += f", {step}"
            else:
                moves.append(f"{t.kind.value} {step}" if t.outcome else step)
        rows.append((state.value, ", ".join(moves) if moves else "none: final"))
    return rows


def appeal_deadline(served_at: datetime, time_zone: str, by_mail: bool = True) -> datetime:
    """The last moment to file the I-290B: the end of the 30th day after the I-323 (33rd by
    mail), counted in calendar days in ``time_zone`` so a DST change moves no day."""
    days = APPEAL_DAYS + (MAIL_DAYS if by_mail else 0)
    last_day = clock.local(served_at, time_zone).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59), clock.zone(time_zone)).astimezone(UTC)


# ---------------------------------------------------------------- recording events


def posted_bond(detainee: Detainee) -> Bond:
    """The person's posted bond (the latest); a person without one has no bond to follow."""
    bond = next((b for b in reversed(detainee.bonds) if b.posted_at is not None), None)
    if bond is None:
        raise ValidationError(f"person #{detainee.id} has no posted bond")
    return bond


def history(session: Session, bond: Bond) -> list[BondEvent]:
    return list(session.scalars(
        select(BondEvent).where(BondEvent.bond_id == bond.id).order_by(BondEvent.id)))


def state_of(events: list[BondEvent]) -> State:
    return State(events[-1].state) if events else State.ACTIVE


def record(session: Session, detainee: Detainee, kind: str, *, actor: Actor, now: datetime,
           at: datetime | None = None, note: str | None = None, whole_day: bool = False,
           **options: Any) -> BondEvent:
    """Record one event of the person's posted bond, if the table allows it from its state.

    ``options``: ``due`` (demand: the surrender time), ``amount`` (refunded: cents),
    ``reason`` (cancelled), ``outcome`` (appeal-decided), ``name`` (designee),
    ``by_mail`` (breached: the I-323 came by mail, the default: 3 more days to appeal).
    ``whole_day``: ``at`` is the start of a day given without a time, which is in order
    with the events already recorded that day.
    Everything is checked before anything is written; one bond event and one audit event.
    """
    try:
        event_kind = Kind(kind)
    except ValueError:
        raise ValidationError(f"no bond event '{kind}': use one of {', '.join(EVENTS)}") from None
    unknown = sorted(set(options) - set(OPTIONS))
    assert not unknown, f"unknown options {unknown}"
    bond = posted_bond(detainee)
    events = history(session, bond)
    source = state_of(events)
    transition = _transition(bond, event_kind, source, options)
    given = {name: value for name, value in options.items() if value is not None}
    extra = sorted(set(given) - set(transition.requires) - _OPTIONAL.get(event_kind, set()))
    if extra:
        flags = ", ".join("--" + e.replace("_", "-") for e in extra)
        raise ValidationError(f"'{kind}' takes no {flags}")
    at = _checked_time(bond, events, at, now, whole_day)
    row = BondEvent(bond_id=bond.id, kind=event_kind.value, state=transition.target.value, at=at,
                    note=(note or "").strip() or None, actor=actor.operator, recorded_at=now,
                    **_facts(detainee, event_kind, at, given))
    schema.check_widths(schema.bond_events, {"detail": row.detail})
    session.add(row)
    detainee.updated_at = now  # a new version: bond events race like any other change
    flag_modified(detainee, "updated_at")
    session.flush()
    audit.record(session, kind=f"bond-{event_kind.value}", detainee=detainee, actor=actor, at=at,
                 now=now, payload={
                     "bond": bond.id, "bond_event": row.id, "from": source.value,
                     "to": row.state, "form": FORMS[event_kind] or None,
                     "due": row.due_at.isoformat() if row.due_at else None,
                     "amount_cents": row.amount_cents,
                     # a reason or outcome is a word from a list; a designee's name stays out
                     "detail": row.detail if event_kind is not Kind.DESIGNEE else None,
                 })
    return row


def _transition(bond: Bond, kind: Kind, source: State, options: dict[str, Any]) -> Transition:
    rows = allowed(kind, source)
    if not rows:
        raise TransitionError(f"bond #{bond.id} is {source.value}: '{kind.value}' is not allowed;"
                              f" allowed: {describe_allowed(source)}")
    missing = [need for need in rows[0].requires if options.get(need) in (None, "")]
    if missing:
        raise ValidationError(f"'{kind.value}' needs --{', --'.join(missing)}")
    if kind is Kind.APPEAL_DECIDED:
        chosen = [t for t in rows if t.outcome == options["outcome"]]
        if not chosen:
            raise ValidationError(f"the outcome must be one of: {', '.join(OUTCOMES)}")
        return chosen[0]
    if kind is Kind.CANCELLED and options["reason"] not in CANCEL_REASONS:
        raise ValidationError(f"the reason must be one of: {', '.join(CANCEL_REASONS)}")
    if kind is Kind.REFUNDED and options["amount"] <= 0:
        raise ValidationError("the refunded amount must be above zero")
    return rows[0]


def _checked_time(bond: Bond, events: list[BondEvent], at: datetime | None,
                  now: datetime, whole_day: bool) -> datetime:
    last = events[-1].at if events else bond.posted_at
    assert last is not None, "a posted bond has its posting time"
    if at is None:
        return max(now, last)
    if whole_day and at <= last < at + timedelta(days=1):
        at = last  # that day, after what was already recorded on it
    if at > now + _CLOCK_SLACK:
        raise ValidationError("the date given is in the future")
    if at < last:
        raise ValidationError(f"the date given is before bond #{bond.id}'s last recorded event")
    return at


def _facts(detainee: Detainee, kind: Kind, at: datetime, given: dict[str, Any]) -> dict[str, Any]:
    """The columns an event of ``kind`` fills: due time, amount, detail."""
    if kind is Kind.DEMAND:
        if given["due"] <= at:
            raise ValidationError("the surrender time (--due) must be after the demand's date")
        return {"due_at": given["due"]}
    if kind is Kind.BREACHED:
        return {"due_at": appeal_deadline(at, detainee.court_order.time_zone,
                                          given.get("by_mail", True)),
                "detail": "by mail" if given.get("by_mail", True) else "in person"}
    if kind is Kind.REFUNDED:
        return {"amount_cents": given["amount"]}
    if kind is Kind.CANCELLED:
        return {"detail": given["reason"]}
    if kind is Kind.APPEAL_DECIDED:
        return {"detail": given["outcome"]}
    if kind is Kind.DESIGNEE:
        return {"detail": given["name"].strip()}
    return {}


# ---------------------------------------------------------------- views


_BOND_COLUMNS = (Bond.id, Bond.amount_cents, Bond.obligor_name, Bond.obligor_phone,
                 Bond.obligor_email, Bond.receipt_number, Bond.posted_at)
_PERSON_COLUMNS = (Detainee.id, Detainee.a_number, Detainee.given_name, Detainee.family_name)
_EVENT_COLUMNS = (BondEvent.id, BondEvent.bond_id, BondEvent.kind, BondEvent.state, BondEvent.at,
                  BondEvent.due_at, BondEvent.amount_cents, BondEvent.detail)


@dataclass(frozen=True)
class Followed:
    """One posted bond as the ledger sees it: plain rows, not ORM objects, so a ledger of
    10,000 bonds loads no 10,000 people. ``bond``, ``detainee`` and each event are rows with
    the columns above (``bond.id``, ``detainee.a_number``, ``event.due_at``...)."""

    bond: Any
    detainee: Any
    events: tuple[Any, ...]

    @property
    def state(self) -> State:
        return State(self.events[-1].state) if self.events else State.ACTIVE

    def last(self, kind: Kind) -> Any | None:
        return next((e for e in reversed(self.events) if e.kind == kind.value), None)

    @property
    def since(self) -> datetime:
        last = self.events[-1].at if self.events else self.bond.posted_at
        assert last is not None, "a followed bond is posted"
        return last

    def next_deadline(self) -> tuple[str, datetime] | None:
        """(name, due time) of the date that can lose the bond: the demand's, the appeal's."""
        if self.state is State.DEMANDED:
            event = self.last(Kind.DEMAND)
            return (f"demand-{event.id}", event.due_at) if event and event.due_at else None
        if self.state is State.BREACHED:
            event = self.last(Kind.BREACHED)
            return (f"appeal-{event.id}", event.due_at) if event and event.due_at else None
        return None


def followed(session: Session, order: CourtOrder) -> list[Followed]:
    """Every posted bond of ``order`` with its events, by bond id (two queries)."""
    split = len(_BOND_COLUMNS)
    rows = session.execute(
        select(*_BOND_COLUMNS, *_PERSON_COLUMNS).join(Detainee, Bond.detainee_id == Detainee.id)
        .where(Detainee.order_id == order.id, Bond.posted_at.is_not(None)).order_by(Bond.id)).all()
    by_bond: dict[int, list[Any]] = defaultdict(list)
    if rows:
        for event in session.execute(
                select(*_EVENT_COLUMNS).join(Bond, BondEvent.bond_id == Bond.id)
                .join(Detainee, Bond.detainee_id == Detainee.id)
                .where(Detainee.order_id == order.id).order_by(BondEvent.id)):
            by_bond[event.bond_id].append(event)
    return [Followed(_Facts(row, _BOND_COLUMNS, 0, split),
                     _Facts(row, _PERSON_COLUMNS, split, len(row)), tuple(by_bond[row[0]]))
            for row in rows]


class _Facts:
    """Part of a result row, read by column name (``bond.id``, ``detainee.id``)."""

    __slots__ = ("_values",)

    def __init__(self, row: Any, columns: tuple[Any, ...], start: int, stop: int) -> None:
        self._values = dict(zip((c.key for c in columns), row[start:stop], strict=True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def refund_overdue_days(settings: Settings) -> int:
    return int(settings.section("bonds")["refund_overdue_days"])


def ledger(session: Session, order: CourtOrder, now: datetime,
           settings: Settings) -> dict[str, Any]:
    """Counts and sums per state, refunds pending too long, money by obligor, interest."""
    bonds = followed(session, order)
    buckets = {key: {"count": 0, "amount_cents": 0} for key in LEDGER_KEYS}
    by_obligor: dict[str, dict[str, int]] = defaultdict(
        lambda: {"bonds": 0, "posted_cents": 0, "held_cents": 0, "refunded_cents": 0})
    days = refund_overdue_days(settings)
    pending, interest = [], 0
    for item in bonds:
        cents = item.bond.amount_cents or 0
        for key in ("posted", _BUCKET[item.state]):
            buckets[key]["count"] += 1
            buckets[key]["amount_cents"] += cents
        money = by_obligor[item.bond.obligor_name or "(no obligor recorded)"]
        money["bonds"] += 1
        money["posted_cents"] += cents
        refund = item.last(Kind.REFUNDED)
        if refund is not None:
            money["refunded_cents"] += refund.amount_cents or 0
            interest += (refund.amount_cents or 0) - cents
        elif item.state is not State.FORFEITED:
            money["held_cents"] += cents
        if item.state in (State.CANCELLED, State.REFUND_REQUESTED):
            cancelled = item.last(Kind.CANCELLED)
            waited = (now - cancelled.at).days if cancelled else 0
            if waited > days:
                pending.append({"bond": item.bond.id, "person": item.detainee.id,
                                "state": item.state.value, "cancelled_at":
                                iso(cancelled.at, order.time_zone) if cancelled else None,
                                "days": waited, "amount_cents": cents})
    return {
        "order": order.case_number,
        **buckets,
        "interest_cents": interest,
        "refund_overdue_days": days,
        "refunds_overdue": pending,
        "by_obligor": [{"obligor": name, **money} for name, money in sorted(by_obligor.items())],
    }


def bond_rows(session: Session, order: CourtOrder, now: datetime,
              status: str | None = None) -> list[dict[str, Any]]:
    """One row per posted bond: who, how much, its state and the next date that can lose it."""
    if status is not None and status not in {s.value for s in State}:
        raise ValidationError(f"no bond status '{status}': use one of {', '.join(State)}")
    from workflow.bonds import hearings

    upcoming = hearings.next_hearings(session, order, now)
    tz = order.time_zone
    rows = []
    for item in followed(session, order):
        if status is not None and item.state.value != status:
            continue
        deadline = item.next_deadline()
        hearing = upcoming.get(item.detainee.id)
        refund = item.last(Kind.REFUNDED)
        rows.append({
            "bond": item.bond.id, "person": item.detainee.id,
            **a_number_fields(item.detainee.a_number),
            "name": f"{item.detainee.given_name} {item.detainee.family_name}",
            "obligor": item.bond.obligor_name, "amount_cents": item.bond.amount_cents,
            "amount": _dollars(item.bond.amount_cents), "state": item.state.value,
            "since": iso(item.since, tz), "receipt": item.bond.receipt_number,
            "next_deadline": deadline[0] if deadline else None,
            "due": iso(deadline[1], tz) if deadline else None,
            "next_hearing": hearing["at"] if hearing else None,
            "time_zone": tz, "next_hearing_time_zone": hearing["time_zone"] if hearing else None,
            "refunded_cents": refund.amount_cents if refund else None,
        })
    return rows


def bond_history(session: Session, detainee: Detainee) -> list[dict[str, Any]]:
    """The person's bond events, oldest first (for their page)."""
    tz = detainee.court_order.time_zone
    ids = [b.id for b in detainee.bonds]
    if not ids:
        return []
    return [{"bond": e.bond_id, "id": e.id, "kind": e.kind, "state": e.state,
             "at": iso(e.at, tz), "due": iso(e.due_at, tz), "amount_cents": e.amount_cents,
             "detail": e.detail, "note": e.note, "actor": e.actor}
            for e in session.scalars(select(BondEvent).where(BondEvent.bond_id.in_(ids))
                                     .order_by(BondEvent.id))]


def _dollars(cents: int | None) -> str:
    return "" if cents is None else dollars(cents)


# ---------------------------------------------------------------- the bond fund's workbook


def export_ledger(database: db.Database, order_id: int, *, path: Path, actor: Actor,
                  now: datetime, settings: Settings) -> Written:
    """The ledger, every bond and money by obligor as one XLSX (0600), audited like every
    export: the file is moved into place only once the log records it."""
    with database.read() as session:
        order = session.get(CourtOrder, order_id)
        if order is None:
            raise NotFoundError(f"no order #{order_id}")
        data = ledger(session, order, now, settings)
        rows = bond_rows(session, order, now)
    totals = [{"state": key, "bonds": data[key]["count"],
               "amount_usd": data[key]["amount_cents"] / 100} for key in LEDGER_KEYS]
    totals.append({"state": "interest received", "bonds": None,
                   "amount_usd": data["interest_cents"] / 100})
    for row in rows:
        row["amount_usd"] = (row["amount_cents"] or 0) / 100
        row["refunded_usd"] = None if row["refunded_cents"] is None else row["refunded_cents"] / 100
    obligors = [{"obligor": o["obligor"], "bonds": o["bonds"],
                 **{k.replace("_cents", "_usd"): o[k] / 100
                    for k in ("posted_cents", "held_cents", "refunded_cents")}}
                for o in data["by_obligor"]]
    sheets = [
        Sheet("Ledger", ["state", "bonds", "amount_usd"], totals),
        Sheet("Bonds", ["bond", "person", "a_number", "name", "obligor", "amount_usd", "state",
                        "since", "receipt", "next_deadline", "due", "next_hearing",
                        "refunded_usd"], rows),
        Sheet("Obligors", ["obligor", "bonds", "posted_usd", "held_usd", "refunded_usd"],
              obligors),
    ]
    with private_output(path) as partial:
        write_xlsx(partial, sheets)
        with database.write() as session:
            event = audit.record(session, kind="exported", order_id=order_id, actor=actor, at=now,
                                 now=now, payload={"format": "xlsx", "what": "bond-ledger",
                                                   "rows": len(rows), "file": path.name})
            session.flush()
            event_id = event.id
    return Written(path=path, rows=len(rows), event_id=event_id)
