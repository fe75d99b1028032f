"""Domain events of the lifecycle: what the core announces, inside the transaction, to the features above it.

Every :class:`~hotline.tickets.models.TicketEvent` the lifecycle appends is announced to the subscribers of
its kind, in the same transaction, before the caller commits.  The core does not know who listens: clocks
(``hotline.sla``), routing, notifications and the rest subscribe from their own feature's ``init_app``.

Subscribers run in the order of their ``order`` (then of subscription), so that a later one sees what an
earlier one did: the clocks set a deadline on ``ASSIGNED`` before the notification quoting it is written.
A subscriber may change the request and add rows; it must not commit.  An exception aborts the action (the
caller rolls back): a side effect that may fail on its own goes through the outbox instead.

A job that appends many events at once (the clock sweep: hundreds of alerts a batch) wraps them in
:func:`batch`: every event is still announced at once, in order, but a subscriber may put its writes off to
the end of the batch (:func:`at_batch_end`), so that, say, the notifications of a hundred alerts are written
in one statement rather than a hundred.  Still the same transaction, before the caller commits.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from hotline.tickets.models import EventKind, Ticket, TicketEvent

T = TypeVar("T")

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


@dataclass
class _Batch:
    work: dict[str, Callable[[], None]]  # end-of-batch work, by key, in the order first asked for
    state: dict[str, Any]  # what subscribers keep for the batch (rows to write at its end, a cache)


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("hotline_event_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Let subscribers put their writes off to the end of the block (see the module docstring).

    The end-of-batch work runs when the block ends normally, in the order it was first asked for; after an
    error it is dropped (the caller rolls back).  Batches do not nest: an inner one joins the outer.
    """
    if _batch.get() is not None:
        yield
        return
    current = _Batch({}, {})
    token = _batch.set(current)
    try:
        yield
        while current.work:  # work done at the end may ask for more (it runs too)
            key = next(iter(current.work))
            current.work.pop(key)()
    finally:
        _batch.reset(token)  # its state goes with it, whatever happened


def at_batch_end(key: str, work: Callable[[], None]) -> bool:
    """Run ``work`` once at the end of the open batch (once per ``key``); False when no batch is open, and
    then the caller does its work now."""
    current = _batch.get()
    if current is None:
        return False
    current.work.setdefault(key, work)
    return True


def batch_state(key: str, make: Callable[[], T]) -> T | None:
    """What a subscriber keeps for the open batch under ``key`` (made by ``make`` the first time); None when
    no batch is open."""
    current = _batch.get()
    if current is None:
        return None
    if key not in current.state:
        current.state[key] = make()
    return cast(T, current.state[key])


def subscribers() -> list[str]:
    """The qualified names of the subscribers, in calling order (for tests and for operators' curiosity)."""
    return [f"{s.receiver.__module__}.{s.receiver.__qualname__}" for s in _subscriptions]
