"""The field work on the liaison's and the managers' pages (issue 12, points 4, 6 and 7): a liaison's "my
enterprises" (whom it has not seen for a while), 走访覆盖 on the coverage pages, the dashboard and
``GET /api/v1/stats/summary``, and the dashboard's figures by meeting.

Time is frozen on Saturday 20 June 2026, 10:00 in Shanghai (2026Q2), with the 2026 calendar loaded.  The
district of :class:`~tests.factories.World` has three active buildings: the liaison's (its enterprise and the
ones a test adds), the other liaison's (no enterprise) and the other enterprise's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from hotline.enterprises.models import Coverage, Enterprise
from hotline.extensions import db
from hotline.meetings import queries
from hotline.meetings import services as meetings
from hotline.meetings.models import Meeting
from hotline.sla import services as sla
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket
from tests import factories
from tests.factories import World
from tests.functional.html import row
from tests.functional.test_api import Api
from tests.helpers import login as login_in_chinese

NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)  # Saturday 20 June 2026, 10:00 in Shanghai
TODAY = date(2026, 6, 20)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def district(app: Flask, frozen: datetime, world: World) -> World:
    sla.sync_calendar_from_package(NOW, years=[2026])
    db.session.commit()
    return world


def login(client: FlaskClient, username: str) -> None:
    login_in_chinese(client, username)
    assert client.get("/lang/en").status_code == 302


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def visit(world: World, enterprise: Enterprise, day: str, **values: Any) -> list[Ticket]:
    _visit, filed = meetings.log_visit(
        world.liaison, NOW, {"enterprise_uscc": enterprise.uscc, "visited_on": day, "met": "总经理", **values}
    )
    return filed


def held_meeting(
    world: World, day: str, attended: list[Enterprise], items: list[dict[str, Any]] | None = None
) -> Meeting:
    """A tea meeting of the liaison's building at 08:30 on ``day``, its minutes recorded two hours later."""
    starts = datetime.fromisoformat(f"{day}T00:30:00+00:00")
    meeting = meetings.schedule_meeting(
        world.liaison,
        starts - timedelta(days=7),
        {
            "kind": "tea_meeting",
            "title": f"{day} 政企早茶会",
            "starts_at": f"{day} 08:30",
            "place": "一楼会议室",
            "buildings": [world.building.id],
            "invite": [e.uscc for e in attended],
            "invite_buildings": [],
        },
    )
    after = starts + timedelta(hours=2)
    if items:
        meetings.file_meeting_requests(meeting.id, world.liaison, after, items)
    meetings.record_minutes(meeting.id, world.liaison, after, {"attended": [e.uscc for e in attended]})
    return meeting


def empty_building(world: World) -> int:
    """The other liaison's building, which has no enterprise."""
    return int(
        db.session.scalar(select(Coverage.building_id).where(Coverage.liaison_id == world.other_liaison.id))
    )


def item(world: World, enterprise: Enterprise | None = None, **values: Any) -> dict[str, Any]:
    fields = {
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上太暗。",
        "contact_phone": "13800138000",
        **values,
    }
    if enterprise is not None:
        fields["enterprise_uscc"] = enterprise.uscc
    return fields


# --------------------------------------------------------------------------- my enterprises (point 6)


