"""The clock sweep (DESIGN §5): warnings, overdue marks and escalations, each raised once.

The beat calls the sweep task every minute or so; the task runs :func:`sweep_clocks` batch after batch, each
its own short transaction (:func:`hotline.celery_app.periodic_batches`), until nothing is due or its time
budget is spent.  A batch reads only the clocks whose next alert moment has come
(``clock_schedules.next_alert_at``, indexed), at most ``limit`` of them, and locks their requests with
``FOR UPDATE SKIP LOCKED``: a request someone is changing right now is left for the next batch, and a staff
action on a request waits at most for the one batch that holds it — never for a whole sweep.

Each alert is a :class:`~hotline.sla.models.ClockAlert` row whose unique key (request, clock, level,
deadline) makes it fire once however many sweeps run: a batch inserts its alerts in one
``INSERT … ON CONFLICT DO NOTHING RETURNING`` and raises only those the database returns, so an alert
another sweep raised first is not raised again.  Every alert raised appends one internal event; the
notification hook of the lifecycle (``notifications.on_ticket_event``) tells people about it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from hotline.auth.models import User
from hotline.extensions import db
from hotline.sla import clocks
from hotline.sla.calendar import current_calendar
from hotline.sla.models import AlertLevel, Clock, ClockAlert, ClockSchedule
from hotline.sla.worktime import CalendarMissing
from hotline.stats import rollup
from hotline.tickets import events
from hotline.tickets.models import EventKind, Ticket, TicketState
from hotline.tickets.services import record_event
from hotline.timeutil import iso

log = logging.getLogger(__name__)

# Clocks per batch: small enough that a batch holds its locks for a second or so, large enough that the
# per-batch queries (the locked read, the alert insert, the rollup) are a small part of its time.
BATCH_SIZE = 100

EVENT_OF_LEVEL = {
    AlertLevel.WARNING: EventKind.WARNING,
    AlertLevel.OVERDUE: EventKind.OVERDUE,
    AlertLevel.ESCALATION_2: EventKind.ESCALATED,
}
ESCALATION_OF_LEVEL = {AlertLevel.WARNING: 0, AlertLevel.OVERDUE: 1, AlertLevel.ESCALATION_2: 2}


@dataclass
class SweepResult:
    """What one sweep (or one batch of it) did: alerts raised per level, and clocks looked at."""

    warning: int = 0
    overdue: int = 0
    escalation_2: int = 0
    examined: int = 0

    @property
    def raised(self) -> int:
        return self.warning + self.overdue + self.escalation_2

    def count(self, level: AlertLevel) -> None:
        setattr(self, level.value, getattr(self, level.value) + 1)

    def add(self, other: SweepResult) -> None:
        for name in ("warning", "overdue", "escalation_2", "examined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Alert:
    """One level of one clock of one request, due to be raised (the unique key of a ClockAlert)."""

    ticket: Ticket
    clock: Clock
    level: AlertLevel
    due_at: datetime


def raise_alerts(alerts: list[Alert], now: datetime) -> list[Alert]:
    """Insert the alert rows in one statement; returns the alerts this call raised, in the order given.

    An alert whose row exists already (raised by an earlier sweep, or by another sweep racing this one) is
    skipped by ``ON CONFLICT DO NOTHING`` and not returned: it is never raised twice.
    """
    if not alerts:
        return []
    dialect = db.session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ClockAlert)
        .values(
            [
                {
                    "ticket_id": a.ticket.id,
                    "clock": a.clock,
                    "level": a.level,
                    "due_at": a.due_at,
                    "created_at": now,
                }
                for a in alerts
            ]
        )
        .on_conflict_do_nothing()
        .returning(ClockAlert.ticket_id, ClockAlert.level)
    )
    # One running clock (so one deadline) per request in a batch: request and level identify the alert.
    inserted = {(ticket_id, AlertLevel(level)) for ticket_id, level in db.session.execute(statement)}
    return [a for a in alerts if (a.ticket.id, a.level) in inserted]


def _due_alerts(schedule: ClockSchedule, ticket: Ticket, now: datetime, calendar: Any) -> list[Alert]:
    """The alert levels of the request's running clock reached at ``now``; moves its schedule row on."""
    running = clocks.running_clock(ticket)
    if running is None:  # the request left the clock's state (resolved, withdrawn …): nothing to watch
        schedule.next_alert_at = None
        return []
    clock, start, due = running
    schedule.clock, schedule.started_at, schedule.due_at = clock, start, due
    reached: list[AlertLevel] = []
    try:
        limits = clocks.thresholds(start, due, calendar)
    except CalendarMissing as missing:
        # Without the calendar only the deadline itself can be judged; the rest waits until the year
        # is entered, which re-derives every clock and its schedule.
        log.warning("clock of %s measured without calendar: %s", ticket.number, missing)
        if now >= due:
            reached.append(AlertLevel.OVERDUE)
        schedule.next_alert_at = None if now >= due else due
    else:
        if now >= limits.warning_at:
            reached.append(AlertLevel.WARNING)
        if now >= limits.due_at:
            reached.append(AlertLevel.OVERDUE)
        if limits.escalation_2_at is not None and now >= limits.escalation_2_at:
            reached.append(AlertLevel.ESCALATION_2)
        schedule.next_alert_at = limits.next_after(now)
    return [Alert(ticket, clock, level, due) for level in reached]


