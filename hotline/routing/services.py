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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, ScalarSelect, Select, exists, func, or_, select

from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, Coverage, CoverageRole
from hotline.extensions import db
from hotline.outbox import services as outbox
from hotline.outbox.models import OutboxMessage
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketState

Rule = Literal["primary", "deputy", "street", "pool", "skipped"]

# Requests that count against a liaison's load when choosing among several.
LOAD_STATES = (TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED)


@dataclass(frozen=True)
class RoutingDecision:
    """What routing did with one request: the rule that applied, the liaison chosen (if any), and why."""

    rule: Rule
    liaison_id: int | None
    reason: str


def route_ticket(ticket_id: int, now: datetime) -> RoutingDecision:
    """Assign a waiting request to a liaison by the policy above, or put it in the dispatch pool.

    Locks the request row; a request that is missing, not ``submitted`` or already pooled is skipped.
    Flushes, does not commit.  Raises nothing for policy outcomes; database errors propagate.
    """
    ticket = db.session.scalars(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    ).first()
    if ticket is None:
        return RoutingDecision("skipped", None, f"request {ticket_id} does not exist")
    if ticket.state != TicketState.SUBMITTED:
        return RoutingDecision("skipped", ticket.assignee_id, f"request is {ticket.state.value}")
    if ticket.pooled_at is not None:
        return RoutingDecision("skipped", None, "request is already in the dispatch pool")

    building = ticket.building
    excluded = ticket.last_returned_by_id
    note = f" (excluding {_username(excluded)}, who returned it)" if excluded is not None else ""

    primary = _pick(_building_candidates(ticket, CoverageRole.PRIMARY))
    if primary is not None:
        liaison, _open = primary
        return _assign(ticket, liaison, now, "primary", f"primary liaison of {building.name}{note}")

    primary_state = _primary_state(ticket)
    deputy = _pick(_building_candidates(ticket, CoverageRole.DEPUTY))
    if deputy is not None:
        liaison, open_count = deputy
        reason = f"deputy of {building.name} with {open_count} open requests; primary liaison {primary_state}"
        return _assign(ticket, liaison, now, "deputy", reason if "returned it" in reason else reason + note)

    street = _pick(_street_candidates(ticket))
    if street is not None:
        liaison, open_count = street
        reason = (
            f"liaison of street {building.street.name} with the fewest open requests ({open_count}); "
            f"no available liaison covers {building.name}"
        )
        return _assign(ticket, liaison, now, "street", reason + note)

    reason = f"no available liaison covers {building.name} or street {building.street.name}{note}"
    ticket.pooled_at = now
    tickets.record_event(
        ticket, None, EventKind.POOLED, now, public=False, payload={"rule": "pool", "reason": reason}
    )
    return RoutingDecision("pool", None, reason)


def _assign(ticket: Ticket, liaison: User, now: datetime, rule: Rule, reason: str) -> RoutingDecision:
    tickets.assign_by_routing(ticket, liaison, now, payload={"rule": rule, "reason": reason})
    return RoutingDecision(rule, liaison.id, reason)


def _open_count() -> ScalarSelect[int]:
    """A correlated count of the requests a liaison holds open (to balance the load)."""
    return (
        select(func.count(Ticket.id))
        .where(Ticket.assignee_id == User.id, Ticket.state.in_(LOAD_STATES))
        .correlate(User)
        .scalar_subquery()
    )


def _candidate_filter(ticket: Ticket) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Coverage.active.is_(True),
        User.active.is_(True),
        User.role == Role.LIAISON,
        User.available.is_(True),
    ]
    if ticket.last_returned_by_id is not None:
        conditions.append(User.id != ticket.last_returned_by_id)
    return conditions


def _building_candidates(ticket: Ticket, role: CoverageRole) -> Select[User, int]:
    load = _open_count().label("open_count")
    return (
        select(User, load)
        .join(Coverage, Coverage.liaison_id == User.id)
        .where(Coverage.building_id == ticket.building_id, Coverage.role == role, *_candidate_filter(ticket))
        .distinct()
        .order_by(load, User.id)
    )


def _street_candidates(ticket: Ticket) -> Select[User, int]:
    load = _open_count().label("open_count")
    street_buildings = select(Building.id).where(Building.street_id == ticket.building.street_id)
    return (
        select(User, load)
        .join(Coverage, Coverage.liaison_id == User.id)
        .where(Coverage.building_id.in_(street_buildings), *_candidate_filter(ticket))
        .distinct()
        .order_by(load, User.id)
    )


def _pick(query: Select[User, int]) -> tuple[User, int] | None:
    row = db.session.execute(query.limit(1)).first()
    if row is None:
        return None
    return row[0], int(row[1])


def _primary_state(ticket: Ticket) -> str:
    """Why the primary liaison was passed over, for the reason on the event."""
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
        return "not set"
    first = primaries[0]
    if first.id == ticket.last_returned_by_id:
        return f"{first.username} returned it"
    if not first.active or first.role != Role.LIAISON:
        return f"{first.username} inactive"
    if not first.available:
        return f"{first.username} on leave"
    return f"{first.username} unavailable"


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
