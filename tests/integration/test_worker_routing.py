"""1,000 requests routed by two real workers, one killed with SIGKILL midway: none lost, none twice."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests.integration.conftest import FIGURES, Hotline, Processes, wait_until

pytestmark = pytest.mark.integration

TOTAL = 1000
SUBMITTERS = 4  # web processes filing at the same time
ROUTED_WITHIN_S = 180


def _routed_within(hotline: Hotline) -> float:
    """How long to wait for the last request: 180 s, or longer if the reconcile settings need longer.

    What the killed worker had taken is neither acknowledged nor given back (Redis would redeliver it only
    after the visibility timeout, an hour); the reconcile job re-queues it once it has waited long enough.
    """
    from worker.schedule import BEAT_SCHEDULE

    after = float(hotline.app.config["ROUTING_RECONCILE_SECONDS"])
    period = BEAT_SCHEDULE["reconcile-unrouted"]["schedule"].total_seconds()
    relay = BEAT_SCHEDULE["relay-outbox"]["schedule"].total_seconds()
    return max(ROUTED_WITHIN_S, after + period + relay + 60)


def test_thousand_requests_are_routed_once_each_while_a_worker_is_killed(
    hotline: Hotline, processes: Processes
) -> None:
    first = processes.worker("worker-a", concurrency=2)
    second = processes.worker("worker-b", concurrency=2)
    processes.beat("beat")  # production runs one: it relays what a nudge missed and re-queues lost routings

    submitted: list[int] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        ticket_id = hotline.submit(index)
        with lock:
            submitted.append(ticket_id)

    def count_submitted() -> int:
        with lock:
            return len(submitted)

    def routed_by(process_name: str) -> bool:
        text = next(p for p in processes.started if p.name == process_name).text()
        return "hotline.routing.tasks.route_ticket" in text and "succeeded" in text

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        futures = [pool.submit(submit, i) for i in range(TOTAL)]

        # A third of the way: SIGKILL one pool child of worker B (the worker itself survives and replaces it;
        # the task it was running is rejected and redelivered, task_reject_on_worker_lost).
        wait_until(lambda: count_submitted() >= TOTAL // 3, 120, message="a third of the requests submitted")
        wait_until(lambda: routed_by("worker-b") and second.children(), 30, message="worker B routing")
        processes.kill_pid(second.children()[0])

        # Halfway: SIGKILL worker A's main process while it is routing (what it had reserved is neither
        # acknowledged nor given back), and start a replacement as an orchestrator would.
        wait_until(lambda: count_submitted() >= TOTAL // 2, 120, message="half of the requests submitted")
        wait_until(lambda: routed_by("worker-a"), 30, message="worker A routing")
        processes.kill(first, signal.SIGKILL)
        assert not first.alive()
        processes.worker("worker-c", concurrency=2)

        for future in futures:
            future.result()  # a submission that failed fails the test here
    assert len(set(submitted)) == TOTAL

    def assigned() -> int:
        return int(
            hotline.scalar(select(func.count(Ticket.id)).where(Ticket.state == TicketState.ASSIGNED)) or 0
        )

    wait_until(
        lambda: assigned() == TOTAL,
        _routed_within(hotline),
        interval=1,
        message=lambda: f"all {TOTAL} requests assigned; {assigned()} are",
    )

    # 0 lost: every request is assigned, nothing is left waiting or in the dispatch pool.
    states = dict(hotline.rows(select(Ticket.state, func.count(Ticket.id)).group_by(Ticket.state)))
    assert states == {TicketState.ASSIGNED: TOTAL}

    # Each exactly once: one ASSIGNED event per request, none with two.
    per_ticket = hotline.rows(
        select(TicketEvent.ticket_id, func.count(TicketEvent.id))
        .where(TicketEvent.kind == EventKind.ASSIGNED)
        .group_by(TicketEvent.ticket_id)
    )
    twice = [(ticket_id, n) for ticket_id, n in per_ticket if n != 1]
    assert twice == [], f"requests assigned more than once: {twice[:20]}"
    assert len(per_ticket) == TOTAL

    # To the right liaison: the primary liaison of the request's building, by the primary rule.
    wrong = [
        (ticket_id, building_id, assignee_id)
        for ticket_id, building_id, assignee_id in hotline.rows(
            select(Ticket.id, Ticket.building_id, Ticket.assignee_id)
        )
        if hotline.district.building_primary[building_id] != assignee_id
    ]
    assert wrong == [], f"requests assigned to another than their building's primary liaison: {wrong[:20]}"
    rules = hotline.rows(select(TicketEvent.payload).where(TicketEvent.kind == EventKind.ASSIGNED))
    assert {payload.get("rule") for (payload,) in rules} == {"primary"}

    requeued = hotline.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == outbox.ROUTE_TICKET)
    )
    FIGURES.append(
        f"worker kill: {TOTAL} requests assigned once each; "
        f"routings re-queued by the reconcile job: {requeued - TOTAL}"
    )
