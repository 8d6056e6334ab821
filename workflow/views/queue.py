"""The next action for each person, and the queue a team works from.

One table, like the stage table, says what is to be done next at each stage (and in the
bond's life after release) and when it is due. The sweep's findings raise the urgency of the
action they concern. Before release every due time is capped at the court's deadline; a
stayed order pauses that deadline (no cap, nobody "misses" it), not ICE's dates.

The queue sorts everyone by when their action is due, those who will miss the court's
deadline first. It never reads every person: each stage's candidates come from an index in
due order, ``limit`` at a time, so the page answers alike at 615 and at 100,000 people.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.identity import a_number_fields
from workflow.core.stages import Stage
from workflow.notices.sms.consent import FAILING
from workflow.orders import orders
from workflow.people import locating, sweep
from workflow.places import posting
from workflow.record.models import (
    Bond,
    BondEvent,
    CourtOrder,
    Detainee,
    Event,
    Facility,
    FieldOffice,
    Hearing,
    SmsConsent,
    SmsNumber,
    SmsReply,
    User,
)


@dataclass(frozen=True)
class Step:
    """One row of the table: the action's code, what a person reads, and how it falls due."""

    code: str
    words: str
    due: str


LOOK_UP = Step("look-up", "Look them up in the locator", "now")
LOOK_AGAIN = Step("look-again", "Look them up again",
                  "[locator] recheck_hours after the last look-up")
CALL_OFFICE = Step("call-office", "Ask the field office where they are held",
                   "at once, after [locator] ask_office_after empty look-ups in a row")
CONFIRM_FACILITY = Step("confirm-facility",
                        "Confirm where the locator says they are (a facility the directory lacks)",
                        "at once, after the automated locator found them there")
ASK_BOND = Step("ask-bond", "Ask for bond, or send the demand letter to the field office",
                "[sweep] stale_hours_located after they were located")
POST_BOND = Step("post-bond", "Post the bond",
                 "when the facility's next posting window closes (its own zone), or at the"
                 " deadline if that comes first")
CONFIRM = Step("confirm-release", "Confirm the release and the pick-up",
               "[sweep] stale_hours_bond_posted after the bond was posted")
PRODUCE = Step("produce", "Produce the person: a demand to deliver (I-340)",
               "the surrender time the demand names")
APPEAL = Step("appeal", "Appeal the bond breach", "the appeal deadline")
HEARING = Step("hearing", "Prepare for the hearing", "the hearing's time")
READ_REPLY = Step("read-reply", "Read the text they sent, and answer it", "when it arrived")
CHECK_NUMBER = Step("check-number", "Their number fails: check it with them before texting",
                    "when it was marked failing")

# What comes next, by stage; INTAKE and LOCATING turn to a call after empty look-ups, and
# after release the bond's life (a demand, a breach, a hearing) says what is next.
TABLE: tuple[tuple[str, Step], ...] = (
    (Stage.INTAKE.value, LOOK_UP),
    (Stage.LOCATING.value, LOOK_AGAIN),
    (f"{Stage.INTAKE.value}, {Stage.LOCATING.value}", CALL_OFFICE),
    (f"{Stage.INTAKE.value}, {Stage.LOCATING.value}", CONFIRM_FACILITY),
    (Stage.LOCATED.value, ASK_BOND),
    (Stage.BOND_SET.value, POST_BOND),
    (Stage.BOND_POSTED.value, CONFIRM),
    ("RELEASED: bond demanded", PRODUCE),
    ("RELEASED: bond breached", APPEAL),
    ("RELEASED: hearing ahead", HEARING),
    ("any: a text received, not yet read", READ_REPLY),
    ("any: a consented number failing", CHECK_NUMBER),
)
STEPS = {step.code: step for _, step in TABLE}
# The sweep's findings that make an action urgent, by the stage they concern.
URGENT_FINDINGS = (sweep.STALE, sweep.NO_BOND_SET, sweep.RELEASE_UNCONFIRMED, sweep.AT_RISK)
DUE_SOON = timedelta(hours=24)
_BEFORE_RELEASE = (Stage.INTAKE, Stage.LOCATING, Stage.LOCATED, Stage.BOND_SET,
                   Stage.BOND_POSTED)


