"""Who sees which figures (issue 4): the district's figures only for managers and admins (dashboard, its
drill-down lists, the exports, the API); a liaison its own on the workbench, an enterprise its own on the
portal; the public summary states the year's result and nothing about any enterprise or person.

A hand-built cohort of 2026; the clock is frozen on Tuesday 16 June 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from hotline.extensions import db
from hotline.sla import services as sla
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket
from tests.factories import PASSWORD, World
from tests.helpers import login

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
YEAR = "period=year&value=2026"

DISTRICT_PAGES = [
    "/manage/dashboard",
    f"/manage/dashboard?{YEAR}",
    f"/manage/dashboard/requests?{YEAR}&figure=total",
    f"/manage/dashboard/requests?{YEAR}&figure=overdue_open",
    f"/manage/exports/figures.xlsx?{YEAR}",
    f"/manage/exports/figures.csv?{YEAR}&what=liaison",
    f"/manage/exports/requests.xlsx?{YEAR}&figure=total",
    f"/manage/exports/requests.csv?{YEAR}&figure=total",
]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@dataclass
class District:
    world: World
    requests: list[Ticket]


def _submit(world: World, contact_is_other: bool, when: datetime, title: str) -> Ticket:
    contact = world.other_contact if contact_is_other else world.contact
    return tickets.submit_ticket(
        contact,
        category=world.category.code,
        title=title,
        description=f"{title}，详情见附件。",
        urgency="normal",
        contact_phone="13912345678",
        now=when,
    )


@pytest.fixture
def district(app: Flask, world: World, frozen: datetime) -> District:
    """Five requests of 2026: two of ``world.enterprise`` worked by ``world.liaison`` (one closed satisfied,
    one in progress and overdue), two of the other enterprise worked by the other liaison (one closed
    basically satisfied, one in progress since yesterday), one of the other enterprise awaiting dispatch."""
    assert sla.sync_calendar_from_package(frozen, years=[2026]) == [2026]
    w = world
    w.enterprise.name = "东湖云智科技有限公司"
    w.other_enterprise.name = "西山精密制造有限公司"

    def work(ticket: Ticket, liaison_username: str, at: datetime) -> None:
        tickets.assign(ticket.id, w.manager, liaison_username, at)
        liaison = w.liaison if liaison_username == w.liaison.username else w.other_liaison
        tickets.acknowledge(ticket.id, liaison, at)

    a = _submit(w, False, local(2026, 3, 2, 9, 0), "办公楼停车位不足")
    work(a, w.liaison.username, local(2026, 3, 2, 9, 30))
    tickets.resolve(a.id, w.liaison, "已协调周边停车场。", local(2026, 3, 3, 10, 0))
    tickets.rate(a.id, w.contact, "satisfied", "感谢及时处理", local(2026, 3, 4, 9, 0))
    b = _submit(w, False, local(2026, 4, 1, 9, 0), "申请人才公寓补贴")
    work(b, w.liaison.username, local(2026, 4, 1, 9, 30))
    c = _submit(w, True, local(2026, 3, 3, 9, 0), "水电气报装进度咨询")
    work(c, w.other_liaison.username, local(2026, 3, 3, 9, 30))
    tickets.resolve(c.id, w.other_liaison, "已联系供电公司。", local(2026, 3, 4, 9, 0))
    tickets.rate(c.id, w.other_contact, "basically_satisfied", "", local(2026, 3, 5, 9, 0))
    d = _submit(w, True, local(2026, 6, 15, 9, 0), "融资担保政策咨询")
    work(d, w.other_liaison.username, local(2026, 6, 15, 9, 30))
    e = _submit(w, True, local(2026, 6, 15, 10, 0), "专利申请资助")
    db.session.commit()
    return District(w, [a, b, c, d, e])


def as_user(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    login(client, username)
    client.get("/lang/en")
    return client


def own_value(html: str, figure_id: str) -> str:
    match = re.search(rf'id="{figure_id}">.*?<span class="own-value">([^<]*)</span>', html, re.S)
    assert match, f"no {figure_id} on the page"
    return match.group(1).strip()


# --------------------------------------------------------------------------- the district's figures


@pytest.mark.parametrize("url", DISTRICT_PAGES)
def test_only_managers_and_admins_reach_the_district_figures(app, district, url: str) -> None:  # type: ignore[no-untyped-def]
    w = district.world
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    for user in (w.liaison, w.contact, w.department_user):
        refused = as_user(app, user.username).get(url)
        assert refused.status_code == 403, (user.username, url)
        assert "东湖云智" not in refused.get_data(as_text=True)
        assert "Content-Disposition" not in refused.headers
    for user in (w.manager, w.admin):
        assert as_user(app, user.username).get(url).status_code == 200, (user.username, url)


def test_a_liaison_cannot_read_the_district_figures_even_filtered_to_itself(app, district) -> None:  # type: ignore[no-untyped-def]
    liaison = district.world.liaison
    client = as_user(app, liaison.username)
    for url in (
        f"/manage/dashboard?{YEAR}&liaison={liaison.id}",
        f"/manage/dashboard/requests?{YEAR}&figure=total&liaison={liaison.id}",
        f"/manage/exports/requests.csv?{YEAR}&figure=total&liaison={liaison.id}",
    ):
        assert client.get(url).status_code == 403, url


def _token(client: FlaskClient, username: str) -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["token"])


def test_the_api_gives_the_district_figures_to_managers_only(app, client, district) -> None:  # type: ignore[no-untyped-def]
    w = district.world
    url = "/api/v1/stats/summary?from=2026-01-01&to=2026-12-31"
    assert client.get(url).status_code == 401
    for user in (w.liaison, w.contact, w.department_user):
        headers = {"Authorization": f"Bearer {_token(client, user.username)}"}
        refused = client.get(url, headers=headers)
        assert refused.status_code == 403, user.username
        assert "total" not in refused.get_json()
    headers = {"Authorization": f"Bearer {_token(client, w.manager.username)}"}
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["total"] == 5


# --------------------------------------------------------------------------- one's own figures


def test_a_liaison_sees_its_own_figures_on_the_workbench_not_the_districts(app, district) -> None:  # type: ignore[no-untyped-def]
    w = district.world
    mine = as_user(app, w.liaison.username).get("/workbench/").get_data(as_text=True)
    assert own_value(mine, "own-total") == "2"  # of the district's 5
    assert own_value(mine, "own-closure") == "50.0%"
    assert own_value(mine, "own-satisfaction") == "100.0%"
    assert own_value(mine, "own-overdue") == "1"
    theirs = as_user(app, w.other_liaison.username).get("/workbench/").get_data(as_text=True)
    assert own_value(theirs, "own-total") == "2"
    assert own_value(theirs, "own-closure") == "50.0%"
    assert own_value(theirs, "own-overdue") == "0"


def test_an_enterprise_sees_a_summary_of_its_own_history_only(app, district) -> None:  # type: ignore[no-untyped-def]
    w = district.world
    ours = as_user(app, w.contact.username).get("/portal/").get_data(as_text=True)
    assert own_value(ours, "own-total") == "2"
    assert own_value(ours, "own-resolved") == "1"
    theirs = as_user(app, w.other_contact.username).get("/portal/").get_data(as_text=True)
    assert own_value(theirs, "own-total") == "3"
    assert own_value(theirs, "own-resolved") == "1"


# --------------------------------------------------------------------------- the public page


def test_the_public_summary_states_the_year_and_leaks_nothing(app, district) -> None:  # type: ignore[no-untyped-def]
    w = district.world
    rows = [db.session.get(Ticket, t.id) for t in district.requests]
    secrets: list[str] = [
        w.enterprise.name,
        w.other_enterprise.name,
        w.enterprise.uscc,
        w.other_enterprise.uscc,
        w.building.name,
        w.other_enterprise.building.name,
        "13912345678",
    ]
    for user in (w.liaison, w.other_liaison, w.contact, w.other_contact, w.manager):
        secrets += [user.name, user.username]
    for row in rows:
        assert row is not None
        secrets += [
            row.number,
            row.title,
            row.description,
            *(t for t in (row.answer, row.rating_comment) if t),
        ]
    anonymous = app.test_client()
    for url in ("/public/summary", "/public/summary?year=2026"):
        response = anonymous.get(url)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert w.street.name in page  # the figures by street are there...
        assert "40.0%" in page  # ...and the year's closure rate: 2 of 5 resolved
        leaked = [secret for secret in secrets if secret in page]
        assert leaked == [], (url, leaked)
