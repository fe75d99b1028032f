"""Automatic routing of a request to a liaison (DESIGN §6).

The policy, in order:

1. the active primary liaison of the request's building;
2. else an active deputy of that building, the one with the fewest open requests;
3. else the active liaison of the same street (covering any of its buildings) with the fewest open requests;
4. else nobody: the request waits in the dispatch pool (``pooled_at``) and a ``POOLED`` event is written,
   which the notification mapping turns into an alert to the managers.

A liaison is a candidate only if the account is active, has the liaison role, is available (not on leave)
and is not the liaison who returned the request last.  Going on leave re-routes nothing already assigned:
it only stops new requests from reaching that liaison (a deputy takes them); work already held stays with
its assignee until a manager reassigns it.

Routing is idempotent: the request row is locked (``SELECT … FOR UPDATE``) and a request that is no longer
waiting (assigned, pooled, withdrawn …) is left alone, so duplicate deliveries and racing workers assign once.
A worker routes a backlog several requests to a transaction (:func:`route_tickets`), each decided exactly as
if routed alone, one after the other.

Each decision is written on the ASSIGNED / POOLED event as facts, not prose: the rule and a reason code with
the params its sentence needs; :mod:`hotline.routing.labels` lists the codes and renders them per language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ColumnElement, ScalarSelect, Select, exists, func, or_, select
from sqlalchemy.orm import joinedload

from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, Coverage, CoverageRole
from hotline.extensions import db
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.routing.labels import PassedOver, ReasonCode
from hotline.tickets import events
from hotline.tickets import services as tickets
from hotline.tickets.models import Category, EventKind, Ticket, TicketState
from hotline.tickets.queries import returned_by
from hotline.timeutil import local_date

Rule = Literal["primary", "deputy", "street", "pool", "skipped"]

# Requests that count against a liaison's load when choosing among several.
LOAD_STATES = (TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED)


class SkipCode(StrEnum):
    """Why routing left a request alone (only logged: nothing is written on the request)."""

    MISSING = "missing"
    NOT_WAITING = "not_waiting"
    ALREADY_POOLED = "already_pooled"


@dataclass(frozen=True)
class Reason:
    """Why routing decided as it did: a code and the facts its sentence needs (see :mod:`.labels`).

    Stored on the event as :meth:`as_payload`; rendered for people by :func:`.labels.describe`.  Its
    ``str()`` is the operators' log line, built from the code: the worker logs it.
    """

    code: ReasonCode | SkipCode
    params: dict[str, Any] = field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        return {"code": self.code.value, "params": dict(self.params)}

    def __str__(self) -> str:
        facts = " ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.code.value} {facts}" if facts else self.code.value


@dataclass(frozen=True)
class RoutingDecision:
    """What routing did with one request: the rule that applied, the liaison chosen (if any), and why."""

    rule: Rule
    liaison_id: int | None
    reason: Reason


def route_ticket(ticket_id: int, now: datetime) -> RoutingDecision:
    """Assign a waiting request to a liaison by the policy above, or put it in the dispatch pool.

    Locks the request row; a request that is missing, not ``submitted`` or already pooled is skipped.
    The decision's rule and reason (a code and its params) go on the ASSIGNED / POOLED event.
    Flushes, does not commit.  Raises nothing for policy outcomes; database errors propagate.
    """
    return route_tickets([ticket_id], now)[0]


def route_tickets(ticket_ids: Sequence[int], now: datetime) -> list[RoutingDecision]:
    """Route several requests in one transaction, each exactly as :func:`route_ticket` would one after the
    other in id order; returns the decisions in that order (one per distinct id).

    The rows are locked together (``SELECT … FOR UPDATE``, in id order, so two batches that share requests
    wait for each other rather than deadlock) and re-read under the lock.  What the requests need (their
    buildings and categories) is read once for the batch, the candidates once per building or
    street, and the writes of every request are flushed together at the end (one flush, so the hooks that
    run per flush run once): a request routed earlier in the batch counts in the load of its liaison just
    as it would once flushed.  Flushes, does not commit; database errors propagate (the caller rolls back
    the batch and may route the requests one by one).
    """
    ids = sorted(set(ticket_ids))
    if not ids:
        return []
    locked = {
        ticket.id: ticket
        for ticket in db.session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(ids))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
            .execution_options(populate_existing=True)
        )
    }
    waiting = [t for t in locked.values() if t.state == TicketState.SUBMITTED and t.pooled_at is None]
    if waiting:
        _load_for_routing(waiting)
    batch = _Batch()
    decisions: list[RoutingDecision] = []
    # No autoflush: the requests' writes go out together at the end; the batch's own load counts stand in
    # for what a flush would have shown the load queries.
    with db.session.no_autoflush, events.batch():
        for ticket_id in ids:
            decisions.append(_route_locked(ticket_id, locked.get(ticket_id), now, batch))
    db.session.flush()
    return decisions


@dataclass
class _Batch:
    """What routing keeps while it routes a batch: the candidates it read (by what selects them) and the
    requests it gave each liaison in this batch, not flushed yet."""

    candidates: dict[tuple[Any, ...], list[tuple[User, int]]] = field(default_factory=dict)
    assigned: dict[int, int] = field(default_factory=dict)

    def pick(self, key: tuple[Any, ...], query: Callable[[], Select[User, int]]) -> tuple[User, int] | None:
        """The candidate with the fewest open requests (counting this batch's), then the lowest id."""
        found = self.candidates.get(key)
        if found is None:
            found = [(row[0], int(row[1])) for row in db.session.execute(query())]
            self.candidates[key] = found
        if not found:
            return None
        user, open_count = min(found, key=lambda c: (c[1] + self.assigned.get(c[0].id, 0), c[0].id))
        return user, open_count + self.assigned.get(user.id, 0)


def _load_for_routing(tickets_: list[Ticket]) -> None:
    """Read what routing and its subscribers need of these requests in a few statements (the identity map
    keeps them for the lazy loads that follow): buildings with their streets, categories."""
    building_ids = {t.building_id for t in tickets_}
    db.session.scalars(
        select(Building).where(Building.id.in_(building_ids)).options(joinedload(Building.street))
    ).all()
    db.session.scalars(select(Category).where(Category.id.in_({t.category_id for t in tickets_}))).all()


def _route_locked(ticket_id: int, ticket: Ticket | None, now: datetime, batch: _Batch) -> RoutingDecision:
    """Route one request already locked and re-read (None: it does not exist)."""
    if ticket is None:
        return RoutingDecision("skipped", None, Reason(SkipCode.MISSING, {"ticket_id": ticket_id}))
    if ticket.state != TicketState.SUBMITTED:
        reason = Reason(SkipCode.NOT_WAITING, {"state": ticket.state.value})
        return RoutingDecision("skipped", ticket.assignee_id, reason)
    if ticket.pooled_at is not None:
        return RoutingDecision("skipped", None, Reason(SkipCode.ALREADY_POOLED))

    building = ticket.building
    # No liaison who ever returned it is a candidate (a request does not bounce A -> B -> A); the reason
    # names the last of them, by username.  With nobody else left, it waits in the pool for a manager.
    excluded = returned_by(ticket)
    today = local_date(now)
    last = ticket.last_returned_by_id
    left_out = {"returned_by": _username(last)} if last is not None else {}

    def building_key(role: CoverageRole) -> tuple[Any, ...]:
        return ("building", ticket.building_id, role, excluded)

    primary = batch.pick(
        building_key(CoverageRole.PRIMARY),
        lambda: _building_candidates(ticket, CoverageRole.PRIMARY, excluded, today),
    )
    if primary is not None:
        liaison, _open = primary
        reason = Reason(ReasonCode.PRIMARY_LIAISON, {"building": building.name, **left_out})
        return _assign(ticket, liaison, now, "primary", reason, batch)

    deputy = batch.pick(
        building_key(CoverageRole.DEPUTY),
        lambda: _building_candidates(ticket, CoverageRole.DEPUTY, excluded, today),
    )
    if deputy is not None:
        liaison, open_count = deputy
        reason = Reason(
            ReasonCode.DEPUTY_OF_BUILDING,
            {
                "building": building.name,
                "open_count": open_count,
                **_passed_over(ticket, excluded, today),
                **left_out,
            },
        )
        return _assign(ticket, liaison, now, "deputy", reason, batch)

    street = batch.pick(
        ("street", building.street_id, excluded), lambda: _street_candidates(ticket, excluded, today)
    )
    if street is not None:
        liaison, open_count = street
        reason = Reason(
            ReasonCode.STREET_FEWEST_OPEN,
            {"building": building.name, "street": building.street.name, "open_count": open_count, **left_out},
        )
        return _assign(ticket, liaison, now, "street", reason, batch)

    reason = Reason(
        ReasonCode.NOBODY_AVAILABLE, {"building": building.name, "street": building.street.name, **left_out}
    )
    ticket.pooled_at = now
    tickets.record_event(
        ticket,
        None,
        EventKind.POOLED,
        now,
        public=False,
        payload={"rule": "pool", "reason": reason.as_payload()},
    )
    return RoutingDecision("pool", None, reason)


def _assign(
    ticket: Ticket, liaison: User, now: datetime, rule: Rule, reason: Reason, batch: _Batch
) -> RoutingDecision:
    tickets.assign_by_routing(ticket, liaison, now, payload={"rule": rule, "reason": reason.as_payload()})
    batch.assigned[liaison.id] = batch.assigned.get(liaison.id, 0) + 1
    return RoutingDecision(rule, liaison.id, reason)


def _open_count() -> ScalarSelect[int]:
    """A correlated count of the requests a liaison holds open (to balance the load)."""
    return (
        select(func.count(Ticket.id))
        .where(Ticket.assignee_id == User.id, Ticket.state.in_(LOAD_STATES))
        .correlate(User)
        .scalar_subquery()
    )


def _candidate_filter(excluded: frozenset[int], today: date) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Coverage.active.is_(True),
        User.active.is_(True),
        User.role == Role.LIAISON,
        User.present_on(today),  # not on leave, by its word or by the dates a manager set
    ]
    if excluded:
        conditions.append(User.id.not_in(sorted(excluded)))
    return conditions


