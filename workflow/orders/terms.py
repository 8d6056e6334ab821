"""Terms: what the court ordered for each person, and what ICE actually imposed.

An order sets a bond (``[bond] default_amount``, $1,500, unless it says
otherwise; 0 means release without bond) and conditions (ATD, check-ins, or
none). A person's ordered terms are the order's unless set for them; a later
order can drop bond and conditions for a named subset. At release the bond
team records what ICE imposed; a higher bond, a bond where none was ordered,
or a condition the order does not allow is a finding for counsel.

Conditions are stored as sorted, comma-separated names (``atd,check-in``);
``none`` says "no conditions" explicitly, NULL on a person means "the order's".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import String, and_, or_, select

from workflow.core import config
from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.core.money import dollars, parse_amount
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, bonds, detainees

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.record.db import Reader
    from workflow.record.models import Detainee, Event

NO_CONDITIONS = "none"
_NO_BOND = ("none", "no bond", "no-bond", "without bond", "recognizance")
_CONDITIONS_WIDTH = cast(int, cast(String, detainees.c.ordered_conditions.type).length)
# Findings, in the words counsel uses.
BOND_HIGHER = "bond-higher-than-ordered"
BOND_NOT_ORDERED = "bond-not-ordered"
CONDITIONS_NOT_ORDERED = "conditions-not-ordered"


def parse_bond(text: str) -> int:
    """A bond as staff write it: ``1500``, ``$1,500`` → cents; ``none``/``0`` → 0 (no bond)."""
    if text.strip().lower() in _NO_BOND:
        return 0
    return parse_amount(text)


def condition_names(text: str) -> frozenset[str]:
    """The condition names in free text (``ATD, Check In`` → atd, check-in); never raises."""
    return frozenset("-".join(part.lower().split()) for part in text.split(",") if part.strip())


def normalize_conditions(text: str) -> str:
    """``ATD, Check In`` → ``atd,check-in``; ``none`` (or empty) → ``none``."""
    names = condition_names(text)
    if not names or names == {NO_CONDITIONS}:
        return NO_CONDITIONS
    if NO_CONDITIONS in names:
        raise ValueError("'none' cannot be combined with other conditions")
    value = ",".join(sorted(names))
    if len(value) > _CONDITIONS_WIDTH:
        raise ValueError(f"longer than {_CONDITIONS_WIDTH} characters")
    return value


def condition_set(value: str | None) -> frozenset[str]:
    """The stored conditions as a set; NULL and ``none`` are the empty set."""
    if not value or value == NO_CONDITIONS:
        return frozenset()
    return frozenset(value.split(","))


def money(cents: int | None) -> str:
    """``$1,500.00``, or ``no bond`` for 0."""
    if cents is None:
        return "not recorded"
    return "no bond" if cents == 0 else dollars(cents)


@dataclass(frozen=True)
class Terms:
    bond_cents: int
    conditions: frozenset[str]
    source: str  # "order" or "person": where the terms come from

    def as_dict(self) -> dict[str, Any]:
        return {"bond_cents": self.bond_cents, "bond": money(self.bond_cents),
                "conditions": sorted(self.conditions), "source": self.source}


def default_bond_cents(settings: Settings) -> int:
    return int(settings.section("bond")["default_amount"]) * 100


def order_terms(order: OrderRow, settings: Settings) -> Terms:
    """The order's own terms: its bond (the configured default unless set) and conditions."""
    bond = order.bond_amount_cents
    return Terms(default_bond_cents(settings) if bond is None else bond,
                 condition_set(order.conditions), "order")


def ordered_terms(detainee: Detainee, order_level: Terms) -> Terms:
    """The person's ordered terms: their own where set, else the order's."""
    return _ordered(detainee.ordered_bond_cents, detainee.ordered_conditions, order_level)


def _ordered(bond_cents: int | None, conditions: str | None, order_level: Terms) -> Terms:
    if bond_cents is None and conditions is None:
        return order_level
    return Terms(order_level.bond_cents if bond_cents is None else bond_cents,
                 order_level.conditions if conditions is None else condition_set(conditions),
                 "person")


def set_person_terms(session: Session, detainee: Detainee, *, actor: Actor, now: datetime,
                     bond_cents: int | None = None, conditions: str | None = None,
                     reset: bool = False, note: str | None = None) -> Event | None:
    """Set the terms ordered for one person (None leaves a part as it is; ``reset`` goes back
    to the order's); one ``terms-set`` event, or None when nothing changed."""
    if reset and (bond_cents is not None or conditions is not None):
        raise ValidationError("give new terms or reset them to the order's, not both")
    if bond_cents is not None and bond_cents < 0:
        raise ValidationError("the bond amount is negative")
    if conditions is not None:
        try:
            conditions = normalize_conditions(conditions)
        except ValueError as exc:
            raise ValidationError(f"conditions: {exc}") from None
    wanted = {"ordered_bond_cents": None, "ordered_conditions": None} if reset else {
        key: value for key, value in (("ordered_bond_cents", bond_cents),
                                      ("ordered_conditions", conditions)) if value is not None}
    changes = {key: {"from": getattr(detainee, key), "to": value}
               for key, value in wanted.items() if getattr(detainee, key) != value}
    if not changes:
        return None
    for key, change in changes.items():
        setattr(detainee, key, change["to"])
    detainee.updated_at = now
    session.flush()  # bumps the version: terms race like any other change
    return audit.record(session, kind="terms-set", detainee=detainee, actor=actor, at=now, now=now,
                        payload={"changes": changes, "note": note})


