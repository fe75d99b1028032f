"""The figures' pages through the test client (issue 4, items 2, 3 and 5): the managers' dashboard and the
requests behind each figure, a liaison's and an enterprise's own figures, the public summary.

A hand-built cohort of June 2026, played through the services with explicit times, with the clock frozen on
Tuesday 30 June 2026, 10:00 in Shanghai.  Working hours 09:00-12:00 and 13:30-17:30 (7 h a day).

- A, filed 1 June 09:30: acknowledged in time, resolved 2 June 10:00, rated satisfied.
- B, 3 June: resolved, rated dissatisfied (reopened), resolved again 4 June 15:00, rated basically satisfied.
- C, 8 June: resolved 9 June 10:00, not rated.
- D, 10 June: acknowledged, never resolved: due 17 June, overdue now.
- E, 22 June: resolved, rated dissatisfied on 24 June: reopened, due again on 1 July.
- F, 24 June: assigned 09:40, never acknowledged: its 2 working hours have passed.
- G, 11 June: withdrawn.  H, 29 May: submitted, waiting in the pool.
- K, 29 June: the other enterprise, another category, recorded by phone; acknowledged by the other liaison.

June: 7 received (A-F, K), 3 resolved (A, B, C): closure 42.9 %; rated 3 (A, B, E), 2 satisfied: 66.7 %;
acknowledged in time 6 of 7 judged (F is late): 85.7 %; resolved in time 3 of 3: 100.0 %; reopened 1 of 3
resolved (B): 33.3 %; overdue open 1 (D); handling time A 7.5 h, B 11 h, C 7.5 h: 8.7 h on average.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.auth.models import User
from hotline.enterprises.models import Coverage, CoverageRole
from hotline.extensions import db
from hotline.sla import services as sla
from hotline.tickets import services
from hotline.tickets.models import Category, Ticket
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors, row
from tests.helpers import login

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


NOW = local(6, 30, 10)
JUNE = "period=month&value=2026-06"
ANSWER = "已协调解决。"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


@dataclass
class Cohort:
    world: World
    other_category: Category
    tickets: dict[str, Ticket]

    def number(self, name: str) -> str:
        return self.tickets[name].number


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def cohort(world: World, frozen: datetime) -> Cohort:
    assert sla.sync_calendar_from_package(frozen, years=[2026]) == [2026]
    w = world
    liaison, manager, contact = w.liaison, w.manager, w.contact

    def worked(filed: datetime, acknowledged: datetime | None = None, **fields: object) -> Ticket:
        ticket = w.submit(filed, **fields)
        services.assign(ticket.id, manager, liaison.username, filed.replace(minute=filed.minute + 10))
        if acknowledged is not None:
            services.acknowledge(ticket.id, liaison, acknowledged)
        return ticket

    a = worked(local(6, 1, 9, 30), local(6, 1, 10))
    services.resolve(a.id, liaison, ANSWER, local(6, 2, 10))
    services.rate(a.id, contact, "satisfied", "", local(6, 2, 11))

    b = worked(local(6, 3, 9, 30), local(6, 3, 10))
    services.resolve(b.id, liaison, ANSWER, local(6, 3, 15))
    services.rate(b.id, contact, "dissatisfied", "还没有解决。", local(6, 4, 10))
    services.resolve(b.id, liaison, ANSWER, local(6, 4, 15))
    services.rate(b.id, contact, "basically_satisfied", "", local(6, 5, 10))

    c = worked(local(6, 8, 9, 30), local(6, 8, 10))
    services.resolve(c.id, liaison, ANSWER, local(6, 9, 10))

    d = worked(local(6, 10, 9, 30), local(6, 10, 10))

    e = worked(local(6, 22, 9, 30), local(6, 22, 10))
    services.resolve(e.id, liaison, ANSWER, local(6, 22, 15))
    services.rate(e.id, contact, "dissatisfied", "答复不清楚。", local(6, 24, 10))

    f = worked(local(6, 24, 9, 30))

    g = w.submit(local(6, 11, 9, 30))
    services.withdraw(g.id, contact, "已自行解决。", local(6, 11, 10))

    h = w.submit(local(5, 29, 9, 30))

    other_category = factories.category()
    k = services.submit_ticket(
        manager,
        category=other_category.code,
        title="招聘补贴申请",
        description="咨询新招员工的补贴政策。",
        urgency="normal",
        contact_phone="13900139000",
        enterprise_uscc=w.other_enterprise.uscc,
        channel="phone",
        now=local(6, 29, 9, 30),
    )
    services.assign(k.id, manager, w.other_liaison.username, local(6, 29, 9, 40))
    services.acknowledge(k.id, w.other_liaison, local(6, 29, 10))
    db.session.commit()
    return Cohort(w, other_category, dict(A=a, B=b, C=c, D=d, E=e, F=f, G=g, H=h, K=k))


def as_user(client: FlaskClient, user: User) -> FlaskClient:
    login(client, user.username)
    client.get("/lang/en")
    return client


def card(html: str, key: str) -> str:
    match = re.search(
        rf'<div class="card h-100 stat-card" id="card-{key}".*?</div>\s*</div>\s*</div>', html, re.S
    )
    assert match, f"no card {key!r}"
    return match.group(0)


def card_value(html: str, key: str) -> str:
    match = re.search(r'class="stat-value"[^>]*>([^<]*)<', card(html, key))
    assert match
    return match.group(1).strip()


def card_link(html: str, key: str) -> str:
    match = re.search(r'class="stat-value" href="([^"]*)"', card(html, key))
    assert match
    return match.group(1).replace("&amp;", "&")


def cells(row_html: str) -> list[str]:
    """The texts of a table row's cells."""
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    ]


