"""Accounts: password hashing (argon2id), login sessions, API tokens and user creation."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.models import ApiToken, LoginSession, Role, User
from hotline.config import LANGUAGES
from hotline.enterprises.models import Department, Enterprise
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.text import has_control_characters
from hotline.timeutil import local_date

_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
PASSWORD_MIN = 10
NAME_MAX = 100  # users.name, and the contact name of the registration and onboarding forms
EMAIL_MAX = 254  # users.email (RFC 5321's limit of a forward path)
# Verified against when the user does not exist, so both paths cost the same time.  Made at the first
# such login, not at import: every process (a restarted worker too) would pay a hash on start.
_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password")
    return _dummy_hash


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Cheaper argon2id parameters for the test suite only (``PASSWORD_HASH_FAST`` in the config)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    _dummy_hash = None


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
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy(), password or "")
        return None
    if not verify_password(user, password or "") or not user.active:
        return None
    user.last_login_at = now
    return user


def check_password_rules(password: str, field: str = "password", *, username: str = "") -> None:
    """Refuse a password that is shorter than ``PASSWORD_MIN``, is the username (in any case), has only one
    kind of character (all digits, all lowercase letters …) or is common or easily guessed.

    Raises :class:`ValidationFailed` with the first rule broken, its message on ``field``.
    """
    password = password or ""
    if len(password) < PASSWORD_MIN:
        message = _("Use at least %(n)d characters.", n=PASSWORD_MIN)
    elif username.strip() and password.casefold() == username.strip().casefold():
        message = _("The password must not be the username.")
    elif len({_character_kind(c) for c in password}) == 1:
        message = _("Mix at least two kinds of characters: lowercase letters, capitals, digits, symbols.")
    elif _easily_guessed(password, username):
        message = _("This password is too common or too easy to guess.")
    else:
        return
    raise ValidationFailed(message, {field: message})


def _character_kind(c: str) -> str:
    if c.isdigit():
        return "digit"
    if c.islower():
        return "lowercase"
    if c.isupper():
        return "capital"
    return "other"  # symbols, spaces, and letters without case (Chinese)


# zxcvbn's score 3 means "safely unguessable": more than 10^8 guesses by its estimate.
PASSWORD_MIN_SCORE = 3
# zxcvbn refuses more than 72 characters (ValueError) and slows with length: it judges the first 64, and a
# password whose beginning is hard to guess is hard to guess.
_ESTIMATE_LENGTH = 64


def _easily_guessed(password: str, username: str) -> bool:
    """Whether zxcvbn finds the password common or easy to guess: one of its 30,000 most common passwords,
    a dictionary word, name, date, keyboard pattern or sequence, or the username, with the usual
    substitutions and a few characters added."""
    # Imported here: loading its word lists takes a quarter of a second, paid by the first check only.
    from zxcvbn import zxcvbn

    inputs = [username.strip()] if username.strip() else []
    result = zxcvbn(password[:_ESTIMATE_LENGTH], user_inputs=inputs)
    return int(result["score"]) < PASSWORD_MIN_SCORE


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
    claimant: bool = False,
) -> User:
    """Create an account.  Staff accounts are made by an admin (``actor``) or the CLI (``actor=None``).

    The username must be free, the password pass :func:`check_password_rules`, the name, phone and email
    follow :func:`update_profile`'s rules; department staff need a department (its code), an enterprise
    contact an enterprise — but for a ``claimant``: someone who registered a code already registered,
    attached to no enterprise until the claim is confirmed (:mod:`hotline.enterprises.claims`).  Raises
    :class:`Forbidden` unless ``actor`` is an admin, and :class:`ValidationFailed` with every problem at once
    (fields ``username``, ``password``, ``name``, ``phone``, ``email``, ``role``, ``department``).
    """
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may create accounts."))
    errors: dict[str, str] = {}
    role_value: Role | None = None
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = _("Unknown role.")
    try:
        username = check_username(username)
    except ValidationFailed as error:
        errors.update(error.fields)
    try:
        check_password_rules(password, username=username)
    except ValidationFailed as error:
        errors.update(error.fields)
    changes, problems = checked_profile(name=name or "", phone=phone or "", email=email or "")
    errors.update(problems)
    department_id = None
    if role_value == Role.DEPARTMENT:
        code = (department_code or "").strip()
        department = None
        if code and not has_control_characters(code, multiline=False):
            department = db.session.scalars(
                select(Department).where(Department.code == code, Department.active.is_(True))
            ).first()
        if department is None:
            errors["department"] = _("Department staff need a department.")
        else:
            department_id = department.id
    if role_value == Role.ENTERPRISE and enterprise_id is None and not claimant:
        errors["role"] = _("An enterprise contact needs an enterprise.")
    if errors or role_value is None:
        first = next(iter(errors.values()), _("Please correct the marked fields."))
        raise ValidationFailed(first if len(errors) == 1 else _("Please correct the marked fields."), errors)
    display = changes["name"]
    user = User(
        username=username,
        password_hash=hash_password(password),
        name=display,
        email=changes["email"],
        phone=changes["phone"],
        role=role_value,
        enterprise_id=enterprise_id if role_value == Role.ENTERPRISE else None,
        department_id=department_id,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, AuditAction.USER_CREATED, user.username, _account_details(user), now)
    return user


def _account_details(user: User) -> dict[str, Any]:
    """What the audit log keeps of an account: its role, name and where it belongs (never secrets)."""
    return {
        "role": user.role.value,
        "name": user.name,
        "enterprise_id": user.enterprise_id,
        "department_id": user.department_id,
        "active": user.active,
    }


# --------------------------------------------------------------------------- browser sessions


def open_login_session(user: User, now: datetime, lifetime: timedelta, user_agent: str = "") -> str:
    """Record a signed-in browser and return the key Flask-Login keeps in the session cookie."""
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            key=key, user_id=user.id, created_at=now, expires_at=now + lifetime, user_agent=user_agent[:200]
        )
    )
    user.session_key = key
    db.session.flush()
    return key


def _user_with_enterprise() -> Any:
    """The user, with an enterprise contact's enterprise and its building in the same statement (NULL
    columns for staff): the portal shows them and filing writes them into the request."""
    return select(User).options(joinedload(User.enterprise).joinedload(Enterprise.building))


@functools.cache
def _session_user_query() -> Any:
    """Made once: every page runs it, and a statement made anew each time is built and keyed anew too."""
    query = _user_with_enterprise().join(LoginSession, LoginSession.user_id == User.id)
    return query.where(
        LoginSession.key == bindparam("key"),
        LoginSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )


def load_login_session(key: str, now: datetime) -> User | None:
    """The user behind a session key, if that session is still open and the user active."""
    # one statement, one row: every page asks for the session's user
    user: User | None = db.session.scalars(_session_user_query(), {"key": key, "now": now}).first()
    if user is not None:
        user.session_key = key
    return user


def close_login_session(key: str | None) -> None:
    if key:
        db.session.execute(delete(LoginSession).where(LoginSession.key == key))


def _sign_out_everywhere(user_id: int, now: datetime, keep_session_key: str | None = None) -> None:
    """End the user's browser sessions (but ``keep_session_key``) and revoke its API tokens."""
    sessions = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_session_key is not None:
        sessions = sessions.where(LoginSession.key != keep_session_key)
    db.session.execute(sessions)
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --------------------------------------------------------------------------- account management


