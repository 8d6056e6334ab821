"""The stage machine: one table, read by the CLI, the import, the flows and the docs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    INTAKE = "INTAKE"
    LOCATING = "LOCATING"
    LOCATED = "LOCATED"
    BOND_SET = "BOND_SET"
    BOND_POSTED = "BOND_POSTED"
    RELEASED = "RELEASED"
    EXCLUDED = "EXCLUDED"
    DEPARTED = "DEPARTED"
    NOT_IN_CUSTODY = "NOT_IN_CUSTODY"


class Action(StrEnum):
    SEARCH = "search"
    LOCATE = "locate"
    TRANSFER = "transfer"
    BOND = "bond"
    POST = "post"
    RELEASE = "release"
    EXCLUDE = "exclude"
    DEPART = "depart"
    NOT_IN_CUSTODY = "not-in-custody"
    REDETAIN = "redetain"


# Each stage as people read it, in CLI tables and the browser alike (codes stay in JSON/CSV).
WORDS = {Stage.INTAKE: "Intake", Stage.LOCATING: "Locating", Stage.LOCATED: "Located",
         Stage.BOND_SET: "Bond set", Stage.BOND_POSTED: "Bond posted",
         Stage.RELEASED: "Released", Stage.EXCLUDED: "Excluded", Stage.DEPARTED: "Departed",
         Stage.NOT_IN_CUSTODY: "Not in custody"}


def word(code: str) -> str:
    """``BOND_SET`` → ``Bond set``; a code the table lacks is shown as it is."""
    try:
        return WORDS[Stage(code)]
    except ValueError:
        return code


RESOLVED = frozenset({Stage.RELEASED, Stage.DEPARTED, Stage.NOT_IN_CUSTODY})
COVERED = frozenset(Stage) - {Stage.EXCLUDED}
OUTSTANDING = COVERED - RESOLVED
OPEN = tuple(stage for stage in Stage if stage in OUTSTANDING)  # OUTSTANDING, in pipeline order


def totals(found: Mapping[str, int]) -> dict[str, Any]:
    """People per stage (every stage, zeros included, in pipeline order) and the totals the
    court asks about: `status --json` and the court report both read these keys."""
    by_stage = {stage.value: found.get(stage.value, 0) for stage in Stage}
    total = sum(by_stage.values())
    excluded = by_stage[Stage.EXCLUDED.value]
    resolved = sum(by_stage[stage.value] for stage in RESOLVED)
    return {"total": total, "by_stage": by_stage, "covered": total - excluded,
            "resolved": resolved, "outstanding": total - excluded - resolved,
            "excluded": excluded}


@dataclass(frozen=True)
class Transition:
    action: Action
    source: Stage
    target: Stage
    requires: tuple[str, ...] = ()


def _rows(action: Action, sources: Iterable[Stage], target: Stage,
          requires: tuple[str, ...] = ()) -> list[Transition]:
    return [Transition(action, source, target, requires) for source in sources]


# The whole machine. A (action, source) pair that is not here is forbidden.
TRANSITIONS: tuple[Transition, ...] = tuple(
    _rows(Action.SEARCH, [Stage.INTAKE], Stage.LOCATING)
    + _rows(Action.LOCATE, [Stage.INTAKE, Stage.LOCATING], Stage.LOCATED, ("facility",))
    + _rows(
        Action.TRANSFER,
        [Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED],
        Stage.LOCATING,
        ("facility",),
    )
    # Setting the bond again in BOND_SET amends it.
    + _rows(Action.BOND, [Stage.LOCATED, Stage.BOND_SET], Stage.BOND_SET)
    + _rows(Action.POST, [Stage.BOND_SET], Stage.BOND_POSTED)
    + _rows(Action.RELEASE, [Stage.BOND_POSTED], Stage.RELEASED)
    # Released without bond (recognizance, ATD): the reason is the record.
    + _rows(Action.RELEASE, [Stage.LOCATED], Stage.RELEASED, ("reason",))
    + _rows(Action.EXCLUDE, OPEN, Stage.EXCLUDED, ("reason",))
    + _rows(Action.DEPART, OPEN, Stage.DEPARTED)
    + _rows(Action.NOT_IN_CUSTODY, OPEN, Stage.NOT_IN_CUSTODY)
    + _rows(Action.REDETAIN, [Stage.RELEASED], Stage.LOCATING)
)

_BY_KEY = {(t.action, t.source): t for t in TRANSITIONS}


def find(action: Action, source: Stage) -> Transition | None:
    """The transition for ``action`` from ``source``, or None when the table forbids it."""
    return _BY_KEY.get((action, source))


def allowed_from(source: Stage) -> list[Transition]:
    """Every move the table allows from ``source``, in table order."""
    return [t for t in TRANSITIONS if t.source == source]


def describe_allowed(source: Stage) -> str:
    """Human list of the moves from ``source``, e.g. ``bond, release (needs reason)``."""
    moves = [
        t.action.value + (f" (needs {', '.join(t.requires)})" if t.requires else "")
        for t in allowed_from(source)
    ]
    return ", ".join(moves) if moves else "none (this stage is final)"
