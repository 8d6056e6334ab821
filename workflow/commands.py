"""The use cases the edges share, one function each, in the manner of ``alembic.command``.

Each takes the database, the settings, the actor and its arguments and returns data; none
prints or parses. The CLI, the web, the flows and the demo call these rather than
combining library calls themselves, so a rule such as "a stayed order has no projection"
is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow import amendments, orders, reports, terms, watch
from workflow.audit import Actor
from workflow.config import Settings
from workflow.db import Database

if TYPE_CHECKING:
    from workflow.intake.roster import ImportResult
    from workflow.models import CourtOrder


def status(database: Database, settings: Settings, case: str | None,
           now: datetime) -> dict[str, Any]:
    """The order's numbers as `bondtrack status` shows them: counts, time left, the order's
    changes and obligations, the projection, and whether a scheduler is watching.

    Core selects on a plain connection: a cold `bondtrack status` never loads the ORM."""
    with database.connection() as conn:
        order = orders.find_order(conn, case)
        data = reports.status(conn, order, now)
        data.update(amendments.status_block(conn, order, now, settings))
        if not data["stayed"]:  # a stayed order has no deadline to be at risk of missing
            data["projection"] = reports.projection(conn, order, now, settings)
        data["scheduler"] = watch.watch(conn, settings, now, [order]).as_dict(order.time_zone)
    return data


def add_order(database: Database, settings: Settings, *, parent: str | None = None,
              **fields: Any) -> dict[str, Any]:
    """Record an order, or with ``parent`` (a case number) a sub-order of it, which takes
    the parent's court, judge and zone unless given; the new order's summary."""
    with database.write() as session:
        added: CourtOrder
        if parent:
            added = amendments.add_sub_order(session, orders.resolve_order(session, parent),
                                             **fields)
        else:
            added = orders.add_order(session, **{"time_zone": settings.time_zone, **fields})
        return reports.order_summary(added)


def import_class_list(database: Database, settings: Settings, case: str | None, path: Path, *,
                      actor: Actor, now: datetime, **options: Any) -> ImportResult:
    """Import a class list into the order, all rows or none (``options``: dry_run, rejects,
    progress, encoding, sheet); a set bond without an amount is the configured default."""
    from workflow.intake import roster  # the spreadsheet readers: not for status

    with database.write() as session:
        return roster.import_class_list(
            session, orders.resolve_order(session, case), path, actor=actor, now=now,
            default_bond_cents=terms.default_bond_cents(settings), **options)


def apply_file(database: Database, settings: Settings, case: str | None, path: Path, *,
               actor: Actor, now: datetime, encoding: str = "auto",
               sheet: str | None = None) -> int:
    """Apply every move of a bulk file to the order, in file order, all or none."""
    from workflow.intake import apply

    with database.write() as session:
        return apply.apply_file(session, orders.resolve_order(session, case), path, actor=actor,
                                now=now, default_bond_cents=terms.default_bond_cents(settings),
                                encoding=encoding, sheet=sheet)



def move(database: Database, settings: Settings, case: str | None, a_number: str, move: str,
         fields: Mapping[str, str | None], *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Make one move (a stage verb or a note) for the person with ``a_number``, from the text
    ``fields`` it reads; the event's person, kind and stages, and the line that says so."""
    from workflow import moves

    with database.write() as session:
        detainee = orders.find_detainee(session, orders.resolve_order(session, case), a_number)
        event = moves.make(session, detainee, move, fields, actor=actor, now=now,
                           default_bond_cents=terms.default_bond_cents(settings))
        return {"person": detainee.id, "kind": event.kind, "from_stage": event.from_stage,
                "to_stage": event.to_stage, "line": moves.describe(detainee, event)}
