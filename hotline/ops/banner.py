"""The managers' banner: on every page a manager (or an admin) sees, what has stopped and since when.

The checks are those of ``/readyz`` about the work (:data:`hotline.ops.health.BANNER_CHECKS`), read at most
once every ``HEALTH_BANNER_CACHE_SECONDS`` per process, so page views add no queries in between.  They run in
a SAVEPOINT of the page's own transaction: a failure (a table not migrated yet) costs the banner, not the
page.  The messages are made at each page view, in the reader's language, with the time elapsed since.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import format_timedelta, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import database_unavailable
from hotline.extensions import db
from hotline.ops import health

log = logging.getLogger(__name__)

EXTENSION = "hotline_ops_banner"
VIEWERS = (Role.MANAGER, Role.ADMIN)
# the names of the checks on the status page
CHECK_LABELS = {
    health.DATABASE: _l("Database"),
    health.BROKER: _l("Broker (Redis)"),
    health.WORKER: _l("Workers"),
    health.TASKS: _l("Tasks taken by the workers"),
    health.BEAT: _l("Scheduler (beat)"),
    health.UNROUTED: _l("Requests waiting to be routed"),
    health.OUTBOX: _l("Messages waiting to be sent"),
    health.SWEEP: _l("Clock sweep"),
}


@dataclass(frozen=True)
class BannerLine:
    """One line of the banner: the check that fails and what it means, in the reader's language."""

    check: str
    text: str


class StatusCache:
    """The failing work checks, kept for ``seconds`` (per application and process)."""

    def __init__(self, seconds: float, clock: Any = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._until = 0.0
        self._failing: list[health.Check] = []

    def forget(self) -> None:
        with self._lock:
            self._until = 0.0

    def failing(self, now: datetime) -> list[health.Check]:
        with self._lock:
            if self.clock() < self._until:
                return self._failing
        failing = _read_failing(now)
        with self._lock:
            self._failing = failing
            self._until = self.clock() + self.seconds
        return failing


def _read_failing(now: datetime) -> list[health.Check]:
    try:
        with db.session.begin_nested():
            checks = health.work_checks(now)
    except SQLAlchemyError:
        log.warning("the status banner could not read the checks", exc_info=True)
        return []
    return [check for check in checks if not check.ok]


def _since(now: datetime, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return format_timedelta(max(now - moment, timedelta(0)), threshold=1.1, add_direction=False)


def messages(failing: list[health.Check], now: datetime) -> list[BannerLine]:
    """The banner's lines for the failing checks, in the current language."""
    by_name = {check.name: check for check in failing}
    lines: list[BannerLine] = []
    worker = by_name.get(health.WORKER)
    if worker is not None:
        if worker.at is None:
            text = gettext("Automatic routing has stopped: no worker has reported yet.")
        else:
            text = gettext(
                "Automatic routing has stopped: no worker has reported for %(age)s.",
                age=_since(now, worker.at),
            )
        lines.append(BannerLine(health.WORKER, text))
    beat = by_name.get(health.BEAT)
    if beat is not None:
        if beat.at is None:
            text = gettext("The scheduler (beat) has not reported yet: no outbox relay, no clock sweeps.")
        else:
            text = gettext(
                "The scheduler (beat) has been silent for %(age)s: no outbox relay, no clock sweeps.",
                age=_since(now, beat.at),
            )
        lines.append(BannerLine(health.BEAT, text))
    tasks = by_name.get(health.TASKS)
    if tasks is not None and worker is None and beat is None:  # else the lines above explain it
        if tasks.at is None:
            text = gettext("The workers have not taken a task yet.")
        else:
            text = gettext(
                "The workers are running but have taken no task for %(age)s.", age=_since(now, tasks.at)
            )
        lines.append(BannerLine(health.TASKS, text))
    unrouted = by_name.get(health.UNROUTED)
    if unrouted is not None:
        minutes = max(1, int(current_app.config["HEALTH_UNROUTED_SECONDS"]) // 60)
        text = ngettext(
            "%(num)d request has waited over %(minutes)d minutes to be routed (the oldest for %(age)s).",
            "%(num)d requests have waited over %(minutes)d minutes to be routed (the oldest for %(age)s).",
            unrouted.count or 0,
            minutes=minutes,
            age=_since(now, unrouted.at),
        )
        lines.append(BannerLine(health.UNROUTED, text))
    outbox = by_name.get(health.OUTBOX)
    if outbox is not None:
        text = ngettext(
            "%(num)d message for the workers is waiting to be sent (the oldest for %(age)s).",
            "%(num)d messages for the workers are waiting to be sent (the oldest for %(age)s).",
            outbox.count or 0,
            age=_since(now, outbox.at),
        )
        lines.append(BannerLine(health.OUTBOX, text))
    sweep = by_name.get(health.SWEEP)
    if sweep is not None:
        if sweep.at is None:
            text = gettext("No clock sweep has succeeded yet: warnings and escalations are not raised.")
        else:
            text = gettext(
                "The last successful clock sweep was %(age)s ago: warnings and escalations are not raised.",
                age=_since(now, sweep.at),
            )
        lines.append(BannerLine(health.SWEEP, text))
    return lines


def ops_warnings() -> list[BannerLine]:
    """The banner's lines for the current user: none unless a manager or an admin is logged in."""
    if database_unavailable() or not getattr(current_user, "is_authenticated", False):
        return []
    if current_user.role not in VIEWERS:
        return []
    cache: StatusCache | None = current_app.extensions.get(EXTENSION)
    if cache is None:
        return []
    now = utcnow()
    return messages(cache.failing(now), now)


def check_label(name: str) -> str:
    return str(CHECK_LABELS.get(name, name))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = StatusCache(float(app.config["HEALTH_BANNER_CACHE_SECONDS"]))
    app.jinja_env.globals.update(ops_warnings=ops_warnings, ops_check_label=check_label)
