"""Notification emails: one multipart message (text and HTML) in the recipient's language, over SMTP.

Called by the ``worker.tasks.send_email`` task for each ``send_email`` outbox message.  A transient failure
(connection refused, timeout, a 4xx answer) raises, records nothing, and the task retries with backoff.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from hotline.auth.models import User
from hotline.extensions import db
from hotline.notifications.models import Notification
from hotline.notifications.services import meeting_url, render_notification, ticket_url

log = logging.getLogger(__name__)


def recipient_locale(user: User) -> str:
    """The user's chosen language, else the default one (Chinese)."""
    languages: list[str] = current_app.config["LANGUAGES"]
    if user.locale in languages:
        return user.locale
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _link(notification: Notification, number: str) -> str:
    """Where the email points: the request, the meeting, or the site."""
    if number:
        return ticket_url(number)
    meeting_id = notification.params.get("meeting")
    if isinstance(meeting_id, int):
        return meeting_url(meeting_id)
    return str(current_app.config["PUBLIC_BASE_URL"])


def build_message(notification: Notification, user: User) -> EmailMessage:
    """The email for one notification, rendered in ``user``'s language: text/plain with a text/html part."""
    with force_locale(recipient_locale(user)):
        subject, text = render_notification(notification)
        number = str(notification.params.get("number") or "")
        context = {
            "user": user,
            "subject": subject,
            "text": text,
            "excerpt": str(notification.params.get("excerpt") or ""),
            "number": number,
            "title": str(notification.params.get("title") or ""),
            "link": _link(notification, number),
            "lang": recipient_locale(user),
        }
        plain = render_template("email/notification.txt", **context)
        html = render_template("email/notification.html", **context)
        prefix = "[{}]".format(_("QiHu WoYing"))
    sender = str(current_app.config["MAIL_FROM"])
    message = EmailMessage()
    message["Subject"] = f"{prefix} {subject}"
    message["From"] = sender
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"notification-{notification.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notification
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    timeout = float(config["MAIL_TIMEOUT"])
    with smtplib.SMTP(str(config["MAIL_SERVER"]), int(config["MAIL_PORT"]), timeout=timeout) as smtp:
        if config.get("MAIL_USE_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
        smtp.send_message(message)


def send_notification_email(notification_id: int, now: datetime) -> bool:
    """Email one notification to its user; True when a message was handed to the SMTP server.

    Only a ``pending`` email is sent, so a second delivery of the task returns False without sending.  With
    ``MAIL_SERVER`` empty (the embedded run), or a user without an address, it is marked ``skipped``; a
    recipient the server refuses for good (5xx) is marked ``failed``.  Transient failures raise
    :class:`OSError` or :class:`smtplib.SMTPException` and leave it ``pending`` for a retry.
    Flushes; the caller commits.
    """
    # The row lock keeps two deliveries of the same task from both sending (PostgreSQL; SQLite ignores it).
    row = db.session.get(Notification, notification_id, with_for_update=True)
    if row is None or row.email_state != "pending":
        return False
    user = db.session.get(User, row.user_id)
    if user is None or not user.email or not user.active or not current_app.config.get("MAIL_SERVER"):
        row.email_state = "skipped"
        db.session.flush()
        return False
    try:
        _deliver(build_message(row, user))
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _message in refused.recipients.values()]
        if not codes or any(code < 500 for code in codes):
            raise  # 4xx: try again later
        # Retrying cannot help an address the server rejects; the in-app notification still stands.
        log.warning("email of notification %s refused for good: %s", row.id, refused.recipients)
        row.email_state = "failed"
        db.session.flush()
        return False
    row.email_state = "sent"
    row.emailed_at = now
    db.session.flush()
    return True
