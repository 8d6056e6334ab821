"""The ORM classes, each mapped onto its table in ``workflow.record.schema`` (the one definition
of the schema, which Alembic's migrations follow), with the relationships between them.

The annotations type the attributes; the columns, types and constraints are the tables'.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from workflow.record import schema


class Base(DeclarativeBase):
    metadata = schema.metadata


class CourtOrder(Base):
    __table__ = schema.court_orders

    id: Mapped[int]
    case_number: Mapped[str]
    court: Mapped[str]
    judge: Mapped[str]
    title: Mapped[str | None]
    deadline: Mapped[datetime]
    time_zone: Mapped[str]
    order_date: Mapped[date | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime]
    parent_id: Mapped[int | None]
    bond_amount_cents: Mapped[int | None]
    conditions: Mapped[str | None]
    stayed_since: Mapped[datetime | None]
    releases_done_at: Mapped[datetime | None]
    releases_done_by: Mapped[str | None]

    detainees: Mapped[list[Detainee]] = relationship(back_populates="court_order")


class Facility(Base):
    """A place people are held, by its DETLOC code; see workflow/places/facilities.py."""

    __table__ = schema.facilities

    id: Mapped[int]
    code: Mapped[str]
    name: Mapped[str]
    address: Mapped[str | None]
    city: Mapped[str | None]
    state: Mapped[str | None]
    phone: Mapped[str | None]
    field_office: Mapped[str | None]
    time_zone: Mapped[str | None]
    aliases: Mapped[str | None]
    county: Mapped[str | None]
    zip: Mapped[str | None]
    kind: Mapped[str | None]
    origin: Mapped[str | None]
    provisional: Mapped[bool | None]
    source: Mapped[str | None]
    posting_hours: Mapped[str | None]


class FieldOffice(Base):
    """An ICE ERO field office: where demand letters go and bonds are posted."""

    __table__ = schema.field_offices

    id: Mapped[int]
    name: Mapped[str]
    aor: Mapped[str | None]
    office: Mapped[str]
    address: Mapped[str | None]
    city: Mapped[str | None]
    state: Mapped[str | None]
    zip: Mapped[str | None]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    states: Mapped[str | None]
    origin: Mapped[str | None]
    source: Mapped[str | None]
    posting_hours: Mapped[str | None]


class Detainee(Base):
    __table__ = schema.detainees

    id: Mapped[int]
    order_id: Mapped[int]
    a_number: Mapped[str]
    family_name: Mapped[str]
    given_name: Mapped[str]
    search_key: Mapped[str | None]
    date_of_birth: Mapped[date | None]
    country_of_birth: Mapped[str | None]
    language: Mapped[str | None]
    facility_id: Mapped[int | None]
    stage: Mapped[str]
    stage_since: Mapped[datetime]
    exclusion_reason: Mapped[str | None]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    counsel: Mapped[str | None]
    notes: Mapped[str | None]
    ordered_bond_cents: Mapped[int | None]
    ordered_conditions: Mapped[str | None]
    imposed_bond_cents: Mapped[int | None]
    imposed_conditions: Mapped[str | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    owner_id: Mapped[int | None]
    last_lookup_at: Mapped[datetime | None]
    next_lookup_at: Mapped[datetime | None]
    empty_lookups: Mapped[int]
    desk_user_id: Mapped[int | None]
    desk_until: Mapped[datetime | None]
    locator_saw: Mapped[str | None]

    court_order: Mapped[CourtOrder] = relationship(back_populates="detainees")
    facility: Mapped[Facility | None] = relationship()
    bonds: Mapped[list[Bond]] = relationship(
        back_populates="detainee", order_by="Bond.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": schema.detainees.c.version}

    @property
    def active_bond(self) -> Bond | None:
        """The bond that is not cancelled, if any (there is at most one)."""
        return next((b for b in reversed(self.bonds) if b.cancelled_at is None), None)


class Bond(Base):
    __table__ = schema.bonds

    id: Mapped[int]
    detainee_id: Mapped[int]
    amount_cents: Mapped[int | None]
    conditions: Mapped[str | None]
    obligor_name: Mapped[str | None]
    obligor_relationship: Mapped[str | None]
    obligor_phone: Mapped[str | None]
    obligor_email: Mapped[str | None]
    payment_method: Mapped[str | None]
    receipt_number: Mapped[str | None]
    set_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    detainee: Mapped[Detainee] = relationship(back_populates="bonds")


class Event(Base):
    """One audited change. ``at`` is when it happened; ``recorded_at`` when we learned it."""

    __table__ = schema.events

    id: Mapped[int]
    order_id: Mapped[int | None]
    detainee_id: Mapped[int | None]
    kind: Mapped[str]
    from_stage: Mapped[str | None]
    to_stage: Mapped[str | None]
    payload: Mapped[dict[str, Any]]
    actor: Mapped[str]
    source: Mapped[str]
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class Notice(Base):
    """The outbox: each letter or e-mail, keyed so it is made and sent once."""

    __table__ = schema.notices

    id: Mapped[int]
    order_id: Mapped[int]
    detainee_id: Mapped[int | None]
    kind: Mapped[str]
    language: Mapped[str]
    channel: Mapped[str]
    recipient: Mapped[str | None]
    subject: Mapped[str | None]
    idempotency_key: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    claimed_by: Mapped[str | None]
    claimed_until: Mapped[datetime | None]
    file_path: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None]


class Alert(Base):
    """A deadline alert; unique per (order, threshold) so each fires exactly once."""

    __table__ = schema.alerts

    id: Mapped[int]
    order_id: Mapped[int]
    threshold: Mapped[str]
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    status: Mapped[str]


class Obligation(Base):
    """A dated duty the order sets besides the releases (a status report, a data production).

    The releases obligation is not a row: it is the order's own ``deadline``,
    so there is one place a deadline lives.
    """

    __table__ = schema.obligations

    id: Mapped[int]
    order_id: Mapped[int]
    kind: Mapped[str]
    due_at: Mapped[datetime]
    owed_by: Mapped[str | None]
    note: Mapped[str | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None]


class Lock(Base):
    """A named lease (e.g. "scheduler"), so only one holder runs per database."""

    __table__ = schema.locks

    name: Mapped[str]
    holder: Mapped[str]
    heartbeat_at: Mapped[datetime]


class BondEvent(Base):
    """One thing that happened to a posted bond (see ``bonds.bonds``): appended, never edited.

    ``due_at`` is the surrender time of a demand or the appeal deadline of a
    breach; ``amount_cents`` the money a refund brought back.
    """

    __table__ = schema.bond_events

    id: Mapped[int]
    bond_id: Mapped[int]
    kind: Mapped[str]
    state: Mapped[str]
    at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    amount_cents: Mapped[int | None]
    detail: Mapped[str | None]
    note: Mapped[str | None]
    actor: Mapped[str]
    recorded_at: Mapped[datetime]


class Hearing(Base):
    """A person's immigration-court hearing (EOIR); ``court`` is a key of ``places.courts``."""

    __table__ = schema.hearings

    id: Mapped[int]
    detainee_id: Mapped[int]
    at: Mapped[datetime]
    court: Mapped[str]
    kind: Mapped[str]
    note: Mapped[str | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class User(Base):
    """Someone who signs in to the browser workspace, in one role."""

    __table__ = schema.users

    id: Mapped[int]
    email: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str]
    totp_secret: Mapped[str | None]
    totp_last_step: Mapped[int | None]
    disabled_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SignInFailure(Base):
    """One refused sign-in (the lockout counts these over a window); no password is kept."""

    __table__ = schema.sign_in_failures

    id: Mapped[int]
    user_id: Mapped[int]
    at: Mapped[datetime]


