"""Issue 11, points 2-4: rating provenance and the figures beside 满意率, honest rounding, and the response
rate judged when a signing clock stops (a return after the deadline stays late).

Requests are played through the services with explicit times (helpers of ``test_stats_figures``).  Working
hours 09:00-12:00 and 13:30-17:30; a request assigned at 10:00 on Tuesday 10 March 2026 must be acknowledged
by 12:00 (2 working hours).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hotline.enterprises.models import CoverageRole
from hotline.extensions import db
from hotline.stats import queries as stats
from hotline.stats import rollup
from hotline.stats.queries import StatsFilter
from hotline.stats.rates import format_rate, shown_fraction, shown_percent
from hotline.tickets import services as tickets
from hotline.tickets.models import Rating, RatingSource, Ticket, TicketState
from tests import factories
from tests.factories import World
from tests.unit.test_stats_figures import (  # noqa: F401  (english, year_2026: autouse fixtures)
    ANSWER,
    MARCH,
    NOW,
    T0,
    assigned,
    english,
    in_progress,
    local,
    rated,
    resolved,
    submitted,
    summary,
    withdrawn,
    year_2026,
)

DUE = local(2026, 3, 10, 12, 0)  # the signing deadline of a request assigned at T0 (10:00)


# --------------------------------------------------------------------------- honest rounding


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (None, "—"),
        (0, "0.0%"),
        (0.0, "0.0%"),
        (1, "100.0%"),
        (1.0, "100.0%"),
        (0.9995, "99.9%"),  # would round to 100.0 %
        (1999 / 2000, "99.9%"),
        (0.99999, "99.9%"),
        (0.9994, "99.9%"),
        (0.0004, "0.1%"),  # would round to 0.0 %
        (1 / 3000, "0.1%"),
        (0.0005, "0.1%"),
        (0.5, "50.0%"),
        (2 / 3, "66.7%"),
        (0.3335, "33.4%"),  # half up, from the decimal value, not the float's binary tail
        (0.995, "99.5%"),
    ],
)
def test_a_rate_is_shown_100_or_0_percent_only_when_it_is_exactly_that(rate, shown):
    assert format_rate(rate) == shown


def test_the_charts_and_the_spreadsheets_follow_the_same_rule():
    assert shown_percent(0.9995) == 99.9 and shown_percent(1) == 100.0 and shown_percent(None) is None
    assert shown_percent(0.0004) == 0.1 and shown_percent(0) == 0.0
    # a spreadsheet keeps the exact rate, except where its own "0.0%" would print 100.0 % or 0.0 %
    assert shown_fraction(0.9995) == pytest.approx(0.999)
    assert shown_fraction(0.0004) == pytest.approx(0.001)
    assert shown_fraction(2 / 3) == 2 / 3
    assert shown_fraction(1) == 1 and shown_fraction(0) == 0 and shown_fraction(None) is None


def test_the_pages_filter_is_the_same_function(app):
    rate = app.jinja_env.filters["rate"]
    assert rate(0.9995) == "99.9%" and rate(1) == "100.0%" and rate(0) == "0.0%" and rate(None) == "—"


# --------------------------------------------------------------------------- provenance


def test_every_rating_records_its_source_who_recorded_it_and_when(world: World):
    by_enterprise = rated(world, "satisfied")
    by_call = resolved(world)
    later = T0 + timedelta(days=3)  # the enterprise's two working days to rate online are over
    world.followed_up(by_call, "basically_satisfied", later)
    db.session.flush()

    ratings = {r.ticket_id: r for r in db.session.scalars(select(Rating))}
    assert ratings[by_enterprise.id].source == RatingSource.ENTERPRISE
    assert ratings[by_enterprise.id].rated_by_id == world.contact.id
    assert ratings[by_call.id].source == RatingSource.FOLLOWUP_CALL
    assert ratings[by_call.id].rated_by_id == world.manager.id
    assert ratings[by_call.id].created_at == later
    assert by_call.rating_source == RatingSource.FOLLOWUP_CALL
    assert by_call.first_rating_score == "basically_satisfied"


def test_the_first_rating_is_kept_when_a_reopened_request_is_rated_again(world: World):
    ticket = rated(world, "dissatisfied")
    tickets.resolve(ticket.id, world.liaison, ANSWER, T0 + timedelta(days=1))
    tickets.rate(ticket.id, world.contact, "satisfied", "", T0 + timedelta(days=2))
    rated(world, "satisfied")
    db.session.flush()

    figures = summary()
    assert figures.satisfaction_rate == 1.0  # the latest ratings: both satisfied
    assert figures.first_satisfied == 1
    assert figures.first_rating_satisfaction_rate == 0.5  # the first verdicts: one of two
    assert figures.reopened == 1


def test_the_counts_beside_the_satisfaction_rate(world: World):
    rated(world, "satisfied")  # by the enterprise
    called = resolved(world)
    world.followed_up(called, "satisfied", T0 + timedelta(days=3))  # recorded from a call
    resolved(world)  # awaiting its rating
    unrated = resolved(world)
    tickets.close_unrated(unrated.rating_due_at + timedelta(seconds=1))  # type: ignore[operator]
    withdrawn(world)
    in_progress(world)
    db.session.flush()

    figures = summary()
    assert figures.total == 5 and figures.resolved == 4
    assert (figures.rated, figures.rated_by_enterprise, figures.rated_by_followup) == (2, 1, 1)
    assert figures.unrated == 2
    assert figures.rated_resolved == 2 and figures.rating_rate == 0.5  # resolved and rated ÷ resolved
    assert figures.withdrawn == 1
    assert figures.satisfaction_rate == 1.0
    # in the API's answer by name
    answer = stats.as_dict(figures)
    assert answer["rating_rate"] == 0.5 and answer["withdrawn"] == 1 and answer["rated_by_followup"] == 1


def test_the_companion_counts_reconcile_with_a_request_reopened_and_still_open(world: World):
    """rated counts every request with a latest rating, in any state (DESIGN §7); the rating rate's
    numerator counts only the resolved ones: a request reopened after a dissatisfied rating is in the first,
    not the second, and each set of counts adds up to its whole."""
    by_enterprise = rated(world, "satisfied")
    by_call = resolved(world)
    world.followed_up(by_call, "basically_satisfied", T0 + timedelta(days=3))
    reopened = rated(world, "dissatisfied")  # reopened: being worked again, keeps its dissatisfied rating
    resolved(world)  # awaiting its rating
    lapsed = resolved(world)
    tickets.close_unrated(lapsed.rating_due_at + timedelta(seconds=1))  # type: ignore[operator]
    in_progress(world)
    db.session.commit()
    assert reopened.state not in (TicketState.RESOLVED, TicketState.CLOSED)
    assert reopened.rating_score == "dissatisfied"

    figures = summary()  # March: its closed requests from the rollup, the others live
    assert figures == stats.recount_summary(MARCH, NOW)
    assert (figures.total, figures.resolved) == (6, 4)
    assert (figures.rated, figures.rated_by_enterprise, figures.rated_by_followup) == (3, 2, 1)
    assert (figures.rated_resolved, figures.unrated) == (2, 2)
    assert figures.rated_by_enterprise + figures.rated_by_followup == figures.rated
    assert figures.rated_resolved + figures.unrated == figures.resolved
    assert figures.rated - figures.rated_resolved == 1  # the reopened request
    assert figures.rating_rate == 0.5  # rated_resolved ÷ resolved, not rated ÷ resolved (0.75)

    # the list behind the figure holds exactly the resolved requests with a rating
    behind = {t.id for t in db.session.scalars(stats.tickets_behind(MARCH, "rated_resolved", NOW))}
    assert behind == {by_enterprise.id, by_call.id}
    assert len(behind) == stats.figure_count(figures, "rated_resolved")
    # each breakdown row reconciles too
    for dimension in stats.DIMENSIONS:
        for row in stats.breakdown(MARCH, dimension, NOW):
            f = row.figures
            assert f.rated_by_enterprise + f.rated_by_followup == f.rated, (dimension, row.key)
            assert f.rated_resolved + f.unrated == f.resolved, (dimension, row.key)
    # published by name
    answer = stats.as_dict(figures)
    assert (answer["rated"], answer["rated_resolved"], answer["unrated"]) == (3, 2, 2)


def test_no_rating_no_resolution_leaves_the_new_rates_empty(world: World):
    in_progress(world)
    figures = summary()
    assert figures.rating_rate is None and figures.first_rating_satisfaction_rate is None


# --------------------------------------------------------------------------- the signing clock and returns


def test_a_request_returned_before_its_signing_deadline_is_outside_the_response_rate(world: World):
    ticket = assigned(world)
    tickets.return_ticket(ticket.id, world.liaison, "不属于本楼宇", DUE - timedelta(minutes=30))
    in_time = in_progress(world)
    db.session.flush()

    figures = summary()
    assert ticket.late_returns == 0
    assert figures.returned_late == 0
    assert (figures.acknowledged_on_time, figures.acknowledged_late, figures.unacknowledged_overdue) == (
        1,
        0,
        0,
    )
    assert figures.response_rate == 1.0
    assert in_time.acknowledged_at is not None


def test_a_request_returned_after_its_signing_deadline_stays_late_whatever_the_next_liaison_does(
    world: World,
):
    ticket = assigned(world)
    tickets.return_ticket(ticket.id, world.liaison, "不属于本楼宇", DUE + timedelta(minutes=30))
    db.session.flush()
    assert ticket.late_returns == 1
    figures = summary()
    assert figures.returned_late == 1 and figures.response_rate == 0.0  # in the returned state: still late

    # The return accepted, the next liaison signs at once: the lateness does not vanish.
    later = DUE + timedelta(hours=2)
    tickets.review_return(ticket.id, world.manager, True, "", later)
    other = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    tickets.assign(ticket.id, world.manager, other.username, later)
    tickets.acknowledge(ticket.id, other, later + timedelta(minutes=5))
    in_progress(world)  # one acknowledged in time
    db.session.flush()

    figures = summary()
    assert ticket.state == TicketState.IN_PROGRESS and ticket.acknowledged_at is not None
    assert figures.returned_late == 1
    assert figures.acknowledged_on_time == 1  # only the other request
    assert figures.response_rate == 0.5  # 1 in time ÷ (1 in time + 1 returned late)


def test_a_return_from_in_progress_does_not_judge_the_signing_clock_again(world: World):
    ticket = in_progress(world)  # acknowledged at 10:00, in time
    tickets.return_ticket(ticket.id, world.liaison, "需转其他楼宇", DUE + timedelta(days=1))
    db.session.flush()
    assert ticket.late_returns == 0
    assert summary().acknowledged_on_time == 1


def test_a_running_signing_clock_is_late_once_past_due(world: World):
    assigned(world)
    db.session.flush()
    assert summary(now=DUE - timedelta(minutes=1)).response_rate is None  # still running, not yet due
    late = summary(now=DUE + timedelta(minutes=1))
    assert late.unacknowledged_overdue == 1 and late.response_rate == 0.0


# --------------------------------------------------------------------------- the rollup's new counters


def test_the_rollup_holds_the_new_counters_exactly(world: World):
    called = resolved(world)
    world.followed_up(called, "satisfied", T0 + timedelta(days=3))
    again = rated(world, "dissatisfied")
    tickets.resolve(again.id, world.liaison, ANSWER, T0 + timedelta(days=1))
    tickets.rate(again.id, world.contact, "basically_satisfied", "", T0 + timedelta(days=2))
    unrated = resolved(world)
    tickets.close_unrated(unrated.rating_due_at + timedelta(seconds=1))  # type: ignore[operator]
    late = assigned(world)
    tickets.return_ticket(late.id, world.liaison, "不属于本楼宇", DUE + timedelta(hours=1))
    tickets.review_return(late.id, world.manager, False, "请继续办理", DUE + timedelta(hours=2))
    tickets.acknowledge(late.id, world.liaison, DUE + timedelta(hours=2))
    tickets.resolve(late.id, world.liaison, ANSWER, DUE + timedelta(hours=3))
    tickets.rate(late.id, world.contact, "satisfied", "", DUE + timedelta(hours=4))
    submitted(world)
    db.session.commit()

    assert rollup.drift(db.session.connection()) == []
    month = StatsFilter(start=date(2026, 3, 1), end=date(2026, 4, 1))  # a whole month: from the rollup
    fast, slow = stats.summary(month, NOW), stats.recount_summary(month, NOW)
    assert fast == slow
    assert (fast.rated_by_enterprise, fast.rated_by_followup, fast.unrated) == (2, 1, 1)
    assert fast.first_satisfied == 2 and fast.first_rating_satisfaction_rate == 2 / 3
    assert fast.returned_late == 1
    assert stats.breakdown(month, "liaison", NOW) == stats.recount_breakdown(month, "liaison", NOW)
    # every list behind a new figure has as many requests as the figure says
    for figure in ("returned_late", "rated_by_enterprise", "rated_by_followup", "unrated"):
        listed = db.session.scalars(stats.tickets_behind(month, figure, NOW)).all()
        assert len(listed) == stats.figure_count(fast, figure), figure
    assert {t.id for t in db.session.scalars(stats.tickets_behind(month, "unrated", NOW))} == {unrated.id}
    assert isinstance(late, Ticket) and late.state == TicketState.CLOSED