def test_my_enterprises_lists_the_longest_unseen_first_and_marks_them(
    client: FlaskClient, district: World, app: Flask
) -> None:
    w = district
    long_ago = factories.enterprise(w.building, name="甲公司")
    at_a_meeting = factories.enterprise(w.building, name="乙公司")
    never = factories.enterprise(w.building, name="丙公司")
    visit(w, w.enterprise, "2026-06-10")
    visit(w, long_ago, "2026-02-01")
    held_meeting(w, "2026-05-12", [at_a_meeting])
    w.submit(NOW)
    db.session.commit()

    login(client, w.liaison.username)
    html = page(client, "/workbench/enterprises")
    assert 'href="/workbench/enterprises"' in html  # in the liaison's navigation
    order = re.findall(r'<tr id="enterprise-(\d+)"', html)
    assert order == [str(e.id) for e in (never, long_ago, at_a_meeting, w.enterprise)]
    assert w.other_enterprise.name not in html  # not a building it covers

    never_row = row(html, f"enterprise-{never.id}")
    assert 'data-overdue="yes"' in never_row and "Never seen" in never_row
    old_row = row(html, f"enterprise-{long_ago.id}")
    assert 'data-overdue="yes"' in old_row and "139 days ago" in old_row
    assert "Not seen for over 90 days" in old_row
    met_row = row(html, f"enterprise-{at_a_meeting.id}")
    assert 'data-overdue="no"' in met_row and "2026-05-12" in met_row and "39 days ago" in met_row
    assert re.search(r'class="last-visit">—<', met_row)  # seen at the meeting, never visited
    mine = row(html, f"enterprise-{w.enterprise.id}")
    assert 'data-overdue="no"' in mine and "10 days ago" in mine
    assert re.search(r'class="text-end open-count"><a[^>]*>1</a>', mine)  # the request it filed
    assert f'href="/enterprises/{w.enterprise.uscc}"' in mine
    # the link to log a visit, where the visits' page is installed
    visit_link = f"enterprise={w.enterprise.uscc}"
    assert (visit_link in mine) == ("meetings.new_visit" in app.view_functions)


def test_not_seen_for_more_than_ninety_days_is_overdue_ninety_is_not() -> None:
    enterprise = Enterprise(name="x", uscc=factories.make_uscc(1))
    seen = queries.EnterpriseContact(enterprise, 0, TODAY - timedelta(days=90), None)
    late = queries.EnterpriseContact(enterprise, 0, None, TODAY - timedelta(days=91))
    never = queries.EnterpriseContact(enterprise, 0, None, None)
    assert (seen.days_unseen(TODAY), seen.overdue(TODAY)) == (90, False)
    assert (late.days_unseen(TODAY), late.overdue(TODAY)) == (91, True)
    assert (never.days_unseen(TODAY), never.overdue(TODAY)) == (None, True)
    assert queries.NOT_SEEN_DAYS == 90


def test_my_enterprises_is_the_liaisons_page_and_is_paginated(
    client: FlaskClient, district: World, app: Flask
) -> None:
    for i in range(app.config["PER_PAGE"]):
        factories.enterprise(district.building, name=f"分页企业{i:02d}")
    db.session.commit()
    login(client, district.liaison.username)
    first = page(client, "/workbench/enterprises")
    second = page(client, "/workbench/enterprises?page=2")
    assert first.count('<tr id="enterprise-') == app.config["PER_PAGE"]
    assert second.count('<tr id="enterprise-') == 1
    other = client.application.test_client()
    login(other, district.manager.username)
    assert other.get("/workbench/enterprises").status_code == 403


# --------------------------------------------------------------------------- 走访覆盖 (point 4)


@pytest.fixture
def seen(district: World) -> World:
    """In 2026Q2 the liaison's building is covered (its enterprise visited, a second one at a meeting); the
    other enterprise's building is not; the other liaison's has no enterprise."""
    w = district
    second = factories.enterprise(w.building, name="乙公司")
    visit(w, w.enterprise, "2026-06-10")
    held_meeting(w, "2026-05-12", [second])
    visit(w, w.enterprise, "2026-03-02")  # an earlier quarter: counts there only
    db.session.commit()
    return w