def _building_candidates(
    ticket: Ticket, role: CoverageRole, excluded: frozenset[int], today: date
) -> Select[User, int]:
    load = _open_count().label("open_count")
    return (
        select(User, load)
        .join(Coverage, Coverage.liaison_id == User.id)
        .where(Coverage.building_id == ticket.building_id, Coverage.role == role)
        .where(*_candidate_filter(excluded, today))
        .distinct()
        .order_by(load, User.id)
    )


def _street_candidates(ticket: Ticket, excluded: frozenset[int], today: date) -> Select[User, int]:
    load = _open_count().label("open_count")
    street_buildings = select(Building.id).where(Building.street_id == ticket.building.street_id)
    return (
        select(User, load)
        .join(Coverage, Coverage.liaison_id == User.id)
        .where(Coverage.building_id.in_(street_buildings), *_candidate_filter(excluded, today))
        .distinct()
        .order_by(load, User.id)
    )


def _passed_over(ticket: Ticket, excluded: frozenset[int], today: date) -> dict[str, str]:
    """Why the primary liaison was passed over: ``passed_over`` (a code) and ``primary`` (its username)."""
    primaries = db.session.scalars(
        select(User)
        .join(Coverage, Coverage.liaison_id == User.id)
        .where(
            Coverage.building_id == ticket.building_id,
            Coverage.role == CoverageRole.PRIMARY,
            Coverage.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    if not primaries:
        return {"passed_over": PassedOver.NOT_SET.value}
    first = primaries[0]
    if first.id in excluded:
        why = PassedOver.RETURNED_IT
    elif not first.active or first.role != Role.LIAISON:
        why = PassedOver.INACTIVE
    elif first.away_on(today):
        why = PassedOver.ON_LEAVE
    else:
        why = PassedOver.UNAVAILABLE
    return {"passed_over": why.value, "primary": first.username}


def _username(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.username if user is not None else str(user_id)


# --------------------------------------------------------------------------- reconcile


def reconcile_unrouted(now: datetime, older_than: timedelta = timedelta(minutes=5), limit: int = 200) -> int:
    """Queue routing again for requests still waiting after ``older_than``; returns how many were queued.

    Covers a routing message lost on the way (a broker that lost its queue, a worker that died before
    committing).  A request is re-queued when it is ``submitted``, not pooled, was created before the
    cutoff, and has no routing message that is unpublished or younger than the cutoff — so a request whose
    message is merely waiting to be relayed, or was just queued again (a return accepted), is left alone.
    Flushes, does not commit.
    """
    cutoff = now - older_than
    recent_or_pending = exists().where(
        OutboxMessage.ticket_id == Ticket.id,
        OutboxMessage.topic == outbox.ROUTE_TICKET,
        or_(OutboxMessage.published_at.is_(None), OutboxMessage.created_at > cutoff),
    )
    ticket_ids = db.session.scalars(
        select(Ticket.id)
        .where(
            Ticket.state == TicketState.SUBMITTED,
            Ticket.pooled_at.is_(None),
            Ticket.created_at <= cutoff,
            ~recent_or_pending,
        )
        .order_by(Ticket.id)
        .limit(limit)
    ).all()
    for ticket_id in ticket_ids:
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": ticket_id}, now, ticket_id=ticket_id)
    return len(ticket_ids)