def set_user_active(user_id: int, active: bool, actor: User | None, now: datetime) -> User:
    """Deactivate or reactivate an account (administrators only).

    Deactivation takes effect at once: the user's browser sessions are deleted and its API tokens revoked.
    A liaison that still holds open requests is not deactivated (they would be stranded on an account that
    cannot log in): its work is handed over first (:func:`hotline.tickets.services.hand_over_workload`).
    Nor is the last active administrator (no one could manage accounts any more).  A deactivated liaison's
    coverages end (:func:`end_coverages_of`): its buildings show as gaps, to be given another liaison.
    ``actor`` None is the operator at the command line (``flask users deactivate``).
    Raises :class:`Forbidden` unless ``actor`` is an admin, :class:`NotFound` for an unknown user and
    :class:`ValidationFailed` when an admin tries to deactivate their own account (no one could undo it).
    """
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may activate or deactivate accounts."))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    if not active and user.active:
        problem = _deactivation_refused(user, actor)
        if problem:
            raise ValidationFailed(problem)
    if not active and user.active and user.role == Role.LIAISON:
        end_coverages_of(user, actor, now)
    was_active = user.active
    user.active = active
    if not active:
        _sign_out_everywhere(user.id, now)
    db.session.flush()
    if was_active != active:
        action = AuditAction.USER_ACTIVATED if active else AuditAction.USER_DEACTIVATED
        audit.record(actor, action, user.username, {"role": user.role.value}, now)
    return user