def test_the_coverage_pages_show_field_coverage_for_this_quarter_or_a_chosen_period(
    client: FlaskClient, seen: World
) -> None:
    w = seen
    login(client, w.manager.username)
    html = page(client, "/manage/streets")
    summary = re.search(r'<p class="field-summary"[^>]*>.*?</p>', html, re.S)
    assert summary and "2026Q2" in summary.group(0)
    assert 'data-covered="1" data-buildings="2"' in summary.group(0) and "50.0%" in summary.group(0)
    assert "1 building without enterprises is not counted" in summary.group(0)
    street = row(html, f"street-{w.street.code}")
    assert 'data-field-covered="1" data-field-buildings="2"' in street and "1 / 2" in street

    board = page(client, f"/manage/streets/{w.street.code}")
    mine = row(board, f"building-{w.building.id}")
    assert "2 / 2" in mine and 'data-field-covered="yes"' in mine and "All seen" in mine
    theirs = row(board, f"building-{w.other_enterprise.building_id}")
    assert "0 / 1" in theirs and 'data-field-covered="no"' in theirs
    empty = row(board, f"building-{empty_building(w)}")
    assert 'data-field-covered="none"' in empty

    march = page(client, "/manage/streets?period=2026-03")
    assert re.search(r'data-covered="0" data-buildings="2"[^>]*>.*?0\.0%', march, re.S)
    assert "Field coverage, 2026-03" in march
    refused = page(client, "/manage/streets?period=soon", 400)
    assert 'id="period-error"' in refused and "2026Q1" in refused  # the message says how to write one


def test_field_coverage_is_a_dash_where_no_building_has_an_enterprise(
    client: FlaskClient, seen: World
) -> None:
    street = factories.street(name="空街道")
    factories.building(street, name="空楼")
    db.session.commit()
    login(client, seen.manager.username)
    html = page(client, f"/manage/streets/{street.code}")
    summary = re.search(r'<p class="field-summary"[^>]*>.*?</p>', html, re.S)
    assert summary and 'data-buildings="0"' in summary.group(0)
    assert re.search(r'class="field-rate">—<', summary.group(0))
    assert "—" in row(page(client, "/manage/streets"), f"street-{street.code}")


def test_the_dashboard_shows_field_coverage_beside_building_coverage(
    client: FlaskClient, seen: World
) -> None:
    login(client, seen.manager.username)
    html = page(client, "/manage/dashboard?period=quarter&value=2026Q2")
    cards = re.findall(r'id="card-(\w+)"', html)
    assert cards.index("field_coverage") == cards.index("coverage") + 1
    card = re.search(r'id="card-field_coverage".*?</div>\s*</div>\s*</div>', html, re.S)
    assert card
    assert re.search(r'class="stat-value" href="/manage/streets\?period=2026Q2">50.0%<', card.group(0))
    assert re.search(r'>1</span> covered / <span class="part-count">2</span> buildings with', card.group(0))
    march = page(client, "/manage/dashboard?period=month&value=2026-03")
    assert re.search(r'id="card-field_coverage".*?class="stat-value"[^>]*>0.0%<', march, re.S)
    one = page(client, f"/manage/dashboard?period=quarter&value=2026Q2&building={seen.building.id}")
    assert re.search(r'id="card-field_coverage".*?class="stat-value"[^>]*>100.0%<', one, re.S)


def test_the_summary_api_gives_field_coverage_and_keeps_its_core(client: FlaskClient, seen: World) -> None:
    api = Api(client, seen.manager)
    data = api.get("/stats/summary", query_string={"from": "2026-04-01", "to": "2026-06-30"}).get_json()
    assert (data["field_coverage"], data["field_covered"], data["field_buildings"]) == (0.5, 1, 2)
    assert {"total", "closure_rate", "satisfaction_rate", "coverage", "buildings"} <= set(data)
    empty = empty_building(seen)
    none = api.get("/stats/summary", query_string={"from": "2026-04-01", "building": empty}).get_json()
    assert (none["field_coverage"], none["field_covered"], none["field_buildings"]) == (None, 0, 0)


# --------------------------------------------------------------------------- figures by meeting (point 7)


