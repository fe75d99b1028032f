"""The figures of DESIGN §7, each checked on a hand-built cohort whose numbers are worked out in the test.

Requests are played through the lifecycle services with explicit times; deadlines are set directly where a
test needs a request on one side of one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.auth.models import Role
from hotline.enterprises.models import Coverage, CoverageRole
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.sla.worktime import LOCAL_TZ
from hotline.stats import queries as stats
from hotline.stats import rollup
from hotline.stats.models import StatsCell
from hotline.stats.queries import StatsFilter
from hotline.tickets import services as tickets
from hotline.tickets.models import _LIVE_STATES_SQL, Channel, Ticket, TicketState
from tests import factories
from tests.factories import World

# 10:00 on Tuesday 10 March 2026 in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # when the figures are read
MARCH = StatsFilter(start=date(2026, 3, 1), end=date(2026, 4, 1))
YEAR = StatsFilter(start=date(2026, 1, 1), end=date(2027, 1, 1))
ANSWER = "已协调解决。"


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture(autouse=True)
def year_2026(app) -> None:  # type: ignore[no-untyped-def]
    sla.sync_calendar_from_package(T0, years=[2026])
    db.session.commit()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# --------------------------------------------------------------------------- building requests


def submitted(world: World, when: datetime = T0, **fields: object) -> Ticket:
    return world.submit(when, **fields)


def assigned(world: World, when: datetime = T0, **fields: object) -> Ticket:
    ticket = submitted(world, when, **fields)
    tickets.assign(ticket.id, world.manager, world.liaison.username, when)
    return ticket


def in_progress(world: World, when: datetime = T0, **fields: object) -> Ticket:
    ticket = assigned(world, when, **fields)
    tickets.acknowledge(ticket.id, world.liaison, when)
    return ticket


def resolved(world: World, when: datetime = T0, **fields: object) -> Ticket:
    ticket = in_progress(world, when, **fields)
    tickets.resolve(ticket.id, world.liaison, ANSWER, when)
    return ticket


def rated(world: World, score: str, when: datetime = T0, **fields: object) -> Ticket:
    ticket = resolved(world, when, **fields)
    tickets.rate(ticket.id, world.contact, score, "还是没解决" if score == "dissatisfied" else "", when)
    return ticket


def withdrawn(world: World, when: datetime = T0) -> Ticket:
    ticket = in_progress(world, when)
    tickets.withdraw(ticket.id, world.contact, "已自行解决", when)
    return ticket


def merged(world: World, when: datetime = T0) -> Ticket:
    ticket = submitted(world, when)
    ticket.state = TicketState.MERGED  # merging is not a service yet: the state is what the figures read
    db.session.flush()
    return ticket


def summary(flt: StatsFilter = MARCH, now: datetime = NOW) -> stats.Figures:
    return stats.summary(flt, now)


# --------------------------------------------------------------------------- denominators of 0


def test_an_empty_cohort_has_counts_of_zero_and_no_rates(world):
    figures = summary()
    assert figures.total == 0 and figures.resolved == 0 and figures.overdue_open == 0
    assert figures.closure_rate is None
    assert figures.satisfaction_rate is None
    assert figures.response_rate is None
    assert figures.on_time_rate is None
    assert figures.reopen_rate is None
    assert figures.avg_handling_hours is None


def test_requests_nobody_rated_or_resolved_leave_those_rates_empty_not_zero(world):
    submitted(world)
    in_progress(world)
    figures = summary()
    assert figures.total == 2
    assert figures.closure_rate == 0.0
    assert figures.rated == 0 and figures.satisfaction_rate is None
    assert figures.on_time_rate is None and figures.reopen_rate is None
    assert figures.avg_handling_hours is None


# --------------------------------------------------------------------------- volume and closure


def test_closure_rate_counts_resolved_and_closed_and_leaves_out_withdrawn_and_merged(world):
    rated(world, "satisfied")  # closed
    resolved(world)  # awaiting rating
    in_progress(world)
    submitted(world)
    withdrawn(world)
    merged(world)
    figures = summary()
    assert figures.total == 4
    assert figures.resolved == 2
    assert figures.closure_rate == 0.5


def test_withdrawn_and_merged_requests_count_in_no_figure_at_all(world):
    late = withdrawn(world)
    late.acknowledge_due_at = T0 - timedelta(hours=1)  # acknowledged late, but withdrawn
    late.resolve_due_at = T0 - timedelta(hours=1)  # and "overdue"
    merged(world).acknowledge_due_at = T0 - timedelta(hours=1)
    db.session.flush()
    figures = summary()
    assert (figures.total, figures.acknowledged_late, figures.overdue_open) == (0, 0, 0)
    assert figures.response_rate is None


# --------------------------------------------------------------------------- satisfaction


def test_satisfaction_uses_the_latest_rating_and_unrated_requests_are_not_satisfied(world):
    rated(world, "satisfied")
    rated(world, "basically_satisfied")
    rated(world, "dissatisfied")  # reopened, back in progress: its latest rating is dissatisfied
    unrated = resolved(world)
    assert tickets.close_unrated(unrated.rating_due_at + timedelta(minutes=1)) == 1  # type: ignore[operator]
    second_try = rated(world, "dissatisfied")
    tickets.resolve(second_try.id, world.liaison, ANSWER, at(48))
    tickets.rate(second_try.id, world.contact, "satisfied", "", at(50))  # the latest rating wins

    figures = summary()
    assert figures.total == 5
    assert figures.rated == 4  # the request closed unrated is not rated
    assert (figures.satisfied, figures.basically_satisfied, figures.dissatisfied) == (2, 1, 1)
    assert figures.satisfaction_rate == 3 / 4
    assert unrated.state == TicketState.CLOSED and figures.resolved == 4


# --------------------------------------------------------------------------- reopening


def test_a_request_reopened_twice_counts_once_in_the_reopen_rate(world):
    twice = rated(world, "dissatisfied")
    tickets.resolve(twice.id, world.liaison, ANSWER, at(24))
    tickets.rate(twice.id, world.contact, "dissatisfied", "仍未解决", at(25))
    tickets.resolve(twice.id, world.liaison, ANSWER, at(48))
    tickets.rate(twice.id, world.contact, "satisfied", "", at(49))
    assert twice.reopen_count == 2
    rated(world, "satisfied")
    reopened_open = rated(world, "dissatisfied")  # reopened but not resolved again: not in the numerator
    assert reopened_open.state == TicketState.IN_PROGRESS

    figures = summary()
    assert figures.resolved == 2
    assert figures.reopened == 1
    assert figures.reopen_rate == 0.5


# --------------------------------------------------------------------------- timeliness


def test_response_rate_by_the_stored_acknowledge_deadlines(world):
    on_time = assigned(world)
    tickets.acknowledge(on_time.id, world.liaison, on_time.acknowledge_due_at)  # type: ignore[arg-type]
    late = assigned(world)
    tickets.acknowledge(late.id, world.liaison, late.acknowledge_due_at + timedelta(minutes=1))  # type: ignore[operator]
    waiting_overdue = assigned(world)
    waiting_overdue.acknowledge_due_at = NOW - timedelta(minutes=1)
    waiting_in_time = assigned(world)
    waiting_in_time.acknowledge_due_at = NOW + timedelta(minutes=1)
    no_deadline = assigned(world)
    no_deadline.acknowledge_due_at = None  # the calendar lacked the year when it was assigned
    db.session.flush()
    tickets.acknowledge(no_deadline.id, world.liaison, at(1))
    submitted(world)  # never assigned: no acknowledge clock

    figures = summary()
    assert figures.acknowledged_on_time == 1
    assert figures.acknowledged_late == 1
    assert figures.unacknowledged_overdue == 1
    assert figures.acknowledged_untimed == 1
    assert figures.response_rate == 1 / 3  # 1 on time ÷ (2 acknowledged + 1 still waiting past its limit)


def test_on_time_rate_by_the_stored_resolve_deadlines(world):
    on_time = in_progress(world)
    on_time.resolve_due_at = at(5)
    late = in_progress(world)
    late.resolve_due_at = at(5)
    untimed = in_progress(world)
    untimed.resolve_due_at = None
    db.session.flush()
    tickets.resolve(on_time.id, world.liaison, ANSWER, at(5))  # exactly at the deadline: on time
    tickets.resolve(late.id, world.liaison, ANSWER, at(5) + timedelta(seconds=1))
    tickets.resolve(untimed.id, world.liaison, ANSWER, at(6))
    in_progress(world)  # not resolved: not in the on-time rate

    figures = summary()
    assert figures.resolved == 3
    assert figures.resolved_on_time == 1 and figures.resolved_late == 1 and figures.resolved_untimed == 1
    assert figures.on_time_rate == 0.5


def test_overdue_open_counts_open_requests_past_their_resolve_deadline_now(world):
    overdue = in_progress(world)
    overdue.resolve_due_at = NOW - timedelta(minutes=1)
    not_yet = in_progress(world)
    not_yet.resolve_due_at = NOW + timedelta(minutes=1)
    returned = in_progress(world)
    tickets.return_ticket(returned.id, world.liaison, "不属于本楼宇", at(1))
    returned.resolve_due_at = NOW - timedelta(days=3)  # returned is still open
    done_late = resolved(world)
    done_late.resolve_due_at = T0 - timedelta(days=1)  # resolved late, but not open
    db.session.flush()

    assert summary().overdue_open == 2
    assert summary(now=T0).overdue_open == 0  # measured at the moment asked


# --------------------------------------------------------------------------- handling time


def test_handling_time_is_in_working_hours_from_submission_to_resolution(world):
    # Friday 13 March 17:00 → Monday 16 March 09:30: half an hour on Friday, half an hour on Monday.
    weekend = in_progress(world, local(2026, 3, 13, 17, 0))
    tickets.resolve(weekend.id, world.liaison, ANSWER, local(2026, 3, 16, 9, 30))
    assert weekend.handling_minutes == 60
    # Friday 16:30 → Monday 09:30 with the 17:30 close of the default hours: 1.5 working hours.
    longer = in_progress(world, local(2026, 3, 13, 16, 30))
    tickets.resolve(longer.id, world.liaison, ANSWER, local(2026, 3, 16, 9, 30))
    assert longer.handling_minutes == 90
    in_progress(world)  # not resolved: no handling time

    figures = summary()
    assert figures.handled == 2
    assert figures.avg_handling_hours == 1.25


def test_a_reopened_request_has_no_handling_time_until_resolved_again(world):
    ticket = rated(world, "dissatisfied", local(2026, 3, 10, 9, 0))
    assert ticket.handling_minutes is None
    tickets.resolve(ticket.id, world.liaison, ANSWER, local(2026, 3, 11, 9, 0))
    assert ticket.handling_minutes == 7 * 60  # a whole working day: 09:00-12:00 and 13:30-17:30
    assert summary().avg_handling_hours == 7.0


# --------------------------------------------------------------------------- periods


def test_the_period_is_by_local_date(world):
    last_evening = submitted(world, local(2026, 3, 31, 23, 30))  # 15:30 UTC on 31 March
    first_morning = submitted(world, local(2026, 4, 1, 0, 30))  # still 31 March in UTC
    first_of_march = submitted(world, local(2026, 3, 1, 0, 0))
    submitted(world, local(2026, 2, 28, 23, 59))

    assert summary(MARCH).total == 2
    assert {t.id for t in db.session.scalars(stats.tickets_behind(MARCH, "total", NOW))} == {
        last_evening.id,
        first_of_march.id,
    }
    april = StatsFilter(start=date(2026, 4, 1), end=date(2026, 5, 1))
    assert [t.id for t in db.session.scalars(stats.tickets_behind(april, "total", NOW))] == [first_morning.id]
    months = stats.breakdown(YEAR, "month", NOW)
    assert [row.key for row in months][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [row.figures.total for row in months][:4] == [0, 1, 2, 1]
    assert len(months) == 12


# --------------------------------------------------------------------------- filters and breakdowns


@pytest.fixture
def district(world: World) -> dict[str, object]:
    """Two streets: the world's street (two buildings) and another street with its own liaison."""
    other_street = factories.street("另一街道")
    far_building = factories.building(other_street, "远方大厦")
    far_enterprise = factories.enterprise(far_building)
    far_contact = factories.enterprise_user(far_enterprise)
    far_liaison = factories.liaison([far_building])
    other_category = factories.category("finance", "融资")
    db.session.commit()
    return {
        "street": other_street,
        "building": far_building,
        "enterprise": far_enterprise,
        "contact": far_contact,
        "liaison": far_liaison,
        "category": other_category,
    }


