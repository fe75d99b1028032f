"""Two beat processes on the same database and Redis: each escalation is raised once (DESIGN §5, §8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.db import utcnow
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.sla.models import AlertLevel, ClockAlert
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests.integration.conftest import Hotline, Process, Processes, wait_until, worker_knobs

pytestmark = pytest.mark.integration

SWEEP_TASK = "hotline.sla.tasks.sweep_clocks"


def _sweep_seconds() -> float:
    """The sweep period the beats run with (worker/schedule.py reads it from the environment we give them)."""
    return float(worker_knobs()["HOTLINE_SWEEP_SECONDS"])


def _overdue_ticket(hotline: Hotline) -> int:
    """A request assigned twenty days ago and never acknowledged: every alert of its clock is due.

    It is filed and dispatched through the services with that ``now``, so its deadline and the sweeps'
    schedule are what they would be had it really been left alone since then.
    """
    past = utcnow() - timedelta(days=20)
    district = hotline.district
    contact_id = district.contact_ids[0]
    with hotline.app.app_context():
        try:
            contact = db.session.get(User, contact_id)
            manager = db.session.get(User, district.manager_id)
            liaison = db.session.get(User, district.contacts[contact_id])
            assert contact is not None and manager is not None and liaison is not None
            ticket = tickets.submit_ticket(
                contact,
                category=district.category_codes[0],
                title="无人签收的诉求",
                description="楼宇电梯故障，物业迟迟未修。",
                contact_phone="13800138000",
                now=past,
            )
            tickets.assign(ticket.id, manager, liaison.username, past)
            assert ticket.state == TicketState.ASSIGNED
            assert ticket.acknowledge_due_at is not None and ticket.acknowledge_due_at < utcnow()
            ticket_id = int(ticket.id)
            db.session.commit()
            return ticket_id
        finally:
            db.session.remove()


def _sweeps_run(worker: Process) -> int:
    return sum(1 for line in worker.text().splitlines() if SWEEP_TASK in line and "succeeded" in line)


def _sweeps_sent(beat: Process) -> int:
    return sum(1 for line in beat.text().splitlines() if "Sending due task" in line and SWEEP_TASK in line)


def test_two_beats_raise_each_escalation_once(hotline: Hotline, processes: Processes) -> None:
    ticket_id = _overdue_ticket(hotline)

    worker = processes.worker("worker", concurrency=2)  # two sweeps can run at the same moment
    beats = [processes.beat("beat-1"), processes.beat("beat-2")]

    def levels() -> set[AlertLevel]:
        rows = hotline.rows(select(ClockAlert.level).where(ClockAlert.ticket_id == ticket_id))
        return {level for (level,) in rows}

    period = _sweep_seconds()
    wait_until(
        lambda: {AlertLevel.OVERDUE, AlertLevel.ESCALATION_2} <= levels(),
        period + 60,
        interval=0.5,
        message=lambda: f"the request escalated to level 2; alerts so far: {levels()}",
    )

    notified_at_escalation = _notifications(hotline, ticket_id)

    # Then let both beats send, and the worker run, at least two more sweeps each.
    sent = [_sweeps_sent(beat) for beat in beats]
    run = _sweeps_run(worker)
    wait_until(
        lambda: (
            all(_sweeps_sent(b) >= n + 2 for b, n in zip(beats, sent, strict=True))
            and _sweeps_run(worker) >= run + 4
        ),
        2 * period + 60,
        interval=0.5,
        message=lambda: (
            f"two more sweeps from each beat (sent {[_sweeps_sent(b) for b in beats]}, were {sent}; "
            f"run {_sweeps_run(worker)}, was {run})"
        ),
    )

    alerts = hotline.rows(
        select(ClockAlert.level, func.count(ClockAlert.id))
        .where(ClockAlert.ticket_id == ticket_id)
        .group_by(ClockAlert.level)
    )
    per_level = dict(alerts)
    assert per_level.get(AlertLevel.OVERDUE) == 1
    assert per_level.get(AlertLevel.ESCALATION_2) == 1
    assert per_level.get(AlertLevel.WARNING, 0) <= 1
    assert all(n == 1 for n in per_level.values()), per_level

    events = dict(
        hotline.rows(
            select(TicketEvent.kind, func.count(TicketEvent.id))
            .where(TicketEvent.ticket_id == ticket_id)
            .group_by(TicketEvent.kind)
        )
    )
    assert events.get(EventKind.OVERDUE) == 1, events
    assert events.get(EventKind.ESCALATED) == 1, events
    assert events.get(EventKind.WARNING, 0) <= 1, events
    assert events.get(EventKind.ASSIGNED) == 1, events  # the routing message found it already dispatched
    assert hotline.scalar(select(Ticket.escalation_level).where(Ticket.id == ticket_id)) == 2

    # The extra sweeps told nobody anything new, and nobody was told the same thing twice (an ESCALATED
    # notification may come once per level).
    assert _notifications(hotline, ticket_id) == notified_at_escalation
    assert notified_at_escalation, "the escalation notified nobody"
    most = {NotificationKind.ESCALATED: 2}
    repeated = [row for row in notified_at_escalation if row[2] > most.get(row[1], 1)]
    assert repeated == [], f"(user, kind, times) told more than once: {repeated}"


def _notifications(hotline: Hotline, ticket_id: int) -> list[tuple[int, NotificationKind, int]]:
    rows = hotline.rows(
        select(Notification.user_id, Notification.kind, func.count(Notification.id))
        .where(Notification.ticket_id == ticket_id)
        .group_by(Notification.user_id, Notification.kind)
        .order_by(Notification.user_id, Notification.kind)
    )
    return [(int(user_id), kind, int(n)) for user_id, kind, n in rows]
