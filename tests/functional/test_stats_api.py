"""``GET /api/v1/stats/summary``: the figures of DESIGN §7 over the API, the same numbers as the queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from hotline.auth.models import Role
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.stats import queries as stats
from hotline.stats.queries import StatsFilter
from hotline.tickets import services as tickets
from hotline.timeutil import local_date
from tests import factories
from tests.factories import World
from tests.functional.test_api import Api

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on Tuesday 10 March 2026 in Shanghai
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
ANSWER = "已协调解决。"


@pytest.fixture
def cohort(world: World) -> World:
    """Five requests in March (one withdrawn), one in April, with every kind of outcome."""
    sla.sync_calendar_from_package(T0, years=[2026])

    def progressed(when: datetime):  # type: ignore[no-untyped-def]
        ticket = world.submit(when)
        tickets.assign(ticket.id, world.manager, world.liaison.username, when)
        tickets.acknowledge(ticket.id, world.liaison, when)
        return ticket

    closed = progressed(T0)
    tickets.resolve(closed.id, world.liaison, ANSWER, T0 + timedelta(hours=2))
    tickets.rate(closed.id, world.contact, "satisfied", "", T0 + timedelta(hours=3))
    reopened = progressed(T0)
    tickets.resolve(reopened.id, world.liaison, ANSWER, T0 + timedelta(hours=1))
    tickets.rate(reopened.id, world.contact, "dissatisfied", "没解决", T0 + timedelta(hours=2))
    tickets.resolve(reopened.id, world.liaison, ANSWER, T0 + timedelta(days=30))  # late
    overdue = progressed(T0)
    overdue.resolve_due_at = T0 + timedelta(days=1)
    world.submit(T0)  # waiting in the pool
    withdrawn = world.submit(T0)
    tickets.withdraw(withdrawn.id, world.contact, "", T0)
    world.submit(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    db.session.commit()
    return world


def test_the_api_answers_the_same_numbers_as_the_queries(client: FlaskClient, cohort: World):
    api = Api(client, cohort.manager)
    response = api.get("/stats/summary", query_string=MARCH)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    expected = stats.summary(StatsFilter(start=date(2026, 3, 1), end=date(2026, 4, 1)), datetime.now(UTC))
    for name, value in stats.as_dict(expected).items():
        assert data[name] == value, name
    # The numbers themselves, worked out by hand from the fixture.
    assert data["total"] == 4 and data["resolved"] == 2 and data["closure_rate"] == 0.5
    assert data["rated"] == 2 and data["satisfaction_rate"] == 0.5  # the reopened one: dissatisfied
    assert data["reopen_rate"] == 0.5 and data["on_time_rate"] == 0.5
    assert data["overdue_open"] == 1
    assert data["response_rate"] == 1.0
    assert (data["from"], data["to"]) == ("2026-03-01", "2026-03-31")
    assert data["coverage"] == 2 / 3 and data["buildings"] == 3  # the other enterprise's building has none


def test_filters_by_code_username_and_id(client: FlaskClient, cohort: World):
    api = Api(client, cohort.manager)

    def total(**args: str) -> int:
        response = api.get("/stats/summary", query_string={**MARCH, **args})
        assert response.status_code == 200, response.get_json()
        return int(response.get_json()["total"])

    assert total(street=cohort.street.code) == 4
    assert total(building=str(cohort.building.id)) == 4
    assert total(building=str(cohort.other_enterprise.building_id)) == 0
    assert total(category=cohort.category.code, channel="web") == 4
    assert total(channel="phone") == 0
    assert total(liaison=cohort.liaison.username) == 3  # the pooled request has no liaison
    assert total(liaison=cohort.other_liaison.username) == 0


def test_empty_periods_answer_null_rates(client: FlaskClient, cohort: World):
    data = Api(client, cohort.manager).get("/stats/summary?from=2025-01-01&to=2025-12-31").get_json()
    assert data["total"] == 0
    for name in ("closure_rate", "satisfaction_rate", "response_rate", "on_time_rate", "reopen_rate"):
        assert data[name] is None, name
    assert data["avg_handling_hours"] is None


def test_the_period_defaults_to_the_current_year(client: FlaskClient, cohort: World):
    data = Api(client, cohort.manager).get("/stats/summary").get_json()
    this_year = local_date(datetime.now(UTC)).year
    assert (data["from"], data["to"]) == (f"{this_year}-01-01", f"{this_year}-12-31")
    flt = StatsFilter(start=date(this_year, 1, 1), end=date(this_year + 1, 1, 1))
    assert data["total"] == stats.summary(flt, datetime.now(UTC)).total
    only_to = Api(client, cohort.manager).get("/stats/summary?to=2026-03-31").get_json()
    assert (only_to["from"], only_to["total"]) == ("2026-01-01", 4)


def test_only_managers_and_admins_read_the_figures(client: FlaskClient, cohort: World):
    for user in (cohort.liaison, cohort.contact, cohort.department_user):
        response = Api(client, user).get("/stats/summary")
        assert response.status_code == 403, user.role
        assert response.get_json()["error"]["code"] == "forbidden"
    assert Api(client, cohort.admin).get("/stats/summary").status_code == 200
    assert client.get("/api/v1/stats/summary").status_code == 401


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("from=2026-13-01", {"from"}),
        ("from=2026-03-01&to=31.03.2026", {"to"}),
        ("from=2026-03-10&to=2026-03-01", {"to"}),
        (
            "street=nowhere&channel=fax&building=abc&liaison=nobody&category=none",
            {"street", "channel", "building", "liaison", "category"},
        ),
    ],
)
def test_bad_values_answer_400_with_each_field(client: FlaskClient, cohort: World, query, fields):
    response = Api(client, cohort.manager).get(f"/stats/summary?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == fields
    assert all(error["fields"].values())


def test_a_manager_username_is_not_a_liaison_filter(client: FlaskClient, cohort: World):
    other_manager = factories.user(Role.MANAGER)
    db.session.commit()
    response = Api(client, cohort.manager).get(f"/stats/summary?liaison={other_manager.username}")
    assert response.status_code == 400
    assert "liaison" in response.get_json()["error"]["fields"]
