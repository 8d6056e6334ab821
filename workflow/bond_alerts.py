"""Deadlines that lose a bond warn like the order's: the demand's surrender time, the appeal's.

Each open demand and each breach whose appeal is not filed gets the order's
thresholds (``[alerts] thresholds_hours``, then the deadline, then overdue
reminders), named after it: ``demand-<id>:T-24h``, ``appeal-<id>:deadline``
(``<id>`` is the bond event's, as `bondtrack bonds list` shows it). They are
rows of ``alerts`` like every other, so each fires once and a restarted
scheduler repeats nothing; they stop when the bond leaves the state (the person
was produced, the appeal was filed). The same check queues the hearing
reminders that are due (``workflow.hearings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from workflow import bonds, clock, hearings
from workflow.audit import Actor
from workflow.config import Settings
from workflow.models import Alert, CourtOrder
from workflow.thresholds import Rules, Threshold, decide

_WHAT = {"demand": "Produce the person (I-340 demand)", "appeal": "Appeal the breach (I-290B)"}


def open_deadlines(session: Session, order: CourtOrder) -> list[tuple[str, datetime, int]]:
    """(name, due time, bond id) of every date that can lose a bond now."""
    found = []
    for item in bonds.followed(session, order):
        deadline = item.next_deadline()
        if deadline is not None:
            found.append((deadline[0], deadline[1], item.bond.id))
    return found


def check(session: Session, order: CourtOrder, now: datetime, settings: Settings, actor: Actor,
          rules: Rules, staff: Sequence[str], rows: dict[str, Alert],
          counts: dict[str, int]) -> list[Threshold]:
    """Fire the due threshold of each open bond deadline, once; queue due hearing reminders."""
    from workflow import alerts  # alerts calls this module

    sent = []
    for name, due_at, bond_id in open_deadlines(session, order):
        prefix = f"{name}:"
        armed = {row.removeprefix(prefix) for row in rows if row.startswith(prefix)}
        decision = decide(due_at, rules, now, armed, outstanding=1)
        skipped = [Threshold(prefix + t.name, t.due_at) for t in decision.skip]
        for threshold in skipped:
            alerts._record(session, order, rows, threshold, alerts.SKIPPED, None)
        if decision.send is None:
            continue
        named = Threshold(prefix + decision.send.name, decision.send.due_at)
        local = clock.local(due_at, order.time_zone)
        close = alerts._how_close(decision.send.name)
        context = {**alerts.alert_context(session, order, now, settings, named, counts),
                   "title": f"{_WHAT[name.split('-')[0]]} for bond #{bond_id}, due"
                            f" {local:%a %d %b %Y %H:%M %Z}: {close}",
                   "time_left": clock.describe_duration((due_at - now).total_seconds()),
                   "command": f"bondtrack bonds list --order {order.case_number}"}
        alerts._fire(session, order, now, settings, actor, "alert", named, context, staff,
                     rows=rows, skipped=skipped)
        sent.append(named)
    hearings.queue_reminders(session, order, now, settings)
    return sent