@dataclass
class Item:
    """One person's next action."""

    detainee_id: int
    a_number: str
    family_name: str
    given_name: str
    stage: str
    step: Step
    due: datetime
    owner: str | None = None
    detail: str = ""
    misses_deadline: bool = False
    findings: list[str] = field(default_factory=list)

    def overdue(self, now: datetime) -> bool:
        return self.due <= now

    def as_dict(self, now: datetime, time_zone: str) -> dict[str, Any]:
        return {"id": self.detainee_id, **a_number_fields(self.a_number),
                "family_name": self.family_name, "given_name": self.given_name,
                "stage": self.stage, "action": self.step.code, "action_words": self.step.words,
                "detail": self.detail, "due": clock.local(self.due, time_zone).isoformat(),
                "overdue": self.overdue(now), "misses_deadline": self.misses_deadline,
                "urgent": bool(self.findings), "findings": self.findings, "owner": self.owner}


@dataclass(frozen=True)
class Context:
    """What every person's next action shares, computed once per call."""

    order: CourtOrder
    now: datetime
    cadence: locating.Cadence
    stale: dict[str, timedelta]
    deadline: datetime | None  # None while the order is stayed
    # facility id → its next posting window (opens, closes), None if it has none
    windows: dict[int | None, tuple[datetime, datetime] | None]
    late: frozenset[int | None]  # facilities whose last window before the deadline closed
    owners: dict[int, str]  # active owners' e-mails; a disabled owner's people are unowned
    disabled: frozenset[int]

    @classmethod
    def of(cls, session: Session, order: CourtOrder, settings: Settings,
           now: datetime) -> Context:
        limits = settings.section("sweep")
        stale = {stage.value: timedelta(hours=limits[f"stale_hours_{stage.value.lower()}"])
                 for stage in _BEFORE_RELEASE}
        deadline = None if orders.is_stayed(order) else order.deadline
        windows: dict[int | None, tuple[datetime, datetime] | None] = {}
        late: set[int | None] = set()
        # Windows are per facility, not per person: the facilities of the people with a bond
        # set (an index of stage and facility), their offices' hours read once.
        office_hours = dict(session.execute(select(FieldOffice.name, FieldOffice.posting_hours)
                                            .where(FieldOffice.posting_hours.is_not(None))).all())
        held = select(Detainee.facility_id).where(
            Detainee.order_id == order.id, Detainee.stage == Stage.BOND_SET.value).distinct()
        for facility in [*session.scalars(select(Facility).where(Facility.id.in_(held))), None]:
            key = facility.id if facility is not None else None
            zone = posting.facility_time_zone(facility, order.time_zone)
            hours = (facility.posting_hours or office_hours.get(facility.field_office or "")
                     if facility is not None else None)
            windows[key] = posting.next_window(now, zone, settings, hours)
            last = posting.last_window_before(order.deadline, zone, settings, hours)
            if deadline is not None and (last is None or last[1] <= now):
                late.add(key)
        owners, disabled = {}, set()
        for user_id, email, disabled_at in session.execute(
                select(User.id, User.email, User.disabled_at)):
            if disabled_at is None:
                owners[user_id] = email
            else:
                disabled.add(user_id)
        return cls(order, now, locating.Cadence.of(settings), stale, deadline, windows,
                   frozenset(late), owners, frozenset(disabled))

    def closes(self, facility_id: int | None) -> datetime | None:
        """When the facility's next posting window closes (None: no window known)."""
        window = self.windows.get(facility_id)
        return window[1] if window else None

    def capped(self, due: datetime) -> datetime:
        return min(due, self.deadline) if self.deadline is not None else due

    def passed(self) -> bool:
        return self.deadline is not None and self.now >= self.deadline


