"""The clock sweep (DESIGN §5): warnings, overdue marks and escalations, each raised once.

The beat calls :func:`sweep_clocks` every minute or so.  It reads only the clocks whose next alert moment
has come (``clock_schedules.next_alert_at``, indexed), raises what is due, and moves that moment on.
Each alert is a :class:`~hotline.sla.models.ClockAlert` row whose unique key (request, clock, level,
deadline) makes it fire once however many sweeps run: the insert happens in a savepoint and a unique
violation means another sweep raised it first.  Every alert raised appends one internal event; the
notification hook of the lifecycle (``notifications.on_ticket_event``) tells people about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hotline.extensions import db
from hotline.sla import clocks
from hotline.sla.calendar import current_calendar
from hotline.sla.models import AlertLevel, ClockAlert, ClockSchedule
from hotline.sla.worktime import CalendarMissing
from hotline.tickets.models import EventKind, Ticket, TicketState
from hotline.tickets.services import record_event
from hotline.timeutil import iso

log = logging.getLogger(__name__)

EVENT_OF_LEVEL = {
    AlertLevel.WARNING: EventKind.WARNING,
    AlertLevel.OVERDUE: EventKind.OVERDUE,
    AlertLevel.ESCALATION_2: EventKind.ESCALATED,
}
ESCALATION_OF_LEVEL = {AlertLevel.WARNING: 0, AlertLevel.OVERDUE: 1, AlertLevel.ESCALATION_2: 2}


@dataclass
class SweepResult:
    """What one sweep did: alerts raised per level, and clocks looked at."""

    warning: int = 0
    overdue: int = 0
    escalation_2: int = 0
    examined: int = 0

    @property
    def raised(self) -> int:
        return self.warning + self.overdue + self.escalation_2

    def count(self, level: AlertLevel) -> None:
        setattr(self, level.value, getattr(self, level.value) + 1)


def _raise_alert(ticket: Ticket, clock: str, level: AlertLevel, due: datetime, now: datetime) -> bool:
    """Insert the alert row; False when it already exists (raised by this or another sweep)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                ClockAlert(ticket_id=ticket.id, clock=clock, level=level, due_at=due, created_at=now)
            )
    except IntegrityError:
        return False
    return True


def sweep_clocks(now: datetime, limit: int = 2000) -> SweepResult:
    """Raise the warnings (80 %), overdue marks (escalation level 1) and level-2 escalations that are due.

    Idempotent: each (request, clock, level, deadline) is raised once, whatever the number of sweeps, also
    when two beats race.  Requests being changed by someone else right now (row locked) are left for the
    next sweep.  Bounded by ``limit`` clocks per call.
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
    raised_before = {
        (ticket_id, clock, level, due)
        for ticket_id, clock, level, due in db.session.execute(
            select(ClockAlert.ticket_id, ClockAlert.clock, ClockAlert.level, ClockAlert.due_at).where(
                ClockAlert.ticket_id.in_([ticket.id for _schedule, ticket in rows])
            )
        )
    }
    calendar = current_calendar()
    for schedule, ticket in rows:
        result.examined += 1
        running = clocks.running_clock(ticket)
        if running is None:  # the request left the clock's state (resolved, withdrawn …): nothing to watch
            schedule.next_alert_at = None
            continue
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
        for level in reached:
            if (ticket.id, clock, level, due) in raised_before:
                continue
            if not _raise_alert(ticket, clock, level, due, now):
                continue
            ticket.escalation_level = max(ticket.escalation_level or 0, ESCALATION_OF_LEVEL[level])
            record_event(
                ticket,
                None,
                EVENT_OF_LEVEL[level],
                now,
                public=False,
                payload={
                    "clock": clock.value,
                    "level": ESCALATION_OF_LEVEL[level],  # 0 warning, 1 overdue, 2 escalated
                    "alert": level.value,
                    "due_at": iso(due),
                },
            )
            result.count(level)
    db.session.flush()
    return result
