"""What each user may see (DESIGN §3), enforced in the queries themselves.

Every page and API call that reads requests starts from :func:`visible_tickets`, so a request another
enterprise filed answers 404 rather than being merely hidden from a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, event, false, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction, selectinload

from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise
from hotline.enterprises.services import covered_building_ids
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.text import has_control_characters
from hotline.tickets.models import (
    HELD_STATES,
    OPEN_STATES,
    Category,
    EventKind,
    Rating,
    Ticket,
    TicketEvent,
    TicketState,
)
from hotline.tickets.search import SEARCH_MAX, Search  # noqa: F401  (the pages read SEARCH_MAX here)
from hotline.tickets.search import search as search_requests
from hotline.timeutil import local_date


def visible_tickets(user: User) -> Select[Ticket]:
    """A SELECT of the requests ``user`` may see."""
    query = select(Ticket)
    if user.is_staff:
        return query
    if user.role == Role.ENTERPRISE:
        if user.enterprise_id is None:
            return query.where(false())
        return query.where(Ticket.enterprise_id == user.enterprise_id)
    if user.role == Role.LIAISON:
        return query.where(
            or_(Ticket.assignee_id == user.id, Ticket.building_id.in_(covered_building_ids(user)))
        )
    if user.role == Role.DEPARTMENT:
        if user.department_id is None:
            return query.where(false())
        return query.where(Ticket.department_id == user.department_id)
    return query.where(false())


def get_visible_ticket(user: User, number: str, *, for_update: bool = False) -> Ticket:
    """The request with this number if ``user`` may see it; :class:`NotFound` otherwise."""
    if has_control_characters(number, multiline=False):  # no number has one, and PostgreSQL refuses NUL
        raise NotFound(_not_found_message())
    query = visible_tickets(user).where(Ticket.number == number)
    if for_update:
        # populate_existing: a row already in the session is refreshed from the locked read, not trusted.
        query = query.with_for_update(of=Ticket).execution_options(populate_existing=True)
    ticket = db.session.scalars(query).first()
    if ticket is None:
        raise NotFound(_not_found_message())
    return ticket


def get_visible_ticket_by_id(user: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    query = visible_tickets(user).where(Ticket.id == ticket_id)
    if for_update:
        # populate_existing: a row already in the session is refreshed from the locked read, not trusted.
        query = query.with_for_update(of=Ticket).execution_options(populate_existing=True)
    ticket = db.session.scalars(query).first()
    if ticket is None:
        raise NotFound(_not_found_message())
    return ticket


def _not_found_message() -> str:
    return _("No such request.")


# --------------------------------------------------------------------------- helpers for the pages

TIMELINE_MAX = 500


def state_counts(query: Select[Ticket]) -> dict[TicketState, int]:
    """How many requests of ``query`` are in each state (one GROUP BY, keeping the query's filters)."""
    # count(*), not count(id): the state indexes do not hold the id, and an index-only scan needs nothing else
    grouped = query.with_only_columns(Ticket.state, func.count()).group_by(Ticket.state)
    grouped = grouped.order_by(None)
    return {TicketState(state): count for state, count in db.session.execute(grouped).all()}


# Who counts the closed requests of a list without reading them: the statistics feature registers its rollup
# here (hotline.stats.init_app); ``tickets`` is the core and imports no feature.  A counter takes the user and
# answers how many closed requests that user may see, or ``None`` when it cannot tell.
ClosedCounter = Callable[[User], int | None]
_closed_counters: list[ClosedCounter] = []


def register_closed_counter(counter: ClosedCounter) -> None:
    if counter not in _closed_counters:
        _closed_counters.append(counter)


def visible_state_counts(user: User) -> dict[TicketState, int]:
    """How many requests ``user`` may see, by state: :func:`state_counts` of :func:`visible_tickets`.

    Closed requests are most of a mature table; for the lists that see many of them (managers, liaisons)
    their number comes from a registered counter (the statistics rollup, exact and kept in the same
    transaction as every change), and only the others are counted from ``tickets``, over indexes on state.
    """
    base = visible_tickets(user)
    closed = _closed_counters[0](user) if _closed_counters else None
    if closed is None:
        return state_counts(base)
    not_closed = Ticket.state.in_([s for s in TicketState if s != TicketState.CLOSED])
    if user.role == Role.LIAISON:
        # visible_tickets' "assigned to me OR in a building I cover" as two disjoint counts, each an
        # index-only scan (ix_tickets_building_state; ix_tickets_assignee_state, which holds the building)
        covered = covered_building_ids(user)
        counts = state_counts(select(Ticket).where(Ticket.building_id.in_(covered), not_closed))
        mine = select(Ticket).where(
            Ticket.assignee_id == user.id, Ticket.building_id.not_in(covered), not_closed
        )
        for state, count in state_counts(mine).items():
            counts[state] = counts.get(state, 0) + count
    else:
        counts = state_counts(base.where(not_closed))
    if closed:
        counts[TicketState.CLOSED] = closed
    return counts


def open_first(query: Select[Ticket]) -> Select[Ticket]:
    """Open requests before finished ones, the oldest first: the order work is done in."""
    is_open = case((Ticket.state.in_(OPEN_STATES), 0), else_=1)
    return query.order_by(is_open, Ticket.created_at, Ticket.id)


def newest_first(query: Select[Ticket]) -> Select[Ticket]:
    return query.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def search(query: Select[Ticket], text: str | None) -> Search:
    """The requests of ``query`` that hold every word of ``text`` in their number, title, description,
    contact phone or enterprise name, the newest first, at most ``search.SEARCH_LIMIT`` of them
    (:func:`hotline.tickets.search.search`, which says how it is indexed).  Raises ``ValidationFailed`` (on
    field ``q``) for a search it cannot serve: too long, a word of one character, too many words."""
    return search_requests(query, text)


# What of an event's payload an enterprise may see; the rest (routing reasons, clock bookkeeping, notes) is
# for staff only.
PUBLIC_PAYLOAD_KEYS = frozenset(
    {
        "assignee",
        "assignee_name",
        "department",
        "department_name",
        "score",
        "via",
        "unrated",
        "new_due_at",
        "days",
        # a follow-up call (回访): the enterprise sees that it was called, when, and what it said
        "reached",
        "attempt",
        "called_at",
        "contact",
        "outcome",
        "followup_attempts",
    }
)


def latest_rating(ticket_id: int) -> Rating | None:
    """The latest rating of a request, with who recorded it (the row keeps only its score and comment)."""
    query = (
        select(Rating)
        .where(Rating.ticket_id == ticket_id)
        .options(selectinload(Rating.rated_by))
        .order_by(Rating.id.desc())
        .limit(1)
    )
    return db.session.scalars(query).first()


def latest_ratings(ticket_ids: list[int]) -> dict[int, Rating]:
    """The latest rating of each of these requests, with who recorded it, in one query (a page of a list)."""
    if not ticket_ids:
        return {}
    rows = db.session.scalars(
        select(Rating)
        .where(Rating.ticket_id.in_(ticket_ids))
        .options(selectinload(Rating.rated_by))
        .order_by(Rating.ticket_id, Rating.id.desc())
    )
    latest: dict[int, Rating] = {}
    for rating in rows:
        latest.setdefault(rating.ticket_id, rating)
    return latest


def event_payload(event: TicketEvent, *, include_internal: bool) -> dict[str, Any]:
    """The event's payload as the reader may see it."""
    payload = dict(event.payload or {})
    if include_internal:
        return payload
    return {key: value for key, value in payload.items() if key in PUBLIC_PAYLOAD_KEYS}


def timeline(ticket: Ticket, *, include_internal: bool) -> list[TicketEvent]:
    """The request's events in order; internal ones only for staff."""
    query = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .options(selectinload(TicketEvent.actor))
        .order_by(TicketEvent.created_at, TicketEvent.id)
        .limit(TIMELINE_MAX)
    )
    if not include_internal:
        query = query.where(TicketEvent.public.is_(True))
    return list(db.session.scalars(query))