@contextmanager
def _rollup_once(tickets: list[Ticket]) -> Iterator[None]:
    """Keep the statistics rollup exact with one statement for the batch instead of one at every flush.

    The rollup (:mod:`hotline.stats.rollup`) counts closed requests; its session hooks run an
    ``INSERT … SELECT`` at every flush that changes a request, and an alert's event and notifications take
    several flushes: that was most of a sweep's time.  The requests of a batch are open (each has a running
    clock) and locked by the batch, so nobody closes one meanwhile: what they contribute before the batch
    is nothing.  The hooks stand aside while the batch writes, and what the requests contribute afterwards
    is added once at the end (nothing, unless a subscriber of an alert event closed one).
    """
    assert all(t.state != TicketState.CLOSED for t in tickets)
    db.session.flush()  # what the caller changed before is counted by the hooks as usual
    db.session.info[rollup.SUSPENDED] = True
    try:
        yield
        db.session.flush()
    finally:
        db.session.info.pop(rollup.SUSPENDED, None)
    rollup.apply(db.session.connection(), [t.id for t in tickets], 1)


def sweep_clocks(now: datetime, limit: int = BATCH_SIZE) -> SweepResult:
    """One batch: raise the warnings (80 %), overdue marks (escalation level 1) and level-2 escalations due.

    Looks at most at ``limit`` clocks whose next alert moment has come, soonest first, and moves each one's
    moment on, so that the next batch meets the next clocks.  Idempotent: each (request, clock, level,
    deadline) is raised once, whatever the number of sweeps, also when two beats race.  Requests being
    changed by someone else right now (row locked) are skipped: a later batch takes them.  Flushes, does
    not commit; the caller commits each batch (:func:`hotline.celery_app.periodic_batches`).
    """
    result = SweepResult()
    rows = db.session.execute(
        select(ClockSchedule, Ticket)
        .join(Ticket, Ticket.id == ClockSchedule.ticket_id)
        .where(ClockSchedule.next_alert_at <= now, Ticket.state != TicketState.RETURNED)
        .order_by(ClockSchedule.next_alert_at, ClockSchedule.ticket_id)
        .limit(limit)
        .with_for_update(of=Ticket, skip_locked=True)
    ).all()
    if not rows:
        return result
    calendar = current_calendar()
    due: list[Alert] = []
    for schedule, ticket in rows:
        result.examined += 1
        due.extend(_due_alerts(schedule, ticket, now, calendar))
    raised = raise_alerts(due, now)
    # The assignees the notifications are addressed to, loaded at once and held for the batch: the
    # session's identity map keeps only objects someone holds, and each alert would load its user again.
    assignees = _users({a.ticket.assignee_id for a in raised})
    # events.batch: the notifications of every alert of the batch are written at its end, in one statement
    with _rollup_once([a.ticket for a in raised]), db.session.no_autoflush, events.batch():
        # Each request's final values first, so that its row is updated once, at its first event's flush,
        # not once per alert: an UPDATE of ``tickets`` touches every one of its many indexes.
        for alert in raised:
            ticket = alert.ticket
            ticket.escalation_level = max(ticket.escalation_level or 0, ESCALATION_OF_LEVEL[alert.level])
            ticket.updated_at = now  # what each event sets again (the same value: no second UPDATE)
        for alert in raised:
            record_event(
                alert.ticket,
                None,
                EVENT_OF_LEVEL[alert.level],
                now,
                public=False,
                payload={
                    "clock": alert.clock.value,
                    "level": ESCALATION_OF_LEVEL[alert.level],  # 0 warning, 1 overdue, 2 escalated
                    "alert": alert.level.value,
                    "due_at": iso(alert.due_at),
                },
            )
            result.count(alert.level)
    db.session.flush()
    del assignees
    return result


def _users(ids: set[int | None]) -> list[User]:
    wanted = sorted(i for i in ids if i is not None)
    return list(db.session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
