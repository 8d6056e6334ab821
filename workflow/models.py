"""The schema, as typed SQLAlchemy 2.x ORM classes. Alembic migrations follow it.

Times are stored in UTC (``UTCDateTime``) and always come back aware; money is
integer cents. The event table is the audit log: rows are only ever added.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names on SQLite and PostgreSQL, so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: bondtrack stores aware UTC times only")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """The processor, remembering its last value: a bulk insert binds the same instant
        (``now``) hundreds of thousands of times, and converting it was a third of an
        import. The (value, result) pair is swapped as one tuple, so threads sharing the
        processor never read one value's result for another."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: list[tuple[Any, Any]] = [(object(), None)]

        def remembered(value: Any) -> Any:
            seen, result = last[0]
            if seen is not value:
                result = process(value)
                last[0] = (value, result)
            return result

        return remembered


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class CourtOrder(Base):
    __tablename__ = "court_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(64), unique=True)
    court: Mapped[str] = mapped_column(String(200))
    judge: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    deadline: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(String(64))
    order_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The order this one carves a subset out of (a later order for named people).
    # No foreign key on purpose: SQLite cannot add or drop a referencing column
    # without rebuilding court_orders, and that rebuild would cascade-delete people.
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Ordered terms: bond in cents (NULL: the configured default; 0: release
    # without bond) and conditions ("atd,check-in"; NULL or "none": none).
    bond_amount_cents: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[str | None] = mapped_column(String(300))
    # Set while an appeals court has stayed the order: deadlines and alerts pause.
    stayed_since: Mapped[datetime | None]
    # The releases obligation (the deadline) closed by a person, e.g. superseded.
    releases_done_at: Mapped[datetime | None]
    releases_done_by: Mapped[str | None] = mapped_column(String(100))

    detainees: Mapped[list[Detainee]] = relationship(back_populates="court_order")


class Facility(Base):
    """A place people are held, by its DETLOC code; see workflow/facilities.py."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(40))
    field_office: Mapped[str | None] = mapped_column(String(100))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Other names it goes by, "; "-separated ("Clay County Jail" for the Justice Center).
    aliases: Mapped[str | None] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(String(100))
    zip: Mapped[str | None] = mapped_column(String(10))
    kind: Mapped[str | None] = mapped_column(String(20))  # IGSA, SPC, HOLD, HOSPITAL, ...
    # "directory": as shipped, kept up to date by `init`; NULL or "local": added or edited
    # here, never overwritten by a newer shipped directory.
    origin: Mapped[str | None] = mapped_column(String(20))
    # A code made up here because the source named no DETLOC code (P-<state>-<name>).
    provisional: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(300))
    # Office hours for cash bonds when they differ from [posting]: "09:00-15:00".
    posting_hours: Mapped[str | None] = mapped_column(String(40))


class FieldOffice(Base):
    """An ICE ERO field office: where demand letters go and bonds are posted."""

    __tablename__ = "field_offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # "Chicago", as facilities say
    aor: Mapped[str | None] = mapped_column(String(3))  # ICE's area code: CHI, MIA, PHO, ...
    office: Mapped[str] = mapped_column(String(200))  # "Chicago Field Office"
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    states: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(300))
    posting_hours: Mapped[str | None] = mapped_column(String(40))


class Detainee(Base):
    __tablename__ = "detainees"
    __table_args__ = (
        UniqueConstraint("order_id", "a_number"),
        Index("ix_detainees_order_id_stage", "order_id", "stage"),
        Index("ix_detainees_facility_id", "facility_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("court_orders.id", ondelete="CASCADE"))
    a_number: Mapped[str] = mapped_column(String(9))
    family_name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    country_of_birth: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(40))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    stage: Mapped[str] = mapped_column(String(20))
    stage_since: Mapped[datetime]
    exclusion_reason: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    counsel: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    # Terms the court ordered for this person, when they differ from the order's
    # (NULL: the order's; bond 0: without bond; conditions "none": none).
    ordered_bond_cents: Mapped[int | None] = mapped_column(Integer)
    ordered_conditions: Mapped[str | None] = mapped_column(String(300))
    # What ICE actually imposed at release, compared with the ordered terms.
    imposed_bond_cents: Mapped[int | None] = mapped_column(Integer)
    imposed_conditions: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    court_order: Mapped[CourtOrder] = relationship(back_populates="detainees")
    facility: Mapped[Facility | None] = relationship()
    bonds: Mapped[list[Bond]] = relationship(
        back_populates="detainee", order_by="Bond.id", cascade="all, delete-orphan"
    )

    # Optimistic lock: an UPDATE that finds another version raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}

    @property
    def active_bond(self) -> Bond | None:
        """The bond that is not cancelled, if any (there is at most one)."""
        return next((b for b in reversed(self.bonds) if b.cancelled_at is None), None)


class Bond(Base):
    __tablename__ = "bonds"

    id: Mapped[int] = mapped_column(primary_key=True)
    detainee_id: Mapped[int] = mapped_column(
        ForeignKey("detainees.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[str | None] = mapped_column(String(300))
    obligor_name: Mapped[str | None] = mapped_column(String(200))
    obligor_relationship: Mapped[str | None] = mapped_column(String(100))
    obligor_phone: Mapped[str | None] = mapped_column(String(40))
    obligor_email: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str | None] = mapped_column(String(20))
    receipt_number: Mapped[str | None] = mapped_column(String(64))
    set_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    detainee: Mapped[Detainee] = relationship(back_populates="bonds")


class Event(Base):
    """One audited change. ``at`` is when it happened; ``recorded_at`` when we learned it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_detainee_id_id", "detainee_id", "id"),
        Index("ix_events_order_id_at", "order_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("court_orders.id", ondelete="CASCADE")
    )
    detainee_id: Mapped[int | None] = mapped_column(
        ForeignKey("detainees.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class Notice(Base):
    """The outbox: each letter or e-mail, keyed so it is made and sent once."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("court_orders.id", ondelete="CASCADE"))
    detainee_id: Mapped[int | None] = mapped_column(
        ForeignKey("detainees.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    file_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """A deadline alert; unique per (order, threshold) so each fires exactly once."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("order_id", "threshold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("court_orders.id", ondelete="CASCADE"))
    threshold: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))