def deactivate_account(user: User, now: datetime) -> User:
    """Deactivate ``user`` at once: its browser sessions are deleted and its API tokens revoked.

    The caller has decided the actor may (an enterprise's contact removed by its liaison or a manager:
    :func:`hotline.enterprises.services.remove_contact`); raises nothing.
    """
    user.active = False
    _sign_out_everywhere(user.id, now)
    db.session.flush()
    return user


def _deactivation_refused(user: User, actor: User | None) -> str | None:
    """Why ``user`` may not be deactivated by ``actor``, or None."""
    if actor is not None and user.id == actor.id:
        return _("You cannot deactivate your own account.")
    if user.role == Role.ADMIN and _last_active_admin(user.id):
        return _("This is the last active administrator: make another administrator first.")
    if user.role == Role.LIAISON:
        return _liaison_still_needed(user, covering_too=False)
    return None


def _last_active_admin(user_id: int) -> bool:
    """Whether no active administrator would be left without ``user_id``.

    The active admins' rows are locked (PostgreSQL), so two admins demoting or deactivating each other at
    the same moment cannot both succeed and leave none: the second one sees the first one's change.
    """
    admins = db.session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return not [admin for admin in admins if admin != user_id]


def update_user(
    user_id: int,
    actor: User | None,
    now: datetime,
    *,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    role: Role | str | None = None,
    department_code: str | None = None,
    active: bool | None = None,
) -> User:
    """An administrator changes an account's name, phone, email, role, department or active state; a value
    left None stays as it is (``department_code`` None keeps a department user's department).

    The values follow :func:`update_profile`'s rules; department staff need an active department (by its
    code), and leave it when they take another role.  A role change is refused where it would strand work
    or lock everyone out: an enterprise contact never becomes staff nor staff an enterprise contact, a
    liaison holding open requests or covering buildings stays a liaison (hand the work over, end the
    coverage first), an admin changes neither its own role nor the last active admin's; deactivation
    follows :func:`set_user_active`.  A role change, like a deactivation, ends the user's browser sessions
    and revokes its API tokens (they were granted to the old role).
    ``actor`` None is the operator at the command line.  Raises :class:`Forbidden` unless ``actor`` is an
    admin, :class:`NotFound` for an unknown user, and :class:`ValidationFailed` with every problem at once
    (fields ``name``, ``phone``, ``email``, ``role``, ``department``, ``active``); nothing is changed then.
    """
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may change accounts."))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    changes, errors = checked_profile(name=name, phone=phone, email=email)
    new_role = user.role
    if role is not None:
        try:
            new_role = Role(role)
        except ValueError:
            errors["role"] = _("Unknown role.")
    if new_role != user.role:
        problem = _role_change_refused(user, new_role, actor)
        if problem:
            errors["role"] = problem
    department_id = user.department_id if new_role == Role.DEPARTMENT else None
    if new_role == Role.DEPARTMENT and (department_code is not None or department_id is None):
        code = (department_code or "").strip()
        department = None
        if code and not has_control_characters(code, multiline=False):
            department = db.session.scalars(
                select(Department).where(Department.code == code, Department.active.is_(True))
            ).first()
        if department is None:
            errors["department"] = _("Department staff need a department.")
        else:
            department_id = department.id
    if active is False and user.active:
        problem = _deactivation_refused(user, actor)
        if problem:
            errors["active"] = problem
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if changes.get("email", user.email) != user.email:
        void_reset_links(user.id, now)
    before = {"role": user.role.value, "department_id": user.department_id, "active": user.active}
    before.update({field: getattr(user, field) for field in changes})
    for field, value in changes.items():
        setattr(user, field, value)
    role_changed = new_role != user.role
    user.role = new_role
    user.department_id = department_id
    if active is False and user.active and user.role == Role.LIAISON:
        end_coverages_of(user, actor, now)
    if active is not None:
        user.active = active
    if role_changed or active is False:
        _sign_out_everywhere(user.id, now)
    db.session.flush()
    after = _account_details(user)
    changed = {key: [old, after.get(key, getattr(user, key))] for key, old in before.items()}
    changed = {key: pair for key, pair in changed.items() if pair[0] != pair[1]}
    for private in ("phone", "email"):  # managers read the log too: that it changed, not the numbers
        if private in changed:
            changed[private] = ["…", "…"]
    if changed:
        audit.record(actor, AuditAction.USER_UPDATED, user.username, {"changes": changed}, now)
    return user


