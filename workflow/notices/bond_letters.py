"""The bond's letters, en/es like the others: the hearing reminder, the demand notice to the
obligor, and the refund packet's cover letter to ICE's Debt Management Center.

- ``hearing``: to each person with an open hearing ahead (the client's copy);
  the reminders the alert check queues use the same template (``role``).
- ``demand-notice``: to the obligor of each bond with an open I-340 demand.
- ``refund-packet``: for each cancelled bond whose refund is not yet back, a
  cover letter listing the bond, the I-305 receipt, the I-391 date and the
  obligor (or designee), ready for the obligor to sign.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.bonds import bonds, hearings
from workflow.bonds.bonds import Kind, State
from workflow.core.config import Settings
from workflow.core.errors import ValidationError
from workflow.notices import letters
from workflow.notices.composing import Filters, Letter, LetterBatch, person_context, select_people
from workflow.record.models import CourtOrder, Detainee, Hearing

KINDS = ("hearing", "demand-notice", "refund-packet")
# ICE's Debt Management Center, where the I-391 tells obligors to send refund requests.
DEBT_MANAGEMENT_CENTER = ("U.S. Immigration and Customs Enforcement", "Debt Management Center",
                          "Attn: Bond Unit", "P.O. Box 5000", "Williston, VT 05495-5000")


def prepare(session: Session, order: CourtOrder, settings: Settings, *, kind: str,
            now: datetime, filters: Filters = Filters(), language: str | None = None,
            limit: int | None = None) -> LetterBatch:
    """Render every ``kind`` letter the filters select, each in its reader's language."""
    if kind not in KINDS:
        raise ValidationError(f"bond letter kind must be one of: {', '.join(KINDS)}")
    if language and letters.template_language(language, kind) != language:
        raise ValidationError(f"there is no {kind} letter in '{language}' (templates/notices/)")
    wanted = {person.id for person in select_people(session, order, "client", filters)}
    batch = LetterBatch(kind=kind, letters=[])
    chosen_people = [(p, facts) for p, facts in _subjects(session, order, kind, now)
                     if p.id in wanted][:limit]
    for person, facts in chosen_people:
        chosen = language or letters.template_language(person.language, kind)
        batch.flag_language(person.id, person.language, None if language else chosen)
        context = {**person_context(order, settings, person, chosen, now), **facts}
        subject, body = letters.render_body(kind, chosen, context)
        batch.letters.append(Letter(f"{kind}-person-{person.id}", chosen, subject, body,
                                    (person.id,)))
    return batch


def _subjects(session: Session, order: CourtOrder, kind: str,
              now: datetime) -> list[tuple[Any, dict[str, Any]]]:
    """The people a ``kind`` letter is about, with what it says beyond the person's context."""
    if kind == "hearing":
        found = []
        seen: set[int] = set()
        for row in session.scalars(hearings.open_hearings(order, now)):
            hearing: Hearing = row
            if hearing.detainee_id in seen:
                continue
            seen.add(hearing.detainee_id)
            person = hearings.person_of(session, hearing)
            found.append((person, {"hearing": hearings.letter_facts(hearing), "role": "client",
                                   "days_before": None}))
        return found
    states = {"demand-notice": {State.DEMANDED},
              "refund-packet": {State.CANCELLED, State.REFUND_REQUESTED}}[kind]
    return [(session.get(Detainee, item.detainee.id), {"bond_after": _bond_facts(item)})
            for item in bonds.followed(session, order) if item.state in states]


def _bond_facts(item: bonds.Followed) -> dict[str, Any]:
    demand, cancelled = item.last(Kind.DEMAND), item.last(Kind.CANCELLED)
    designee = item.last(Kind.DESIGNEE)
    return {
        "id": item.bond.id,
        "amount_cents": item.bond.amount_cents,
        "receipt_number": item.bond.receipt_number,
        "posted_at": item.bond.posted_at,
        "obligor_name": item.bond.obligor_name,
        "obligor_phone": item.bond.obligor_phone,
        "obligor_email": item.bond.obligor_email,
        "demand_at": demand.at if demand else None,
        "demand_due": demand.due_at if demand else None,
        "cancelled_at": cancelled.at if cancelled else None,
        "cancel_reason": cancelled.detail if cancelled else None,
        "designee": designee.detail if designee else None,
        "debt_management_center": list(DEBT_MANAGEMENT_CENTER),
    }
