"""Pages read by hotline.tickets.paging are exactly the pages of the straightforward ORDER BY … OFFSET, at
every depth and for every role, and the fast counts by state equal a plain count (issue 9, point 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import paging, queries
from hotline.tickets.models import OPEN_STATES, Ticket, TicketState
from tests.factories import World

PER_PAGE = 7


@pytest.fixture
def district(world: World) -> World:
    """40 requests of the world's enterprise and 12 of another building's, created over two days with some
    at the same instant (the id breaks the tie), in every state, some closed (counted by the rollup), some
    with a department, some assigned to the liaison outside its building."""
    start = utcnow() - timedelta(days=2)
    states = list(TicketState)
    for i in range(52):
        ticket = world.submit(start + timedelta(hours=i // 3)) if i < 40 else _submit_other(world, start, i)
        ticket.state = states[i % len(states)]
        if ticket.state == TicketState.CLOSED:
            ticket.resolved_at = ticket.closed_at = ticket.created_at + timedelta(hours=1)
            ticket.assignee_id = world.liaison.id
        if i % 5 == 0:
            ticket.department_id = world.department.id
        if i >= 40 and i % 4 == 0:
            ticket.assignee_id = world.liaison.id  # assigned to it, though not in its building
    db.session.flush()
    return world


def _submit_other(world: World, start, i: int) -> Ticket:  # type: ignore[no-untyped-def]
    from hotline.tickets import services

    return services.submit_ticket(
        world.other_contact,
        category=world.category.code,
        title="电梯故障",
        description="三号电梯停运。",
        urgency="normal",
        contact_phone="13900139000",
        now=start + timedelta(hours=i // 3),
    )


def _users(world: World):  # type: ignore[no-untyped-def]
    return [world.manager, world.liaison, world.other_liaison, world.contact, world.department_user]


def test_fast_counts_by_state_equal_a_plain_count(district: World) -> None:
    for user in _users(district):
        plain = queries.state_counts(queries.visible_tickets(user))
        assert queries.visible_state_counts(user) == plain, user.username
    assert queries.visible_state_counts(district.manager)[TicketState.CLOSED] > 0


@pytest.mark.parametrize("order", ["newest", "open_first"])
def test_every_page_is_the_page_of_the_plain_order(district: World, order: paging.Order) -> None:
    for user in _users(district):
        base = queries.visible_tickets(user)
        straight = queries.newest_first(base) if order == "newest" else queries.open_first(base)
        expected = list(db.session.scalars(straight.with_only_columns(Ticket.id)))
        counts = queries.visible_state_counts(user)
        for state in (None, TicketState.IN_PROGRESS, TicketState.CLOSED):
            wanted = [i for i in expected if state is None or _state(i) == state]
            query = base if state is None else base.where(Ticket.state == state)
            parts = paging.segments(order, counts, state)
            pages = -(-len(wanted) // PER_PAGE)  # 0 for an empty list, as Flask-SQLAlchemy counts it
            seen: list[int] = []
            for number in range(1, max(1, pages) + 1):
                page = paging.paginate(query, parts, page=number, per_page=PER_PAGE, error_out=False)
                assert page.total == len(wanted)
                assert page.pages == pages
                seen += [t.id for t in page.items]
            assert seen == wanted, (user.username, state)
            past = paging.paginate(query, parts, page=max(1, pages) + 1, per_page=PER_PAGE, error_out=False)
            assert past.items == []


def test_open_work_comes_first_oldest_first(district: World) -> None:
    base = queries.visible_tickets(district.liaison)
    parts = paging.segments("open_first", queries.visible_state_counts(district.liaison), None)
    rows = paging.paginate(base, parts, page=1, per_page=100, error_out=False).items
    open_rows = [t for t in rows if t.state in OPEN_STATES]
    assert rows[: len(open_rows)] == open_rows
    assert [t.created_at for t in open_rows] == sorted(t.created_at for t in open_rows)


def _state(ticket_id: int) -> TicketState:
    return db.session.scalar(select(Ticket.state).where(Ticket.id == ticket_id))  # type: ignore[return-value]