def _role_change_refused(user: User, new_role: Role, actor: User | None) -> str | None:
    """Why ``user`` may not change from its role to ``new_role``, or None."""
    if Role.ENTERPRISE in (user.role, new_role):
        return _("An enterprise contact cannot become staff, nor staff an enterprise contact.")
    if actor is not None and user.id == actor.id:
        return _("You cannot change your own role.")
    if user.role == Role.ADMIN and user.active and _last_active_admin(user.id):
        return _("This is the last active administrator: make another administrator first.")
    if user.role == Role.LIAISON:
        return _liaison_still_needed(user)
    return None


def void_reset_links(user_id: int, now: datetime) -> None:
    """Make the user's unused password reset links void (its e-mail address changed: a link mailed to the
    old one must not outlive it)."""
    from hotline.auth.models import PasswordReset

    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def end_coverages_of(user: User, actor: User | None, now: datetime) -> int:
    """End every active coverage of a liaison being deactivated (kept in the history, ended by ``actor``);
    how many.  Its buildings are then gaps on the dashboard and the coverage pages, to be given another
    liaison."""
    from hotline.enterprises.models import Coverage

    coverages = db.session.scalars(
        select(Coverage).where(Coverage.liaison_id == user.id, Coverage.active.is_(True))
    ).all()
    from hotline.audit import services as audit
    from hotline.audit.models import AuditAction

    for coverage in coverages:
        coverage.active, coverage.ended_at = False, now
        coverage.ended_by_id = actor.id if actor is not None else None
        audit.record(
            actor,
            AuditAction.COVERAGE_ENDED,
            f"{user.username} · {coverage.building_id}",
            {"building_id": coverage.building_id, "kind": coverage.role.value, "why": "deactivated"},
            now,
        )
    return len(coverages)


def _liaison_still_needed(user: User, *, covering_too: bool = True) -> str | None:
    """Why a liaison cannot stop being one, or None: it holds open requests (deactivated or given another
    role), or — for a role change — it still covers buildings.  A deactivation ends its coverages instead
    (:func:`end_coverages_of`): the person has left, and its buildings show as gaps at once."""
    from hotline.enterprises.models import Coverage
    from hotline.tickets.services import held_count  # the tickets package builds on this one

    held = held_count(user.id)
    if held:
        return _(
            "%(name)s still holds %(n)d open requests: hand them over to another liaison first "
            "(Liaisons, Hand over work).",
            name=user.name,
            n=held,
        )
    covering = db.session.scalar(
        select(func.count(Coverage.id)).where(Coverage.liaison_id == user.id, Coverage.active.is_(True))
    )
    if covering and covering_too:
        return _(
            "%(name)s still covers %(n)d buildings: end that coverage first (Buildings and coverage).",
            name=user.name,
            n=int(covering),
        )
    return None