def cell(html: str, month: str, channel: str, figure: str) -> str:
    line = row(html, f"field-{month}")
    match = re.search(rf'data-channel="{channel}" data-figure="{figure}">(?:<a[^>]*>)?([^<]*)<', line)
    assert match, (month, channel, figure)
    return match.group(1).strip()


def test_the_dashboard_counts_requests_raised_in_the_field_by_channel_and_month(
    client: FlaskClient, district: World
) -> None:
    w = district
    tea = held_meeting(
        w,
        "2026-05-12",
        [w.enterprise],
        [item(w, w.enterprise, title="停车难"), item(w, w.enterprise, title="招聘补贴", answer="现场答复。")],
    )
    [answered] = [t for t, on_the_spot in meetings.meeting_requests(tea) if on_the_spot]
    tickets.rate(answered.id, w.contact, "satisfied", "", NOW)  # closed: counted from the rollup
    visit(w, w.enterprise, "2026-06-10", items=[item(w, title="电梯维修", answer="已协调物业。")])
    w.submit(NOW)  # the web form
    db.session.commit()

    login(client, w.manager.username)
    html = page(client, "/manage/dashboard?period=quarter&value=2026Q2")
    assert "Field work" in html and 'data-chart="field"' in html
    assert [m for m in re.findall(r'<tr id="field-([\w-]+)"', html)] == [
        "2026-04",
        "2026-05",
        "2026-06",
        "total",
    ]
    # May: the two requests of the tea meeting, one answered at the table (and rated satisfied)
    assert cell(html, "2026-05", "tea_meeting", "total") == "2"
    assert cell(html, "2026-05", "tea_meeting", "closure_rate") == "50.0%"
    assert cell(html, "2026-05", "tea_meeting", "satisfaction_rate") == "100.0%"
    assert cell(html, "2026-05", "visit", "total") == "0"
    assert cell(html, "2026-05", "visit", "closure_rate") == "—"
    # June: the visit's request, resolved on the spot and not rated yet; the web's, open
    assert cell(html, "2026-06", "visit", "total") == "1"
    assert cell(html, "2026-06", "visit", "closure_rate") == "100.0%"
    assert cell(html, "2026-06", "visit", "satisfaction_rate") == "—"
    assert (cell(html, "2026-06", "web", "total"), cell(html, "2026-06", "web", "closure_rate")) == (
        "1",
        "0.0%",
    )
    # the field work together, and the whole quarter
    assert (cell(html, "total", "field", "total"), cell(html, "total", "field", "closure_rate")) == (
        "3",
        "66.7%",
    )
    assert cell(html, "total", "tea_meeting", "total") == "2"
    assert cell(html, "total", "roundtable", "closure_rate") == "—"
    # a count leads to its requests: the month's, of that channel
    link = re.search(
        r'data-channel="tea_meeting" data-figure="total"><a href="([^"]+)"', row(html, "field-2026-05")
    )
    assert link
    listed = page(client, link.group(1).replace("&amp;", "&"))
    assert "停车难" in listed and "招聘补贴" in listed and "电梯维修" not in listed
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert data and '"field"' in data.group(1)


def test_the_field_work_costs_the_same_statements_for_a_quarter_and_a_year(
    client: FlaskClient, district: World
) -> None:
    w = district
    held_meeting(w, "2026-05-12", [w.enterprise], [item(w, w.enterprise)])
    db.session.commit()
    login(client, w.manager.username)

    def statements(url: str) -> int:
        seen: list[str] = []

        def remember(*args: Any) -> None:
            if args[2].lstrip().upper().startswith("SELECT"):  # not the test's savepoints
                seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            page(client, url)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        return len(seen)

    quarter = statements("/manage/dashboard?period=quarter&value=2026Q2")
    year = statements("/manage/dashboard?period=year&value=2026")
    for k in range(5):
        visit(w, w.enterprise, f"2026-0{k + 1}-05", items=[item(w, title=f"走访问题{k}")])
    db.session.commit()
    assert statements("/manage/dashboard?period=year&value=2026") == year == quarter