def far_request(world: World, district: dict[str, object], when: datetime = T0, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "category": world.category.code,
        "title": "用电故障",
        "description": "整层停电。",
        "contact_phone": "13800138000",
    }
    values.update(fields)
    ticket = tickets.submit_ticket(district["contact"], now=when, **values)  # type: ignore[arg-type]
    tickets.assign(ticket.id, world.manager, district["liaison"].username, when)  # type: ignore[attr-defined]
    return ticket


def test_filters_narrow_the_cohort(world, district):
    near = rated(world, "satisfied")
    phone = tickets.submit_ticket(
        world.liaison,
        category=district["category"].code,  # type: ignore[attr-defined]
        title="融资咨询",
        description="想了解贴息政策。",
        contact_phone="13800138000",
        enterprise_uscc=world.enterprise.uscc,
        channel="phone",
        now=T0,
    )
    far = far_request(world, district)
    assert far.street_id == district["street"].id  # type: ignore[attr-defined]
    assert near.street_id == world.street.id

    def total(**kw: object) -> int:
        return summary(StatsFilter(start=MARCH.start, end=MARCH.end, **kw)).total  # type: ignore[arg-type]

    assert total() == 3
    assert total(street_id=world.street.id) == 2
    assert total(street_id=district["street"].id) == 1  # type: ignore[attr-defined]
    assert total(building_id=world.building.id) == 2
    assert total(category_id=district["category"].id) == 1  # type: ignore[attr-defined]
    assert total(channel="phone") == 1 and total(channel="web") == 2
    assert total(liaison_id=district["liaison"].id) == 1  # type: ignore[attr-defined]
    assert total(liaison_id=world.liaison.id) == 1  # the phone request is still in the pool
    assert total(enterprise_id=world.enterprise.id) == 2
    assert total(street_id=world.street.id, channel="phone") == 1
    assert summary(StatsFilter(start=MARCH.start, end=MARCH.end, liaison_id=world.liaison.id)).resolved == 1
    assert phone.assignee_id is None