def reset_password(username: str, new_password: str, now: datetime) -> User:
    """Give an account a new password from the command line (``flask users reset-password``: the operator
    has checked who asks); every browser session of the user ends and its API tokens are revoked.

    Raises :class:`NotFound` for an unknown user and :class:`ValidationFailed` (``password``) for a
    password the rules refuse.
    """
    user = user_named(username)
    if user is None:
        raise NotFound(_("No such user."))
    check_password_rules(new_password, username=user.username)
    user.password_hash = hash_password(new_password)
    _sign_out_everywhere(user.id, now)
    db.session.flush()
    return user


def change_password(
    user: User, current_password: str, new_password: str, now: datetime, keep_session_key: str | None = None
) -> None:
    """Change ``user``'s own password after checking the current one.

    Every other browser session of the user ends and its API tokens are revoked, since they may belong to
    whoever learnt the old password; ``keep_session_key`` (the browser making the change) stays signed in.
    Raises :class:`ValidationFailed` with ``current_password`` / ``new_password`` field messages.
    """
    errors: dict[str, str] = {}
    if not verify_password(user, current_password or ""):
        errors["current_password"] = _("The current password is wrong.")
    try:
        check_password_rules(new_password, field="new_password", username=user.username)
    except ValidationFailed as error:
        errors.update(error.fields)
    if not errors and new_password == current_password:
        errors["new_password"] = _("Choose a password different from the current one.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    user.password_hash = hash_password(new_password)
    _sign_out_everywhere(user.id, now, keep_session_key=keep_session_key)
    db.session.flush()


def set_availability(actor: User, available: bool) -> User:
    """A liaison goes on leave (``available=False``: routing skips it) or comes back.

    Raises :class:`Forbidden` for anyone but a liaison.
    """
    if actor.role != Role.LIAISON:
        raise Forbidden(_("Only liaisons can mark themselves on leave."))
    actor.available = available
    db.session.flush()
    return actor


def user_named(username: str | None) -> User | None:
    """The user of this username; None for none, and for a name no username can be (a NUL byte, which
    PostgreSQL refuses in a query, never reaches it)."""
    name = (username or "").strip()
    if not name or has_control_characters(name, multiline=False):
        return None
    return db.session.scalars(select(User).where(User.username == name)).first()


def liaison_named(username: str | None) -> User:
    liaison = user_named(username)
    if liaison is None or liaison.role != Role.LIAISON:
        raise NotFound(_("No such liaison."))
    return liaison


LEAVE_DAYS_MAX = 366
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: str | date | None, field: str, errors: dict[str, str]) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Give a date as YYYY-MM-DD.")
        return None


def set_leave(
    username: str, actor: User, start: str | date | None, end: str | date | None, now: datetime
) -> User:
    """A manager sets a liaison's leave (both days included; routing skips the liaison within them and its
    buildings' deputies take over), or ends it (both empty).

    Raises :class:`Forbidden` (not a manager), :class:`NotFound` (no such liaison) and
    :class:`ValidationFailed` on ``leave_from`` / ``leave_until``: not dates, one without the other, the end
    before the start or before today, longer than :data:`LEAVE_DAYS_MAX` days.
    """
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only a manager may set a liaison's leave."))
    liaison = liaison_named(username)
    errors: dict[str, str] = {}
    first, last = _day(start, "leave_from", errors), _day(end, "leave_until", errors)
    if not errors:
        if (first is None) != (last is None):
            missing = "leave_until" if last is None else "leave_from"
            errors[missing] = _("Give both the first and the last day of the leave, or neither.")
        elif first is not None and last is not None:
            if last < first:
                errors["leave_until"] = _("The last day comes before the first.")
            elif last < local_date(now):
                errors["leave_until"] = _("The leave must end today or later.")
            elif (last - first).days + 1 > LEAVE_DAYS_MAX:
                errors["leave_until"] = _("A leave is at most %(n)d days.", n=LEAVE_DAYS_MAX)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    liaison.leave_from, liaison.leave_until = first, last
    db.session.flush()
    return liaison