def next_step(ctx: Context, person: Any) -> tuple[Step, datetime, bool] | None:
    """The step, its due time and whether it will miss the court's deadline, for a person
    before release (a row with stage, stage_since, next_lookup_at, empty_lookups,
    facility_id); None for a stage with no next action here."""
    stage = person.stage
    if stage in (Stage.INTAKE.value, Stage.LOCATING.value):
        if person.locator_saw:
            step = CONFIRM_FACILITY
        elif person.empty_lookups >= ctx.cadence.ask_office_after:
            step = CALL_OFFICE
        else:
            step = LOOK_UP if stage == Stage.INTAKE.value else LOOK_AGAIN
        due = person.next_lookup_at or person.stage_since
    elif stage in (Stage.LOCATED.value, Stage.BOND_POSTED.value):
        step = ASK_BOND if stage == Stage.LOCATED.value else CONFIRM
        due = person.stage_since + ctx.stale[stage]
    elif stage == Stage.BOND_SET.value:
        step = POST_BOND
        closes = ctx.closes(person.facility_id)
        due = closes if closes is not None else ctx.now
        if ctx.deadline is not None and person.facility_id in ctx.late:
            return step, ctx.capped(due), True
    else:
        return None
    return step, ctx.capped(due), ctx.passed()


# ---------------------------------------------------------------- the queue

_COLUMNS = (Detainee.id, Detainee.a_number, Detainee.family_name, Detainee.given_name,
            Detainee.stage, Detainee.stage_since, Detainee.next_lookup_at,
            Detainee.empty_lookups, Detainee.facility_id, Detainee.owner_id,
            Detainee.locator_saw)

ALL = "all"
UNOWNED = "unowned"


def _owner_clauses(ctx: Context, owner: int | str) -> list[Any]:
    """Whose people, as clauses each read alone by an owner-led index (their OR, or an IN of
    a subquery, would walk the stage's index instead): none for everyone; the unowned are
    nobody's and each disabled account's (``caseloads.unowned_clauses``, spelled out)."""
    if owner == ALL:
        return []
    if owner == UNOWNED:
        return [Detainee.owner_id.is_(None),
                *(Detainee.owner_id == user_id for user_id in sorted(ctx.disabled))]
    return [Detainee.owner_id == owner]


def _candidates(session: Session, ctx: Context, owner: int | str, limit: int) -> list[Any]:
    """Enough people to fill ``limit`` places correctly: each stage's first ``limit`` by due
    time (a bond's: each facility's, whose window makes the due time, so one with no window
    left before the deadline is in), and its first ``limit`` with an open at-risk finding."""
    found: dict[int, Any] = {}
    base = select(*_COLUMNS).where(Detainee.order_id == ctx.order.id)
    bases = [base.where(clause) for clause in _owner_clauses(ctx, owner)] or [base]
    risky: Any = None
    if ctx.deadline is not None and not ctx.passed():
        # Read once, findings only (the events' kind index), not once per stage or person.
        finder = aliased(Detainee)
        at_risk = (select(Event.detainee_id).join(finder, finder.id == Event.detainee_id).where(
            Event.kind == sweep.FINDING, finder.order_id == ctx.order.id,
            Event.at >= finder.stage_since,
            Event.payload["check"].as_string() == sweep.AT_RISK))
        ids = sorted({pid for pid in session.scalars(at_risk) if pid is not None})
        risky = ids if len(ids) <= _IN_LIST else at_risk
    for stage, base in ((stage, base) for stage in _BEFORE_RELEASE for base in bases):
        groups = _in_due_order(base.where(Detainee.stage == stage.value), stage, ctx)
        if risky is not None and (not isinstance(risky, list) or risky):
            groups += [(q.where(Detainee.id.in_(risky)), k) for q, k in list(groups)]
        for group, key in groups:
            for row in session.execute(group.order_by(*key, Detainee.id).limit(limit)):
                found[row.id] = row
    return list(found.values())