def own_figures(html: str) -> dict[str, str]:
    """The figures of one's own above the workbench or the portal, by their id."""
    section = html[html.index('<section class="own-figures') : html.index("</section>")]
    return dict(
        re.findall(r'<div class="own-figure[^"]*" id="own-([a-z-]+)">.*?class="own-value">([^<]*)<', section)
    )


def listed_numbers(html: str) -> set[str]:
    return set(re.findall(r'<td class="text-nowrap"><a href="/tickets/([^"]+)">', html))


# --------------------------------------------------------------------------- who sees the dashboard


def test_only_managers_see_the_dashboard(client: FlaskClient, world: World) -> None:
    assert client.get("/manage/dashboard").status_code == 302  # to the login page
    assert "/login" in client.get("/manage/dashboard").headers["Location"]
    for user in (world.liaison, world.contact, world.department_user):
        other = client.application.test_client()
        login(other, user.username)
        assert other.get("/manage/dashboard").status_code == 403
        assert other.get("/manage/dashboard/requests?figure=total").status_code == 403
    for user in (world.manager, world.admin):
        other = client.application.test_client()
        login(other, user.username)
        page = other.get("/manage/dashboard")
        assert page.status_code == 200
        assert 'href="/manage/dashboard"' in text(page)  # first in the managers' navigation


# --------------------------------------------------------------------------- the cards


def test_cards_show_the_cohorts_figures(client: FlaskClient, cohort: Cohort) -> None:
    html = text(as_user(client, cohort.world.manager).get(f"/manage/dashboard?{JUNE}"))
    assert card_value(html, "total") == "7"
    assert card_value(html, "resolved") == "3"
    assert card_value(html, "closure_rate") == "42.9%"
    assert card_value(html, "satisfaction_rate") == "66.7%"
    assert card_value(html, "response_rate") == "85.7%"
    assert card_value(html, "on_time_rate") == "100.0%"
    assert card_value(html, "reopen_rate") == "33.3%"
    assert card_value(html, "avg_handling_hours") == "8.7"
    assert card_value(html, "overdue_open") == "1"
    # Three buildings, two with a primary liaison: the world's own and the other liaison's.
    assert card_value(html, "coverage") == "66.7%"
    assert "2 satisfied" in re.sub(r"<[^>]+>", "", card(html, "satisfaction_rate"))
    assert "3 rated" in re.sub(r"<[^>]+>", "", card(html, "satisfaction_rate"))


