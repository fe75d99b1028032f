"""Handover (issue 10, point 5) through the API and the pages: a manager reassigns any open request, hands a
liaison's whole workload to another in one step, and a liaison still holding work is not deactivated."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from hotline.enterprises.models import CoverageRole
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
    assert f"3 open requests handed over to {world.other_liaison.name}." in page
    assert 'data-held="0"' in row(page, f"liaison-{world.liaison.username}")
    assert all(_refreshed(t).assignee_id == world.other_liaison.id for t in held)


def test_the_liaisons_page_is_for_managers(client: FlaskClient, world: World) -> None:
    for who in (world.liaison, world.contact, world.department_user):
        browser = client.application.test_client()
        login(browser, who.username)
        assert browser.get("/manage/liaisons").status_code == 403
    assert client.get("/manage/liaisons").status_code == 302  # to the login


# --------------------------------------------------------------------------- leave with dates


def test_a_manager_sets_a_liaisons_leave_and_routing_skips_it_within_the_dates(
    client: FlaskClient, world: World
) -> None:
    from datetime import timedelta

    from hotline.enterprises.models import CoverageRole
    from hotline.routing.services import route_ticket
    from hotline.timeutil import local_date
    from tests import factories

    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    db.session.commit()
    today = local_date(world.liaison.created_at)
    manager = Api(client, world.manager)
    body = {"leave_from": today.isoformat(), "leave_until": (today + timedelta(days=4)).isoformat()}

    answer = manager.client.put(
        f"/api/v1/users/{world.liaison.username}/leave", json=body, headers=manager.headers
    )

    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["leave_from"], answer.get_json()["leave_until"]) == (
        body["leave_from"],
        body["leave_until"],
    )
    ticket = world.submit()
    assert route_ticket(ticket.id, ticket.created_at).liaison_id == deputy.id  # the deputy takes over
    later = world.submit()
    after = ticket.created_at + timedelta(days=6)
    assert route_ticket(later.id, after).liaison_id == world.liaison.id  # back after the last day
    # the liaison sees it on its account page, and the manager on the liaisons page
    login(client, world.liaison.username)
    assert body["leave_from"] in client.get("/account").get_data(as_text=True)

    cleared = manager.client.put(
        f"/api/v1/users/{world.liaison.username}/leave",
        json={"leave_from": None, "leave_until": None},
        headers=manager.headers,
    )
    assert cleared.status_code == 200 and cleared.get_json()["leave_from"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"leave_from": "2026-13-01", "leave_until": "2026-12-31"}, {"leave_from"}),
        ({"leave_from": "20261201", "leave_until": "2026-12-31"}, {"leave_from"}),
        ({"leave_from": "2099-01-01"}, {"leave_until"}),
        ({"leave_from": "2099-01-10", "leave_until": "2099-01-01"}, {"leave_until"}),
        ({"leave_from": "2000-01-01", "leave_until": "2000-01-05"}, {"leave_until"}),
        ({"leave_from": "2099-01-01", "leave_until": "2100-06-01"}, {"leave_until"}),
        ({"leave_from": {"x": [1]}, "leave_until": "a\x00"}, {"leave_from", "leave_until"}),
    ],
)
def test_bad_leave_dates_are_refused_at_their_fields(
    client: FlaskClient, world: World, body: dict[str, Any], fields: set[str]
) -> None:
    db.session.commit()
    manager = Api(client, world.manager)
    response = manager.client.put(
        f"/api/v1/users/{world.liaison.username}/leave", json=body, headers=manager.headers
    )
    assert set(error_of(response, 400, "validation_failed")["fields"]) == fields
    db.session.expire_all()
    assert world.liaison.leave_from is None


def test_only_a_manager_sets_a_leave_and_only_for_a_liaison(client: FlaskClient, world: World) -> None:
    db.session.commit()
    body = {"leave_from": "2099-01-01", "leave_until": "2099-01-02"}
    liaison = Api(client, world.liaison)
    refused = liaison.client.put(
        f"/api/v1/users/{world.liaison.username}/leave", json=body, headers=liaison.headers
    )
    error_of(refused, 403, "forbidden")
    manager = Api(client, world.manager)
    for username in (world.contact.username, "nobody"):
        missing = manager.client.put(f"/api/v1/users/{username}/leave", json=body, headers=manager.headers)
        error_of(missing, 404, "not_found")


def test_the_leave_is_set_on_the_liaisons_page(client: FlaskClient, world: World) -> None:
    db.session.commit()
    english(client)
    login(client, world.manager.username)
    action = f"/manage/liaisons/{world.liaison.username}/leave"
    refused = post_form(client, "/manage/liaisons", action, {"leave_from": "2099-01-01", "leave_until": ""})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "leave_until")
    done = post_form(
        client, "/manage/liaisons", action, {"leave_from": "2099-01-01", "leave_until": "2099-01-09"}
    )
    assert done.status_code == 302
    page = client.get("/manage/liaisons").get_data(as_text=True)
    assert "Leave: 2099-01-01 – 2099-01-09" in row(page, f"liaison-{world.liaison.username}")


def test_the_timeline_shows_a_handover_and_its_reason_to_staff_only(
    client: FlaskClient, world: World
) -> None:
    ticket = world.in_progress()
    tickets.assign(
        ticket.id, world.manager, world.other_liaison.username, ticket.created_at, reason="原包联人调岗"
    )
    db.session.commit()
    english(client)
    login(client, world.manager.username)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f"Handed over from {world.liaison.name} to {world.other_liaison.name}, in progress" in page
    assert "原包联人调岗" in page
    enterprise = client.application.test_client()
    english(enterprise)
    login(enterprise, world.contact.username)
    seen = enterprise.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "原包联人调岗" not in seen


def test_a_workload_handover_keeps_what_the_new_liaison_returned_at_any_time(
    client: FlaskClient, world: World
) -> None:
    """B returned it, C got it and returned it, then a manager gave it to A by hand: handing A's work to B
    keeps it (as routing would never give it back to B)."""
    from tests import factories

    c = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    ticket = world.submit()
    now = ticket.created_at
    for holder in (world.other_liaison, c):
        tickets.assign(ticket.id, world.manager, holder.username, now)
        tickets.return_ticket(ticket.id, holder, "不在本人楼宇", now)
        tickets.review_return(ticket.id, world.manager, True, "", now)
    tickets.assign(ticket.id, world.manager, world.liaison.username, now)

    done = tickets.hand_over_workload(
        world.liaison.username, world.manager, world.other_liaison.username, "调岗", now
    )

    assert done.handed_over == [] and [number for number, _why in done.kept] == [ticket.number]
    assert ticket.assignee_id == world.liaison.id


def test_a_request_reopened_onto_a_deactivated_liaison_is_told_to_the_managers(
    client: FlaskClient, world: World
) -> None:
    """Resolved and awaiting its rating when its liaison's work was handed over and the account closed: the
    enterprise's 'dissatisfied' reopens it, and the managers (who can hand it over) are told."""
    ticket = world.resolved()
    world.liaison.active = False
    db.session.flush()
    tickets.rate(ticket.id, world.contact, "dissatisfied", "没有解决", ticket.created_at)
    db.session.commit()
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == NotificationKind.REOPENED)
    ).all()
    assert world.manager.id in told and world.liaison.id not in told
    # and a manager hands it to an active liaison
    tickets.assign(
        ticket.id, world.manager, world.other_liaison.username, ticket.created_at, reason="原人员离职"
    )
    assert (ticket.state, ticket.assignee_id) == (TicketState.IN_PROGRESS, world.other_liaison.id)