_IN_LIST = 5000  # at-risk ids bound as a list up to this many, else the subquery


def _in_due_order(query: Any, stage: Stage, ctx: Context) -> list[tuple[Any, Any]]:
    """The stage's people as queries each sorted by an index in due order: a look-up is due
    at ``next_lookup_at`` when one is set, else since ``stage_since`` (a ``coalesce`` of the
    two would sort every person of the stage)."""
    if stage in (Stage.INTAKE, Stage.LOCATING):
        return [(query.where(Detainee.next_lookup_at.is_(None)), (Detainee.stage_since,)),
                (query.where(Detainee.next_lookup_at.is_not(None)),
                 (Detainee.next_lookup_at, Detainee.stage_since))]
    if stage is Stage.BOND_SET:  # one due time per facility: each facility's people by id
        # Equality on each facility (none: IS NULL), never a NOT IN: a range sorted by id
        # would walk the primary key past every other stage's people.
        return [(query.where(Detainee.facility_id.is_(None) if key is None
                             else Detainee.facility_id == key), ())
                for key in sorted(ctx.windows, key=lambda k: (k is not None, k or 0))]
    return [(query, (Detainee.stage_since,))]


def _released(session: Session, ctx: Context, owner: int | str) -> list[Item]:
    """After release: a demand to produce the person, a breach to appeal, a coming hearing."""
    latest = (select(BondEvent.bond_id, func.max(BondEvent.id).label("last"))
              .group_by(BondEvent.bond_id).subquery())
    dues = session.execute(
        select(Bond.detainee_id, BondEvent.state, BondEvent.due_at)
        .join(latest, latest.c.bond_id == Bond.id).join(BondEvent, BondEvent.id == latest.c.last)
        .where(Bond.cancelled_at.is_(None), BondEvent.state.in_(("demanded", "breached")),
               BondEvent.due_at.is_not(None))).all()
    found: dict[Any, tuple[Step, datetime]] = {
        pid: (PRODUCE if state == "demanded" else APPEAL, due) for pid, state, due in dues
        if due is not None}
    coming = session.execute(
        select(Hearing.detainee_id, func.min(Hearing.at))
        .where(Hearing.done_at.is_(None), Hearing.at > ctx.now,
               Hearing.at <= ctx.now + timedelta(days=14))
        .group_by(Hearing.detainee_id)).all()
    for pid, at in coming:
        found.setdefault(pid, (HEARING, at))
    return _items_for(session, ctx, owner, found)


def _texts(session: Session, ctx: Context, owner: int | str) -> list[Item]:
    """What text messages ask of the person's owner: a reply not yet read, a number that
    fails (besides the person's next step, so neither waits behind a look-up)."""
    replies = session.execute(
        select(SmsReply.detainee_id, func.min(SmsReply.received_at))
        .where(SmsReply.seen_at.is_(None), SmsReply.detainee_id.is_not(None))
        .group_by(SmsReply.detainee_id)).all()
    failing = session.execute(
        select(SmsConsent.detainee_id, func.min(SmsNumber.updated_at))
        .join(SmsNumber, SmsNumber.id == SmsConsent.number_id)
        .where(SmsNumber.status == FAILING).group_by(SmsConsent.detainee_id)).all()
    return (_items_for(session, ctx, owner, {pid: (READ_REPLY, at) for pid, at in replies})
            + _items_for(session, ctx, owner, {pid: (CHECK_NUMBER, at) for pid, at in failing}))


