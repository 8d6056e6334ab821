"""The schema, as SQLAlchemy Core tables: the one definition of each table.

``workflow.record.models`` maps its ORM classes onto these tables and Alembic's migrations
follow them; read paths that must start fast (`bondtrack status`) query them with
Core and never import the ORM. Times are stored in UTC (``UTCDateTime``) and always
come back aware; money is integer cents. The event table is the audit log: rows are
only ever added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from workflow.core import identity
from workflow.core.errors import ValidationError

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


metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _when(name: str, nullable: bool = False) -> Column[datetime]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _search_key(context: Any) -> str:
    row = context.get_current_parameters()
    return identity.search_key(row["family_name"], row["given_name"])


def _text(name: str, length: int | None = None, nullable: bool = True, **kw: Any) -> Column[str]:
    return Column(name, String(length) if length else Text(), nullable=nullable, **kw)


def _int(name: str, nullable: bool = True, **kw: Any) -> Column[int]:
    return Column(name, Integer, nullable=nullable, **kw)


def _ref(name: str, target: str, nullable: bool, cascade: bool = True, **kw: Any) -> Column[int]:
    key = ForeignKey(target, ondelete="CASCADE") if cascade else ForeignKey(target)
    return Column(name, Integer, key, nullable=nullable, **kw)


court_orders = Table(
    "court_orders", metadata,
    _id(),
    _text("case_number", 64, nullable=False, unique=True),
    _text("court", 200, nullable=False),
    _text("judge", 200, nullable=False),
    _text("title", 300),
    _when("deadline"),
    _text("time_zone", 64, nullable=False),
    Column("order_date", Date, nullable=True),
    _text("notes"),
    _when("created_at"),
    # The order this one carves a subset out of (a later order for named people).
    # No foreign key on purpose: SQLite cannot add or drop a referencing column
    # without rebuilding court_orders, and that rebuild would cascade-delete people.
    _int("parent_id", index=True),
    # Ordered terms: bond in cents (NULL: the configured default; 0: release
    # without bond) and conditions ("atd,check-in"; NULL or "none": none).
    _int("bond_amount_cents"),
    _text("conditions", 300),
    # Set while an appeals court has stayed the order: deadlines and alerts pause.
    _when("stayed_since", nullable=True),
    # The releases obligation (the deadline) closed by a person, e.g. superseded.
    _when("releases_done_at", nullable=True),
    _text("releases_done_by", 100),
)

# A place people are held, by its DETLOC code; see workflow/places/facilities.py.
facilities = Table(
    "facilities", metadata,
    _id(),
    _text("code", 32, nullable=False, unique=True),
    _text("name", 200, nullable=False),
    _text("address", 300),
    _text("city", 100),
    _text("state", 2),
    _text("phone", 40),
    _text("field_office", 100),
    _text("time_zone", 64),
    # Other names it goes by, "; "-separated ("Clay County Jail" for the Justice Center).
    _text("aliases"),
    _text("county", 100),
    _text("zip", 10),
    _text("kind", 20),  # IGSA, SPC, HOLD, HOSPITAL, ...
    # "directory": as shipped, kept up to date by `init`; NULL or "local": added or edited
    # here, never overwritten by a newer shipped directory.
    _text("origin", 20),
    # A code made up here because the source named no DETLOC code (P-<state>-<name>).
    Column("provisional", Boolean, nullable=True),
    _text("source", 300),
    # Office hours for cash bonds when they differ from [posting]: "09:00-15:00".
    _text("posting_hours", 40),
)

# An ICE ERO field office: where demand letters go and bonds are posted.
field_offices = Table(
    "field_offices", metadata,
    _id(),
    _text("name", 100, nullable=False, unique=True),  # "Chicago", as facilities say
    _text("aor", 3),  # ICE's area code: CHI, MIA, PHO, ...
    _text("office", 200, nullable=False),  # "Chicago Field Office"
    _text("address", 300),
    _text("city", 100),
    _text("state", 2),
    _text("zip", 10),
    _text("phone", 40),
    _text("email", 200),
    _text("states"),
    _text("origin", 20),
    _text("source", 300),
    _text("posting_hours", 40),
)

# The owner-led indexes hold only people with an owner: an import of 100,000 people (none
# owned yet) pays for none of them, and a query naming an owner still uses them. Migration
# 0012 makes them partial on PostgreSQL too; naming ``postgresql_where`` here would import
# SQLAlchemy's PostgreSQL dialect into every command (30 ms of `bondtrack status`).
_OWNED_ONLY: dict[str, Any] = {"sqlite_where": text("owner_id IS NOT NULL")}


detainees = Table(
    "detainees", metadata,
    _id(),
    _ref("order_id", "court_orders.id", nullable=False),
    _text("a_number", 9, nullable=False),
    _text("family_name", 200, nullable=False),
    _text("given_name", 200, nullable=False),
    # The name folded for search (identity.search_key): accents and case ignored alike on
    # SQLite and PostgreSQL. Names are written once; a bulk load sets it itself.
    _text("search_key", 402, default=_search_key),
    Column("date_of_birth", Date, nullable=True),
    _text("country_of_birth", 100),
    _text("language", 40),
    _ref("facility_id", "facilities.id", nullable=True, cascade=False),
    _text("stage", 20, nullable=False),
    _when("stage_since"),
    _text("exclusion_reason", 40),
    _text("phone", 40),
    _text("email", 200),
    _text("counsel", 200),
    _text("notes"),
    # Terms the court ordered for this person, when they differ from the order's
    # (NULL: the order's; bond 0: without bond; conditions "none": none).
    _int("ordered_bond_cents"),
    _text("ordered_conditions", 300),
    # What ICE actually imposed at release, compared with the ordered terms.
    _int("imposed_bond_cents"),
    _text("imposed_conditions", 300),
    _int("version", nullable=False),  # the ORM's optimistic lock (workflow.record.models)
    _when("created_at"),
    _when("updated_at"),
    # The caseload: who works on this person (a staff or attorney account), and the locator
    # desk's state. A look-up is an event; these three columns are what the queue reads, so
    # it sorts by an index instead of reading every person's history.
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _when("last_lookup_at", nullable=True),
    _when("next_lookup_at", nullable=True),  # NULL: due since stage_since
    Column("empty_lookups", Integer, nullable=False, server_default="0"),
    # A volunteer holding this person at the desk, until when: nobody else is handed them.
    Column("desk_user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           nullable=True),
    _when("desk_until", nullable=True),
    # Where the automated locator says they are, when the directory does not know that
    # facility: a person confirms it (the queue asks), and any look-up clears it.
    _text("locator_saw", 300),
    UniqueConstraint("order_id", "a_number"),
    Index("ix_detainees_facility_id", "facility_id"),
    Index("ix_detainees_queue", "order_id", "stage", "stage_since"),
    Index("ix_detainees_lookups", "order_id", "stage", "next_lookup_at", "stage_since"),
    Index("ix_detainees_stage_facility", "order_id", "stage", "facility_id"),
    # One owner's queue, by the same three orders (the owner first: a staff member's people
    # are read without walking the stages' other people).
    Index("ix_detainees_owner", "owner_id", "order_id", "stage", "stage_since", **_OWNED_ONLY),
    Index("ix_detainees_owner_lookups", "owner_id", "order_id", "stage", "next_lookup_at",
          "stage_since", **_OWNED_ONLY),
    Index("ix_detainees_owner_facility", "owner_id", "order_id", "stage", "facility_id",
          **_OWNED_ONLY),
)

bonds = Table(
    "bonds", metadata,
    _id(),
    _ref("detainee_id", "detainees.id", nullable=False, index=True),
    _int("amount_cents"),
    _text("conditions", 300),
    _text("obligor_name", 200),
    _text("obligor_relationship", 100),
    _text("obligor_phone", 40),
    _text("obligor_email", 200),
    _text("payment_method", 20),
    _text("receipt_number", 64),
    _when("set_at"),
    _when("posted_at", nullable=True),
    _when("cancelled_at", nullable=True),
)

# One audited change. ``at`` is when it happened; ``recorded_at`` when we learned it.
events = Table(
    "events", metadata,
    _id(),
    _ref("order_id", "court_orders.id", nullable=True),
    _ref("detainee_id", "detainees.id", nullable=True),
    _text("kind", 40, nullable=False),
    _text("from_stage", 20),
    _text("to_stage", 20),
    Column("payload", JSON(), nullable=False, default=dict),
    _text("actor", 100, nullable=False),
    _text("source", 20, nullable=False),
    _when("at"),
    _when("recorded_at"),
    Index("ix_events_detainee_id_id", "detainee_id", "id"),
    Index("ix_events_order_id_at", "order_id", "at"),
    Index("ix_events_kind_detainee_id", "kind", "detainee_id"),  # open findings, look-ups
)

# The outbox: each letter or e-mail, keyed so it is made and sent once.
notices = Table(
    "notices", metadata,
    _id(),
    _ref("order_id", "court_orders.id", nullable=False),
    _ref("detainee_id", "detainees.id", nullable=True),
    _text("kind", 40, nullable=False),
    _text("language", 16, nullable=False),
    _text("channel", 10, nullable=False),
    _text("recipient", 300),
    _text("subject", 300),
    _text("idempotency_key", 200, nullable=False, unique=True),
    _text("status", 20, nullable=False),
    _int("attempts", nullable=False, default=0),
    _text("claimed_by", 100),
    _when("claimed_until", nullable=True),
    _text("file_path", 500),
    _when("created_at"),
    _when("sent_at", nullable=True),
    _text("error"),
    Index("ix_notices_status", "status"),
)

# A deadline alert; unique per (order, threshold) so each fires exactly once.
alerts = Table(
    "alerts", metadata,
    _id(),
    _ref("order_id", "court_orders.id", nullable=False),
    _text("threshold", 40, nullable=False),
    _when("due_at"),
    _when("fired_at", nullable=True),
    _text("status", 20, nullable=False),
    UniqueConstraint("order_id", "threshold"),
)

# A dated duty the order sets besides the releases (a status report, a data production).
# The releases obligation is not a row: it is the order's own ``deadline``, so there is
# one place a deadline lives.
obligations = Table(
    "obligations", metadata,
    _id(),
    _ref("order_id", "court_orders.id", nullable=False, index=True),
    _text("kind", 20, nullable=False),
    _when("due_at"),
    _text("owed_by", 20),
    _text("note"),
    _when("created_at"),
    _when("done_at", nullable=True),
    _text("done_by", 100),
)

# A named lease (e.g. "scheduler"), so only one holder runs per database.
locks = Table(
    "locks", metadata,
    _text("name", 64, nullable=False, primary_key=True),
    _text("holder", 200, nullable=False),
    _when("heartbeat_at"),
)

# One thing that happened to a posted bond (see ``workflow.bonds.bonds``): appended, never edited.
# ``due_at`` is the surrender time of a demand or the appeal deadline of a breach;
# ``amount_cents`` the money a refund brought back.
bond_events = Table(
    "bond_events", metadata,
    _id(),
    _ref("bond_id", "bonds.id", nullable=False),
    _text("kind", 20, nullable=False),
    _text("state", 20, nullable=False),  # the bond's state after this event
    _when("at"),
    _when("due_at", nullable=True),
    _int("amount_cents"),
    _text("detail", 200),  # reason, outcome, designee
    _text("note"),
    _text("actor", 100, nullable=False),
    _when("recorded_at"),
    Index("ix_bond_events_bond_id_id", "bond_id", "id"),
)

# A person's immigration-court hearing (EOIR); ``court`` is a key of ``workflow.places.courts``.
hearings = Table(
    "hearings", metadata,
    _id(),
    _ref("detainee_id", "detainees.id", nullable=False, index=True),
    _when("at"),
    _text("court", 40, nullable=False),
    _text("kind", 20, nullable=False),
    _text("note"),
    _when("created_at"),
    _when("done_at", nullable=True),
)

# Someone who signs in to the browser workspace, in one role.
users = Table(
    "users", metadata,
    _id(),
    _text("email", 200, nullable=False, unique=True),
    _text("role", 20, nullable=False),
    _text("password_hash", 200, nullable=False),  # argon2id, never the password
    _text("totp_secret", 64),
    _int("totp_last_step"),  # the time step of the last code accepted: each works once
    _when("disabled_at", nullable=True),
    _when("locked_until", nullable=True),
    _when("created_at"),
    _when("updated_at"),
)

# One refused sign-in (the lockout counts these over a window); no password is kept.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    _id(),
    _ref("user_id", "users.id", nullable=False),
    _when("at"),
    Index("ix_sign_in_failures_user_id_at", "user_id", "at"),
)

# One signed-in browser: the cookie carries a random token, this row its SHA-256; deleting
# the row (sign-out, a password or role change, disabling) ends that session wherever the
# cookie was copied. A row with a second factor being enrolled can do nothing else yet.
web_sessions = Table(
    "web_sessions", metadata,
    _id(),
    _text("token_hash", 64, nullable=False, unique=True),
    _ref("user_id", "users.id", nullable=False, index=True),
    _when("created_at"),
    _text("totp_enrolment", 64),
)

# Per-role sign-in policy an admin sets: whether a second factor (TOTP) is required.
role_policies = Table(
    "role_policies", metadata,
    _text("role", 20, nullable=False, primary_key=True),
    Column("totp_required", Boolean, nullable=False),
)

# When a scheduler last ran a job, and its alert-check interval; kept after it stops.
scheduler_heartbeats = Table(
    "scheduler_heartbeats", metadata,
    _text("name", 64, nullable=False, primary_key=True),
    _text("holder", 200, nullable=False),
    _text("job", 40, nullable=False),
    _when("last_seen"),
    Column("interval_seconds", Float, nullable=False),
)


# A phone number texts go to (E.164, one row per number): opted out, failing or active.
sms_numbers = Table(
    "sms_numbers", metadata,
    _id(),
    _text("number", 20, nullable=False, unique=True),
    _text("status", 20, nullable=False),
    _int("failures", nullable=False, default=0),
    _when("first_texted_at", nullable=True),
    _when("created_at"),
    _when("updated_at"),
)

# The consent history of a person's number: given (who, how), withdrawn, opted out or in.
sms_consents = Table(
    "sms_consents", metadata,
    _id(),
    _ref("detainee_id", "detainees.id", nullable=False, index=True),
    _ref("number_id", "sms_numbers.id", nullable=False, index=True),
    _text("role", 20, nullable=False),
    _text("action", 20, nullable=False),
    _text("how", 20, nullable=False),
    _text("recorded_by", 200, nullable=False),
    _when("at"),
)

# One text in the outbox (its notice): the body, its segments, the provider's id and status.
sms_messages = Table(
    "sms_messages", metadata,
    _id(),
    _ref("notice_id", "notices.id", nullable=False, unique=True),
    _ref("number_id", "sms_numbers.id", nullable=False, index=True),
    _text("body", nullable=False),
    _int("segments", nullable=False),
    _text("encoding", 10, nullable=False),
    _text("provider_sid", 64, unique=True),
    _text("delivery", 20),
    _int("error_code"),
    _int("callbacks", nullable=False, default=0),
    _when("updated_at", nullable=True),
)

# A text received from a number (not a STOP or START word): kept like a note on the person.
sms_replies = Table(
    "sms_replies", metadata,
    _id(),
    _ref("detainee_id", "detainees.id", nullable=True, index=True),
    _ref("number_id", "sms_numbers.id", nullable=False),
    _text("provider_sid", 64, nullable=False, unique=True),
    _text("body", nullable=False),
    _when("received_at"),
    _when("seen_at", nullable=True),
)

class OrderRow(Protocol):
    """What the read side needs of an order: a ``court_orders`` row or a ``CourtOrder``."""

    @property
    def id(self) -> int: ...
    @property
    def case_number(self) -> str: ...
    @property
    def court(self) -> str: ...
    @property
    def judge(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def deadline(self) -> datetime: ...
    @property
    def time_zone(self) -> str: ...
    @property
    def order_date(self) -> date | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def bond_amount_cents(self) -> int | None: ...
    @property
    def conditions(self) -> str | None: ...
    @property
    def stayed_since(self) -> datetime | None: ...
    @property
    def releases_done_at(self) -> datetime | None: ...
    @property
    def releases_done_by(self) -> str | None: ...
    @property
    def parent_id(self) -> int | None: ...


def check_widths(table: Table, values: Mapping[str, Any], what: str = "") -> None:
    """Refuse text longer than its column: SQLite would keep it, PostgreSQL would fail the write."""
    for name, value in values.items():
        width = getattr(table.c[name].type, "length", None)
        if width and isinstance(value, str) and len(value) > width:
            raise ValidationError(
                f"{what}{name.replace('_', ' ')} is longer than {width} characters")
