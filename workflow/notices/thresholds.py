"""The alert rule, pure over the injected ``now``: which threshold is due, which were missed.

An order's thresholds are ``T-<h>h`` for each of ``[alerts] thresholds_hours``
before the deadline, then ``deadline``, then ``overdue-1``, ``overdue-2``, ...
every ``overdue_every_hours`` after it. All arithmetic is on the aware UTC
deadline, so ``T-72h`` is 72 real hours before it even across a DST change.
Of the thresholds that have passed and are not yet recorded, the most urgent
is sent and the others are skipped (a laptop that slept through T-48h and
T-24h sends T-24h once, not both); nothing while nobody is outstanding. The
daily digest falls at ``digest_hour`` court time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.errors import ConfigError

DEADLINE = "deadline"
OVERDUE = "overdue-"
DIGEST = "digest:"


@dataclass(frozen=True)
class Rules:
    """``[alerts]``: hours before the deadline, the overdue repeat, the digest hour."""

    hours_before: tuple[int, ...]  # most distant first: 72, 48, ..., 1
    overdue_every_hours: int
    digest_hour: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        section = settings.section("alerts")
        hours = section["thresholds_hours"]
        if any(h <= 0 for h in hours) or len(set(hours)) != len(hours):
            raise ConfigError("[alerts] thresholds_hours must be different whole hours above 0")
        if section["overdue_every_hours"] <= 0:
            raise ConfigError("[alerts] overdue_every_hours must be above 0")
        if not 0 <= section["digest_hour"] <= 23:
            raise ConfigError("[alerts] digest_hour must be an hour from 0 to 23")
        return cls(tuple(sorted(hours, reverse=True)), section["overdue_every_hours"],
                   section["digest_hour"])


@dataclass(frozen=True)
class Threshold:
    name: str
    due_at: datetime


@dataclass(frozen=True)
class Decision:
    send: Threshold | None
    skip: tuple[Threshold, ...] = ()


def thresholds(deadline: datetime, rules: Rules, until: datetime) -> list[Threshold]:
    """Every threshold of ``deadline`` due at or before ``until``, earliest first."""
    before = [Threshold(f"T-{h}h", deadline - timedelta(hours=h)) for h in rules.hours_before]
    passed = [t for t in [*before, Threshold(DEADLINE, deadline)] if t.due_at <= until]
    every = timedelta(hours=rules.overdue_every_hours)
    periods = (until - deadline) // every if until >= deadline else 0
    passed += [Threshold(f"{OVERDUE}{n}", deadline + n * every) for n in range(1, periods + 1)]
    return passed


def scheduled_at(name: str, deadline: datetime, rules: Rules) -> datetime | None:
    """When threshold ``name`` falls for ``deadline`` (None for a digest)."""
    if name == DEADLINE:
        return deadline
    if name.startswith(OVERDUE):
        every = timedelta(hours=rules.overdue_every_hours)
        return deadline + int(name.removeprefix(OVERDUE)) * every
    if name.startswith("T-"):
        return deadline - timedelta(hours=int(name.removeprefix("T-").removesuffix("h")))
    return None


def next_threshold(deadline: datetime, rules: Rules, after: datetime) -> Threshold:
    """The first threshold due after ``after`` (there is always one: overdue repeats)."""
    upcoming = [Threshold(f"T-{h}h", deadline - timedelta(hours=h)) for h in rules.hours_before]
    upcoming.append(Threshold(DEADLINE, deadline))
    for threshold in upcoming:
        if threshold.due_at > after:
            return threshold
    every = timedelta(hours=rules.overdue_every_hours)
    n = (after - deadline) // every + 1
    return Threshold(f"{OVERDUE}{n}", deadline + n * every)


def decide(deadline: datetime, rules: Rules, now: datetime, recorded: Collection[str],
           outstanding: int) -> Decision:
    """Which alert to send at ``now`` and which passed ones to record as skipped."""
    if outstanding <= 0:
        return Decision(None)
    due = [t for t in thresholds(deadline, rules, now) if t.name not in recorded]
    if not due:
        return Decision(None)
    return Decision(send=due[-1], skip=tuple(due[:-1]))


def digest_due(now: datetime, time_zone: str, hour: int) -> Threshold:
    """The latest daily digest at or before ``now``: ``digest:YYYY-MM-DD``, ``hour`` court time."""
    day = clock.local(now, time_zone).date()
    at = court_instant(day, hour, time_zone)
    if at > now:
        day -= timedelta(days=1)
        at = court_instant(day, hour, time_zone)
    return Threshold(f"{DIGEST}{day.isoformat()}", at)


def court_instant(day: date, hour: int, time_zone: str) -> datetime:
    """``hour``:00 on ``day`` in the court's zone, as UTC (a skipped hour resolves forward)."""
    return datetime.combine(day, time(hour), clock.zone(time_zone)).astimezone(UTC)


def decide_digest(now: datetime, time_zone: str, hour: int, recorded: Collection[str],
                  outstanding: int) -> Threshold | None:
    """Today's digest if its hour has passed, it was not sent, and anyone is outstanding."""
    latest = digest_due(now, time_zone, hour)
    return latest if outstanding > 0 and latest.name not in recorded else None


def how_close(name: str) -> str:
    """How near a threshold stands to its deadline, as an alert's title says it."""
    threshold = name.rsplit(":", 1)[-1]  # an obligation's thresholds carry its prefix
    if threshold == DEADLINE:
        return "The deadline has passed"
    if threshold.startswith(OVERDUE):
        return f"Deadline passed (reminder {threshold.removeprefix(OVERDUE)})"
    hours = int(threshold.removeprefix("T-").removesuffix("h"))
    return f"{hours} hour{'' if hours == 1 else 's'} to the deadline"