def _items_for(session: Session, ctx: Context, owner: int | str,
               found: dict[Any, tuple[Step, datetime]]) -> list[Item]:
    """The items for people named by a small table (bonds, hearings, texts), read from those
    few rows first: joined from the people's side, the query would walk every person."""
    columns = (Detainee.id, Detainee.a_number, Detainee.family_name, Detainee.given_name,
               Detainee.stage, Detainee.owner_id)
    clauses = _owner_clauses(ctx, owner)
    ids = sorted(pid for pid in found if pid is not None)
    items = []
    for start in range(0, len(ids), 1000):
        query = select(*columns).where(Detainee.order_id == ctx.order.id,
                                       Detainee.id.in_(ids[start:start + 1000]))
        if clauses:
            query = query.where(or_(*clauses))
        for row in session.execute(query):
            step, due = found[row.id]
            items.append(_item(ctx, row, step, due))
    return items


def _item(ctx: Context, row: Any, step: Step, due: datetime, misses: bool = False) -> Item:
    return Item(row.id, row.a_number, row.family_name, row.given_name, row.stage, step, due,
                owner=ctx.owners.get(row.owner_id) if row.owner_id else None,
                misses_deadline=misses)


def queue(session: Session, order: CourtOrder, settings: Settings, now: datetime, *,
          owner: int | str = ALL, limit: int = 50) -> list[Item]:
    """The next ``limit`` actions of ``owner``'s people (an account id, ``ALL`` or
    ``UNOWNED``), those that will miss the deadline first, then by due time."""
    ctx = Context.of(session, order, settings, now)
    items = _released(session, ctx, owner) + _texts(session, ctx, owner)
    for row in _candidates(session, ctx, owner, limit):
        found = next_step(ctx, row)
        if found is not None:
            items.append(_item(ctx, row, found[0], found[1], found[2]))
    if ctx.deadline is not None:  # the sweep's at-risk finding: the pace says they will miss it
        risky = {person for person, check in sweep.open_findings(
            session, sorted({item.detainee_id for item in items})) if check == sweep.AT_RISK}
        for item in items:
            item.misses_deadline |= item.detainee_id in risky and item.stage in _BEFORE_RELEASE
    items.sort(key=lambda item: (not item.misses_deadline, item.due, item.detainee_id))
    chosen = items[:limit]
    _annotate(session, ctx, chosen)
    return chosen


def _annotate(session: Session, ctx: Context, items: Sequence[Item]) -> None:
    """Details for the few items shown: the bond to post and its window, the office to call,
    and the open findings that make an action urgent."""
    ids = [item.detainee_id for item in items]
    if not ids:
        return
    for person_id, check in sweep.open_findings(session, ids):
        if check in URGENT_FINDINGS:
            for item in items:
                if item.detainee_id == person_id and check not in item.findings:
                    item.findings.append(check)
    people = {d.id: d for d in session.scalars(select(Detainee).where(Detainee.id.in_(ids)))}
    for item in items:
        person = people[item.detainee_id]
        if item.step is POST_BOND and person.active_bond is not None:
            bond = person.active_bond
            window = ctx.windows.get(person.facility_id)  # a bond set: its facility was read
            parts = [f"${(bond.amount_cents or 0) / 100:,.0f}"]
            if bond.obligor_name:
                parts.append(f"obligor {bond.obligor_name}")
            if window:
                opens, closes = window
                parts.append(f"window {opens:%a %d %b %H:%M}–{closes:%H:%M %Z}")
            item.detail = "; ".join(parts)
        elif item.step is CALL_OFFICE:
            item.detail = office_line(session, person)
        elif item.step is CONFIRM_FACILITY:
            item.detail = f"the locator says: {person.locator_saw}"


def office_line(session: Session, person: Detainee) -> str:
    """The field office to call about ``person``, with its phone number from the directory."""
    name = person.facility.field_office if person.facility is not None else None
    office = (session.scalars(select(FieldOffice).where(FieldOffice.name == name)).first()
              if name else None)
    if office is None:
        return "call the field office of the area where they were arrested"
    return f"call {office.name} ERO" + (f", {office.phone}" if office.phone else "")


# ---------------------------------------------------------------- counts

@dataclass
class Counts:
    outstanding: int = 0
    due: int = 0  # due now or within DUE_SOON
    overdue: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"outstanding": self.outstanding, "due": self.due, "overdue": self.overdue}


