"""Password reset links: asked for by the user (sent by e-mail through the outbox) or issued by an
administrator (handed over in person), single-use, valid for :data:`RESET_MINUTES`.

Only the SHA-256 digest of a link's token is stored, as for API tokens.  The e-mail is written by a worker
(:func:`send_password_reset_email`), so its outbox message must let the worker make the link without the
token being kept anywhere: the message carries a random *seed*, and the token is the HMAC of the seed under
the application's ``SECRET_KEY``.  A copy of the database alone (outbox included) yields no usable link; a
changed ``SECRET_KEY`` makes the worker derive another token, which it notices (the digest differs) and
sends nothing.

Every new link voids the user's earlier unused ones; setting the password through a link uses it and ends
every browser session and API token of the user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.models import PasswordReset, Role, User
from hotline.auth.services import (
    EMAIL_MAX,
    _digest,
    _sign_out_everywhere,
    check_password_rules,
    hash_password,
    user_named,
)
from hotline.errors import Conflict, Forbidden, NotFound
from hotline.extensions import db
from hotline.outbox import services as outbox
from hotline.text import has_control_characters

log = logging.getLogger(__name__)

RESET_MINUTES = 30
# The outbox topic of a reset e-mail: payload {"reset_id", "seed"} (hotline.auth.tasks).
SEND_PASSWORD_RESET = "send_password_reset"
# At most this many accounts are sent a link when several share the e-mail address typed.
ACCOUNTS_PER_ADDRESS_MAX = 5
TOKEN_LENGTH_MAX = 100  # a token is 43 characters; anything much longer is not one


def _token_from_seed(seed: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    mac = hmac.new(key, b"hotline.password-reset:" + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def reset_url(token: str) -> str:
    """The absolute address of a reset link, built from ``PUBLIC_BASE_URL`` (workers have no request)."""
    path = current_app.url_map.bind("localhost").build("auth.password_reset", {"token": token})
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + path


def _new_link(user: User, created_by: User | None, now: datetime) -> tuple[str, str, PasswordReset]:
    """A new link for ``user`` (its seed, token and row); its earlier unused links are void from now."""
    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    seed = secrets.token_urlsafe(32)
    token = _token_from_seed(seed)
    row = PasswordReset(
        digest=_digest(token),
        user_id=user.id,
        created_by_id=created_by.id if created_by is not None else None,
        created_at=now,
        expires_at=now + timedelta(minutes=RESET_MINUTES),
    )
    db.session.add(row)
    db.session.flush()
    return seed, token, row


def _accounts_for(identifier: str) -> list[User]:
    """The active accounts a "forgot your password" form names: by username, or (the text has an ``@``,
    which no username has) every account with that e-mail address, case-insensitively."""
    text = (identifier or "").strip()
    if not text or len(text) > EMAIL_MAX or has_control_characters(text, multiline=False):
        return []
    if "@" not in text:
        user = user_named(text)
        return [user] if user is not None and user.active else []
    query = (
        select(User)
        .where(func.lower(User.email) == text.lower(), User.active.is_(True))
        .order_by(User.id)
        .limit(ACCOUNTS_PER_ADDRESS_MAX)
    )
    return list(db.session.scalars(query))


def request_password_reset(identifier: str, now: datetime) -> int:
    """Someone forgot a password and typed a username or e-mail address: each active account it names that
    has an e-mail address gets a new link by e-mail (an outbox message; a worker sends it in the account's
    language).  Returns how many e-mails were queued — for tests and logs only: the page must answer the
    same whether or not an account was found, so nothing here raises.
    """
    queued = 0
    for user in _accounts_for(identifier):
        if not user.email:
            continue  # a contact without e-mail asks an administrator for a link
        seed, _token, row = _new_link(user, None, now)
        outbox.enqueue(SEND_PASSWORD_RESET, {"reset_id": row.id, "seed": seed}, now)
        queued += 1
    return queued


def issue_reset_link(username: str, actor: User, now: datetime) -> tuple[str, datetime]:
    """An administrator makes a reset link for ``username`` to hand over in person (a contact without
    e-mail, or one whose mail does not arrive); the user's earlier unused links are void.  Returns the
    absolute link and when it expires (:data:`RESET_MINUTES`).

    Only administrators: whoever sets a password through the link can act as the account, and a manager
    acting as an enterprise could rate its own service.  Raises :class:`Forbidden` for anyone else,
    :class:`NotFound` for no such user and :class:`Conflict` for a deactivated account (reactivate it first).
    """
    if actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may issue password reset links."))
    user = user_named(username)
    if user is None:
        raise NotFound(_("No such user."))
    if not user.active:
        raise Conflict(_("This account is deactivated: reactivate it first."))
    _seed, token, row = _new_link(user, actor, now)
    audit.record(
        actor, AuditAction.RESET_LINK_ISSUED, user.username, {"expires_at": row.expires_at.isoformat()}, now
    )
    return reset_url(token), row.expires_at


def _link(token: str) -> PasswordReset | None:
    text = token or ""
    if not text or len(text) > TOKEN_LENGTH_MAX or has_control_characters(text, multiline=False):
        return None
    row: PasswordReset | None = db.session.scalars(
        select(PasswordReset).where(PasswordReset.digest == _digest(text))
    ).first()
    return row


def check_reset_link(token: str, now: datetime) -> PasswordReset:
    """The link of ``token`` if it can still set a password.

    Raises :class:`NotFound` saying why not: unknown (or its account deactivated), used already, replaced by
    a newer link, or expired.
    """
    row = _link(token)
    if row is None or not row.user.active:
        raise NotFound(_("This password reset link is not valid."))
    if row.used_at is not None:
        raise NotFound(_("This password reset link has been used already."))
    if row.revoked_at is not None:
        raise NotFound(_("This password reset link was replaced by a newer one."))
    if row.expires_at <= now:
        raise NotFound(_("This password reset link has expired."))
    return row


def complete_password_reset(token: str, password: str, now: datetime) -> User:
    """Set a new password through a reset link: the link is used up, the user's other unused links are
    void, and every browser session and API token of the user ends.

    Raises :class:`NotFound` (see :func:`check_reset_link`; also when another request used the link a
    moment before) and :class:`ValidationFailed` on ``password`` for one the rules refuse (the link still
    works then).
    """
    row = check_reset_link(token, now)
    user = row.user
    check_password_rules(password, username=user.username)
    # the one statement that uses the link: of two requests racing with it, one changes the password
    used = db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == row.id, PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None)
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(_("This password reset link has been used already."))
    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.id != row.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = hash_password(password)
    _sign_out_everywhere(user.id, now)
    db.session.flush()
    return user


# --------------------------------------------------------------------------- the e-mail (a worker sends it)


def build_reset_message(user: User, link: str) -> EmailMessage:
    """The reset e-mail for ``user`` in its language: text/plain with a text/html part."""
    from hotline.notifications.email import recipient_locale

    lang = recipient_locale(user)
    with force_locale(lang):
        subject = _("Set a new password")
        context = {"user": user, "subject": subject, "link": link, "minutes": RESET_MINUTES, "lang": lang}
        plain = render_template("email/password_reset.txt", **context)
        html = render_template("email/password_reset.html", **context)
        prefix = "[{}]".format(_("QiHu WoYing"))
    sender = str(current_app.config["MAIL_FROM"])
    message = EmailMessage()
    message["Subject"] = f"{prefix} {subject}"
    message["From"] = sender
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring="password-reset", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


def send_password_reset_email(reset_id: int, seed: str, now: datetime) -> bool:
    """E-mail the link of one self-service reset; True when a message was handed to the SMTP server.

    Nothing is sent for a link already e-mailed (a second delivery of the task), used, void or expired, for
    an account deactivated or without address meanwhile, with ``MAIL_SERVER`` empty, or when the seed does
    not give the link's token (``SECRET_KEY`` changed).  A recipient the server refuses for good (5xx) is
    logged and dropped; transient failures raise :class:`OSError` or :class:`smtplib.SMTPException` for a
    retry.  Flushes; the caller commits.
    """
    from hotline.notifications.email import _deliver  # the notifications' SMTP connection, settings and all

    row = db.session.get(PasswordReset, reset_id, with_for_update=True)
    if row is None or row.emailed_at is not None or row.used_at is not None or row.revoked_at is not None:
        return False
    if row.expires_at <= now:
        return False
    user = row.user
    if not user.active or not user.email or not current_app.config.get("MAIL_SERVER"):
        return False
    token = _token_from_seed(str(seed))
    if not hmac.compare_digest(_digest(token), row.digest):
        log.warning("password reset %s: the seed does not give its token (SECRET_KEY changed?)", row.id)
        return False
    try:
        _deliver(build_reset_message(user, reset_url(token)))
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _message in refused.recipients.values()]
        if not codes or any(code < 500 for code in codes):
            raise
        log.warning("password reset e-mail %s refused for good: %s", row.id, refused.recipients)
        return False
    row.emailed_at = now
    db.session.flush()
    return True
