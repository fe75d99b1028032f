"""The demo district (``flask seed-demo``): what a first ``make run`` shows."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from hotline.auth.models import Role, User
from hotline.auth.services import authenticate
from hotline.db import utcnow
from hotline.demo import PASSWORD, seed_demo
from hotline.enterprises import uscc
from hotline.enterprises.models import Building, Coverage, CoverageRole, Department, Enterprise, Street
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import Category, Channel, Rating, RatingScore, Ticket, TicketEvent, TicketState

DEMO_LOGINS = [
    "admin",
    "manager",
    *(f"liaison{i}" for i in range(1, 7)),
    "dept1",
    "dept2",
    *(f"ent{i}" for i in range(1, 41)),
]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


EVERY_STATE = {
    TicketState.SUBMITTED,
    TicketState.ASSIGNED,
    TicketState.IN_PROGRESS,
    TicketState.RESOLVED,
    TicketState.CLOSED,
    TicketState.RETURNED,
    TicketState.WITHDRAWN,
}
# 08:00 in Shanghai on a Monday, before anyone has worked since Friday.
MONDAY_MORNING = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
# 08:00 on the first working day after the National Day week.  No request can still be awaiting its rating:
# the seven-day window of everything resolved before the holiday has run out, so it was closed unrated.
AFTER_GOLDEN_WEEK = datetime(2026, 10, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "states_expected"),
    [
        (None, EVERY_STATE),
        (MONDAY_MORNING, EVERY_STATE),
        (AFTER_GOLDEN_WEEK, EVERY_STATE - {TicketState.RESOLVED}),
    ],
    ids=["today", "monday-morning", "after-golden-week"],
)
def test_seed_builds_a_district_with_a_year_of_requests(app, anchor, states_expected):
    if anchor is None:
        summary = seed_demo()
    else:
        with time_machine.travel(anchor, tick=False):
            summary = seed_demo()
    assert "300" in summary
    now = anchor or utcnow()

    assert count(Street) >= 3
    assert count(Building) >= 12
    assert count(Department) == 2
    assert [c.code for c in db.session.scalars(select(Category).order_by(Category.sort_order))] == [
        "policy", "approval", "financing", "talent", "property", "utilities", "parking", "ip", "other",
    ]  # fmt: skip

    liaisons = db.session.scalars(select(User).where(User.role == Role.LIAISON)).all()
    assert sorted(u.username for u in liaisons) == [f"liaison{i}" for i in range(1, 7)]
    primaries = Counter(
        c.building_id
        for c in db.session.scalars(select(Coverage).where(Coverage.role == CoverageRole.PRIMARY))
    )
    assert set(primaries) == set(db.session.scalars(select(Building.id))), "every building has a primary"
    assert set(primaries.values()) == {1}
    deputy_only = db.session.scalars(
        select(Coverage.role).join(User, Coverage.liaison_id == User.id).where(User.username == "liaison6")
    ).all()
    assert deputy_only and set(deputy_only) == {CoverageRole.DEPUTY}

    enterprises = db.session.scalars(select(Enterprise)).all()
    assert len(enterprises) == 40
    assert all(uscc.is_valid(e.uscc) for e in enterprises)
    verified = [e for e in enterprises if e.verified]
    assert 30 <= len(verified) < 40

    tickets = db.session.scalars(select(Ticket)).all()
    assert len(tickets) == 300
    states = Counter(t.state for t in tickets)
    assert set(states) >= states_expected
    if TicketState.RESOLVED in states:
        resolved = [t for t in tickets if t.state == TicketState.RESOLVED]
        assert all(t.rating_due_at and t.rating_due_at > now for t in resolved), "window still open"
    assert states[TicketState.CLOSED] > 150
    assert {t.channel for t in tickets} == set(Channel)
    created = sorted(t.created_at for t in tickets)
    assert created[-1] <= now
    assert timedelta(days=330) < created[-1] - created[0] < timedelta(days=366)
    recorded = [t for t in tickets if t.channel not in (Channel.WEB, Channel.API)]
    assert all(t.created_by.role == Role.LIAISON for t in recorded)

    scores = Counter(db.session.scalars(select(Rating.score)))
    assert set(scores) == set(RatingScore)
    assert scores[RatingScore.SATISFIED] > scores[RatingScore.DISSATISFIED]
    reopened = [t for t in tickets if t.reopen_count]
    assert any(t.state == TicketState.CLOSED for t in reopened)
    assert any(t.state == TicketState.CLOSED and t.rating_score is None for t in tickets), "closed unrated"

    for ticket in tickets:
        events = ticket.events
        assert events[0].kind == "submitted"
        assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(events))
        assert events[-1].to_state == ticket.state
        assert events[-1].created_at <= now

    pending = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    )
    assert pending == 0, "demo requests are dispatched by hand: routing must not pick them up again"


def test_demo_logins_work_and_a_second_run_adds_nothing(app):
    seed_demo(if_empty=True)
    for username in DEMO_LOGINS:
        user = authenticate(username, PASSWORD, utcnow())
        assert user is not None, username
    contacts = db.session.scalars(select(User).where(User.role == Role.ENTERPRISE)).all()
    assert len({u.enterprise_id for u in contacts}) == 40
    staff = db.session.scalars(select(User).where(User.role == Role.DEPARTMENT)).all()
    assert {u.department.code for u in staff} == {"hrss", "samr"}
    db.session.commit()
    before = (count(User), count(Enterprise), count(Ticket), count(TicketEvent))

    summary = seed_demo(if_empty=True)

    assert "not created" in summary
    assert (count(User), count(Enterprise), count(Ticket), count(TicketEvent)) == before
    with pytest.raises(RuntimeError):
        seed_demo()


def test_same_moment_same_district(app):
    moment = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    runs = []
    for _ in range(2):
        with time_machine.travel(moment, tick=False):
            seed_demo()
        runs.append(
            [
                (t.number, t.state, t.title, t.enterprise.uscc)
                for t in db.session.scalars(select(Ticket).order_by(Ticket.id))
            ]
        )
        db.session.remove()
        db.drop_all()
        db.create_all()
    assert runs[0] == runs[1]


def test_production_refuses_demo_data(app):
    app.config["HOTLINE_ENV"] = "production"
    with pytest.raises(RuntimeError, match="production"):
        seed_demo(if_empty=True)
    assert count(User) == 0
