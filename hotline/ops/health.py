"""The readiness checks behind ``/readyz``, the managers' banner and the gauges of ``/metrics``.

Every check is an indexed read: heartbeats (a few rows), unrouted requests through
``ix_tickets_state_created``, the outbox backlog through ``ix_outbox_pending``, overdue requests through
``ix_tickets_state_resolve_due``; counts stop at :data:`COUNT_CAP` rows, so a huge backlog costs no more
than a large one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from hotline.celery_app import DEFAULT_QUEUE, ROUTING_QUEUE
from hotline.extensions import db
from hotline.ops.heartbeats import bound_statements
from hotline.ops.models import Component, Heartbeat
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import OPEN_STATES, Ticket, TicketState

log = logging.getLogger(__name__)

COUNT_CAP = 10_000  # counts above this are reported as this many ("10000 or more")
DATABASE = "database"
BROKER = "broker"
WORKER = "worker"
TASKS = "tasks"
BEAT = "beat"
UNROUTED = "unrouted"
OUTBOX = "outbox"
SWEEP = "sweep"
# In the order the status page shows them.
CHECKS = (DATABASE, BROKER, WORKER, TASKS, BEAT, UNROUTED, OUTBOX, SWEEP)
# What the managers' banner warns about (the database and the broker: the page would not be there, or the
# outbox and the tasks check say what follows from it).
BANNER_CHECKS = (WORKER, TASKS, BEAT, UNROUTED, OUTBOX, SWEEP)


@dataclass(frozen=True)
class Check:
    """One readiness check: passed or not, a short English detail for operators, a time and a count.

    ``at`` is the last heartbeat (worker, tasks, beat, sweep) or the oldest waiting item (unrouted, outbox).
    """

    name: str
    ok: bool
    detail: str
    at: datetime | None = None
    count: int | None = None

    def as_json(self, now: datetime) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": self.ok, "detail": self.detail}
        if self.at is not None:
            answer["at"] = self.at.isoformat()
            answer["age_seconds"] = round(max(0.0, (now - self.at).total_seconds()), 1)
        if self.count is not None:
            answer["count"] = self.count
        return answer


def _age(now: datetime, moment: datetime) -> str:
    return f"{max(0, int((now - moment).total_seconds()))} s"


def _capped_count(query: Select[Any]) -> int:
    return int(db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery())) or 0)


def newest_heartbeat(component: Component) -> tuple[datetime | None, int]:
    """The newest ``seen_at`` of ``component`` and how many names wrote one."""
    row = db.session.execute(
        select(func.max(Heartbeat.seen_at), func.count()).where(Heartbeat.component == component)
    ).one()
    return row[0], int(row[1] or 0)


# every queue has workers of its own in production: each must be taking its tasks
QUEUES = (ROUTING_QUEUE, DEFAULT_QUEUE)


def _tasks_check(silent_seconds: int, now: datetime) -> Check:
    """Every queue's heartbeat task taken within ``silent_seconds``: the oldest queue's last one decides."""
    parts, oldest, ok = [], None, True
    for queue in QUEUES:
        seen = db.session.scalar(
            select(func.max(Heartbeat.seen_at)).where(
                Heartbeat.component == Component.TASKS, Heartbeat.name.startswith(f"{queue}/")
            )
        )
        if seen is None:
            ok = False
            parts.append(f"{queue}: no heartbeat task taken yet")
            continue
        fresh = now - seen <= timedelta(seconds=silent_seconds)
        ok = ok and fresh
        parts.append(
            f"{queue}: last {_age(now, seen)} ago" + ("" if fresh else f" (over {silent_seconds} s)")
        )
        oldest = seen if oldest is None else min(oldest, seen)
    return Check(TASKS, ok, "; ".join(parts), oldest)


def _heartbeat_check(name: str, component: Component, silent_seconds: int, now: datetime, who: str) -> Check:
    seen, names = newest_heartbeat(component)
    if seen is None:
        return Check(name, False, f"no {who} heartbeat yet")
    ok = now - seen <= timedelta(seconds=silent_seconds)
    state = "last" if ok else f"silent for over {silent_seconds} s; last"
    return Check(name, ok, f"{state} {who} heartbeat {_age(now, seen)} ago ({names} seen)", seen)


def unrouted(now: datetime, older_than: timedelta) -> tuple[int, datetime | None]:
    """Requests ``submitted`` (not in the dispatch pool) for longer than ``older_than``: count, oldest."""
    waiting = select(Ticket.created_at).where(
        Ticket.state == TicketState.SUBMITTED,
        Ticket.created_at < now - older_than,
        Ticket.pooled_at.is_(None),
    )
    count = _capped_count(waiting)
    oldest = db.session.scalar(waiting.order_by(Ticket.created_at).limit(1)) if count else None
    return count, oldest


def outbox_backlog(now: datetime, older_than: timedelta) -> tuple[int, datetime | None]:
    """Outbox messages still unpublished after ``older_than``: count, and when the oldest was written."""
    pending = select(OutboxMessage.created_at).where(
        OutboxMessage.published_at.is_(None), OutboxMessage.created_at < now - older_than
    )
    count = _capped_count(pending)
    oldest = db.session.scalar(pending.order_by(OutboxMessage.id).limit(1)) if count else None
    return count, oldest


def overdue_open(now: datetime) -> int:
    """Open requests past their resolve deadline (the dashboard's ``overdue_open``), up to the cap."""
    return _capped_count(select(Ticket.id).where(Ticket.state.in_(OPEN_STATES), Ticket.resolve_due_at < now))


def work_checks(now: datetime, config: Any = None) -> list[Check]:
    """The checks of the work itself: heartbeats, unrouted requests, the outbox, the sweep (all reads)."""
    config = config or current_app.config
    worker_silent = int(config["HEALTH_WORKER_SILENT_SECONDS"])
    checks = [
        _heartbeat_check(WORKER, Component.WORKER, worker_silent, now, "worker"),
        _tasks_check(worker_silent, now),
        _heartbeat_check(BEAT, Component.BEAT, int(config["HEALTH_BEAT_SILENT_SECONDS"]), now, "beat"),
    ]
    unrouted_after = int(config["HEALTH_UNROUTED_SECONDS"])
    count, oldest = unrouted(now, timedelta(seconds=unrouted_after))
    checks.append(
        Check(UNROUTED, count == 0, f"{count} requests unrouted for over {unrouted_after} s", oldest, count)
    )
    backlog_after = int(config["HEALTH_OUTBOX_SECONDS"])
    count, oldest = outbox_backlog(now, timedelta(seconds=backlog_after))
    checks.append(
        Check(
            OUTBOX,
            count == 0,
            f"{count} outbox messages unpublished for over {backlog_after} s",
            oldest,
            count,
        )
    )
    stale = int(config["HEALTH_SWEEP_STALE_SECONDS"])
    seen, _ = newest_heartbeat(Component.SWEEP)
    if seen is None:
        checks.append(Check(SWEEP, False, "no clock sweep has succeeded yet"))
    else:
        fresh = now - seen <= timedelta(seconds=stale)
        state = "last" if fresh else f"stale (over {stale} s): last"
        checks.append(Check(SWEEP, fresh, f"{state} successful sweep {_age(now, seen)} ago", seen))
    return checks


def broker_check(config: Any = None) -> Check:
    """PING the Redis of ``REDIS_URL`` with a short timeout; no Redis configured fails."""
    import redis

    from hotline.ops import broker

    config = config or current_app.config
    url = config.get("REDIS_URL")
    if not url:
        return Check(BROKER, False, "not configured (REDIS_URL is unset)")
    try:
        broker.client(url, float(config["HEALTH_BROKER_TIMEOUT_SECONDS"])).ping()
    except (redis.RedisError, OSError) as error:
        return Check(BROKER, False, f"unreachable: {type(error).__name__}: {error}"[:300])
    return Check(BROKER, True, "PING answered")


def readiness(now: datetime, config: Any = None) -> list[Check]:
    """Every check, in :data:`CHECKS` order; the database ones are skipped (failed) if it is unreachable.

    Runs in the caller's session with a statement timeout and ends it with a rollback (it writes nothing).
    """
    config = config or current_app.config
    checks: list[Check] = []
    try:
        bound_statements(int(float(config["HEALTH_DB_TIMEOUT_SECONDS"]) * 1000))
        db.session.execute(text("SELECT 1"))
        checks.append(Check(DATABASE, True, "SELECT 1 answered"))
        work = work_checks(now, config)
    except SQLAlchemyError as error:
        rollback_quietly()
        origin = getattr(error, "orig", None) or error
        checks.append(Check(DATABASE, False, f"unreachable: {type(origin).__name__}: {origin}"[:300]))
        work = [Check(name, False, "not checked: the database is unreachable") for name in BANNER_CHECKS]
    else:
        rollback_quietly()
    checks.append(broker_check(config))
    by_name = {check.name: check for check in [*checks, *work]}
    return [by_name[name] for name in CHECKS]


def rollback_quietly() -> None:
    """End the session's transaction; a connection that died under it is dropped, never pooled again."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session().invalidate()