def test_a_rate_with_nothing_to_count_is_a_dash(client: FlaskClient, cohort: Cohort) -> None:
    """Only K is in the other category: received, not resolved, not rated."""
    manager = as_user(client, cohort.world.manager)
    html = text(manager.get(f"/manage/dashboard?{JUNE}&category={cohort.other_category.id}"))
    assert card_value(html, "total") == "1"
    assert card_value(html, "closure_rate") == "0.0%"  # 0 of 1: a real zero
    for key in ("satisfaction_rate", "on_time_rate", "reopen_rate", "avg_handling_hours"):
        assert card_value(html, key) == "—", key
    assert "100.0%" not in card(html, "satisfaction_rate")

    empty = text(manager.get("/manage/dashboard?period=month&value=2026-04"))
    assert card_value(empty, "total") == "0"
    assert card_value(empty, "closure_rate") == "—"
    assert card_value(empty, "satisfaction_rate") == "—"


def test_filters_narrow_the_figures(client: FlaskClient, cohort: Cohort) -> None:
    w = cohort.world
    manager = as_user(client, w.manager)
    by_building = text(manager.get(f"/manage/dashboard?{JUNE}&building={w.building.id}"))
    assert card_value(by_building, "total") == "6"  # K is in the other enterprise's building
    assert card_value(by_building, "closure_rate") == "50.0%"
    by_liaison = text(manager.get(f"/manage/dashboard?{JUNE}&liaison={w.other_liaison.id}"))
    assert card_value(by_liaison, "total") == "1"
    by_channel = text(manager.get(f"/manage/dashboard?{JUNE}&channel=phone"))
    assert card_value(by_channel, "total") == "1"
    quarter = text(manager.get("/manage/dashboard?period=quarter&value=2026Q2"))
    assert card_value(quarter, "total") == "8"  # H, filed in May, joins
    custom = text(manager.get("/manage/dashboard?period=custom&from=2026-06-01&to=2026-06-09"))
    assert card_value(custom, "total") == "3"  # A, B, C
    # The filter is kept in the links to the lists behind the figures.
    assert f"building={w.building.id}" in card_link(by_building, "total")


def test_the_default_period_is_this_year(client: FlaskClient, cohort: Cohort) -> None:
    html = text(as_user(client, cohort.world.manager).get("/manage/dashboard"))
    assert card_value(html, "total") == "8"
    assert 'value="2026"' in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=month&value=2026-13", "value", "A month is from 01 to 12."),
        ("period=quarter&value=2026Q5", "value", "Give a quarter like 2026Q1."),
        ("period=custom&from=2026-06-30&to=2026-06-01", "to", "The last day comes before the first day."),
        ("period=custom&from=2026-02-30&to=2026-03-01", "from", "There is no such day."),
        ("street=999999", "street", "Not a valid choice."),
    ],
)
def test_bad_filter_input_is_shown_next_to_its_field(
    client: FlaskClient, world: World, query: str, field: str, message: str
) -> None:
    response = as_user(client, world.manager).get(f"/manage/dashboard?{query}")
    assert response.status_code == 400
    html = text(response)
    assert field_errors(html, field) == [message]
    assert 'id="card-total"' not in html


