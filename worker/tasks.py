"""Thin tasks: re-read, call a service, commit once."""

from __future__ import annotations

from celery import shared_task

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services


@shared_task(name="worker.tasks.close_unrated_tickets", acks_late=True)
def close_unrated_tickets() -> int:
    """Close resolved requests whose rating window has passed (DESIGN §4: closed, unrated)."""
    try:
        count = services.close_unrated(utcnow())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return count