def test_every_breakdown_adds_up_to_the_summary(world, district):
    rated(world, "satisfied", local(2026, 1, 5, 10, 0))
    rated(world, "dissatisfied", local(2026, 2, 5, 10, 0))
    late = resolved(world, local(2026, 3, 3, 10, 0))
    late.resolve_due_at = late.resolved_at - timedelta(hours=1)  # type: ignore[operator]
    submitted(world, local(2026, 3, 4, 10, 0))  # in the pool: no liaison
    far = far_request(world, district, local(2026, 3, 5, 10, 0), category="finance")
    far.acknowledge_due_at = NOW - timedelta(days=1)
    withdrawn(world, local(2026, 3, 6, 10, 0))
    db.session.flush()

    whole = stats.summary(YEAR, NOW)
    assert whole.total == 5
    for dimension in stats.DIMENSIONS:
        rows = stats.breakdown(YEAR, dimension, NOW)
        assert stats.add_figures(row.figures for row in rows) == whole, dimension
    by_street = {row.label: row.figures.total for row in stats.breakdown(YEAR, "street", NOW)}
    assert by_street == {world.street.name: 4, "另一街道": 1}
    by_liaison = {row.key: row.figures.total for row in stats.breakdown(YEAR, "liaison", NOW)}
    assert by_liaison == {str(world.liaison.id): 3, str(district["liaison"].id): 1, "none": 1}  # type: ignore[attr-defined]
    by_category = [(row.key, row.figures.total) for row in stats.breakdown(YEAR, "category", NOW)]
    assert sorted(by_category) == sorted([(world.category.code, 4), ("finance", 1)])
    assert [row.key for row in stats.breakdown(YEAR, "channel", NOW)] == ["web"]