# --------------------------------------------------------------------------- the lists behind the figures


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        ("total", "ABCDEFK"),
        ("resolved", "ABC"),
        ("satisfied", "AB"),
        ("rated", "ABE"),
        ("dissatisfied", "E"),
        ("reopened", "B"),
        ("overdue_open", "D"),
        ("unacknowledged_overdue", "F"),
        ("resolved_on_time", "ABC"),
    ],
)
def test_a_figure_lists_exactly_its_requests(
    client: FlaskClient, cohort: Cohort, figure: str, expected: str
) -> None:
    manager = as_user(client, cohort.world.manager)
    dashboard = text(manager.get(f"/manage/dashboard?{JUNE}"))
    response = manager.get(f"/manage/dashboard/requests?figure={figure}&{JUNE}")
    assert response.status_code == 200
    assert listed_numbers(text(response)) == {cohort.number(name) for name in expected}
    assert f"figure={figure}&" in dashboard.replace("&amp;", "&")  # the dashboard links to this list


def test_the_card_links_to_its_list(client: FlaskClient, cohort: Cohort) -> None:
    manager = as_user(client, cohort.world.manager)
    dashboard = text(manager.get(f"/manage/dashboard?{JUNE}&category={cohort.world.category.id}"))
    listed = text(manager.get(card_link(dashboard, "overdue_open")))
    assert listed_numbers(listed) == {cohort.number("D")}
    assert "Open past the deadline" in listed


def test_the_lists_are_paginated(client: FlaskClient, cohort: Cohort) -> None:
    client.application.config["PER_PAGE"] = 3
    manager = as_user(client, cohort.world.manager)
    first = text(manager.get(f"/manage/dashboard/requests?figure=total&{JUNE}"))
    second = text(manager.get(f"/manage/dashboard/requests?figure=total&{JUNE}&page=3"))
    assert len(listed_numbers(first)) == 3
    assert listed_numbers(second) == {cohort.number("A")}  # the newest first: A was filed first
    assert "7 in all" in first


def test_an_unknown_figure_has_no_list(client: FlaskClient, world: World) -> None:
    assert as_user(client, world.manager).get("/manage/dashboard/requests?figure=title").status_code == 404


# --------------------------------------------------------------------------- ranking, coverage, charts


def test_ranking_and_coverage_gaps(client: FlaskClient, cohort: Cohort) -> None:
    w = cohort.world
    gap = factories.building(w.street, name="无人包联大厦")
    db.session.add(Coverage(liaison_id=w.liaison.id, building_id=gap.id, role=CoverageRole.DEPUTY))
    db.session.commit()
    manager = as_user(client, w.manager)
    html = text(manager.get(f"/manage/dashboard?{JUNE}&sort=total&dir=desc"))
    mine = cells(row(html, f"liaison-{w.liaison.id}"))
    assert mine == ["1", w.liaison.name, "6", "3", "50.0%", "66.7%", "100.0%", "33.3%"]
    other = cells(row(html, f"liaison-{w.other_liaison.id}"))
    assert other == ["2", w.other_liaison.name, "1", "0", "0.0%", "—", "—", "—"]
    # Sorted by total, ascending: the other liaison first.
    ascending = text(manager.get(f"/manage/dashboard?{JUNE}&sort=total&dir=asc"))
    assert ascending.index(f'id="liaison-{w.other_liaison.id}"') < ascending.index(
        f'id="liaison-{w.liaison.id}"'
    )
    # A deputy is not a primary: the building is a gap, shown as covered by a deputy only.
    assert "无人包联大厦" in row(html, f"gap-{gap.id}")
    assert 'data-kind="deputy_only"' in row(html, f"gap-{gap.id}")
    # A primary on leave does not cover its building: it is a gap too, now covered by nobody.
    covered_by_other = db.session.scalars(
        select(Coverage.building_id).where(Coverage.liaison_id == w.other_liaison.id)
    ).one()
    assert f'id="gap-{covered_by_other}"' not in html
    w.other_liaison.available = False
    db.session.commit()
    html = text(manager.get(f"/manage/dashboard?{JUNE}"))
    assert 'data-kind="uncovered"' in row(html, f"gap-{covered_by_other}")
    assert 'href="/manage/overdue"' in html