def checked_profile(
    *, name: str | None, phone: str | None, email: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The checked new values of a name, phone and email (None: unchanged), and the problems by field: the
    rules of the profile, account creation and the import of liaisons."""
    # Imported here: hotline.tickets.services imports (through enterprises) this module.
    from hotline.tickets.services import PHONE_RE

    errors: dict[str, str] = {}
    changes: dict[str, str] = {}
    if name is not None:
        display = name.strip()
        if not display:
            errors["name"] = _("This field is required.")
        elif len(display) > NAME_MAX:
            errors["name"] = _("At most %(n)d characters.", n=NAME_MAX)
        elif any(unicodedata.category(c) == "Cc" for c in display):
            errors["name"] = _("This text contains characters that are not allowed.")
        else:
            changes["name"] = display
    if phone is not None:
        number = phone.strip()
        if number and not PHONE_RE.match(number):
            errors["phone"] = _("Enter a phone number of 7 to 20 digits (a leading + and dashes allowed).")
        else:
            changes["phone"] = number
    if email is not None:
        address = email.strip()
        if not address:
            changes["email"] = ""
        else:
            try:
                normalised = validate_email(address, check_deliverability=False).normalized
            except EmailNotValidError:
                errors["email"] = _("Enter a valid email address, like name@example.com.")
            else:
                if len(normalised) > EMAIL_MAX:
                    errors["email"] = _("At most %(n)d characters.", n=EMAIL_MAX)
                else:
                    changes["email"] = normalised
    return changes, errors


def update_profile(
    actor: User,
    *,
    now: datetime,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> User:
    """Change the user's own display name, phone, email or language; a value left None stays as it is.

    ``name`` is 1 to 100 characters without control characters; ``phone`` follows the rule of a request's
    contact phone, or is empty to remove it; ``email`` is a syntactically valid address (stored normalised),
    or empty to stop emails; ``locale`` is one of the configured languages (``zh``, ``en``).  Raises
    :class:`ValidationFailed` with every problem at once (fields ``name``, ``phone``, ``email``, ``locale``);
    nothing is changed then.  ``now`` is taken like every service's, though no column records the change yet.
    """
    changes, errors = checked_profile(name=name, phone=phone, email=email)
    if locale is not None:
        languages = list(LANGUAGES)
        if locale.strip() not in languages:
            errors["locale"] = _("Choose one of: %(values)s.", values=", ".join(languages))
        else:
            changes["locale"] = locale.strip()
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if changes.get("email", actor.email) != actor.email:
        void_reset_links(actor.id, now)
    for field, value in changes.items():
        setattr(actor, field, value)
    db.session.flush()
    return actor


# --------------------------------------------------------------------------- API tokens


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: datetime, hours: int) -> tuple[str, ApiToken]:
    """A new bearer token; only its digest is stored, the token itself is shown once."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        digest=_digest(token), user_id=user.id, created_at=now, expires_at=now + timedelta(hours=hours)
    )
    db.session.add(row)
    db.session.flush()
    return token, row


@functools.cache
def _token_user_query() -> Any:
    """Made once, as :func:`_session_user_query`."""
    query = _user_with_enterprise().join(ApiToken, ApiToken.user_id == User.id)
    return query.where(
        ApiToken.digest == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.active.is_(True),
    )


def user_for_token(token: str, now: datetime) -> User | None:
    # one statement: every call asks for its user
    query, values = _token_user_query(), {"digest": _digest(token), "now": now}
    user: User | None = db.session.scalars(query, values).first()
    return user


def revoke_token(token: str, now: datetime) -> bool:
    """Revoke a bearer token (the API's "log out"); False if it was unknown or already revoked."""
    row = db.session.scalars(select(ApiToken).where(ApiToken.digest == _digest(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    db.session.flush()
    return True
