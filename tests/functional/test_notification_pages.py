"""The bell, the notification list and marking as read, through the test client with CSRF on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.extensions import db
from hotline.notifications import services as notifications
from hotline.notifications.models import Notification, NotificationKind
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket
from tests.factories import World
from tests.helpers import csrf_token, login, post_form

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def bell(html: str) -> int | None:
    """The unread count the bell shows, None when there is no bell on the page."""
    match = re.search(r'class="[^"]*notification-bell[^"]*"[^>]*data-unread="(\d+)"', html)
    return int(match.group(1)) if match else None


def badge(html: str) -> str | None:
    match = re.search(r'class="badge[^"]*unread-count">(\d+\+?)<', html)
    return match.group(1) if match else None


def assigned_with_alerts(world: World, alerts: int) -> Ticket:
    """A request assigned to the liaison (one notification), plus ``alerts`` clock warnings (one each)."""
    ticket = world.submit(NOW)
    tickets.assign(ticket.id, world.manager, world.liaison.username, NOW)
    for i in range(alerts):
        tickets.record_event(ticket, None, EventKind.WARNING, NOW + timedelta(minutes=i + 1))
    db.session.commit()
    return ticket


def liaison_notifications(world: World) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == world.liaison.id).order_by(Notification.id)
    return list(db.session.scalars(query))


def test_the_bell_shows_the_unread_count_to_logged_in_users_only(
    app, client: FlaskClient, world: World
) -> None:  # type: ignore[no-untyped-def]
    assigned_with_alerts(world, 2)
    assert bell(text(client.get("/login"))) is None

    login(client, world.liaison.username)
    home = text(client.get("/workbench/"))
    assert bell(home) == 3 and badge(home) == "3"

    other = app.test_client()
    login(other, world.contact.username)
    portal = text(other.get("/portal/"))
    assert bell(portal) == 0 and badge(portal) is None  # nothing unread: no badge


def test_the_list_is_newest_first_with_unread_highlighted_and_links(
    client: FlaskClient, world: World
) -> None:
    ticket = assigned_with_alerts(world, 1)
    rows = liaison_notifications(world)
    notifications.mark_read(world.liaison, rows[0].id, NOW)
    db.session.commit()

    login(client, world.liaison.username)
    page = text(client.get("/notifications/"))
    positions = [page.index(f'id="notification-{row.id}"') for row in rows]
    assert positions == sorted(positions, reverse=True)  # newest first
    warning, assignment = rows[1], rows[0]
    item = re.search(rf'<li id="notification-{warning.id}"[^>]*>', page)
    assert item and "notification-unread" in item.group(0)
    item = re.search(rf'<li id="notification-{assignment.id}"[^>]*>', page)
    assert item and "notification-read" in item.group(0)
    assert f'href="/tickets/{ticket.number}"' in page
    assert f'action="/notifications/{warning.id}/read"' in page
    assert page.count(ticket.number) >= 3  # in each notification's text and link
    assert "mark-all-read" in page


def test_the_list_is_paginated(app, client: FlaskClient, world: World) -> None:  # type: ignore[no-untyped-def]
    app.config["PER_PAGE"] = 5
    assigned_with_alerts(world, 6)  # 7 in all
    login(client, world.liaison.username)
    first = text(client.get("/notifications/"))
    second = text(client.get("/notifications/?page=2"))
    assert first.count('<li id="notification-') == 5 and second.count('<li id="notification-') == 2


def test_marking_one_as_read_opens_its_request(client: FlaskClient, world: World) -> None:
    ticket = assigned_with_alerts(world, 1)
    target = liaison_notifications(world)[-1]
    login(client, world.liaison.username)
    response = post_form(client, "/notifications/", f"/notifications/{target.id}/read", {})
    assert response.status_code == 302 and response.location.endswith(f"/tickets/{ticket.number}")
    assert liaison_notifications(world)[-1].read_at is not None
    assert bell(text(client.get(response.location))) == 1


def test_marking_a_request_no_longer_visible_goes_back_to_the_list(client: FlaskClient, world: World) -> None:
    ticket = world.in_progress(NOW)
    tickets.transfer(ticket.id, world.liaison, world.department.code, NOW)
    tickets.handback(
        ticket.id, world.department_user, "已处理完本部门部分。", NOW
    )  # out of the department's sight
    db.session.commit()
    target = db.session.scalars(
        select(Notification).where(Notification.user_id == world.department_user.id)
    ).one()
    login(client, world.department_user.username)
    response = post_form(client, "/notifications/", f"/notifications/{target.id}/read", {})
    assert response.status_code == 302 and response.location.endswith("/notifications/")
    db.session.expire_all()
    assert target.read_at is not None
    assert client.get(f"/tickets/{ticket.number}").status_code == 404


def test_mark_all_as_read(client: FlaskClient, world: World) -> None:
    assigned_with_alerts(world, 3)
    login(client, world.liaison.username)
    response = post_form(client, "/notifications/", "/notifications/read-all", {})
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert bell(page) == 0 and "notification-unread" not in page and "mark-all-read" not in page
    assert all(row.read_at is not None for row in liaison_notifications(world))


def test_another_users_notification_is_not_found(client: FlaskClient, world: World) -> None:
    assigned_with_alerts(world, 0)
    target = liaison_notifications(world)[0]
    login(client, world.other_liaison.username)
    page = client.get("/notifications/")
    assert f"notification-{target.id}" not in text(page)
    response = client.post(f"/notifications/{target.id}/read", data={"csrf_token": csrf_token(text(page))})
    assert response.status_code == 404
    response = client.post("/notifications/99999/read", data={"csrf_token": csrf_token(text(page))})
    assert response.status_code == 404
    assert liaison_notifications(world)[0].read_at is None


def test_marking_needs_the_csrf_token_and_a_login(client: FlaskClient, world: World) -> None:
    assigned_with_alerts(world, 0)
    target = liaison_notifications(world)[0]
    response = client.post(f"/notifications/{target.id}/read")
    assert response.status_code in (302, 400)  # no login (or no token): nothing happens either way
    login(client, world.liaison.username)
    assert client.post(f"/notifications/{target.id}/read").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    assert client.get("/notifications/").status_code == 200
    assert liaison_notifications(world)[0].read_at is None
    assert liaison_notifications(world)[0].kind == NotificationKind.ASSIGNED
