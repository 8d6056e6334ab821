"""An order's dated obligations: the releases (its deadline) and everything else it sets.

A November order can owe government data by the 14th, an updated list by the
19th, and releases plus a joint status report by noon on the 21st. The
releases obligation is the order's own ``deadline`` column (one place a
deadline lives; amendments move it); the others are rows of ``obligations``.
Every view lists the releases first, then the rest by due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.core import clock, dates
from workflow.core.errors import NotFoundError, ValidationError
from workflow.record import audit, schema
from workflow.record.audit import Actor
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, check_widths

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import CourtOrder

RELEASES = "releases"
KINDS = (RELEASES, "status-report", "data-production", "other")
OWED_BY = ("government", "counsel", "court")


@dataclass(frozen=True)
class Due:
    """One obligation as every view sees it, the releases one included."""

    key: str  # "releases" or "obligation-<id>": stable, and what `obligation done` takes
    kind: str
    due_at: datetime
    owed_by: str | None
    note: str | None
    done_at: datetime | None
    done_by: str | None

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    def alert_prefix(self) -> str:
        """What an alert threshold for this obligation starts with; it changes with the due time,
        so thresholds already fired for an old deadline stay recorded and new ones fire once."""
        return f"{self.key.replace('obligation-', 'ob')}@{self.due_at:%Y%m%dT%H%MZ}"


def obligations(reader: Reader, order: OrderRow) -> list[Due]:
    """Every obligation of ``order``: the releases first, then the others by due time."""
    table = schema.obligations
    releases = Due(RELEASES, RELEASES, order.deadline, "government", None,
                   order.releases_done_at, order.releases_done_by)
    rows = flushed(reader).execute(
        select(table).where(table.c.order_id == order.id).order_by(table.c.due_at, table.c.id))
    return [releases, *(_due(row) for row in rows)]


def open_obligations(reader: Reader, order: OrderRow) -> list[Due]:
    """The obligations not yet done: what deadline alerts run for."""
    return [due for due in obligations(reader, order) if due.is_open]


def _due(row: Any) -> Due:
    """An ``obligations`` row or an ``Obligation`` as a Due (they read alike)."""
    return Due(f"obligation-{row.id}", row.kind, row.due_at, row.owed_by, row.note,
               row.done_at, row.done_by)


def add_obligation(session: Session, order: CourtOrder, *, kind: str, due: str, actor: Actor,
                   now: datetime, owed_by: str | None = None, note: str | None = None) -> Due:
    """Record an obligation the order sets; ``due`` is wall time in the court's zone."""
    if kind == RELEASES:
        raise ValidationError(
            "the releases obligation is the order's deadline: move it with `bondtrack order amend"
            " --deadline`, or give a subset its own with `bondtrack order add --parent`"
        )
    if kind not in KINDS:
        raise ValidationError(f"obligation kind must be one of: {', '.join(KINDS)}")
    if owed_by is not None and owed_by not in OWED_BY:
        raise ValidationError(f"owed by must be one of: {', '.join(OWED_BY)}")
    check_widths(schema.obligations, {"kind": kind, "owed_by": owed_by})
    from workflow.record.models import Obligation  # the ORM: whoever writes has loaded it

    row = Obligation(order_id=order.id, kind=kind, due_at=dates.parse_instant(due, order.time_zone),
                     owed_by=owed_by, note=note or None, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, kind="obligation-added", order_id=order.id, actor=actor, at=now, now=now,
                 payload={"obligation": f"obligation-{row.id}", "kind": kind,
                          "due": row.due_at.isoformat(), "owed_by": owed_by, "note": note})
    return _due(row)


def complete_obligation(session: Session, order: CourtOrder, key: str, *, actor: Actor,
                        now: datetime, at: datetime | None = None,
                        note: str | None = None) -> Due:
    """Close an obligation (filed, produced, superseded): who closed it and when."""
    at = at or now
    due = next((d for d in obligations(session, order) if d.key == _key(key)), None)
    if due is None:
        raise NotFoundError(f"no obligation {key} in order {order.case_number}:"
                            " see `bondtrack order obligation list`")
    if not due.is_open:
        raise ValidationError(f"obligation {due.key} is already done")
    if due.key == RELEASES:
        order.releases_done_at, order.releases_done_by = at, actor.operator
    else:
        from workflow.record.models import Obligation

        row = session.get(Obligation, int(due.key.removeprefix("obligation-")))
        assert row is not None, "listed a moment ago, in this transaction"
        row.done_at, row.done_by = at, actor.operator
    session.flush()
    audit.record(session, kind="obligation-done", order_id=order.id, actor=actor, at=at, now=now,
                 payload={"obligation": due.key, "kind": due.kind, "note": note})
    return next(d for d in obligations(session, order) if d.key == due.key)


def _key(text: str) -> str:
    """``3``, ``obligation-3`` and ``releases`` all name an obligation."""
    text = text.strip().lower()
    return f"obligation-{text}" if text.isdigit() else text


def describe(due: Due, tz: str, now: datetime, stayed: bool = False) -> dict[str, Any]:
    """JSON-ready: times in the court's zone, and whether it is open, overdue, stayed or done."""
    state = "done" if not due.is_open else "stayed" if stayed else (
        "overdue" if due.due_at <= now else "open")
    return {
        "key": due.key,
        "kind": due.kind,
        "due": clock.local(due.due_at, tz).isoformat(),
        "owed_by": due.owed_by,
        "note": due.note,
        "state": state,
        "done_at": clock.local(due.done_at, tz).isoformat() if due.done_at else None,
        "done_by": due.done_by,
    }


def listing(reader: Reader, order: OrderRow, now: datetime) -> list[dict[str, Any]]:
    """The order's obligations as ``describe`` rows, releases first."""
    stayed = order.stayed_since is not None
    return [describe(due, order.time_zone, now, stayed) for due in obligations(reader, order)]
