"""Accounts for the browser workspace: roles, passwords, second factor, lockout.

Plain functions over a session, like the stage verbs: the CLI (`bondtrack user`)
and the web's admin pages call them, and each change is one audit event. A
password is hashed with argon2id (memory-hard) and never stored, logged or
audited; a sign-in is judged here, not in the web layer, so the lockout rule
lives in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from workflow.core import passwords
from workflow.core.errors import BondtrackError, NotFoundError, ValidationError
from workflow.record import audit
from workflow.record.audit import Actor
from workflow.record.models import RolePolicy, SignInFailure, User, WebSession

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("admin", "attorney", "staff", "viewer")
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_FOR = timedelta(minutes=15)
# One answer for every refusal (unknown e-mail, wrong password or code, locked, disabled):
# which one it was is nobody's business before they are signed in.
WRONG = ("wrong e-mail, password or code; after 5 failed sign-ins an account is locked for"
         " 15 minutes")


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # argon2-cffi: its defaults are argon2id, RFC 9106

    return PasswordHasher()


def hash_password(password: str, email: str = "") -> str:
    """The argon2id hash of ``password`` after checking it is good enough (``passwords``)."""
    passwords.check(password, email)
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
    hashed = hash_password(password, email)
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


def _keep_an_admin(session: Session, user: User, doing: str) -> None:
    """Refuse to take away the last active admin: nobody could manage accounts after."""
    if user.role != "admin" or user.disabled_at is not None:
        return
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.disabled_at.is_(None), User.id != user.id))
    if not others:
        raise BondtrackError(f"the last active admin cannot be {doing}: make another admin first")


def set_role(session: Session, email: str, role: str, *, actor: Actor, now: datetime) -> User:
    """Give the account ``role``; its open sessions end (it signs in again in the new role)."""
    user, role = find_user(session, email), check_role(role)
    if role == user.role:
        return user
    if role != "admin":
        _keep_an_admin(session, user, "demoted")
    previous, user.role, user.updated_at = user.role, role, now
    end_sessions(session, user.id)
    _record(session, "user-role-set", user, actor, now, role=role, previous=previous)
    return user


def disable_user(session: Session, email: str, *, actor: Actor, now: datetime) -> User:
    """The account can no longer sign in, and every session it has open ends."""
    user = find_user(session, email)
    if user.disabled_at is None:
        _keep_an_admin(session, user, "disabled")
        user.disabled_at, user.updated_at = now, now
        end_sessions(session, user.id)
        _record(session, "user-disabled", user, actor, now)
    return user


def enable_user(session: Session, email: str, *, actor: Actor, now: datetime) -> User:
    """A disabled account can sign in again (with the password it had)."""
    user = find_user(session, email)
    if user.disabled_at is not None:
        user.disabled_at, user.updated_at = None, now
        _record(session, "user-enabled", user, actor, now)
    return user


def reset_password(session: Session, email: str, password: str, *, actor: Actor,
                   now: datetime) -> User:
    """A new password, set by an admin; it lifts a lockout and ends every open session."""
    user = find_user(session, email)
    _new_password(session, user, password, now)
    _record(session, "user-password-reset", user, actor, now)
    return user


def change_password(session: Session, email: str, current: str, password: str, *,
                    actor: Actor, now: datetime) -> User:
    """The account's owner changes their password, giving the current one; every session of
    the account ends (the browser that asked gets a new one)."""
    user = find_user(session, email)
    if user.disabled_at is not None or not _password_matches(user.password_hash, current):
        raise BondtrackError("the current password is not right")
    if current == password:
        raise BondtrackError("the new password is the current one")
    _new_password(session, user, password, now)
    _record(session, "user-password-changed", user, actor, now)
    return user


def _new_password(session: Session, user: User, password: str, now: datetime) -> None:
    user.password_hash = hash_password(password, user.email)
    user.locked_until, user.updated_at = None, now
    session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
    end_sessions(session, user.id)


def set_totp(session: Session, email: str, *, enabled: bool, actor: Actor,
             now: datetime) -> str | None:
    """Give the account a new TOTP secret (returned once, to enrol an app), or remove it."""
    import pyotp

    user = find_user(session, email)
    user.totp_secret = pyotp.random_base32() if enabled else None
    user.totp_last_step, user.updated_at = None, now
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
    """The outcome of a sign-in: the user, or why not (a message safe to show); ``enrol``:
    the password was right and the role needs a second factor the user has yet to set up."""

    user: User | None
    refusal: str | None = None
    enrol: bool = False


def sign_in(session: Session, email: str, password: str, code: str | None, *,
            now: datetime, source: str = "web") -> SignIn:
    """Judge a sign-in, recording failures and lockouts; the caller commits either way.

    After LOCKOUT_FAILURES failures within LOCKOUT_WINDOW the account is refused
    for LOCKOUT_FOR even with the right password. Every refusal reads alike and costs one
    password hash (unknown e-mail, wrong password or code, locked, disabled), so neither the
    answer nor its time tells an attacker which it was.
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
        _password_matches(_dummy_hash(), password)
        _record(session, "sign-in-refused-locked", user, actor, now)
        return SignIn(None, WRONG)
    if user.disabled_at is not None:
        _password_matches(_dummy_hash(), password)
        _record(session, "sign-in-refused-disabled", user, actor, now)
        return SignIn(None, WRONG)
    good = _password_matches(user.password_hash, password)
    if good and user.totp_secret is None and totp_required(session, user.role):
        _record(session, "sign-in-needs-second-factor", user, actor, now)
        return SignIn(user, enrol=True)
    if good and user.totp_secret is not None:
        step = code_step(user.totp_secret, code, now, user.totp_last_step)
        good = step is not None
        if good:
            user.totp_last_step = step
    if not good:
        return _failed(session, user, actor, now)
    session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
    user.locked_until = None
    _record(session, "signed-in", user, actor, now)
    return SignIn(user)


