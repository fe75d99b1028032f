"""Requests filed while Redis is down are accepted at once, and routed once Redis is back (DESIGN §8)."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import func, select

from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.outbox.publisher import NUDGE_BUDGET
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests.integration.conftest import FIGURES, Hotline, Processes, RedisServer, wait_until

pytestmark = pytest.mark.integration

DOWN = 200  # filed while the server is gone (connections refused)
UNRESPONSIVE = 5  # filed while the server is frozen (connections accepted, nothing answers)
PER_SUBMIT_BUDGET_S = 0.5


def _timed_submits(hotline: Hotline, indexes: range) -> tuple[list[int], list[float]]:
    ids: list[int] = []
    durations: list[float] = []
    for index in indexes:
        started = time.perf_counter()
        ids.append(hotline.submit(index))
        durations.append(time.perf_counter() - started)
    return ids, durations


def test_requests_filed_while_redis_is_down_are_accepted_and_routed_after_it_returns(
    hotline: Hotline, private_redis: RedisServer, processes: Processes
) -> None:
    nudge_bound = NUDGE_BUDGET  # the after-commit publish gives up after this long

    # Frozen Redis: the hanging kind of outage.  Each submission waits at most the nudge bound.
    private_redis.pause()
    try:
        frozen_ids, frozen_durations = _timed_submits(hotline, range(UNRESPONSIVE))
    finally:
        private_redis.stop()  # killed while frozen: whatever a client managed to send is gone with it
    assert max(frozen_durations) < nudge_bound + 1.0, (
        f"a submission hung on an unresponsive Redis: {[round(d, 2) for d in frozen_durations]} s "
        f"(nudge bound {nudge_bound} s)"
    )

    # Redis gone: every submission is committed, and none waits on the broker.
    started = time.perf_counter()
    down_ids, durations = _timed_submits(hotline, range(UNRESPONSIVE, UNRESPONSIVE + DOWN))
    total = time.perf_counter() - started
    median_ms = statistics.median(durations) * 1000
    FIGURES.append(
        f"Redis down: {DOWN} submissions in {total:.2f} s, median {median_ms:.1f} ms, "
        f"max {max(durations) * 1000:.0f} ms; Redis frozen: max {max(frozen_durations) * 1000:.0f} ms "
        f"(nudge bound {nudge_bound} s)"
    )
    assert total < DOWN * PER_SUBMIT_BUDGET_S, f"{DOWN} submissions took {total:.1f} s with Redis down"

    ids = frozen_ids + down_ids
    count = DOWN + UNRESPONSIVE
    assert len(set(ids)) == count
    # All accepted and none routed: every request is committed and waiting, its routing message pending.
    states = dict(hotline.rows(select(Ticket.state, func.count(Ticket.id)).group_by(Ticket.state)))
    assert states == {TicketState.SUBMITTED: count}
    pending = hotline.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.topic == outbox.ROUTE_TICKET, OutboxMessage.published_at.is_(None)
        )
    )
    assert pending == count

    # Redis is back on the same port; a worker and the beat start: the relay publishes what is pending.
    private_redis.start()
    processes.worker("worker", concurrency=2)
    processes.beat("beat")

    def assigned() -> int:
        return int(
            hotline.scalar(select(func.count(Ticket.id)).where(Ticket.state == TicketState.ASSIGNED)) or 0
        )

    wait_until(
        lambda: assigned() == count, 90, interval=0.5, message=lambda: f"{count} assigned; {assigned()} are"
    )

    per_ticket = dict(
        hotline.rows(
            select(TicketEvent.ticket_id, func.count(TicketEvent.id))
            .where(TicketEvent.kind == EventKind.ASSIGNED)
            .group_by(TicketEvent.ticket_id)
        )
    )
    assert sorted(per_ticket) == sorted(ids)
    duplicates = {ticket_id: n for ticket_id, n in per_ticket.items() if n != 1}
    assert duplicates == {}, f"requests assigned more than once: {duplicates}"
    still_pending = hotline.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.published_at.is_(None))
    )
    assert still_pending == 0