class Obligation(Base):
    """A dated duty the order sets besides the releases (a status report, a data production).

    The releases obligation is not a row: it is the order's own ``deadline``,
    so there is one place a deadline lives.
    """

    __tablename__ = "obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("court_orders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    owed_by: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(100))


class Lock(Base):
    """A named lease (e.g. "scheduler"), so only one holder runs per database."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime]


class BondEvent(Base):
    """One thing that happened to a posted bond (see ``workflow.bonds``): appended, never edited.

    ``due_at`` is the surrender time of a demand or the appeal deadline of a
    breach; ``amount_cents`` the money a refund brought back.
    """

    __tablename__ = "bond_events"
    __table_args__ = (Index("ix_bond_events_bond_id_id", "bond_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bond_id: Mapped[int] = mapped_column(ForeignKey("bonds.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))  # the bond's state after this event
    at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(200))  # reason, outcome, designee
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class Hearing(Base):
    """A person's immigration-court hearing (EOIR); ``court`` is a key of ``workflow.courts``."""

    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    detainee_id: Mapped[int] = mapped_column(
        ForeignKey("detainees.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    court: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class User(Base):
    """Someone who signs in to the browser workspace, in one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SignInFailure(Base):
    """One refused sign-in (the lockout counts these over a window); no password is kept."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime]


class RolePolicy(Base):
    """Per-role sign-in policy an admin sets: whether a second factor (TOTP) is required."""

    __tablename__ = "role_policies"

    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    totp_required: Mapped[bool] = mapped_column(Boolean)


class SchedulerHeartbeat(Base):
    """When a scheduler last ran a job, and its alert-check interval; kept after it stops."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    job: Mapped[str] = mapped_column(String(40))
    last_seen: Mapped[datetime]
    interval_seconds: Mapped[float] = mapped_column(Float)