def test_tickets_behind_each_figure_are_the_ones_counted(world):
    rated(world, "satisfied")
    rated(world, "dissatisfied")
    resolved(world)
    overdue = in_progress(world)
    overdue.resolve_due_at = NOW - timedelta(days=1)
    db.session.flush()
    figures = summary()
    counts = stats.as_dict(figures)
    for name in (
        "total",
        "resolved",
        "rated",
        "dissatisfied",
        "acknowledged_on_time",
        "acknowledged_late",
        "unacknowledged_overdue",
        "resolved_on_time",
        "resolved_late",
        "reopened",
        "overdue_open",
    ):
        listed = db.session.scalars(stats.tickets_behind(MARCH, name, NOW)).all()  # type: ignore[arg-type]
        assert len(listed) == counts[name], name
    satisfied = db.session.scalars(stats.tickets_behind(MARCH, "satisfied", NOW)).all()
    assert len(satisfied) == figures.satisfied + figures.basically_satisfied


def test_as_dict_has_the_api_names_with_rates_or_null(world):
    rated(world, "satisfied")
    in_progress(world)
    data = stats.as_dict(summary())
    assert list(data)[:10] == [
        "total",
        "resolved",
        "closure_rate",
        "rated",
        "satisfaction_rate",
        "response_rate",
        "on_time_rate",
        "reopen_rate",
        "avg_handling_hours",
        "overdue_open",
    ]
    assert data["total"] == 2 and data["closure_rate"] == 0.5 and data["satisfaction_rate"] == 1.0
    assert data["reopen_rate"] == 0.0
    empty = stats.as_dict(summary(StatsFilter(start=date(2025, 1, 1), end=date(2025, 2, 1))))
    assert empty["closure_rate"] is None and empty["avg_handling_hours"] is None


