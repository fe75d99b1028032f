"""Duplicates and 并单 on the pages and the API (issue 13, points 2 and 3)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketState
from tests import factories
from tests.factories import World
from tests.functional.test_api import Api, error_of
from tests.helpers import csrf_token, post_form
from tests.helpers import login as log_in

EN = {"Accept-Language": "en"}


def login(client: FlaskClient, username: str) -> None:
    """Logged in, reading English (the texts asserted are the English ones)."""
    log_in(client, username)
    client.get("/lang/en")


TYPED = {"title": "办公楼停车位不够", "description": "员工停车很困难，希望协调停车资源"}


def _commit(ticket: Ticket) -> str:
    db.session.commit()
    return ticket.number


def _assigned(world: World) -> Ticket:
    ticket = world.submit()
    return tickets.assign(ticket.id, world.manager, world.liaison.username, utcnow())


def test_the_filing_form_shows_the_enterprises_own_similar_requests_without_script(
    app: Flask, client: FlaskClient, world: World
) -> None:
    mine = _commit(world.submit())
    theirs = tickets.submit_ticket(
        world.other_contact,
        category=world.category.code,
        title="办公楼停车位不足",
        description="员工停车困难，希望协调周边停车资源。",
        contact_phone="13800138000",
        now=utcnow(),
    )
    theirs_number = _commit(theirs)
    login(client, world.contact.username)
    page = client.get("/portal/new", headers=EN).get_data(as_text=True)
    assert "Check for similar requests" in page and "js/similar.js" in page
    response = client.post(
        "/portal/new",
        data={
            "csrf_token": csrf_token(page),
            "category": world.category.code,
            **TYPED,
            "contact_phone": "13800138000",
            "urgency": "normal",
            "check_similar": "1",
        },
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Requests like this one already exist" in html and f">{mine}</a>" in html
    assert theirs_number not in html
    assert db.session.query(Ticket).count() == 2  # checking files nothing


def test_the_similar_endpoint_as_the_person_types(app: Flask, client: FlaskClient, world: World) -> None:
    mine = _commit(world.submit())
    login(client, world.other_contact.username)  # another enterprise: sees nothing of it
    query = {"category": world.category.code, **TYPED}
    assert client.get("/tickets/similar", query_string=query).get_json() == {"items": []}
    client = app.test_client()
    login(client, world.contact.username)
    (item,) = client.get("/tickets/similar", query_string=query).get_json()["items"]
    assert item["number"] == mine and item["score"] >= 60 and item["url"].endswith(mine)
    # nonsense and hostile input answer an empty list, never an error
    unknown = {"category": "nope", "title": "a" * 10000, "description": "停车"}
    assert client.get("/tickets/similar", query_string=unknown).get_json() == {"items": []}
    hostile = client.get("/tickets/similar", query_string={"category": "x\x00", "title": "\x00"})
    assert hostile.status_code == 400  # the application refuses NUL bytes in any address


def test_a_liaison_recording_sees_similar_requests_of_that_enterprise(
    app: Flask, client: FlaskClient, world: World
) -> None:
    mine = _commit(world.submit())
    login(client, world.liaison.username)
    query = {"category": world.category.code, "enterprise_uscc": world.enterprise.uscc, **TYPED}
    assert [i["number"] for i in client.get("/tickets/similar", query_string=query).get_json()["items"]] == [
        mine
    ]
    client = app.test_client()
    login(client, world.other_liaison.username)  # does not cover that building
    assert client.get("/tickets/similar", query_string=query).get_json() == {"items": []}


def test_staff_see_possible_duplicates_with_a_score_on_a_request(
    app: Flask, client: FlaskClient, world: World
) -> None:
    first = _commit(world.submit())
    second = _commit(world.submit(**TYPED))
    login(client, world.liaison.username)
    html = client.get(f"/tickets/{second}", headers=EN).get_data(as_text=True)
    block = html[html.index("possible-duplicates") :]
    assert "Possible duplicates" in html and first in block and re.search(r"score \d+", block)
    client = app.test_client()
    login(client, world.contact.username)
    assert "possible-duplicates" not in client.get(f"/tickets/{second}").get_data(as_text=True)


def test_merging_on_the_page_shows_where_it_went_and_then_the_main_answer(
    app: Flask, client: FlaskClient, world: World
) -> None:
    main = world.in_progress()
    main_number = _commit(main)
    repeat = _commit(_assigned(world))
    login(client, world.liaison.username)
    client.get("/lang/en")
    page = client.get(f"/tickets/{repeat}").get_data(as_text=True)
    assert 'id="action-merge"' in page
    refused = post_form(
        client, f"/tickets/{repeat}", f"/tickets/{repeat}/merge", {"into": repeat, "reason": "重复"}
    )
    assert refused.status_code == 400 and "cannot be merged into itself" in refused.get_data(as_text=True)
    done = post_form(
        client, f"/tickets/{repeat}", f"/tickets/{repeat}/merge", {"into": main_number, "reason": "同一诉求"}
    )
    assert done.status_code == 302
    html = client.get(f"/tickets/{repeat}").get_data(as_text=True)
    assert f'href="/tickets/{main_number}"' in html and "Merged into another request" in html
    assert 'id="action-merge"' not in html
    main_page = client.get(f"/tickets/{main_number}").get_data(as_text=True)
    assert "Requests merged into this one" in main_page and repeat in main_page
    tickets.resolve(main.id, world.liaison, "已协调周边停车场提供月租车位。", utcnow())
    db.session.commit()
    client = app.test_client()
    login(client, world.contact.username)
    client.get("/lang/en")
    html = client.get(f"/tickets/{repeat}").get_data(as_text=True)
    assert "已协调周边停车场提供月租车位。" in html and "Rate the answer on the main request." in html


def test_another_enterprise_sees_the_main_answer_but_not_the_main_request(
    app: Flask, client: FlaskClient, world: World
) -> None:
    neighbour = factories.enterprise(world.building)
    contact = factories.enterprise_user(neighbour)
    main = world.in_progress()
    theirs = tickets.submit_ticket(
        contact, category=world.category.code, contact_phone="13800138000", now=utcnow(), **TYPED
    )
    tickets.assign(theirs.id, world.manager, world.liaison.username, utcnow())
    db.session.commit()
    manager = Api(client, world.manager)
    refused = manager.post(f"/tickets/{theirs.number}/merge", {"into": "QH00000000-0000", "reason": "重复"})
    assert "into" in error_of(refused, 400, "validation_failed")["fields"]
    merged = manager.act(theirs.number, "merge", {"into": main.number, "reason": "同楼同一诉求"})
    assert merged["state"] == TicketState.MERGED.value
    tickets.resolve(main.id, world.liaison, "已协调周边停车场提供月租车位。", utcnow())
    db.session.commit()
    login(client, contact.username)
    client.get("/lang/en")
    html = client.get(f"/tickets/{theirs.number}").get_data(as_text=True)
    assert "已协调周边停车场提供月租车位。" in html and f'href="/tickets/{main.number}"' not in html
    assert "Rate this answer below" in html and 'action="/tickets/' + theirs.number + '/rate_merged"' in html
    # the enterprise rates the answer from its own request's page (a real form with its CSRF token)
    rated = post_form(
        client,
        f"/tickets/{theirs.number}",
        f"/tickets/{theirs.number}/rate_merged",
        {"score": "satisfied", "comment": ""},
    )
    assert rated.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, theirs.id).rating_score == "satisfied"
    assert client.get(f"/tickets/{main.number}").status_code == 404


def test_the_api_lists_possible_duplicates_for_staff_only(client: FlaskClient, world: World) -> None:
    first = _commit(world.submit())
    second = _commit(world.submit(**TYPED))
    (item,) = Api(client, world.liaison).get(f"/tickets/{second}/similar").get_json()["items"]
    assert item["number"] == first and 60 <= item["score"] <= 100 and item["state"] == "submitted"
    enterprise = Api(client, world.contact)
    assert enterprise.get(f"/tickets/{second}/similar").status_code == 403
    assert Api(client, world.other_contact).get(f"/tickets/{second}/similar").status_code == 404


def test_linked_requests_are_shown_on_each_other(client: FlaskClient, world: World) -> None:
    first = _commit(world.submit())
    second = _commit(world.submit(title="园区道路破损", description="园区主干道路面破损，影响通行。"))
    login(client, world.liaison.username)
    client.get("/lang/en")
    done = post_form(client, f"/tickets/{first}", f"/tickets/{first}/link", {"other": second})
    assert done.status_code == 302
    html = client.get(f"/tickets/{second}").get_data(as_text=True)
    block = html[html.index("linked-requests") :]
    assert "Related requests" in html and f'href="/tickets/{first}"' in block
    again = post_form(client, f"/tickets/{second}", f"/tickets/{second}/link", {"other": first})
    assert again.status_code == 400 and "already linked" in again.get_data(as_text=True)
