"""The audit log: who changed what, through which door, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.models import Detainee, Event


@dataclass(frozen=True)
class Actor:
    """Who made a change (the operator) and through what (cli, import, apply, flow, ...)."""

    operator: str
    source: str = "cli"


def record(
    session: Session,
    *,
    kind: str,
    actor: Actor,
    at: datetime,
    now: datetime,
    order_id: int | None = None,
    detainee: Detainee | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event; ``at`` is when it happened, ``now`` when it was recorded."""
    from workflow.record.models import Event  # the ORM, loaded by whoever writes: not by `status`

    event = Event(
        order_id=detainee.order_id if detainee is not None else order_id,
        detainee_id=detainee.id if detainee is not None else None,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        payload=payload or {},
        actor=actor.operator,
        source=actor.source,
        at=at,
        recorded_at=now,
    )
    session.add(event)
    return event