class WebSession(Base):
    """One signed-in browser, by the hash of its cookie's token; deleting it signs it out."""

    __table__ = schema.web_sessions

    id: Mapped[int]
    token_hash: Mapped[str]
    user_id: Mapped[int]
    created_at: Mapped[datetime]
    totp_enrolment: Mapped[str | None]


class RolePolicy(Base):
    """Per-role sign-in policy an admin sets: whether a second factor (TOTP) is required."""

    __table__ = schema.role_policies

    role: Mapped[str]
    totp_required: Mapped[bool]


class SchedulerHeartbeat(Base):
    """When a scheduler last ran a job, and its alert-check interval; kept after it stops."""

    __table__ = schema.scheduler_heartbeats

    name: Mapped[str]
    holder: Mapped[str]
    job: Mapped[str]
    last_seen: Mapped[datetime]
    interval_seconds: Mapped[float]


class SmsNumber(Base):
    """A phone number texts go to (E.164): active, opted out, or failing."""

    __table__ = schema.sms_numbers

    id: Mapped[int]
    number: Mapped[str]
    status: Mapped[str]
    failures: Mapped[int]
    first_texted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SmsConsent(Base):
    """One step of a number's consent history for a person: given, withdrawn, opted out/in."""

    __table__ = schema.sms_consents

    id: Mapped[int]
    detainee_id: Mapped[int]
    number_id: Mapped[int]
    role: Mapped[str]
    action: Mapped[str]
    how: Mapped[str]
    recorded_by: Mapped[str]
    at: Mapped[datetime]
    number: Mapped[SmsNumber] = relationship()


class SmsMessage(Base):
    """A text in the outbox (its notice): body, segments, the provider's id and status."""

    __table__ = schema.sms_messages

    id: Mapped[int]
    notice_id: Mapped[int]
    number_id: Mapped[int]
    body: Mapped[str]
    segments: Mapped[int]
    encoding: Mapped[str]
    provider_sid: Mapped[str | None]
    delivery: Mapped[str | None]
    error_code: Mapped[int | None]
    callbacks: Mapped[int]
    updated_at: Mapped[datetime | None]


class SmsReply(Base):
    """A text received from a number, kept on the person's record like a note."""

    __table__ = schema.sms_replies

    id: Mapped[int]
    detainee_id: Mapped[int | None]
    number_id: Mapped[int]
    provider_sid: Mapped[str]
    body: Mapped[str]
    received_at: Mapped[datetime]
    seen_at: Mapped[datetime | None]