_ACTIVE_CATEGORIES = "hotline_active_categories"  # key in Session.info: this transaction's active categories


def active_categories() -> list[Category]:
    """The active categories in their order, read once per transaction (a filing form reads them for its
    choices and again to check the one chosen; the cache ends with the transaction, and with a flush that
    writes a category)."""
    cached: list[Category] | None = db.session.info.get(_ACTIVE_CATEGORIES)
    if cached is None:
        query = select(Category).where(Category.active.is_(True)).order_by(Category.sort_order, Category.id)
        cached = list(db.session.scalars(query))
        db.session.info[_ACTIVE_CATEGORIES] = cached
    return cached


def active_category(code: str) -> Category | None:
    """The active category with this code, None if there is none."""
    return next((c for c in active_categories() if c.code == code), None)


def _forget_categories_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: what it read may change hereafter
        session.info.pop(_ACTIVE_CATEGORIES, None)


def _forget_categories_after_change(session: Session, _flush_context: Any) -> None:
    if any(isinstance(row, Category) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_ACTIVE_CATEGORIES, None)  # a category written in this transaction: read again


event.listen(Session, "after_transaction_end", _forget_categories_after_transaction)
event.listen(Session, "after_flush", _forget_categories_after_change)


def active_departments() -> list[Department]:
    query = select(Department).where(Department.active.is_(True)).order_by(Department.name)
    return list(db.session.scalars(query))


