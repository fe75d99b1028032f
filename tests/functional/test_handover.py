"""Handover (issue 10, point 5) through the API and the pages: a manager reassigns any open request, hands a
liaison's whole workload to another in one step, and a liaison still holding work is not deactivated."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.notifications.services import render_notification
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketState
from tests.factories import World
from tests.functional.html import field_errors, row
from tests.functional.test_admin import english
from tests.functional.test_api import Api, error_of
from tests.helpers import login, post_form


def _refreshed(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    found = db.session.get(Ticket, ticket.id)
    assert found is not None
    return found


def test_a_manager_reassigns_a_request_in_progress_through_the_api(client: FlaskClient, world: World) -> None:
    ticket = world.in_progress()
    due = ticket.resolve_due_at
    db.session.commit()
    manager = Api(client, world.manager)

    answer = manager.act(ticket.number, "assign", {"liaison": world.other_liaison.username, "reason": "休假"})

    assert answer["state"] == "in_progress"
    stored = _refreshed(ticket)
    assert (stored.assignee_id, stored.resolve_due_at) == (world.other_liaison.id, due)
    told = db.session.scalars(
        select(Notification).where(
            Notification.user_id == world.other_liaison.id, Notification.kind == NotificationKind.ASSIGNED
        )
    ).all()
    assert len(told) == 1
    with client.application.test_request_context(), force_locale("en"):
        subject, text = render_notification(told[0])
    assert "handed over to you" in subject and "in progress" in text
    # a liaison may not reassign, not even its own
    liaison = Api(client, world.other_liaison)
    error_of(
        liaison.post(f"/tickets/{ticket.number}/assign", {"liaison": world.liaison.username}),
        403,
        "forbidden",
    )


def _workload(world: World) -> list[Ticket]:
    assigned = world.submit()
    tickets.assign(assigned.id, world.manager, world.liaison.username, assigned.created_at)
    working = world.in_progress()
    returned = world.in_progress()
    tickets.return_ticket(returned.id, world.liaison, "不属于本楼宇", returned.created_at)
    db.session.commit()
    return [assigned, working, returned]


def test_a_liaisons_workload_is_handed_over_through_the_api(client: FlaskClient, world: World) -> None:
    held = _workload(world)
    manager = Api(client, world.manager)

    response = manager.post(
        f"/users/{world.liaison.username}/handover", {"to": world.other_liaison.username, "reason": "调岗"}
    )

    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert sorted(answer["handed_over"]) == sorted(t.number for t in held) and answer["kept"] == []
    states = [_refreshed(t).state for t in held]
    assert states == [TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.ASSIGNED]
    assert all(_refreshed(t).assignee_id == world.other_liaison.id for t in held)
    assert tickets.held_count(world.liaison.id) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"to", "reason"}),
        ({"to": "nobody", "reason": "调岗"}, {"to"}),
        ({"to": "LIAISON", "reason": " "}, {"to", "reason"}),
        ({"to": ["x"], "reason": {"a": {"b": {}}}}, {"to", "reason"}),
        ({"to": "x\x00y", "reason": "调岗"}, {"to"}),
        ({"to": "SELF", "reason": "调岗"}, {"to"}),
    ],
)
def test_a_bad_handover_is_refused_at_its_fields_and_moves_nothing(
    client: FlaskClient, world: World, body: dict[str, Any], fields: set[str]
) -> None:
    held = _workload(world)
    body = {k: (world.liaison.username if v == "SELF" else v) for k, v in body.items()}
    body = {k: (world.department_user.username if v == "LIAISON" else v) for k, v in body.items()}
    response = Api(client, world.manager).post(f"/users/{world.liaison.username}/handover", body)
    error = error_of(response, 400, "validation_failed")
    assert set(error["fields"]) == fields
    assert all(_refreshed(t).assignee_id == world.liaison.id for t in held)


@pytest.mark.parametrize("who", ["liaison", "contact", "department_user"])
def test_only_a_manager_hands_work_over(client: FlaskClient, world: World, who: str) -> None:
    held = _workload(world)
    response = Api(client, getattr(world, who)).post(
        f"/users/{world.liaison.username}/handover", {"to": world.other_liaison.username, "reason": "调岗"}
    )
    error_of(response, 403, "forbidden")
    assert all(_refreshed(t).assignee_id == world.liaison.id for t in held)


@pytest.mark.parametrize("username", ["nobody", "x" * 300, "%00", "9" * 40])
def test_handing_over_for_no_such_liaison_is_404(client: FlaskClient, world: World, username: str) -> None:
    response = Api(client, world.manager).post(
        f"/users/{username}/handover", {"to": world.other_liaison.username, "reason": "调岗"}
    )
    error_of(response, 404, "not_found")


def test_a_liaison_holding_work_is_not_deactivated_until_it_is_handed_over(
    client: FlaskClient, world: World
) -> None:
    _workload(world)
    english(client)
    login(client, world.admin.username)
    post_form(client, "/admin/users", f"/admin/users/{world.liaison.id}/active", {"active": "0"})
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"{world.liaison.name} still holds 3 open requests" in page
    db.session.expire_all()
    assert world.liaison.active is True

    now = world.liaison.created_at
    tickets.hand_over_workload(
        world.liaison.username, world.manager, world.other_liaison.username, "离职", now
    )
    db.session.commit()
    post_form(client, "/admin/users", f"/admin/users/{world.liaison.id}/active", {"active": "0"})
    db.session.expire_all()
    assert world.liaison.active is False


def test_a_manager_hands_work_over_on_the_liaisons_page(client: FlaskClient, world: World) -> None:
    held = _workload(world)
    english(client)
    login(client, world.manager.username)
    page = client.get("/manage/liaisons").get_data(as_text=True)
    assert 'data-held="3"' in row(page, f"liaison-{world.liaison.username}")

    action = f"/manage/liaisons/{world.liaison.username}/handover"
    refused = post_form(
        client, "/manage/liaisons", action, {"to": world.other_liaison.username, "reason": ""}
    )
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "reason")  # the one form: the other holds none
    assert all(_refreshed(t).assignee_id == world.liaison.id for t in held)

    done = post_form(
        client, "/manage/liaisons", action, {"to": world.other_liaison.username, "reason": "调岗"}
    )
    assert done.status_code == 302
    page = client.get("/manage/liaisons").get_data(as_text=True)
    assert f"3 open requests handed over to {world.other_liaison.username}." in page
    assert 'data-held="0"' in row(page, f"liaison-{world.liaison.username}")
    assert all(_refreshed(t).assignee_id == world.other_liaison.id for t in held)


def test_the_liaisons_page_is_for_managers(client: FlaskClient, world: World) -> None:
    for who in (world.liaison, world.contact, world.department_user):
        browser = client.application.test_client()
        login(browser, who.username)
        assert browser.get("/manage/liaisons").status_code == 403
    assert client.get("/manage/liaisons").status_code == 302  # to the login