def test_charts_get_their_data_as_json(client: FlaskClient, cohort: Cohort) -> None:
    import json

    html = text(as_user(client, cohort.world.manager).get(f"/manage/dashboard?{JUNE}"))
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["trend"]["keys"][-1] == "2026-06" and len(data["trend"]["keys"]) == 12
    assert data["trend"]["total"][-1] == 7 and data["trend"]["closure_rate"][-1] == 42.9
    assert data["trend"]["closure_rate"][0] is None  # July 2025: nothing filed, a gap, not 0 %
    assert dict(zip(data["channel"]["keys"], data["channel"]["total"], strict=True)) == {"web": 6, "phone": 1}
    assert data["labels"]["closure_rate"] == "Closure rate (%)"
    assert '<script src="/static/vendor/echarts/echarts.min.js">' in html
    assert "<script>" not in html  # no inline script: the page works under the strict CSP


# --------------------------------------------------------------------------- one's own figures


def test_the_workbench_shows_the_liaisons_own_figures(client: FlaskClient, cohort: Cohort) -> None:
    w = cohort.world
    html = text(as_user(client, w.liaison).get("/workbench/"))
    values = own_figures(html)
    assert values == {
        "total": "6",
        "closure": "50.0%",
        "satisfaction": "66.7%",
        "on-time": "100.0%",
        "overdue": "1",
    }
    other = as_user(client.application.test_client(), w.other_liaison)
    other_html = text(other.get("/workbench/"))
    values = own_figures(other_html)
    assert values == {"total": "1", "closure": "0.0%", "satisfaction": "—", "on-time": "—", "overdue": "0"}


def test_the_portal_shows_the_enterprises_own_history(client: FlaskClient, cohort: Cohort) -> None:
    w = cohort.world
    html = text(as_user(client, w.contact).get("/portal/"))
    values = own_figures(html)
    assert values == {"total": "7", "resolved": "3", "satisfaction": "66.7%"}  # G withdrawn, H counted
    assert "of 3 rated" in html
    other = as_user(client.application.test_client(), w.other_contact)
    other_html = text(other.get("/portal/"))
    values = own_figures(other_html)
    assert values == {"total": "1", "resolved": "0", "satisfaction": "—"}


# --------------------------------------------------------------------------- the public summary


def test_the_public_summary_states_the_year_and_leaks_nothing(client: FlaskClient, cohort: Cohort) -> None:
    w = cohort.world
    client.get("/lang/en")
    response = client.get("/public/summary?year=2026")
    assert response.status_code == 200
    html = text(response)
    sentence = re.search(r'class="lead public-sentence[^"]*">([^<]*)<', html)
    assert sentence
    # 2026: A-F, H and K received (8), A, B, C resolved, 2 of 3 rated satisfied.
    assert sentence.group(1).strip() == (
        "Requests resolved for enterprises: 3; closure rate 37.5%; satisfaction rate 66.7%."
    )
    assert cells(row(html, f"street-{w.street.id}")) == [w.street.name, "8", "3", "37.5%", "66.7%"]
    for secret in (
        w.enterprise.name,
        w.other_enterprise.name,
        w.contact.name,
        w.other_contact.name,
        w.liaison.name,
        w.other_liaison.name,
        w.building.name,
        "办公楼停车位不足",
        "招聘补贴申请",
        cohort.number("A"),
    ):
        assert secret not in html, secret
    assert 'href="/public/summary"' in html  # the footer links every page here


def test_the_public_summary_of_an_empty_year(client: FlaskClient, cohort: Cohort) -> None:
    client.get("/lang/en")
    html = text(client.get("/public/summary?year=2025"))
    assert "Requests resolved for enterprises: 0; closure rate —; satisfaction rate —." in html
    assert client.get("/public/summary?year=1999").status_code == 404
    assert client.get("/public/summary?year=abc").status_code == 404