def code_step(secret: str, code: str | None, now: datetime, used: int | None) -> int | None:
    """The time step ``code`` belongs to (this one or either neighbour, for clock drift),
    unless it is not a code of ``secret`` or its step is not after the last one ``used``."""
    import pyotp

    totp = pyotp.TOTP(secret)
    digits = (code or "").replace(" ", "")
    if not (digits.isdigit() and len(digits) == totp.digits):
        return None
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if step > (used if used is not None else -1) and hmac.compare_digest(
                totp.generate_otp(step), digits):
            return step
    return None


def enrol_totp(session: Session, user_id: int, secret: str, code: str, *,
               now: datetime, source: str = "web") -> User | None:
    """The user proves their app holds ``secret`` with a code: it becomes their second factor
    and the sign-in is complete. None (and a counted failure) when the code is wrong."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None or (
            user.locked_until is not None and user.locked_until > now):
        return None
    actor = Actor(user.email, source)
    step = code_step(secret, code, now, None)
    if step is None:
        _failed(session, user, actor, now)
        return None
    user.totp_secret, user.totp_last_step, user.updated_at = secret, step, now
    _record(session, "user-totp-set", user, actor, now, by="self")
    _record(session, "signed-in", user, actor, now)
    return user


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
    return SignIn(None, WRONG)


# ---------------------------------------------------------------- sessions kept on the server


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenSession:
    """Who a browser's session belongs to, and whether it is still enrolling a second factor."""

    user_id: int
    email: str
    role: str
    enrolment: str | None


def start_session(session: Session, user: User, now: datetime, *,
                  enrolment: str | None = None) -> str:
    """A new session for ``user``; the token goes in the cookie and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_digest(token), user_id=user.id, created_at=now,
                           totp_enrolment=enrolment))
    return token


def open_session(session: Session, token: str | None) -> OpenSession | None:
    """The session behind a cookie's token, unless it has ended or its account is disabled."""
    if not token:
        return None
    row = session.execute(
        select(WebSession.totp_enrolment, User.id, User.email, User.role)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == _digest(token), User.disabled_at.is_(None))).first()
    return row and OpenSession(row.id, row.email, row.role, row.totp_enrolment)


def set_enrolment(session: Session, token: str, secret: str | None) -> None:
    """The secret being enrolled in this session (None: enrolment done, fully signed in)."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(token)))
    if row is not None:
        row.totp_enrolment = secret


def end_session(session: Session, token: str | None) -> None:
    """Sign this one session out, wherever its cookie was copied."""
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def end_sessions(session: Session, user_id: int) -> int:
    """Sign every session of the account out (sign out everywhere); how many there were."""
    ended = cast(CursorResult[Any], session.execute(
        delete(WebSession).where(WebSession.user_id == user_id)))
    return ended.rowcount or 0


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
    "ledger": ("attorney", "admin"),  # the bond ledger's counts and sums, by obligor
    "hearings": ("attorney", "admin"),  # the hearings calendar (names only with "people")
    "users": ("admin",),
    "queue": ("attorney", "staff"),  # /queue and the locator desk: names and A-numbers
    "caseloads": ("attorney", "admin"),  # every owner's counts; assigning people by filter
    "assign": ("attorney", "admin"),  # give a person to an account, or take them away
    "take": ("attorney", "staff"),  # take an unowned person for oneself
}


def can(role: str, capability: str) -> bool:
    """Whether ``role`` may use ``capability`` (an unknown capability: nobody may)."""
    return role in CAPABILITIES.get(capability, ())
