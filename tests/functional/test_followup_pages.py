"""回访 through the test client: the managers' queue page, the call forms on a request's page, the API's queue
and actions, and the timeline and the events export after a call.

Requests are resolved ten days ago, so they are due for their call whatever the calendar holds; one resolved
now is within the enterprise's time to rate online when the calendar knows this year.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.extensions import db
from hotline.followup.models import FollowupCall
from hotline.sla import services as sla
from hotline.sla.worktime import package_year_known
from hotline.tickets import services
from hotline.tickets.models import Ticket, TicketState
from hotline.timeutil import local
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors
from tests.functional.test_api import Api
from tests.helpers import login, post_form

EN = {"Accept-Language": "en"}


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def reload(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    row = db.session.get(Ticket, ticket.id)
    assert row is not None
    return row


@pytest.fixture
def this_year(world: World) -> None:
    """The calendar of this year and the last (from chinese-calendar where it knows them)."""
    now = utcnow()
    for year in (now.year - 1, now.year):
        if package_year_known(year):
            sla.sync_calendar_from_package(now, years=[year])
        else:
            sla.enter_year(year, world.manager, now)
    db.session.commit()


@pytest.fixture
def due(world: World) -> Ticket:
    ticket = world.resolved(utcnow() - timedelta(days=10))
    db.session.commit()
    return ticket


def english(client: FlaskClient, user_name: str) -> FlaskClient:
    login(client, user_name)
    client.get("/lang/en")
    return client


# --------------------------------------------------------------------------- the queue page


def test_the_queue_lists_what_is_due_and_counts_what_is_not(
    client: FlaskClient, world: World, this_year: None, due: Ticket
) -> None:
    fresh = world.resolved(utcnow())
    db.session.commit()
    english(client, world.manager.username)
    page = text(client.get("/manage/followups"))
    assert f'data-number="{due.number}"' in page
    assert f'data-number="{fresh.number}"' not in page
    assert "1 more resolved requests are still within their time to rate online." in page
    assert "0 / 3" in page
    assert 'href="/manage/followups"' in page  # in the navigation


def test_the_queue_marks_what_the_manager_handled(client: FlaskClient, world: World) -> None:
    ticket = world.in_progress(utcnow() - timedelta(days=10))
    services.resolve(ticket.id, world.manager, "已协调。", utcnow() - timedelta(days=10))
    db.session.commit()
    english(client, world.manager.username)
    page = text(client.get("/manage/followups"))
    assert "You handled it: another manager calls" in page
    detail = text(client.get(f"/tickets/{ticket.number}"))
    assert 'id="action-followup"' not in detail and 'id="action-followup_unanswered"' not in detail


@pytest.mark.parametrize("role", ["liaison", "contact", "department_user"])
def test_the_queue_is_for_managers(client: FlaskClient, world: World, role: str) -> None:
    login(client, getattr(world, role).username)
    assert client.get("/manage/followups").status_code == 403


# --------------------------------------------------------------------------- a call on the request's page


def test_a_manager_records_a_call_that_reached_the_contact(
    app: Flask, client: FlaskClient, world: World, due: Ticket
) -> None:
    english(client, world.manager.username)
    detail = text(client.get(f"/tickets/{due.number}"))
    assert 'id="action-followup"' in detail and 'id="action-followup_unanswered"' in detail
    assert 'id="action-rate"' not in detail  # staff never rate in the enterprise's place
    response = post_form(
        client,
        f"/tickets/{due.number}",
        f"/tickets/{due.number}/followup",
        {
            "called_at": "",
            "contact": "王经理",
            "outcome": "solved",
            "score": "satisfied",
            "comment": "很满意",
        },
    )
    assert response.status_code == 302, text(response)[:2000]
    ticket = reload(due)
    assert ticket.state == TicketState.CLOSED and ticket.rating_source == "followup_call"
    page = text(client.get(f"/tickets/{due.number}"))
    assert "Attempt 1" in page and "reached 王经理" in page and "The problem is solved" in page
    assert "recorded from a follow-up call" in page

    # the enterprise sees that it was called, and what it said
    enterprise = english(app.test_client(), world.contact.username)
    mine = text(enterprise.get(f"/tickets/{due.number}"))
    assert "Follow-up call" in mine and "reached 王经理" in mine


def test_a_call_form_with_missing_answers_shows_them_by_their_fields(
    client: FlaskClient, world: World, due: Ticket
) -> None:
    english(client, world.manager.username)
    response = post_form(
        client,
        f"/tickets/{due.number}",
        f"/tickets/{due.number}/followup",
        {"called_at": "2099-01-01T10:00", "contact": "王经理", "outcome": "unsolved", "score": "satisfied"},
    )
    assert response.status_code == 400
    assert field_errors(text(response), "called_at") == ["The call cannot be in the future."]
    response = post_form(
        client,
        f"/tickets/{due.number}",
        f"/tickets/{due.number}/followup",
        {"contact": "王经理", "outcome": "unsolved", "score": "satisfied", "comment": ""},
    )
    assert response.status_code == 400
    assert field_errors(text(response), "comment") == ["Write down what the contact said is still wrong."]
    assert reload(due).state == TicketState.RESOLVED
    assert db.session.query(FollowupCall).count() == 0


def test_three_unanswered_calls_through_the_page_close_it_unrated(
    app: Flask, client: FlaskClient, world: World, due: Ticket
) -> None:
    english(client, world.manager.username)
    for attempt, days_ago in ((1, 2), (2, 1), (3, 0)):  # a day apart, as the retry minutes require
        when = local(utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M")
        response = post_form(
            client,
            f"/tickets/{due.number}",
            f"/tickets/{due.number}/followup_unanswered",
            {"called_at": when, "note": f"第{attempt}次无人接听"},
        )
        assert response.status_code == 302, text(response)[:2000]
    ticket = reload(due)
    assert ticket.state == TicketState.CLOSED and ticket.rating_score is None
    page = text(client.get(f"/tickets/{due.number}"))
    assert page.count("nobody answered") == 3
    assert "Closed unrated: 3 follow-up calls unanswered" in page
    assert "第2次无人接听" in page  # staff read the notes

    enterprise = english(app.test_client(), world.contact.username)
    mine = text(enterprise.get(f"/tickets/{due.number}"))
    assert mine.count("nobody answered") == 3 and "第2次无人接听" not in mine


# --------------------------------------------------------------------------- the API


def test_the_api_queue_and_a_call(client: FlaskClient, world: World, due: Ticket) -> None:
    api = Api(client, world.manager)
    queue = api.get("/followups").get_json()
    [item] = queue["items"]
    assert (item["number"], item["attempts"], item["may_call"]) == (due.number, 0, True)
    assert queue["attempts_allowed"] == 3 and queue["total"] == 1

    yesterday = (utcnow() - timedelta(days=1)).isoformat()
    answer = api.act(due.number, "followup_unanswered", {"called_at": yesterday, "note": "关机"})
    assert answer["state"] == "resolved"
    assert api.get("/followups").get_json()["items"][0]["attempts"] == 1
    soon = (utcnow() - timedelta(days=1) + timedelta(minutes=10)).isoformat()  # ten minutes after it
    too_soon = api.post(f"/tickets/{due.number}/followup_unanswered", {"called_at": soon})
    assert too_soon.status_code == 400 and set(too_soon.get_json()["error"]["fields"]) == {"called_at"}

    answer = api.act(
        due.number,
        "followup",
        {"contact": "李总", "outcome": "solved", "score": "basically_satisfied", "comment": ""},
    )
    assert answer["state"] == "closed"
    assert answer["rating"]["source"] == "followup_call"
    assert answer["rating"]["recorded_by"]["username"] == world.manager.username
    assert answer["rating"]["score"] == "basically_satisfied"
    assert api.get("/followups").get_json()["items"] == []
    again = api.post(f"/tickets/{due.number}/followup_unanswered", {})
    assert again.status_code == 409


def test_the_api_refuses_the_handler_staff_ratings_and_bad_bodies(
    client: FlaskClient, world: World, due: Ticket
) -> None:
    manager = Api(client, world.manager)
    refused = manager.post(f"/tickets/{due.number}/rate", {"score": "satisfied"})
    assert refused.status_code == 403
    bad = client.post(
        f"/api/v1/tickets/{due.number}/followup",
        json={"called_at": "\x00", "contact": "x" * 51, "outcome": "yes", "score": 3},
        headers={**manager.headers, **EN},
    )
    assert bad.status_code == 400
    assert {"called_at", "outcome", "score"} <= set(bad.get_json()["error"]["fields"])
    long = manager.post(
        f"/tickets/{due.number}/followup",
        {"called_at": "tomorrow", "contact": "x" * 51, "outcome": "solved", "score": "dissatisfied"},
    )
    assert long.status_code == 400
    assert set(long.get_json()["error"]["fields"]) == {"called_at", "contact", "comment"}
    nested = manager.post(f"/tickets/{due.number}/followup", {"contact": {"a": [1]}, "outcome": "solved"})
    assert nested.status_code == 400

    liaison = Api(client, world.liaison)
    assert liaison.get("/followups").status_code == 403
    body = {"contact": "李总", "outcome": "solved", "score": "satisfied"}
    assert liaison.post(f"/tickets/{due.number}/followup", body).status_code == 403

    resolver = factories.user(Role.MANAGER)
    ticket = world.in_progress(utcnow() - timedelta(days=10))
    services.resolve(ticket.id, resolver, "已协调。", utcnow() - timedelta(days=10))
    db.session.commit()
    api = Api(client, resolver)
    assert api.get("/followups").get_json()["items"][-1]["may_call"] is False
    assert api.post(f"/tickets/{ticket.number}/followup", body).status_code == 403
    assert reload(ticket).state == TicketState.RESOLVED
    assert db.session.query(FollowupCall).count() == 0


def test_with_the_calls_off_there_is_no_queue(
    app: Flask, client: FlaskClient, world: World, due: Ticket
) -> None:
    app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 0
    try:
        english(client, world.manager.username)
        page = text(client.get("/manage/dashboard"))
        assert 'href="/manage/followups"' not in page
        assert client.get("/manage/followups").status_code == 404
        assert 'id="action-followup"' not in text(client.get(f"/tickets/{due.number}"))
        assert Api(client, world.manager).get("/followups").status_code == 404
    finally:
        app.config["FOLLOWUP_AFTER_WORKING_DAYS"] = 2


def test_the_openapi_document_has_the_calls(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/followups" in document["paths"]
    body = document["paths"]["/api/v1/tickets/{number}/followup"]["post"]
    assert body["requestBody"]["content"]["application/json"]["schema"]


# --------------------------------------------------------------------------- the events export


def test_the_events_export_says_how_each_call_went(client: FlaskClient, world: World, due: Ticket) -> None:
    world.followed_up(due, "satisfied", utcnow(), contact="王经理")
    db.session.commit()
    english(client, world.manager.username)
    day = (utcnow() - timedelta(days=10)).date().isoformat()
    today = utcnow().date().isoformat()
    response = client.get(f"/manage/exports/events.csv?from={day}&to={today}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    calls = [r for r in rows if "Follow-up call" in r]
    assert len(calls) == 1 and "reached 王经理" in " ".join(calls[0])
    rated = [r for r in rows if "Rated" in r]
    assert rated and "recorded from a follow-up call" in " ".join(rated[-1])


def test_managers_are_warned_of_requests_nobody_has_called_for_too_long(
    app: Flask, client: FlaskClient, world: World
) -> None:
    old = world.resolved(utcnow() - timedelta(days=30))
    db.session.commit()
    english(client, world.manager.username)
    page = text(client.get("/manage/dashboard"))
    assert 'class="alert alert-warning followup-backlog"' in page and 'data-count="1"' in page
    assert "1 request has waited over 3 working days for its follow-up call" in page

    liaison = english(app.test_client(), world.liaison.username)
    assert "followup-backlog" not in text(liaison.get("/workbench/"))

    for days_ago in (2, 1, 0):  # three unanswered calls close it: nothing is left waiting
        when = (utcnow() - timedelta(days=days_ago)).isoformat()
        services_answer = Api(client, world.manager).act(
            old.number, "followup_unanswered", {"called_at": when}
        )
        assert services_answer["number"] == old.number
    assert "followup-backlog" not in text(client.get("/manage/dashboard"))
