"""Routing follows the lifecycle: a request submitted, or whose return was accepted, is queued for routing.

A subscriber to the core's domain events: it writes the routing message to the outbox in the same transaction
(DESIGN §8), so a request is never lost when the broker is down at submit time.
"""

from __future__ import annotations

from hotline.outbox import services as outbox
from hotline.tickets import events
from hotline.tickets.events import TicketChanged
from hotline.tickets.models import EventKind

WAITING_FOR_ROUTING = (EventKind.SUBMITTED, EventKind.RETURN_ACCEPTED)


def _queue_routing(change: TicketChanged) -> None:
    # not flushed here: the action's own flush, or its commit, writes it with the request's other rows
    ticket_id = change.ticket.id
    outbox.enqueue(
        outbox.ROUTE_TICKET, {"ticket_id": ticket_id}, change.now, ticket_id=ticket_id, flush=False
    )


def subscribe() -> None:
    events.subscribe(_queue_routing, WAITING_FOR_ROUTING, order=events.ROUTING)