def imposed_fields(bond_cents: int | None, conditions: str | None) -> dict[str, Any]:
    """The person's columns for what ICE imposed at release (for ``tracking.release``)."""
    fields: dict[str, Any] = {}
    if bond_cents is not None:
        if bond_cents < 0:
            raise ValidationError("the imposed bond is negative")
        fields["imposed_bond_cents"] = bond_cents
    if conditions is not None:
        try:
            fields["imposed_conditions"] = normalize_conditions(conditions)
        except ValueError as exc:
            raise ValidationError(f"imposed conditions: {exc}") from None
    return fields


def imposed_terms(detainee: Detainee) -> tuple[int | None, frozenset[str]]:
    """What ICE imposed: recorded at release, else the bond it set (amount and conditions)."""
    bond = detainee.active_bond
    return _imposed(detainee.imposed_bond_cents, detainee.imposed_conditions,
                    bond.amount_cents if bond else None, bond.conditions if bond else None)


def _imposed(cents: int | None, conditions: str | None, bond_cents: int | None,
             bond_conditions: str | None) -> tuple[int | None, frozenset[str]]:
    if cents is None:
        cents = bond_cents
    if conditions is not None:
        return cents, condition_set(conditions)
    return cents, condition_names(bond_conditions or "") - {NO_CONDITIONS}


def mismatches(ordered: Terms, bond_cents: int | None, conditions: frozenset[str]) -> list[str]:
    """What in the imposed terms the ordered terms do not allow (empty: nothing)."""
    found = []
    if bond_cents:
        if ordered.bond_cents == 0:
            found.append(BOND_NOT_ORDERED)
        elif bond_cents > ordered.bond_cents:
            found.append(BOND_HIGHER)
    if conditions - ordered.conditions:
        found.append(CONDITIONS_NOT_ORDERED)
    return found


def findings(reader: Reader, order: OrderRow,
             settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every person whose imposed terms break their ordered terms, by internal id.

    Each row: ``detainee_id``, ``stage``, ``findings`` (the kinds above),
    ``ordered`` and ``imposed`` (bond in cents and words, conditions) and a
    one-line ``detail`` with amounts and condition names only, no personal data.
    Only people with something imposed are read, as plain rows: a status at
    100,000 people must not load 100,000 objects.
    """
    order_level = order_terms(order, settings or config.load())
    people, bond = detainees.c, bonds.c
    rows = flushed(reader).execute(
        select(people.id, people.stage, people.ordered_bond_cents, people.ordered_conditions,
               people.imposed_bond_cents, people.imposed_conditions, bond.amount_cents,
               bond.conditions)
        .select_from(detainees)
        .outerjoin(bonds, and_(bond.detainee_id == people.id, bond.cancelled_at.is_(None)))
        .where(people.order_id == order.id,
               or_(bond.id.is_not(None), people.imposed_bond_cents > 0,
                   people.imposed_conditions.is_not(None)))
        .order_by(people.id)
    )
    found_rows = []
    for (detainee_id, stage, ordered_bond, ordered_conditions, imposed_bond, imposed_conditions,
         bond_cents, bond_conditions) in rows:
        cents, conditions = _imposed(imposed_bond, imposed_conditions, bond_cents,
                                     bond_conditions)
        ordered = _ordered(ordered_bond, ordered_conditions, order_level)
        found = mismatches(ordered, cents, conditions)
        if found:
            found_rows.append(_finding(detainee_id, stage, ordered, cents, conditions, found))
    return found_rows


def _finding(detainee_id: int, stage: str, ordered: Terms, cents: int | None,
             conditions: frozenset[str], found: list[str]) -> dict[str, Any]:
    parts = []
    if BOND_HIGHER in found or BOND_NOT_ORDERED in found:
        parts.append(f"bond {money(cents)} imposed, {money(ordered.bond_cents)} ordered")
    if CONDITIONS_NOT_ORDERED in found:
        extra = sorted(conditions - ordered.conditions)
        parts.append("conditions not ordered: " + ", ".join(extra))
    return {
        "detainee_id": detainee_id,
        "stage": stage,
        "findings": found,
        "ordered": ordered.as_dict(),
        "imposed": {"bond_cents": cents, "bond": money(cents), "conditions": sorted(conditions)},
        "detail": f"person #{detainee_id}: " + "; ".join(parts),
    }


def person_terms(detainee: Detainee, settings: Settings) -> dict[str, Any]:
    """One person's ordered and imposed terms and any finding, for `bondtrack terms A#`."""
    ordered = ordered_terms(detainee, order_terms(detainee.court_order, settings))
    cents, conditions = imposed_terms(detainee)
    return {
        "id": detainee.id,
        "order": detainee.court_order.case_number,
        "ordered": ordered.as_dict(),
        "imposed": {"bond_cents": cents, "bond": money(cents), "conditions": sorted(conditions)},
        "findings": mismatches(ordered, cents, conditions),
    }