# --------------------------------------------------------------------------- coverage


def test_coverage_counts_active_buildings_with_an_active_primary_liaison(world):
    # The world: two buildings, each with an active primary liaison; the other enterprise's building has none.
    deputy_only = factories.building(world.street, "副联大厦")
    factories.liaison([deputy_only], role=CoverageRole.DEPUTY)
    left = factories.building(world.street, "离职大厦")
    gone = factories.liaison([left])
    gone.active = False
    closed = factories.building(world.street, "拆除大厦")
    closed.active = False
    ended = factories.building(world.street, "到期大厦")
    factories.liaison([ended])
    db.session.execute(
        Coverage.__table__.update().where(Coverage.building_id == ended.id).values(active=False)
    )
    manager_covered = factories.building(world.street, "经理大厦")
    db.session.add(
        Coverage(liaison_id=world.manager.id, building_id=manager_covered.id, role=CoverageRole.PRIMARY)
    )
    db.session.flush()
    assert world.manager.role == Role.MANAGER

    figures = stats.coverage()
    # The world's three buildings (two with a primary liaison) and four new active ones, none covered.
    assert figures.buildings == 7
    assert figures.covered == 2
    assert figures.rate == 2 / 7
    assert sorted(name for _id, name, _street, _kind in figures.gaps) == sorted(
        [world.other_enterprise.building.name, "副联大厦", "离职大厦", "到期大厦", "经理大厦"]
    )
    kinds = {name: kind for _id, name, _street, kind in figures.gaps}
    assert kinds["副联大厦"] == "deputy_only" and kinds["离职大厦"] == "uncovered"
    assert (figures.deputy_only, figures.uncovered) == (1, 4)


