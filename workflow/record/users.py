"""Accounts for the browser workspace: roles, passwords, second factor, lockout.

Plain functions over a session, like the stage verbs: the CLI (`bondtrack user`)
and the web's admin pages call them, and each change is one audit event. A
password is hashed with argon2id (memory-hard) and never stored, logged or
audited; a sign-in is judged here, not in the web layer, so the lockout rule
lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import RolePolicy, SignInFailure, User

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("admin", "attorney", "staff", "viewer")
MIN_PASSWORD = 10
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_FOR = timedelta(minutes=15)
WRONG = "wrong e-mail, password or code"
LOCKED = "this account is locked for 15 minutes after 5 failed sign-ins: try again later"


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # argon2-cffi: its defaults are argon2id, RFC 9106

    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` after checking it is long enough."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password is shorter than {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValidationError("the password is longer than 1024 characters")
    return _hasher().hash(password)


def _password_matches(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to check against when the e-mail is unknown, so both take the same time.
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash("no such account, same cost"))
    return _DUMMY[0]


def normalize_email(text: str) -> str:
    """An e-mail address, trimmed and lower-cased; refused unless it looks like one."""
    email = text.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(ch.isspace() for ch in email) or len(email) > 200:
        raise ValidationError("not an e-mail address")
    return email


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise ValidationError(f"role must be one of: {', '.join(ROLES)}")
    return role


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFoundError("no user with that e-mail")
    return user


def _record(session: Session, kind: str, user: User, actor: Actor, now: datetime,
            **details: Any) -> None:
    audit.record(session, kind=kind, actor=actor, at=now, now=now,
                 payload={"user_id": user.id, "email": user.email, **details})


def add_user(session: Session, email: str, role: str, password: str, *, actor: Actor,
             now: datetime) -> User:
    """A new account in ``role``; the e-mail must be new."""
    email, role = normalize_email(email), check_role(role)
    hashed = hash_password(password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise BondtrackError("a user with that e-mail already exists")
    user = User(email=email, role=role, password_hash=hashed, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    _record(session, "user-added", user, actor, now, role=role)
    return user


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every account, by e-mail, with its role and whether it is disabled, locked, two-factor."""
    return [
        {"id": u.id, "email": u.email, "role": u.role, "disabled": u.disabled_at is not None,
         "totp": u.totp_secret is not None,
         "locked_until": u.locked_until.isoformat() if u.locked_until else None}
        for u in session.scalars(select(User).order_by(User.email))
    ]


def set_role(session: Session, email: str, role: str, *, actor: Actor, now: datetime) -> User:
    user, role = find_user(session, email), check_role(role)
    previous, user.role, user.updated_at = user.role, role, now
    _record(session, "user-role-set", user, actor, now, role=role, previous=previous)
    return user


def disable_user(session: Session, email: str, *, actor: Actor, now: datetime) -> User:
    """The account can no longer sign in; its open sessions end at their next request."""
    user = find_user(session, email)
    if user.disabled_at is None:
        user.disabled_at, user.updated_at = now, now
        _record(session, "user-disabled", user, actor, now)
    return user


def reset_password(session: Session, email: str, password: str, *, actor: Actor,
                   now: datetime) -> User:
    """A new password; it also lifts a lockout."""
    user = find_user(session, email)
    user.password_hash, user.locked_until, user.updated_at = hash_password(password), None, now
    session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
    _record(session, "user-password-reset", user, actor, now)
    return user


def set_totp(session: Session, email: str, *, enabled: bool, actor: Actor,
             now: datetime) -> str | None:
    """Give the account a new TOTP secret (returned once, to enrol an app), or remove it."""
    import pyotp

    user = find_user(session, email)
    user.totp_secret = pyotp.random_base32() if enabled else None
    user.updated_at = now
    _record(session, "user-totp-set" if enabled else "user-totp-removed", user, actor, now)
    return user.totp_secret


def totp_uri(user_email: str, secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=user_email, issuer_name="bondtrack")


