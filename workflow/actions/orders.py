"""Orders: their status, a new order or sub-order, amendments and stays, obligations.

One function per use case, in the manner of ``alembic.command``: it takes the database,
the settings, the case number and its arguments, opens its own transaction and returns
data; none prints or parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.core.config import Settings
from workflow.orders import amendments, orders
from workflow.record import watch
from workflow.record.db import Database
from workflow.views import reports

if TYPE_CHECKING:
    from workflow.record.models import CourtOrder


def status(database: Database, settings: Settings, case: str | None,
           now: datetime) -> dict[str, Any]:
    """The order's numbers as `bondtrack status` shows them: counts, time left, the order's
    changes and obligations, the projection, and whether a scheduler is watching.

    Core selects on a plain connection: a cold `bondtrack status` never loads the ORM."""
    with database.connection() as conn:
        order = orders.find_order(conn, case)
        data = reports.status(conn, order, now)
        data.update(reports.status_block(conn, order, now, settings))
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


