"""The beat schedule, in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "close-unrated": {"task": "worker.tasks.close_unrated_tickets", "schedule": timedelta(minutes=5)},
}