def test_a_primary_on_leave_does_not_cover_its_building_and_a_deputy_on_leave_covers_nothing(world):
    """Coverage counts only primaries who are there to take the building's requests: on leave, the
    building is a gap, covered by its deputy meanwhile (if the deputy is not on leave too)."""
    before = stats.coverage()
    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    db.session.flush()

    figures = stats.coverage()
    assert figures.covered == before.covered - 1
    assert figures.rate == (before.covered - 1) / before.buildings
    gap = next(g for g in figures.gaps if g[0] == world.building.id)
    assert gap[3] == "deputy_only"

    deputy.available = False
    db.session.flush()
    gap = next(g for g in stats.coverage().gaps if g[0] == world.building.id)
    assert gap[3] == "uncovered"
    world.liaison.available = True
    db.session.flush()
    assert stats.coverage().covered == before.covered


# --------------------------------------------------------------------------- exact on a random cohort


def test_the_figures_match_a_recount_request_by_request_on_a_random_cohort(world, district):
    rng = random.Random(20260310)
    made: list[Ticket] = []
    for i in range(60):
        when = local(2026, rng.choice([2, 3, 4]), rng.randint(1, 28), rng.randint(8, 20), rng.randint(0, 59))
        fate = rng.choice(
            ["submitted", "assigned", "in_progress", "resolved", "s", "b", "d", "withdrawn", "unrated"]
        )
        if fate == "submitted":
            ticket = submitted(world, when)
        elif fate == "assigned":
            ticket = assigned(world, when)
        elif fate == "in_progress":
            ticket = in_progress(world, when)
        elif fate == "resolved":
            ticket = resolved(world, when)
        elif fate == "withdrawn":
            ticket = withdrawn(world, when)
        elif fate == "unrated":
            ticket = resolved(world, when)
            tickets.close_unrated(ticket.rating_due_at + timedelta(seconds=1))  # type: ignore[operator]
        else:
            score = {"s": "satisfied", "b": "basically_satisfied", "d": "dissatisfied"}[fate]
            ticket = rated(world, score, when)
        if rng.random() < 0.3 and ticket.acknowledge_due_at is not None:
            ticket.acknowledge_due_at -= timedelta(hours=rng.randint(1, 100))
        if rng.random() < 0.3 and ticket.resolve_due_at is not None:
            ticket.resolve_due_at -= timedelta(days=rng.randint(1, 10))
        made.append(ticket)
        if i % 7 == 0:
            far_request(world, district, when)
    db.session.commit()

    # Closed requests changed afterwards, and one deleted: the rollup follows every change.
    closed = [t for t in made if t.state == TicketState.CLOSED]
    assert len(closed) > 10
    closed[0].resolve_due_at = closed[0].resolved_at - timedelta(seconds=1)  # type: ignore[operator]
    closed[1].building_id = district["building"].id  # type: ignore[attr-defined]
    closed[1].street_id = district["street"].id  # type: ignore[attr-defined]
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(StatsCell)) > 0
    assert rollup.drift(db.session.connection()) == []

    every = db.session.scalars(select(Ticket)).all()
    periods = (MARCH, YEAR, StatsFilter(start=date(2026, 3, 10), end=date(2026, 4, 17)))
    filters = ({}, {"street_id": world.street.id}, {"liaison_id": world.liaison.id}, {"channel": "web"})
    for period in periods:
        for extra in filters:
            flt = StatsFilter(start=period.start, end=period.end, **extra)  # type: ignore[arg-type]
            expected = recount(every, flt, NOW)
            assert stats.summary(flt, NOW) == expected, (flt, extra)
            assert stats.recount_summary(flt, NOW) == expected
            for dimension in stats.DIMENSIONS:
                assert stats.breakdown(flt, dimension, NOW) == stats.recount_breakdown(flt, dimension, NOW)


