"""Notification tasks: send the email of one notification (from the outbox)."""

from __future__ import annotations

import smtplib

from celery import shared_task

from hotline.celery_app import TRANSIENT_DB_ERRORS, in_transaction
from hotline.db import utcnow


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException, *TRANSIENT_DB_ERRORS),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_email(notification_id: int) -> None:
    """Send the email of one notification; transient SMTP failures are retried with backoff."""
    from hotline.notifications.email import send_notification_email

    in_transaction(lambda: send_notification_email(notification_id, utcnow()))
