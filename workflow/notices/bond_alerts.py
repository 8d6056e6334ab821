"""Deadlines that lose a bond warn like the order's: the demand's surrender time, the appeal's.

Each open demand and each breach whose appeal is not filed gets the order's
thresholds (``[alerts] thresholds_hours``, then the deadline, then overdue
reminders), named after it: ``demand-<id>:T-24h``, ``appeal-<id>:deadline``
(``<id>`` is the bond event's, as `bondtrack bonds list` shows it). They are
rows of ``alerts`` like every other, so each fires once and a restarted
scheduler repeats nothing; they stop when the bond leaves the state (the person
was produced, the appeal was filed). The alert check that fires them also queues
the hearing reminders that are due (``workflow.notices.hearing_reminders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from workflow.bonds import bonds
from workflow.core import display
from workflow.notices.thresholds import Rules, Threshold, decide, how_close
from workflow.record.models import Alert, CourtOrder

_WHAT = {"demand": "Produce the person (I-340 demand)", "appeal": "Appeal the breach (I-290B)"}


def open_deadlines(session: Session, order: CourtOrder) -> list[tuple[str, datetime, int]]:
    """(name, due time, bond id) of every date that can lose a bond now."""
    found = []
    for item in bonds.followed(session, order):
        deadline = item.next_deadline()
        if deadline is not None:
            found.append((deadline[0], deadline[1], item.bond.id))
    return found


@dataclass(frozen=True)
class Due:
    """One bond deadline's turn: the thresholds it skips, the one to send (if any), and what
    its alert says beyond the order's own alert context."""

    skipped: list[Threshold]
    send: Threshold | None
    context: dict[str, str]


def due(session: Session, order: CourtOrder, now: datetime, rules: Rules,
        rows: dict[str, Alert]) -> list[Due]:
    """What each open bond deadline's thresholds call for now; ``alerts`` records and fires."""
    found = []
    for name, due_at, bond_id in open_deadlines(session, order):
        prefix = f"{name}:"
        armed = {row.removeprefix(prefix) for row in rows if row.startswith(prefix)}
        decision = decide(due_at, rules, now, armed, outstanding=1)
        skipped = [Threshold(prefix + t.name, t.due_at) for t in decision.skip]
        if decision.send is None:
            found.append(Due(skipped, None, {}))
            continue
        due = display.moment(due_at, order.time_zone)
        context = {"title": f"{_WHAT[name.split('-')[0]]} for bond #{bond_id}, due"
                            f" {due}: {how_close(decision.send.name)}",
                   "time_left": display.span((due_at - now).total_seconds()),
                   "command": f"bondtrack bonds list --order {order.case_number}"}
        found.append(Due(skipped, Threshold(prefix + decision.send.name, decision.send.due_at),
                         context))
    return found