def require_totp(session: Session, role: str, *, required: bool, actor: Actor,
                 now: datetime) -> None:
    """Whether everyone in ``role`` must give a TOTP code to sign in."""
    role = check_role(role)
    policy = session.get(RolePolicy, role)
    if policy is None:
        policy = RolePolicy(role=role, totp_required=required)
        session.add(policy)
    policy.totp_required = required
    audit.record(session, kind="role-totp-policy", actor=actor, at=now, now=now,
                 payload={"role": role, "totp_required": required})


def totp_required(session: Session, role: str) -> bool:
    policy = session.get(RolePolicy, role)
    return bool(policy and policy.totp_required)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or why not (a message safe to show)."""

    user: User | None
    refusal: str | None = None


def sign_in(session: Session, email: str, password: str, code: str | None, *,
            now: datetime, source: str = "web") -> SignIn:
    """Judge a sign-in, recording failures and lockouts; the caller commits either way.

    After LOCKOUT_FAILURES failures within LOCKOUT_WINDOW the account is refused
    for LOCKOUT_FOR even with the right password. Every refusal names no reason
    an attacker could use (unknown e-mail, wrong password and wrong code read alike).
    """
    try:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
    except ValidationError:
        user = None
    if user is None:
        _password_matches(_dummy_hash(), password)
        audit.record(session, kind="sign-in-failed", actor=Actor("unknown", source), at=now,
                     now=now, payload={"reason": "unknown account"})
        return SignIn(None, WRONG)
    actor = Actor(user.email, source)
    if user.locked_until is not None and user.locked_until > now:
        _record(session, "sign-in-refused-locked", user, actor, now)
        return SignIn(None, LOCKED)
    if user.disabled_at is not None:
        _record(session, "sign-in-refused-disabled", user, actor, now)
        return SignIn(None, WRONG)
    good = _password_matches(user.password_hash, password)
    if good and user.totp_secret is None and totp_required(session, user.role):
        _record(session, "sign-in-refused-no-totp", user, actor, now)
        return SignIn(None, "your role needs a second factor: ask an admin to set it up")
    if good and user.totp_secret is not None:
        good = _code_matches(user.totp_secret, code, now)
    if not good:
        return _failed(session, user, actor, now)
    session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
    user.locked_until = None
    _record(session, "signed-in", user, actor, now)
    return SignIn(user)


def _code_matches(secret: str, code: str | None, now: datetime) -> bool:
    import pyotp

    digits = (code or "").replace(" ", "")
    return digits.isdigit() and pyotp.TOTP(secret).verify(digits, for_time=now, valid_window=1)


def _failed(session: Session, user: User, actor: Actor, now: datetime) -> SignIn:
    session.add(SignInFailure(user_id=user.id, at=now))
    session.flush()
    _record(session, "sign-in-failed", user, actor, now)
    recent = session.execute(select(func.count()).select_from(SignInFailure).where(
        SignInFailure.user_id == user.id, SignInFailure.at > now - LOCKOUT_WINDOW)).scalar_one()
    if recent >= LOCKOUT_FAILURES:
        user.locked_until = now + LOCKOUT_FOR
        session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
        _record(session, "user-locked", user, actor, now, until=user.locked_until.isoformat())
        return SignIn(None, LOCKED)
    return SignIn(None, WRONG)


def active_user(session: Session, user_id: int) -> User | None:
    """The account behind a session, unless it has been disabled since (checked per request)."""
    user = session.get(User, user_id)
    return user if user is not None and user.disabled_at is None else None


# What each role may do in the browser; every route asks ``can`` on the server.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "orders": ROLES,  # the orders and their counts
    "manage-orders": ("admin",),  # add an order
    "dashboard": ROLES,  # an order's overview: counts and internal ids, no names
    "people": ("attorney", "staff"),  # names, A-numbers, a person's record
    "moves": ("attorney", "staff"),  # stage moves, bond events, hearings
    "terms": ("attorney",),  # the terms ordered for a person, their sub-order
    "notes": ("attorney", "staff"),
    "bulk": ("attorney", "staff"),
    "exports": ("attorney",),
    "reports": ("attorney",),
    "letters": ("attorney",),
    "users": ("admin",),
}


def can(role: str, capability: str) -> bool:
    """Whether ``role`` may use ``capability`` (an unknown capability: nobody may)."""
    return role in CAPABILITIES.get(capability, ())