def returned_by(ticket: Ticket) -> frozenset[int]:
    """The ids of the liaisons who returned ``ticket`` at some time (its RETURNED events), whatever became of
    their returns; read only for a request returned at least once."""
    if ticket.last_returned_by_id is None:
        return frozenset()
    actors = db.session.scalars(
        select(TicketEvent.actor_id).where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.kind == EventKind.RETURNED,
            TicketEvent.actor_id.is_not(None),
        )
    )
    return frozenset({ticket.last_returned_by_id, *(int(a) for a in actors if a is not None)})


@dataclass(frozen=True)
class LiaisonRow:
    """One line of the liaisons page: the liaison, the buildings it covers (names, primary first) and how many
    open requests it holds."""

    user: User
    buildings: list[str]
    held: int


def liaison_overview() -> list[LiaisonRow]:
    """Every liaison account (active ones first, then by name), in three statements whatever their number."""
    users = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.LIAISON)
            .order_by(User.active.desc(), User.name, User.username)
        )
    )
    held = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.state.in_(HELD_STATES), Ticket.assignee_id.in_([u.id for u in users]))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    covered: dict[int, list[str]] = {}
    coverage = (
        select(Coverage.liaison_id, Building.name, Coverage.role)
        .join(Building, Building.id == Coverage.building_id)
        .where(Coverage.active.is_(True), Coverage.liaison_id.in_([u.id for u in users]))
        .order_by(Coverage.liaison_id, Coverage.role != CoverageRole.PRIMARY, Building.name)
    )
    for liaison_id, name, _role in db.session.execute(coverage):
        covered.setdefault(liaison_id, []).append(name)
    return [LiaisonRow(u, covered.get(u.id, []), int(held.get(u.id, 0))) for u in users]


def assignable_liaisons() -> list[User]:
    """Active liaisons not on leave, for dispatch by hand."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.LIAISON, User.active.is_(True), User.present_on(local_date(utcnow())))
            .order_by(User.name, User.username)
        )
    )


RECORDABLE_MAX = 2000


def recordable_enterprises(user: User) -> list[Enterprise]:
    """Enterprises ``user`` may record a request for: those of its covered buildings, any for managers."""
    query = select(Enterprise).options(selectinload(Enterprise.building)).order_by(Enterprise.name)
    if user.role == Role.LIAISON:
        query = query.where(Enterprise.building_id.in_(covered_building_ids(user)))
    elif not user.is_staff:
        return []
    return list(db.session.scalars(query.limit(RECORDABLE_MAX)))
