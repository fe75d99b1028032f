"""Accounts: password hashing (argon2id), login sessions, API tokens and user creation."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import delete, select

from hotline.auth.models import ApiToken, LoginSession, Role, User
from hotline.enterprises.models import Department
from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db

_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
PASSWORD_MIN = 10
# Verified against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Cheaper argon2id parameters for the test suite only (``PASSWORD_HASH_FAST`` in the config)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        ok = _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ok and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return ok


def authenticate(username: str, password: str, now: datetime) -> User | None:
    """The active user with these credentials, or None (the same answer for a wrong name or password)."""
    user = db.session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return None
    if not verify_password(user, password or "") or not user.active:
        return None
    user.last_login_at = now
    return user


def check_password_rules(password: str, field: str = "password") -> None:
    if len(password or "") < PASSWORD_MIN:
        message = _("Use at least %(n)d characters.", n=PASSWORD_MIN)
        raise ValidationFailed(message, {field: message})


def check_username(username: str) -> str:
    name = (username or "").strip()
    if not USERNAME_RE.match(name):
        message = _("3 to 64 letters, digits, dots, dashes or underscores.")
        raise ValidationFailed(message, {"username": message})
    if db.session.scalars(select(User.id).where(User.username == name)).first() is not None:
        message = _("This username is taken.")
        raise ValidationFailed(message, {"username": message})
    return name


def create_user(
    *,
    username: str,
    password: str,
    name: str,
    role: Role | str,
    now: datetime,
    email: str = "",
    phone: str = "",
    enterprise_id: int | None = None,
    department_code: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an account.  Staff accounts are made by an admin (``actor``) or the CLI (``actor=None``)."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may create accounts."))
    try:
        role_value = Role(role)
    except ValueError:
        message = _("Unknown role.")
        raise ValidationFailed(message, {"role": message}) from None
    username = check_username(username)
    check_password_rules(password)
    display = (name or "").strip()
    if not display:
        message = _("This field is required.")
        raise ValidationFailed(message, {"name": message})
    department_id = None
    if role_value == Role.DEPARTMENT:
        department = db.session.scalars(
            select(Department).where(Department.code == (department_code or "").strip())
        ).first()
        if department is None:
            message = _("Department staff need a department.")
            raise ValidationFailed(message, {"department": message})
        department_id = department.id
    if role_value == Role.ENTERPRISE and enterprise_id is None:
        message = _("An enterprise contact needs an enterprise.")
        raise ValidationFailed(message, {"role": message})
    user = User(
        username=username,
        password_hash=hash_password(password),
        name=display[:100],
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        role=role_value,
        enterprise_id=enterprise_id if role_value == Role.ENTERPRISE else None,
        department_id=department_id,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    return user


# --------------------------------------------------------------------------- browser sessions


def open_login_session(user: User, now: datetime, lifetime: timedelta, user_agent: str = "") -> str:
    """Record a signed-in browser and return the key Flask-Login keeps in the session cookie."""
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(key=key, user_id=user.id, created_at=now, expires_at=now + lifetime, user_agent=user_agent[:200])
    )
    user.session_key = key
    db.session.flush()
    return key


def load_login_session(key: str, now: datetime) -> User | None:
    """The user behind a session key, if that session is still open and the user active."""
    row = db.session.scalars(select(LoginSession).where(LoginSession.key == key)).first()
    if row is None or row.expires_at <= now or not row.user.active:
        return None
    row.user.session_key = key
    return row.user


def close_login_session(key: str | None) -> None:
    if key:
        db.session.execute(delete(LoginSession).where(LoginSession.key == key))


# --------------------------------------------------------------------------- API tokens


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: datetime, hours: int) -> tuple[str, ApiToken]:
    """A new bearer token; only its digest is stored, the token itself is shown once."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(digest=_digest(token), user_id=user.id, created_at=now, expires_at=now + timedelta(hours=hours))
    db.session.add(row)
    db.session.flush()
    return token, row


def user_for_token(token: str, now: datetime) -> User | None:
    row = db.session.scalars(select(ApiToken).where(ApiToken.digest == _digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    return row.user
