"""Account tasks: send the e-mail of one self-service password reset (from the outbox)."""

from __future__ import annotations

import smtplib

from celery import shared_task

from hotline.celery_app import TRANSIENT_DB_ERRORS, in_transaction
from hotline.db import utcnow


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException, *TRANSIENT_DB_ERRORS),
    retry_backoff=True,
    retry_backoff_max=120,  # the link lasts 30 minutes: later retries would send a dead link
    retry_jitter=True,
    max_retries=6,
)
def send_password_reset(reset_id: int, seed: str) -> None:
    """E-mail a password reset link; transient SMTP failures are retried with backoff."""
    from hotline.auth.resets import send_password_reset_email

    in_transaction(lambda: send_password_reset_email(reset_id, seed, utcnow()))
