"""One search box on every list and ``?q=`` on the API (issue 9, point 4), as their users see them."""

from __future__ import annotations

import re

import pytest

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import search, services
from tests.functional.test_api import Api
from tests.helpers import login

LISTS = {  # who sees which list
    "/portal/": "contact",
    "/workbench/": "liaison",
    "/department/": "department_user",
    "/manage/tickets": "manager",
}


def text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def filed(world):  # type: ignore[no-untyped-def]
    """A request about parking and one about taxes, both transferred to the world's department."""
    parking = world.submit(title="办公楼停车位不足")
    tax = world.submit(title="税务登记咨询", description="新设分公司，办理流程。", contact_phone="021-5555")
    for ticket in (parking, tax):
        services.assign(ticket.id, world.manager, world.liaison.username, utcnow())
        services.acknowledge(ticket.id, world.liaison, utcnow())
        services.transfer(ticket.id, world.liaison, world.department.code, utcnow())
    db.session.commit()
    return parking, tax


@pytest.mark.parametrize("path", LISTS)
def test_every_list_has_a_search_box_that_finds(client, world, filed, path: str) -> None:  # type: ignore[no-untyped-def]
    parking, tax = filed
    login(client, getattr(world, LISTS[path]).username)
    page = text(client.get(path))
    assert re.search(r'<form method="get" action="[^"]*" class="[^"]*search-form"', page)
    assert 'name="q"' in page and parking.number in page and tax.number in page

    page = text(client.get(path, query_string={"q": "停车"}))
    assert parking.number in page and tax.number not in page
    assert 'value="停车"' in page  # the box keeps what was typed

    page = text(client.get(path, query_string={"q": "5555"}))  # a part of the phone
    assert tax.number in page and parking.number not in page

    page = text(client.get(path, query_string={"q": "停水"}))
    assert "没有与“停水”相符的诉求" in page and parking.number not in page

    # the state tab is kept by the box (a hidden field) and the tabs keep the search
    page = text(client.get(path, query_string={"q": "停车", "state": "in_progress"}))
    assert '<input type="hidden" name="state" value="in_progress">' in page
    assert "q=%E5%81%9C%E8%BD%A6" in page and parking.number in page


def test_a_search_it_cannot_serve_is_told_next_to_the_box(client, world, filed) -> None:  # type: ignore[no-untyped-def]
    login(client, world.manager.username)
    page = text(client.get("/manage/tickets", query_string={"q": "停"}))
    assert "搜索的每个词至少需要 2 个字。" in page and "is-invalid" in page
    assert filed[0].number in page  # the list is shown unsearched
    assert client.get("/manage/tickets", query_string={"q": "停车\x00"}).status_code == 400  # not a 500
    text(client.get("/manage/tickets", query_string={"q": "x" * 500}))  # nor for a long search


def test_pages_of_a_search_keep_it(client, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for i in range(23):
        world.submit(title=f"停车问题{i:02d}")
    world.submit(title="税务登记", description="分公司税务问题。")
    db.session.commit()
    login(client, world.manager.username)
    first = text(client.get("/manage/tickets", query_string={"q": "停车"}))
    assert first.count("停车问题") == 20 and "共 23 条" in first
    assert re.search(r'href="/manage/tickets\?q=%E5%81%9C%E8%BD%A6&amp;page=2"', first)
    second = text(client.get("/manage/tickets", query_string={"q": "停车", "page": 2}))
    assert second.count("停车问题") == 3 and "停车问题00" in second and "税务登记" not in second

    monkeypatch.setattr(search, "SEARCH_LIMIT", 5)
    capped = text(client.get("/manage/tickets", query_string={"q": "停车"}))
    assert capped.count("停车问题") == 5 and "符合条件的诉求多于此处列出的最新 5 件" in capped


def test_api_searches_within_what_the_caller_may_see(client, world, filed) -> None:  # type: ignore[no-untyped-def]
    parking, _ = filed
    other = world.submit(title="别家的停车位")
    other.enterprise_id = world.other_enterprise.id
    db.session.commit()
    manager = Api(client, world.manager)
    answer = manager.get("/tickets", query_string={"q": "停车位"}).get_json()
    assert {t["number"] for t in answer["items"]} == {parking.number, other.number}
    assert answer["total"] == 2 and answer["more_matches"] is False
    contact = Api(client, world.contact)
    answer = contact.get("/tickets", query_string={"q": "停车位"}).get_json()
    assert [t["number"] for t in answer["items"]] == [parking.number]
    answer = contact.get("/tickets", query_string={"q": "停车位", "state": "resolved"}).get_json()
    assert answer["items"] == [] and answer["total"] == 0


@pytest.mark.parametrize("q", ["停", "x" * 51, "停车\x00"])
def test_api_refuses_what_it_cannot_search(client, world, q: str) -> None:  # type: ignore[no-untyped-def]
    response = Api(client, world.manager).get("/tickets", query_string={"q": q})
    assert response.status_code == 400
    assert "q" in response.get_json()["error"]["fields"]


def test_openapi_documents_q(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/tickets"]["get"]["parameters"]
    q = next(p for p in parameters if p["name"] == "q")
    assert q["in"] == "query" and q["schema"]["maxLength"] == search.SEARCH_MAX
    assert "more_matches" in document["components"]["schemas"]["TicketPage"]["properties"]
