"""Domain events of the lifecycle: what the core announces, inside the transaction, to the features above it.

Every :class:`~hotline.tickets.models.TicketEvent` the lifecycle appends is announced to the subscribers of
its kind, in the same transaction, before the caller commits.  The core does not know who listens: clocks
(``hotline.sla``), routing, notifications and the rest subscribe from their own feature's ``init_app``.

Subscribers run in the order of their ``order`` (then of subscription), so that a later one sees what an
earlier one did: the clocks set a deadline on ``ASSIGNED`` before the notification quoting it is written.
A subscriber may change the request and add rows; it must not commit.  An exception aborts the action (the
caller rolls back): a side effect that may fail on its own goes through the outbox instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from hotline.tickets.models import EventKind, Ticket, TicketEvent

# The order bands subscribers use; lower runs first.
CLOCKS = 10  # deadlines and clock bookkeeping
ROUTING = 20  # work handed to the workers
NOTIFY = 90  # telling people, once everything else is set


@dataclass(frozen=True)
class TicketChanged:
    """One appended event, its request and the moment it happened."""

    event: TicketEvent
    ticket: Ticket
    now: datetime

    @property
    def kind(self) -> EventKind:
        return self.event.kind


Subscriber = Callable[[TicketChanged], None]


@dataclass(frozen=True)
class _Subscription:
    receiver: Subscriber
    kinds: frozenset[EventKind] | None
    order: int


_subscriptions: list[_Subscription] = []


def subscribe(receiver: Subscriber, kinds: Iterable[EventKind] | None = None, *, order: int = 50) -> None:
    """Call ``receiver`` for every event of ``kinds`` (all kinds when None).

    Idempotent: every application of the process shares the lifecycle, and ``init_app`` runs once per
    application, so subscribing the same receiver again changes nothing.
    """
    if any(s.receiver is receiver for s in _subscriptions):
        return
    _subscriptions.append(_Subscription(receiver, None if kinds is None else frozenset(kinds), order))
    _subscriptions.sort(key=lambda s: s.order)  # stable: equal orders keep the order of subscription


def emit(event: TicketEvent, ticket: Ticket, now: datetime) -> None:
    """Announce ``event`` to its subscribers (called by the lifecycle for every event it appends)."""
    change = TicketChanged(event, ticket, now)
    for subscription in list(_subscriptions):
        if subscription.kinds is None or event.kind in subscription.kinds:
            subscription.receiver(change)


def subscribers() -> list[str]:
    """The qualified names of the subscribers, in calling order (for tests and for operators' curiosity)."""
    return [f"{s.receiver.__module__}.{s.receiver.__qualname__}" for s in _subscriptions]