def test_the_live_index_covers_exactly_the_states_read_live():
    predicate = _LIVE_STATES_SQL.split("(")[1].rstrip(")")
    assert {part.strip(" '") for part in predicate.split(",")} == {s.value for s in stats.LIVE_STATES}


def test_the_rollup_holds_closed_requests_only_and_follows_them(world):
    ticket = rated(world, "satisfied")
    cells = db.session.scalars(select(StatsCell)).all()
    assert [(c.month, c.total, c.satisfied, c.resolved_on_time) for c in cells] == [
        (date(2026, 3, 1), 1, 1, 1)
    ]
    resolved(world)  # awaiting its rating: read live, not rolled up
    assert db.session.scalar(select(func.sum(StatsCell.total))) == 1
    ticket.resolve_due_at = ticket.resolved_at - timedelta(minutes=1)  # type: ignore[operator]
    db.session.flush()
    assert db.session.scalar(select(func.sum(StatsCell.resolved_on_time))) == 0
    tickets.add_note(ticket.id, world.liaison, "回访记录已归档。", at(100))  # a closed request touched again
    assert rollup.drift(db.session.connection()) == []
    assert summary().resolved == 2 and summary().on_time_rate == 0.5


def recount(every: list[Ticket], flt: StatsFilter, now: datetime) -> stats.Figures:
    """The figures the slow, obvious way: one request at a time in Python."""
    lo, hi = stats.utc_bounds(flt)
    f = stats.Figures()
    for t in every:
        if not (lo <= t.created_at < hi):
            continue
        if flt.street_id is not None and t.street_id != flt.street_id:
            continue
        if flt.liaison_id is not None and t.assignee_id != flt.liaison_id:
            continue
        if flt.channel is not None and t.channel != flt.channel:
            continue
        if t.state == TicketState.WITHDRAWN:
            f.withdrawn += 1
        if t.state in (TicketState.WITHDRAWN, TicketState.MERGED):
            continue
        done = t.state in (TicketState.RESOLVED, TicketState.CLOSED)
        f.total += 1
        f.resolved += done
        f.rated += t.rating_score is not None
        f.satisfied += t.rating_score == "satisfied"
        f.basically_satisfied += t.rating_score == "basically_satisfied"
        f.dissatisfied += t.rating_score == "dissatisfied"
        f.first_satisfied += t.first_rating_score in ("satisfied", "basically_satisfied")
        f.rated_by_enterprise += t.rating_score is not None and t.rating_source == "enterprise"
        f.rated_by_followup += t.rating_score is not None and t.rating_source == "followup_call"
        f.unrated += done and t.rating_score is None
        if t.late_returns > 0:
            f.returned_late += 1  # judged when that clock stopped: nothing after it counts
        elif t.acknowledged_at is not None:
            if t.acknowledge_due_at is None:
                f.acknowledged_untimed += 1
            elif t.acknowledged_at <= t.acknowledge_due_at:
                f.acknowledged_on_time += 1
            else:
                f.acknowledged_late += 1
        elif t.state == TicketState.ASSIGNED and t.acknowledge_due_at and t.acknowledge_due_at < now:
            f.unacknowledged_overdue += 1
        if done:
            assert t.resolved_at is not None
            if t.resolve_due_at is None:
                f.resolved_untimed += 1
            elif t.resolved_at <= t.resolve_due_at:
                f.resolved_on_time += 1
            f.reopened += t.reopen_count > 0
            if t.handling_minutes is not None:
                f.handled += 1
                f.handling_minutes_total += t.handling_minutes
        if t.is_open and t.resolve_due_at is not None and t.resolve_due_at < now:
            f.overdue_open += 1
    return stats.finish(f)


def test_channel_filter_takes_the_channel_values(world):
    submitted(world)
    assert summary(StatsFilter(start=MARCH.start, end=MARCH.end, channel=Channel.WEB.value)).total == 1
