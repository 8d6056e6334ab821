"""The sweep, the heartbeat of a release: plan it once, check the outstanding people batch by
batch (each batch one transaction) and everyone's terms, then sum up. The Prefect flow runs
these as tasks; ``bondtrack run sweep`` reads the new findings afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from workflow.core.config import Settings
from workflow.orders import orders
from workflow.people import sweep
from workflow.people.sweep import BatchResult, Plan, SweepSummary
from workflow.record.audit import Actor
from workflow.record.db import Database

__all__ = ["BatchResult", "Plan", "SweepSummary"]


def plan(database: Database, settings: Settings, case: str | None, *, now: datetime) -> Plan:
    """Outstanding ids, the at-risk ids and the projection, read once for every batch."""
    with database.read() as session:
        return sweep.plan(session, orders.resolve_order(session, case), now, settings)


def batch_count(plan: Plan, settings: Settings) -> int:
    """How many batches the plan's people make."""
    return len(sweep.batches(plan.detainee_ids, sweep.batch_size(settings)))


def check_batch(database: Database, settings: Settings, plan: Plan, batch: int, *,
                now: datetime, actor: Actor) -> BatchResult:
    """Check one batch of people and record their new findings, in one transaction."""
    ids = sweep.batches(plan.detainee_ids, sweep.batch_size(settings))[batch]
    with database.write() as session:
        return sweep.check_batch(session, plan, ids, now, actor)


def check_terms(database: Database, settings: Settings, plan: Plan, *, now: datetime,
                actor: Actor) -> BatchResult:
    """Record who is held or was released on terms the order does not allow."""
    with database.write() as session:
        return sweep.check_terms(session, plan, now, actor, settings)


def summarize(plan: Plan, results: Sequence[BatchResult], terms: BatchResult) -> SweepSummary:
    """The sweep's counts (no person)."""
    return sweep.summarize(plan, results, terms)


def markdown(summary: SweepSummary) -> str:
    """The sweep's counts as a Prefect artifact (no person)."""
    return sweep.markdown(summary)


def new_findings(database: Database, case: str | None,
                 after_event_id: int) -> list[dict[str, Any]]:
    """The people with findings recorded after ``after_event_id``, longest in stage first."""
    with database.read() as session:
        return sweep.new_findings(session, orders.resolve_order(session, case), after_event_id)


def case_number(database: Database, case: str | None) -> str:
    """The case number of the order ``case`` names (None: the only one)."""
    with database.read() as session:
        return orders.resolve_order(session, case).case_number