def _stage_counts(session: Session, ctx: Context, group: Any) -> Iterable[tuple[Any, ...]]:
    """(group, outstanding, due, overdue) per ``group`` value, counted in SQL per stage."""
    soon = ctx.now + DUE_SOON
    rows: dict[Any, Counts] = {}
    for stage in _BEFORE_RELEASE:
        if stage in (Stage.INTAKE, Stage.LOCATING):
            when: Any = locating.due_at()
            due_by, overdue_by = soon, ctx.now
        elif stage is Stage.BOND_SET:
            when = None
        else:
            when = Detainee.stage_since
            due_by, overdue_by = soon - ctx.stale[stage.value], ctx.now - ctx.stale[stage.value]
        due_col: Any
        overdue_col: Any
        if ctx.passed():
            due_col = overdue_col = func.count()
        elif when is None:  # a posting window: due when it closes within a day
            soon_ids = [f for f in ctx.windows
                        if f is not None and (closes := ctx.closes(f)) is not None
                        and closes <= soon]
            due_col = func.sum(case((Detainee.facility_id.in_(soon_ids), 1), else_=0)) \
                if soon_ids else func.sum(0)
            overdue_col = func.sum(0)
        else:
            if ctx.deadline is not None and ctx.deadline <= soon:
                due_col = func.count()
            else:
                due_col = func.sum(case((when <= due_by, 1), else_=0))
            overdue_col = func.sum(case((when <= overdue_by, 1), else_=0))
        query = (select(group, func.count(), due_col, overdue_col)
                 .where(Detainee.order_id == ctx.order.id, Detainee.stage == stage.value)
                 .group_by(group))
        for key, outstanding, due, overdue in session.execute(query):
            counts = rows.setdefault(key, Counts())
            counts.outstanding += outstanding
            counts.due += int(due or 0)
            counts.overdue += int(overdue or 0)
    return [(key, c) for key, c in rows.items()]


def caseloads(session: Session, order: CourtOrder, settings: Settings,
              now: datetime) -> list[dict[str, Any]]:
    """Per owner (and the unowned): outstanding people, actions due, actions overdue."""
    ctx = Context.of(session, order, settings, now)
    by_owner: dict[str | None, Counts] = {}
    for owner_id, counts in _stage_counts(session, ctx, Detainee.owner_id):
        email = ctx.owners.get(owner_id) if owner_id is not None else None
        total = by_owner.setdefault(email, Counts())
        total.outstanding += counts.outstanding
        total.due += counts.due
        total.overdue += counts.overdue
    for item in _released(session, ctx, ALL) + _texts(session, ctx, ALL):
        total = by_owner.setdefault(item.owner, Counts())
        total.due += item.due <= now + DUE_SOON
        total.overdue += item.due <= now
    accounts = session.execute(select(User.email, User.role).where(
        User.disabled_at.is_(None), User.role.in_(("staff", "attorney")))).all()
    for email, _ in accounts:
        by_owner.setdefault(email, Counts())
    roles = dict(accounts)
    rows = [{"owner": email, "role": roles.get(email) if email else None, **c.as_dict()}
            for email, c in by_owner.items()]
    return sorted(rows, key=lambda r: (r["owner"] is None, r["owner"] or ""))


def overview(session: Session, order: CourtOrder, settings: Settings,
             now: datetime) -> dict[str, int]:
    """For the overview page: actions overdue, and outstanding people with no owner."""
    ctx = Context.of(session, order, settings, now)
    overdue = unowned = 0
    for owner_id, counts in _stage_counts(session, ctx, Detainee.owner_id):
        overdue += counts.overdue
        if owner_id is None or owner_id not in ctx.owners:
            unowned += counts.outstanding
    overdue += sum(1 for item in _released(session, ctx, ALL) + _texts(session, ctx, ALL)
                   if item.due <= now)
    return {"overdue": overdue, "unowned": unowned}
